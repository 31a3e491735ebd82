"""NumPy oracle of the Hawkes ring that spikelearn's `poisson_hawkes` model and `zhang2023` task run in Brian2:
the variability update and a step-by-step simulation, for tests only."""

import numpy as np

__all__ = ["simulate_hawkes", "variability_update"]


def variability_update(u, fano, normal):
    """The internal variability rule ``u + sqrt(fano·[u]_+)·normal`` (NumPy)."""
    if fano < 0:
        raise ValueError(f"fano must be >= 0, found: {fano}")
    u = np.asarray(u, float)
    return u + np.sqrt(fano * np.clip(u, 0, None)) * normal


def simulate_hawkes(W, rate_fwd, duration, dt=1e-4, tau_syn=2e-3, fano=1.0, rate_bkg=0.0,
                    window=0.02, exc=None, seed=0):
    """Discrete-time linear Hawkes network (NumPy), as the Brian2 model steps it.

    Per step: spikes drawn with probability ``(rate_fwd + x/tau_syn + rate_bkg)·dt``; then
    ``u = W @ spikes``, ``u += sqrt(fano·u₊)·N(0,1)``, ``x = exp(−dt/tau_syn)·x + u``.

    Returns ``(counts, z)``: spike counts per window (n_windows, n) and the integral of the recurrent
    drive ``x/tau_syn`` per window (n_windows, n) (for neurons ``exc`` if given, else all).
    """
    if duration <= 0 or dt <= 0 or window < dt:
        raise ValueError(f"need duration > 0, dt > 0, window >= dt; found {duration}, {dt}, {window}")
    rng = np.random.default_rng(seed)
    W = np.asarray(W, float)
    n = W.shape[0]
    rate_fwd = np.asarray(rate_fwd, float)
    exc = np.arange(n) if exc is None else np.asarray(exc)
    steps_per_window = int(round(window / dt))
    n_windows = int(round(duration / window))
    alpha = np.exp(-dt / tau_syn)
    x = np.zeros(n)
    counts = np.zeros((n_windows, len(exc)))
    z = np.zeros((n_windows, len(exc)))
    for k in range(n_windows):
        c = np.zeros(n)
        zz = np.zeros(n)
        for _ in range(steps_per_window):
            p = (rate_fwd + x / tau_syn + rate_bkg) * dt
            spk = rng.random(n) < p
            c += spk
            u = W[:, spk].sum(axis=1)
            u = variability_update(u, fano, rng.standard_normal(n))
            x = alpha * x + u
            zz += x / tau_syn * dt
        counts[k] = c[exc]
        z[k] = zz[exc]
    return counts, z
