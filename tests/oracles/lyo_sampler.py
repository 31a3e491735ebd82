"""NumPy oracle of the oscillation-gated Langevin sampler (Lyo & Savin 2024) that the `lyo2024` task runs in
Brian2: the diffused mixture's score and the sampler, for tests only (the denoiser's NumPy forward pass is
:func:`spikelearn.tasks.lyo2024.mixtures.denoiser_eps`)."""

import numpy as np

from spikelearn.tasks.lyo2024.mixtures import Mixture, oscillation, schedule

__all__ = ["diffused", "langevin_sampler", "mixture_score", "simulate_sampler"]


def diffused(mixture, abar):
    """The mixture pushed through ``x_u = sqrt(abar) x_0 + sqrt(1 - abar) eps``."""
    if not 0 < abar <= 1:
        raise ValueError(f"abar must be in (0, 1], found: {abar}")
    return Mixture(mixture.weights, np.sqrt(abar) * mixture.means,
                   abar * mixture.variances + 1 - abar)


def mixture_score(x, mixture, abar):
    """Exact score ``grad log p_u(x)`` of the diffused mixture (the dendritic computation).

    Branch ``k`` computes ``a_k = log w_k - sum_d (x_d - sqrt(abar) m_kd)^2 / (2 v_kd)
    - sum_d log v_kd / 2`` with ``v_kd = abar s_kd^2 + 1 - abar``; the soma sums
    ``-sum_k softmax(a)_k (x - sqrt(abar) m_k) / v_k``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    mixture : Mixture
    abar : float or ndarray of shape (n,)
    """
    from scipy.special import logsumexp

    x = np.atleast_2d(x)
    abar = np.broadcast_to(np.asarray(abar, dtype=float), (x.shape[0],))[:, None, None]
    m = np.sqrt(abar) * mixture.means[None]
    v = abar * mixture.variances[None] + 1 - abar
    diff = x[:, None, :] - m
    a = np.log(mixture.weights)[None] - np.sum(diff**2 / (2 * v) + 0.5 * np.log(v), axis=2)
    r = np.exp(a - logsumexp(a, axis=1, keepdims=True))
    return -np.sum(r[:, :, None] * diff / v, axis=1)


# ----------------------------------------------------------------------------------------------------
# samplers (NumPy Euler-Maruyama; the Brian2 versions live in spikelearn.models.dendritic)
# ----------------------------------------------------------------------------------------------------
def simulate_sampler(score, x0, period, n_cycles, dt, rng, record_every=None):
    """Euler-Maruyama simulation of the oscillation-gated sampler.

    Parameters
    ----------
    score : callable
        ``score(x, u, abar) -> ndarray`` of the shape of ``x``; used on the falling half only.
    x0 : ndarray, shape (n_chains, d)
    period, dt : float
        Oscillation period and time step (s); ``period / dt`` must be an even integer.
    n_cycles : int
    rng : numpy.random.Generator
    record_every : int or None
        Also return the state every ``record_every`` steps.

    Returns
    -------
    troughs : ndarray, shape (n_cycles + 1, n_chains, d)
        The state at ``t = n T`` (``troughs[0] = x0``).
    peaks : ndarray, shape (n_cycles, n_chains, d)
        The state at ``t = n T + T/2``.
    trace : ndarray or None
    """
    steps = period / dt
    if abs(steps - round(steps)) > 1e-6 or round(steps) % 2:
        raise ValueError(f"period/dt must be an even integer, found: {steps}")
    steps = int(round(steps))
    x = np.array(x0, dtype=float)
    troughs, peaks, trace = [x.copy()], [], []
    for c in range(n_cycles):
        for s in range(steps):
            t = (c * steps + s) * dt
            u, udot, falling = oscillation(t, period)
            beta, abar = schedule(u)
            g2 = beta * abs(udot)
            drift = (0.5 * g2 * x + g2 * score(x, u, abar)) if falling else -0.5 * g2 * x
            x = x + drift * dt + np.sqrt(g2 * dt) * rng.standard_normal(x.shape)
            if record_every and (c * steps + s + 1) % record_every == 0:
                trace.append(x.copy())
            if s + 1 == steps // 2:
                peaks.append(x.copy())
        troughs.append(x.copy())
    return np.array(troughs), np.array(peaks), (np.array(trace) if record_every else None)


def langevin_sampler(mixture, x0, n_samples, interval, dt, rng, temperature=1.0):
    """Constant-noise Langevin sampling ``dx = s(x) dt + sqrt(2 temperature) dW`` of a mixture.

    Samples are read every ``interval`` seconds. This is the negative control of the independence
    claim: with a constant (low) noise the chain stays in its mode.

    Returns an array of shape (n_samples, n_chains, d).
    """
    n_steps = int(round(interval / dt))
    if n_steps < 1:
        raise ValueError(f"interval must be >= dt, found interval={interval}, dt={dt}")
    x = np.array(x0, dtype=float)
    out = []
    for _ in range(n_samples):
        for _ in range(n_steps):
            x = x + mixture_score(x, mixture, 1.0) * dt + np.sqrt(2 * temperature * dt) * rng.standard_normal(x.shape)
        out.append(x.copy())
    return np.array(out)
