"""Statistics of recorded spike trains as plain NumPy (indices ``i``, times ``t`` in seconds), used by
tasks and by the claims a scenario states itself (`spikelearn.claims`)."""

import numpy as np

__all__ = ["spike_counts", "isi_cv", "fano_factor", "mean_pairwise_correlation", "mean_rate"]


def mean_rate(t, n, t_start, t_stop):
    """Mean firing rate (Hz) of ``n`` neurons over ``[t_start, t_stop)`` from spike times ``t``."""
    if t_stop <= t_start:
        raise ValueError(f"empty window [{t_start}, {t_stop})")
    return float(np.sum((t >= t_start) & (t < t_stop))) / (t_stop - t_start) / n


def spike_counts(i, t, n, t_start, t_stop, bin_s):
    """``(n, bins)`` spike counts of neurons ``0..n-1`` in bins of ``bin_s`` over ``[t_start, t_stop)``."""
    n_bins = int(np.floor((t_stop - t_start) / bin_s + 1e-9))
    if n_bins < 2:
        raise ValueError(f"[{t_start}, {t_stop}) holds fewer than two bins of {bin_s} s")
    keep = (t >= t_start) & (t < t_start + n_bins * bin_s) & (i < n)
    b = ((t[keep] - t_start) / bin_s).astype(int)
    counts = np.zeros((n, n_bins))
    np.add.at(counts, (i[keep], np.minimum(b, n_bins - 1)), 1)
    return counts


def isi_cv(i, t, n, t_start, t_stop, min_spikes=5):
    """Mean over neurons (with at least ``min_spikes`` spikes in the window) of the CV of their
    inter-spike intervals; NaN if none has enough."""
    keep = (t >= t_start) & (t < t_stop)
    i, t = i[keep], t[keep]
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    starts = np.searchsorted(i, np.arange(n))
    ends = np.searchsorted(i, np.arange(n), side="right")
    cvs = [np.std(d) / np.mean(d) for a, b in zip(starts, ends) if b - a >= min_spikes
           for d in [np.diff(t[a:b])]]
    return float(np.mean(cvs)) if cvs else float("nan")


def fano_factor(counts):
    """Mean over neurons that fired of the variance over the mean of their counts per bin."""
    m = counts.mean(axis=1)
    fired = m > 0
    return float(np.mean(counts[fired].var(axis=1) / m[fired])) if fired.any() else float("nan")


def mean_pairwise_correlation(counts):
    """Mean Pearson correlation of the spike counts over all pairs of neurons whose counts vary."""
    c = counts[counts.std(axis=1) > 0]
    if len(c) < 2:
        return float("nan")
    r = np.corrcoef(c)
    return float((r.sum() - np.trace(r)) / (len(c) * (len(c) - 1)))
