"""Pure-NumPy reference of adversarial wake/sleep learning (Benjamin & Kording) in a 3-unit toy.

The generative process ("wake", stimulus-driven) and the model ("sleep", self-generated)::

    wake:   T ~ Gamma(2, 0.5) - 1,  A = T,  B = w_TB*T + eps_B,  C = w_TC*T + w_BC*B + eps_C
    sleep:  A ~ same prior,  B = (a_B + xi_B)*A + eps_B,  C = (a_C + xi_C)*A + w_BC*B + eps_C

with ``eps ~ N(0, noise**2)``. The generative weights ``a = (a_B, a_C)`` (A's synapses onto B and C) are
learned; the target is ``a* = (w_TB, w_TC)``. ``xi`` is a per-sample weight perturbation, used by the
three-factor rule only (zero in Stage 1).

The simulation runs ``M`` independent replicas of the circuit in parallel, one sample per replica and
time step; learning uses the replica average of each local update (a mini-batch). Phases (wake/sleep)
and stages come from per-step gates, so the Brian2 task and this reference follow the same schedule.
Per step, in this order:

1. draw ``T, eps_B, eps_C, xi_B, xi_C`` for every replica and form ``A, B, C`` (gated by the phase);
2. features ``phi = [B, C, B^2, C^2, B*C]``, discriminator ``D = v . phi``;
3. Stage 1 (local prediction, wake): ``a_X += eta_P * <(X - a_X*A)*A>`` (off in Stage 2 unless
   ``predict_in_stage2``);
4. Stage 2 (adversarial):
   ``v += eta_D*(wake + sleep_sign*sleep)*<phi> - lam_D*v`` (``sleep_sign = -1``: Hebbian in wake,
   anti-Hebbian in sleep; with decay);
   ``a += eta_G*sleep*<(D - Dbar)*xi>`` (weight perturbation gated by D - Dbar);
   ``Dbar += alpha*sleep*(<D> - Dbar)`` (running mean of D in sleep).

``<.>`` is the mean over replicas. All updates use the values of the current step (v, a, Dbar before the
update), as the Brian2 ``run_regularly`` block does.

The local predictive rule only sees A's own synapse, so with the B->C recurrence it learns the
regression of C on A, ``w_TC + w_BC*w_TB`` (1.3 for the default toy), not ``w_TC`` (0.5): in sleep the
recurrence is then counted twice. Without the recurrence (``w_BC = 0``) Stage 1 is already correct.
The discriminator, linear in second-order features, drives the sleep second moments to the wake ones,
which in this toy have the unique positive solution ``a = a*`` (up to the O(sigma_xi^2) bias of the
perturbation itself).
"""

import numpy as np

__all__ = [
    "TOY_DEFAULTS",
    "sample_latent",
    "sample_wake",
    "sample_sleep",
    "bin_edges",
    "binned_kl",
    "poisson_readout",
    "evaluate_kl",
    "modulation_amplitude",
]

TOY_DEFAULTS = {
    "gamma_shape": 2.0,
    "gamma_scale": 0.5,
    "shift": -1.0,
    "w_TB": 1.0,
    "w_TC": 0.5,
    "w_BC": 0.8,
    "noise": 0.3,
}


def _check_positive(name, value):
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, found: {value}")


def sample_latent(rng, n, gamma_shape=2.0, gamma_scale=0.5, shift=-1.0):
    """Draw ``n`` latents ``T ~ Gamma(gamma_shape, gamma_scale) + shift``.

    For the integer shape 2 this is ``-gamma_scale*(log U1 + log U2) + shift``, the same formula the
    Brian2 code uses with ``rand()``.
    """
    n = int(n)
    if n < 0:
        raise ValueError(f"n must be >= 0, found: {n}")
    _check_positive("gamma_shape", gamma_shape)
    _check_positive("gamma_scale", gamma_scale)
    return rng.gamma(gamma_shape, gamma_scale, size=n) + shift


def sample_wake(rng, n, toy=None, latent_shift=0.0, sign_B=1.0):
    """Stimulus-driven samples ``(A, B, C)``.

    ``latent_shift`` and ``sign_B`` make novel data (T shifted, or the sign of B's dependence flipped).
    """
    p = dict(TOY_DEFAULTS, **(toy or {}))
    T = sample_latent(rng, n, p["gamma_shape"], p["gamma_scale"], p["shift"]) + latent_shift
    B = sign_B * p["w_TB"] * T + p["noise"] * rng.standard_normal(n)
    C = p["w_TC"] * T + p["w_BC"] * B + p["noise"] * rng.standard_normal(n)
    return T, B, C


def sample_sleep(rng, n, a, toy=None, sigma_xi=0.0):
    """Self-generated samples ``(A, B, C)`` for generative weights ``a = (a_B, a_C)``."""
    p = dict(TOY_DEFAULTS, **(toy or {}))
    a = np.asarray(a, dtype=float)
    if a.shape != (2,):
        raise ValueError(f"a must have shape (2,), found: {a.shape}")
    A = sample_latent(rng, n, p["gamma_shape"], p["gamma_scale"], p["shift"])
    xi = sigma_xi * rng.standard_normal((2, n)) if sigma_xi > 0 else np.zeros((2, n))
    B = (a[0] + xi[0]) * A + p["noise"] * rng.standard_normal(n)
    C = (a[1] + xi[1]) * A + p["w_BC"] * B + p["noise"] * rng.standard_normal(n)
    return A, B, C


def bin_edges(B, C, bins=20, quantile=0.001):
    """Edges for the 2-D histograms: ``bins`` equal bins between the ``quantile`` and
    ``1 - quantile`` quantiles of the (wake) samples ``B``, ``C``."""
    if not 0 <= quantile < 0.5:
        raise ValueError(f"quantile must be in [0, 0.5), found: {quantile}")
    eb = np.linspace(*np.quantile(B, [quantile, 1 - quantile]), bins + 1)
    ec = np.linspace(*np.quantile(C, [quantile, 1 - quantile]), bins + 1)
    return eb, ec


def _hist(B, C, edges):
    eb, ec = edges
    # values outside the range go to the edge bins
    ib = np.clip(np.searchsorted(eb, B, side="right") - 1, 0, len(eb) - 2)
    ic = np.clip(np.searchsorted(ec, C, side="right") - 1, 0, len(ec) - 2)
    h = np.zeros((len(eb) - 1, len(ec) - 1))
    np.add.at(h, (ib, ic), 1.0)
    return h


def binned_kl(wake, sleep, bins=20, pseudocount=0.5, edges=None):
    """KL(wake || sleep) in nats between 2-D histograms of ``(B, C)`` samples.

    Parameters
    ----------
    wake, sleep : tuple of arrays
        ``(B, C)`` samples of each distribution.
    bins : int
        Bins per axis; the range is set by the wake samples (see :func:`bin_edges`), outliers go to
        the edge bins.
    pseudocount : float
        Added to every bin count of both histograms (keeps the estimate finite).
    edges : tuple of arrays, optional
        Explicit bin edges (overrides ``bins``).
    """
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be >= 0, found: {pseudocount}")
    if edges is None:
        edges = bin_edges(wake[0], wake[1], bins)
    p = _hist(wake[0], wake[1], edges) + pseudocount
    q = _hist(sleep[0], sleep[1], edges) + pseudocount
    p /= p.sum()
    q /= q.sum()
    return float(np.sum(p * np.log(p / q)))


def poisson_readout(rng, x, gain, window, offset, dt=None):
    """Decode ``x`` through the spike count of a Poisson neuron with rectified drive.

    The neuron fires at ``gain*max(x + offset, 0)`` (Hz) for ``window`` seconds; the decoded value is
    ``count/(gain*window) - offset``. With ``dt``, the count is that of the Brian2 neuron
    ``rand() < rate*dt`` over ``round(window/dt)`` steps (binomial) instead of Poisson.
    """
    _check_positive("gain", gain)
    _check_positive("window", window)
    rate = gain * np.maximum(np.asarray(x, dtype=float) + offset, 0.0)
    if dt is None:
        count = rng.poisson(rate * window)
    else:
        _check_positive("dt", dt)
        count = rng.binomial(int(round(window / dt)), np.minimum(rate * dt, 1.0))
    return count / (gain * window) - offset


def evaluate_kl(a, rng, n_samples=200_000, toy=None, bins=20, readout=None):
    """KL(wake || sleep) of 2-D ``(B, C)`` histograms for generative weights ``a`` (unperturbed);
    with ``readout`` (see :func:`poisson_readout`) of the decoded spike counts."""
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, found: {n_samples}")
    _, Bw, Cw = sample_wake(rng, n_samples, toy)
    _, Bs, Cs = sample_sleep(rng, n_samples, a, toy)
    if readout is not None:
        Bw, Cw, Bs, Cs = (poisson_readout(rng, x, **readout) for x in (Bw, Cw, Bs, Cs))
    return binned_kl((Bw, Cw), (Bs, Cs), bins=bins)


def modulation_amplitude(D, wake_gate, mask=None):
    """Oscillation amplitude of ``D``: per wake/sleep cycle, ``|mean D in wake - mean D in sleep|``,
    averaged over the cycles that lie entirely inside ``mask``.

    Parameters
    ----------
    D : array (n_steps,)
        The discriminator output per step (e.g. its replica mean).
    wake_gate : array (n_steps,)
        1 in wake, 0 in sleep. A cycle is a wake run followed by a sleep run.
    mask : array of bool (n_steps,), optional
        Steps to consider (e.g. one stimulus block).

    Returns
    -------
    amplitude : float
        Mean over complete cycles (NaN when there is none).
    per_cycle : array
        The amplitude of each complete cycle.
    """
    D = np.asarray(D, dtype=float)
    wake_gate = np.asarray(wake_gate, dtype=float)
    if D.shape != wake_gate.shape:
        raise ValueError(f"D and wake_gate must have the same shape, found: {D.shape} and {wake_gate.shape}")
    mask = np.ones(D.shape, bool) if mask is None else np.asarray(mask, bool)
    starts = np.flatnonzero(np.diff(np.r_[0.0, wake_gate]) > 0)  # first step of each wake run
    amps = []
    for s, e in zip(starts[:-1], starts[1:]):
        if not mask[s:e].all():
            continue
        w = wake_gate[s:e] > 0.5
        if w.all() or not w.any():
            continue
        amps.append(abs(D[s:e][w].mean() - D[s:e][~w].mean()))
    amps = np.asarray(amps)
    return (float(amps.mean()) if amps.size else float("nan")), amps
