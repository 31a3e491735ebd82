"""Independent NumPy simulation of the 2015 pairing protocol for ΔW ∝ S_pre · dV_post/dt.

Used only by tests and by ``bench/bengio2017_dvdt_reference.py`` (which fixes the thresholds of the
``stdp-window-dvdt`` claims from its seed spread). It imports nothing from spikelearn: the neuron, the
current step, the rule and the analysis are written here from their definitions.

Neuron (per trial, all trials in parallel): ``dV = (V_rest - V + I(t))/tau_m dt + sigma sqrt(2/tau_m) dB``
(Euler-Maruyama, step ``dt``); after each step it spikes with probability
``rate_max dt / (1 + exp(-gain (V - theta)))``. The current ``I(t)`` is ``amplitude`` during
``[t_on, t_on + step)``, else 0. Presynaptic spikes arrive at ``t_on + offset`` for every offset of the
grid, in every trial; each reads the drift ``(V_rest - V + I)/tau_m`` at the start of its step (the
Brian2 run reads it after that step's update: an O(dt) difference, inside the seed spread) and changes
its weight by ``eta * drift``.

Every (presynaptic spike, postsynaptic spike) pair of a trial with ``|Δt| <= max_lag``
(``Δt = t_post - t_pre``) adds that presynaptic spike's ΔW to the bin of its Δt. Standard errors from
``n_blocks`` blocks of trials.
"""

import numpy as np

SETTINGS = {"tau_m": 10e-3, "sigma": 0.3, "V_rest": 0.0, "theta": 2.0, "gain": 4.0, "rate_max": 200.0,
            "amplitude": 6.36, "t_on": 0.1, "step": 5e-3, "offset_min": -60e-3, "offset_max": 100e-3,
            "offset_step": 1e-3, "n_trials": 2000, "dt": 1e-4, "duration": 0.26, "eta": 1e-3,
            "bin": 2e-3, "max_lag": 60e-3, "n_blocks": 20}


def offsets(s):
    n0 = int(round(s["offset_min"] / s["offset_step"]))
    n1 = int(round(s["offset_max"] / s["offset_step"]))
    return np.arange(n0, n1 + 1) * s["offset_step"]


def simulate(seed, s=None, read="dvdt"):
    """One run of ``n_trials`` trials. ``read="dvdt"``: ΔW = eta*drift; ``"V"``: ΔW = eta*V (control).

    Returns ``(dw, post_trial, post_time, t_pre)``: ``dw[k, j]`` the weight change of the presynaptic
    spike at offset k in trial j; the postsynaptic spikes as trial indices and times (s).
    """
    s = {**SETTINGS, **(s or {})}
    rng = np.random.default_rng(seed)
    n, dt = s["n_trials"], s["dt"]
    off = offsets(s)
    t_pre = s["t_on"] + off
    pre_step = np.round(t_pre / dt).astype(int)
    V = s["V_rest"] + s["sigma"] * rng.standard_normal(n)
    dw = np.zeros((len(off), n))
    noise = s["sigma"] * np.sqrt(2 * dt / s["tau_m"])
    on0, on1 = int(round(s["t_on"] / dt)), int(round((s["t_on"] + s["step"]) / dt))
    trial, times = [], []
    for k in range(int(round(s["duration"] / dt))):
        current = s["amplitude"] if on0 <= k < on1 else 0.0
        drift = (s["V_rest"] - V + current) / s["tau_m"]
        hit = np.nonzero(pre_step == k)[0]
        for h in hit:
            dw[h] = s["eta"] * (drift if read == "dvdt" else V)
        V = V + dt * drift + noise * rng.standard_normal(n)
        p = s["rate_max"] * dt / (1.0 + np.exp(-s["gain"] * (V - s["theta"])))
        fired = np.nonzero(rng.random(n) < p)[0]
        trial.append(fired)
        times.append(np.full(len(fired), k * dt))
    return dw, np.concatenate(trial), np.concatenate(times), t_pre


def bin_window(dw, post_trial, post_time, t_pre, s=None):
    """Mean ΔW per pair in bins of Δt (centred on multiples of ``bin``), with block standard errors.

    Returns ``centers, mean, sem, counts``.
    """
    s = {**SETTINGS, **(s or {})}
    b, lag, nblk = s["bin"], s["max_lag"], s["n_blocks"]
    nb = int(round(lag / b))
    centers = np.arange(-nb, nb + 1) * b
    n_trials = dw.shape[1]
    d = post_time[:, None] - t_pre[None, :]  # (post spikes, offsets)
    vals = dw[:, post_trial].T
    idx = np.floor(d / b + 0.5).astype(int) + nb  # nearest centre
    ok = (np.abs(d) <= lag + 1e-12) & (idx >= 0) & (idx < len(centers))
    blk = np.broadcast_to((post_trial * nblk // n_trials)[:, None], d.shape)
    sums = np.zeros((nblk, len(centers)))
    cnts = np.zeros((nblk, len(centers)))
    np.add.at(sums, (blk[ok], idx[ok]), vals[ok])
    np.add.at(cnts, (blk[ok], idx[ok]), 1)
    counts = cnts.sum(0)
    mean = sums.sum(0) / np.maximum(counts, 1)
    bm = sums / np.maximum(cnts, 1)
    sem = bm.std(0, ddof=1) / np.sqrt(nblk)
    return centers, mean, sem, counts


def lobe_widths(centers, mean):
    """``(width_plus, width_minus, area_ratio)``: the |Δt|-centroid of the window on each side
    (``sum |Δt| W / sum W`` over the bins with Δt > 0, and the same with -W over Δt < 0) and the ratio
    of the two sums (potentiation over depression)."""
    pos, neg = centers > 0, centers < 0
    ap, am = mean[pos].sum(), -mean[neg].sum()
    wp = float((centers[pos] * mean[pos]).sum() / ap)
    wm = float((-centers[neg] * -mean[neg]).sum() / am)
    return wp, wm, float(ap / am)


def summary(seed, s=None, read="dvdt"):
    s = {**SETTINGS, **(s or {})}
    dw, pj, pt, tp = simulate(seed, s, read)
    c, m, se, n = bin_window(dw, pj, pt, tp, s)
    wp, wm, ratio = lobe_widths(c, m)
    return {"centers": c, "mean": m, "sem": se, "counts": n, "width_plus": wp, "width_minus": wm,
            "area_ratio": ratio, "spikes_per_trial": len(pt) / s["n_trials"]}
