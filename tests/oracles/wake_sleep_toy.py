"""NumPy oracle of adversarial wake/sleep learning in the toy generative model (Benjamin & Kording) that
the `benjamin_kording` task runs in Brian2: the training loop and its stationary discriminator, for tests only."""

import numpy as np

from spikelearn.tasks.benjamin_kording.generative import TOY_DEFAULTS, _check_positive, poisson_readout, sample_latent, sample_sleep, sample_wake

__all__ = ["RULE_DEFAULTS", "features", "oscillation_gates", "stationary_discriminator", "train"]


RULE_DEFAULTS = {
    "eta_P": 0.02,  # local predictive (delta) rule, per step
    "eta_D": 0.01,  # discriminator learning rate, per step
    "lam_D": 0.01,  # discriminator weight decay, per step
    "eta_G": 0.3,  # three-factor (perturbation) rule, per step
    "sigma_xi": 0.1,  # std of the per-sample weight perturbation
    "alpha": 0.05,  # running-mean rate of Dbar, per sleep step
    "predict_in_stage2": 0.0,  # keep the local predictive rule on in Stage 2 (1) or not (0)
    "sleep_sign": -1.0,  # sign of the discriminator update in sleep (-1: anti-Hebbian)
    "gate_by_D": 1.0,  # 1: the perturbation rule is gated by D - Dbar; 0: by 1 (D plays no role)
}


def features(B, C):
    """The discriminator's fixed nonlinear (dendritic) features ``[B, C, B^2, C^2, B*C]``, shape (5, n)."""
    B = np.asarray(B, dtype=float)
    C = np.asarray(C, dtype=float)
    return np.stack([B, C, B * B, C * C, B * C])


def oscillation_gates(n_steps, dt, period, duty=0.5, offset=0.0, half_step=None):
    """Per-step wake gate of the ``oscillation`` schedule, the same expression of ``t`` Brian2 uses:
    ``((t + half_step + period - offset) % period) < duty*period`` with ``t = k*dt``; the schedule
    evaluates gates half a simulation step late (``half_step``, default ``dt/2``)."""
    if n_steps < 0:
        raise ValueError(f"n_steps must be >= 0, found: {n_steps}")
    _check_positive("dt", dt)
    _check_positive("period", period)
    offset = offset % period
    t = np.arange(int(n_steps)) * dt + (dt / 2 if half_step is None else half_step)
    return (((t + period - offset) % period) < duty * period).astype(float)


def train(n_steps, wake_gate, stage2_start, rng, n_replicas=1000, a0=(0.0, 0.0), toy=None, rules=None,
          record_every=1, freeze_a_from=None, latent_shift=None, readout=None):
    """Run Stage 1 (steps ``< stage2_start``) then Stage 2 and return the learning traces.

    Parameters
    ----------
    n_steps : int
        Number of time steps.
    wake_gate : array (n_steps,)
        1 in wake, 0 in sleep (see :func:`oscillation_gates`).
    stage2_start : int
        First step of Stage 2 (``n_steps`` or more: Stage 1 only).
    rng : numpy.random.Generator
    n_replicas : int
        Samples per step (the mini-batch).
    a0 : (float, float)
        Initial generative weights.
    toy, rules : dict, optional
        Overrides of :data:`TOY_DEFAULTS` and :data:`RULE_DEFAULTS`.
    record_every : int
        Keep every ``record_every``-th step in the traces.
    freeze_a_from : int, optional
        From this step on, ``a`` no longer learns (the discriminator still does): the test phase of
        the surprise scenario.
    latent_shift : array (n_steps,), optional
        Added to the wake latent ``T`` at each step (novel data); sleep is unaffected.
    readout : dict, optional
        Spiking variant: B and C are read through spike counts, see :func:`poisson_readout`
        (keys ``gain``, ``window``, ``offset``); one step is then one counting window. The
        discriminator and the predictive rule see the decoded counts instead of ``B``, ``C``.

    Returns
    -------
    dict
        ``step`` (recorded steps), ``a`` (n_rec, 2), ``v`` (n_rec, 5), ``Dbar`` (n_rec,), ``D_mean``
        (n_rec,) the replica mean of D at each recorded step, ``a_final``, ``v_final``.
    """
    p = dict(TOY_DEFAULTS, **(toy or {}))
    r = dict(RULE_DEFAULTS, **(rules or {}))
    unknown = set(rules or {}) - set(RULE_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown rule parameters: {sorted(unknown)}; known: {sorted(RULE_DEFAULTS)}")
    n_steps = int(n_steps)
    wake_gate = np.asarray(wake_gate, dtype=float)
    if wake_gate.shape != (n_steps,):
        raise ValueError(f"wake_gate must have shape ({n_steps},), found: {wake_gate.shape}")
    freeze_a_from = n_steps if freeze_a_from is None else int(freeze_a_from)
    latent_shift = np.zeros(n_steps) if latent_shift is None else np.asarray(latent_shift, dtype=float)
    if latent_shift.shape != (n_steps,):
        raise ValueError(f"latent_shift must have shape ({n_steps},), found: {latent_shift.shape}")
    M = int(n_replicas)
    if M < 1:
        raise ValueError(f"n_replicas must be >= 1, found: {n_replicas}")
    a = np.array(a0, dtype=float)
    v = np.zeros(5)
    Dbar = 0.0
    rec = {"step": [], "a": [], "v": [], "Dbar": [], "D_mean": []}
    for k in range(n_steps):
        wake = wake_gate[k]
        sleep = 1.0 - wake
        s2 = 1.0 if k >= stage2_start else 0.0
        T = sample_latent(rng, M, p["gamma_shape"], p["gamma_scale"], p["shift"])
        eB = p["noise"] * rng.standard_normal(M)
        eC = p["noise"] * rng.standard_normal(M)
        xi = r["sigma_xi"] * s2 * rng.standard_normal((2, M))
        A = T + wake * latent_shift[k]
        gB = wake * p["w_TB"] + sleep * (a[0] + xi[0])
        gC = wake * p["w_TC"] + sleep * (a[1] + xi[1])
        B = gB * A + eB
        C = gC * A + p["w_BC"] * B + eC
        if readout is not None:
            B = poisson_readout(rng, B, **readout)
            C = poisson_readout(rng, C, **readout)
        phi = features(B, C)
        D = v @ phi
        D_mean = D.mean()
        if k % record_every == 0:
            rec["step"].append(k)
            rec["a"].append(a.copy())
            rec["v"].append(v.copy())
            rec["Dbar"].append(Dbar)
            rec["D_mean"].append(D_mean)
        # Stage 1: local predictive (delta) rule, wake only
        pred_on = wake * (1.0 - s2 + s2 * r["predict_in_stage2"])
        da = r["eta_P"] * pred_on * np.array([np.mean((B - a[0] * A) * A), np.mean((C - a[1] * A) * A)])
        # Stage 2: three-factor perturbation rule, sleep only
        gate = r["gate_by_D"] * (D - Dbar) + (1.0 - r["gate_by_D"])
        da += r["eta_G"] * s2 * sleep * np.array([np.mean(gate * xi[0]), np.mean(gate * xi[1])])
        # Stage 2: discriminator, Hebbian in wake, (anti-)Hebbian in sleep, with decay
        sign = wake + r["sleep_sign"] * sleep
        v = v + s2 * (r["eta_D"] * sign * phi.mean(axis=1) - r["lam_D"] * v)
        Dbar = Dbar + r["alpha"] * s2 * sleep * (D_mean - Dbar)
        if k < freeze_a_from:
            a = a + da
    out = {key: np.asarray(val) for key, val in rec.items()}
    out["a_final"] = a
    out["v_final"] = v
    return out


def stationary_discriminator(a, eta_D, lam_D, duty=0.5, toy=None, rng=None, n_samples=400_000):
    """The discriminator weights the rule settles to for fixed ``a``:
    ``v = eta_D*(duty*<phi>_wake - (1 - duty)*<phi>_sleep)/lam_D`` (moments estimated by sampling)."""
    rng = np.random.default_rng(0) if rng is None else rng
    _, Bw, Cw = sample_wake(rng, n_samples, toy)
    _, Bs, Cs = sample_sleep(rng, n_samples, a, toy)
    mw = features(Bw, Cw).mean(axis=1)
    ms = features(Bs, Cs).mean(axis=1)
    return eta_D * (duty * mw - (1 - duty) * ms) / lam_D
