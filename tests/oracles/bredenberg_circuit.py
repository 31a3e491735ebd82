"""NumPy oracle of the reward-modulated rate circuit (Bredenberg, Simoncelli & Savin 2020) that the
`bredenberg2020` task runs in Brian2: inputs, reward and a step-by-step simulation, for tests only."""

import numpy as np

__all__ = ["DEFAULTS", "_target", "finv", "initial_state", "inputs", "reward", "simulate"]


DEFAULTS = dict(N=40, n_in=12, dt=0.02, sigma=0.2, gamma=30.0, r_min=1e-3, r_max=100.0, kappa=0.75,
                gain=1.0, eta=0.015, eta_d=0.1, lam=8e-4, lam_in=0.0, lam_b=0.0, tau_c=2.0, tau_r=2.0,
                slope=100.0, y_tol=1e-4, t_block=30.0, t_settle=10.0, w_scale=0.3, w_in_scale=0.5, b_init=0.0,
                baseline=1.0)


def finv(r, gamma=30.0):
    """Inverse of the sharp softplus ``f(x) = log(1 + exp(gamma*x))/gamma``, in its stable form."""
    r = np.asarray(r, dtype=float)
    if np.any(r <= 0):
        raise ValueError(f"finv needs r > 0, found min {r.min()}")
    return r + np.log1p(-np.exp(-gamma * r)) / gamma


def inputs(theta, n_in=12, gain=1.0):
    """Input rates ``gain*[cos(theta - phi_k)]_+`` for angles ``theta`` (any shape) -> shape (..., n_in)."""
    phi = 2 * np.pi * np.arange(n_in) / n_in
    return gain * np.maximum(np.cos(np.asarray(theta, dtype=float)[..., None] - phi), 0.0)


def reward(task, r, D, theta, slope=100.0, y_tol=1e-4):
    """The reward of one state: ``task`` 'estimation' or 'discrimination'; ``D`` (n_out, N).

    Discrimination: ``y = sigmoid(slope*D r)`` is kept within ``[y_tol, 1 - y_tol]``, so ``R >= log(y_tol)``.
    """
    y = D @ r
    if task == "estimation":
        return -float(np.sum((np.array([np.cos(theta), np.sin(theta)]) - y) ** 2))
    if task == "discrimination":
        t = float((theta % (2 * np.pi)) < np.pi)
        z = slope * float(y[0])
        # log sigmoid(z) = -softplus(-z), log(1 - sigmoid(z)) = -softplus(z)
        return max(-(t * np.logaddexp(0, -z) + (1 - t) * np.logaddexp(0, z)), float(np.log(y_tol)))
    raise ValueError(f"task must be 'estimation' or 'discrimination', found: {task!r}")


def _target(task, theta):
    if task == "estimation":
        return np.array([np.cos(theta), np.sin(theta)])
    return np.array([float((theta % (2 * np.pi)) < np.pi)])


def simulate(task, theta_blocks, learn_blocks, rng, params=None, plastic=True, shuffle_reward=False,
             record_every=1.0, init=None):
    """Run the circuit over the blocks; return recorded rates and the final weights.

    Parameters
    ----------
    task : {'estimation', 'discrimination'}
    theta_blocks, learn_blocks : ndarray, shape (n_blocks,)
    rng : numpy.random.Generator
        Noise (and, for ``shuffle_reward``, the permutation source).
    params : dict, optional
        Overrides of :data:`DEFAULTS`.
    plastic : bool
        False: only the readout learns (the plasticity-off control).
    shuffle_reward : bool
        The third factor is the reward of exactly one block earlier (``round(t_block/dt) + 1`` steps; 0
        before that): same statistics, no relation to the current activity (the shuffled-reward control).
    record_every : float
        Record ``r`` every this many time units (after ``t_settle`` in each block).
    init : dict, optional
        Initial ``W``, ``W_in``, ``b``, ``D``, ``r`` (drawn from ``rng`` otherwise).

    Returns
    -------
    dict with ``rec_r`` (n_rec, N), ``rec_block`` (n_rec,), ``rec_R`` (n_rec,), and final ``W``, ``W_in``,
    ``b``, ``D``, plus ``init`` (the initial values).
    """
    p = {**DEFAULTS, **(params or {})}
    if task not in ("estimation", "discrimination"):
        raise ValueError(f"task must be 'estimation' or 'discrimination', found: {task!r}")
    N, n_in, dt = int(p["N"]), int(p["n_in"]), float(p["dt"])
    n_out = 2 if task == "estimation" else 1
    if init is None:
        init = initial_state(rng, N, n_in, n_out, p)
    W, W_in, b, D = (init[k].copy() for k in ("W", "W_in", "b", "D"))
    r = init["r"].copy()
    C = np.zeros((N, N))
    C_in = np.zeros((N, n_in))
    c_b = np.zeros(N)
    Rbar = 0.0
    steps_block = int(round(p["t_block"] / dt))
    settle = int(round(p["t_settle"] / dt))
    rec_step = max(1, int(round(record_every / dt)))
    sq = p["sigma"] * np.sqrt(dt)
    rec_r, rec_block, rec_R = [], [], []
    lag = steps_block + 1
    buf = np.zeros(lag)  # buf[n % lag] holds the reward of step n
    n_seen = 0
    for k, (theta, learn) in enumerate(zip(theta_blocks, learn_blocks)):
        s = inputs(theta, n_in, p["gain"])
        tgt = _target(task, theta)
        for step in range(steps_block):
            gate = float(learn) * (step >= settle)
            r = np.clip(r + dt * (-finv(r, p["gamma"]) + W @ r + W_in @ s + b) + sq * rng.standard_normal(N),
                        p["r_min"], p["r_max"])
            R = reward(task, r, D, theta, p["slope"], p["y_tol"])
            if task == "estimation":
                err = tgt - D @ r
            else:
                err = tgt - 1 / (1 + np.exp(-p["slope"] * (D @ r)))
            R_used = R
            if shuffle_reward:
                R_used = buf[(n_seen + 1) % lag]  # the reward of step n_seen - (lag - 1); 0 at first
                buf[n_seen % lag] = R
                n_seen += 1
            third = R_used - p["baseline"] * Rbar
            if gate > 0:
                if plastic:
                    g = p["eta"] * dt
                    W += g * (third * (np.outer(r, r) - C) - p["lam"] * W)
                    W_in += g * (third * (np.outer(r, s) - C_in) - p["lam_in"] * W_in)
                    b += g * (third * (r - c_b) - p["lam_b"] * b)
                D += p["eta_d"] * dt * np.outer(err, r)
            a_c = dt / p["tau_c"]
            C += a_c * (np.outer(r, r) - C)
            C_in += a_c * (np.outer(r, s) - C_in)
            c_b += a_c * (r - c_b)
            Rbar += dt / p["tau_r"] * (R_used - Rbar)
            if step >= settle and (step - settle) % rec_step == 0:
                rec_r.append(r.copy())
                rec_block.append(k)
                rec_R.append(R)
    return dict(rec_r=np.array(rec_r), rec_block=np.array(rec_block), rec_R=np.array(rec_R),
                W=W, W_in=W_in, b=b, D=D, init=init)


def initial_state(rng, N, n_in, n_out, p):
    """Initial weights: ``W ~ U(-1, 1)*w_scale/sqrt(N)``, ``W_in ~ U(-1, 1)*w_in_scale/sqrt(n_in)``,
    ``b = b_init``, ``D ~ U(-1/N, 1/N)``, ``r = 0.1``."""
    w, wi = p["w_scale"] / np.sqrt(N), p["w_in_scale"] / np.sqrt(n_in)
    return dict(W=rng.uniform(-w, w, size=(N, N)), W_in=rng.uniform(-wi, wi, size=(N, n_in)),
                b=np.full(N, float(p["b_init"])),
                D=rng.uniform(-1 / N, 1 / N, size=(n_out, N)), r=np.full(N, 0.1))
