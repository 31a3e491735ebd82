"""Spike-train statistics through Elephant: count correlations, cross-correlograms with a surrogate
baseline, Fano factors and CV of inter-spike intervals.

Recorded spikes are converted to :class:`neo.SpikeTrain` objects once (:func:`to_spiketrains`); every
statistic is then computed by Elephant (``elephant.conversion.BinnedSpikeTrain``,
``elephant.spike_train_correlation.correlation_coefficient`` / ``cross_correlation_histogram``,
``elephant.spike_train_surrogates.surrogates``, ``elephant.statistics.fanofactor`` / ``isi`` / ``cv``).
This module only selects, arranges and plots what Elephant returns.

Examples
--------
>>> import numpy as np
>>> from spikelearn.analysis.correlations import to_spiketrains, correlation_matrix
>>> rng = np.random.default_rng(0)
>>> t = np.sort(rng.uniform(0, 10, 200))
>>> trains = to_spiketrains(np.r_[np.zeros(200, int), np.ones(200, int)], np.r_[t, t], 2, 0.0, 10.0)
>>> cc, active = correlation_matrix(trains, bin_size=0.01)
>>> round(float(cc[0, 1]), 6)
1.0
"""

import functools
import importlib
import logging
import warnings

import numpy as np

__all__ = [
    "to_spiketrains",
    "silence_upstream_warnings",
    "binned",
    "correlation_matrix",
    "pairwise_values",
    "correlation_vs_tuning",
    "cross_correlogram",
    "fano_factors",
    "cv_isis",
    "correlation_figure",
    "correlogram_figure",
    "variability_figure",
    "default_pairs",
]

logger = logging.getLogger(__name__)

def _quiet_upstream(func):
    """Run ``func`` with known, harmless upstream warnings silenced: quantities' deprecation of
    ``copy=`` and NumPy's pending deprecation of ``numpy.matrix``, which Elephant and Neo trigger on
    ordinary calls, and Elephant's log message "Correcting N rounding errors by shifting the affected
    spikes into the following bin": simulated spike times lie on the dt grid, so many fall on a bin edge
    up to float rounding, and moving them into the following bin is the intended binning (the same as
    ``numpy.histogram``'s). Every other warning still shows."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        rounding = _elephant_rounding_logger()
        level = rounding.level
        rounding.setLevel(logging.ERROR)
        try:
            with warnings.catch_warnings():
                silence_upstream_warnings()
                return func(*args, **kwargs)
        finally:
            rounding.setLevel(level)

    return wrapper


def _elephant_rounding_logger():
    """The logger of ``elephant.utils`` (named after its file), which reports bin-edge rounding fixes."""
    utils = importlib.import_module("elephant.utils")
    return logging.getLogger(utils.__file__)


def silence_upstream_warnings():
    """Inside a ``warnings.catch_warnings()`` block: ignore the upstream warnings of Elephant/Neo calls."""
    category = getattr(importlib.import_module("quantities"), "QuantitiesDeprecationWarning", None)
    if category is not None:
        warnings.simplefilter("ignore", category)
    warnings.filterwarnings("ignore", message="the matrix subclass is not the recommended",
                            category=PendingDeprecationWarning)


SURROGATE_METHODS = {"jitter": "dither_spikes", "shuffle": "shuffle_isis"}


def _check_positive(name, value):
    if value is None or not np.isfinite(value) or not value > 0:
        raise ValueError(f"{name} must be > 0, found: {value}")


@_quiet_upstream
def to_spiketrains(i, t, n_neurons, t_start, t_stop, neurons=None):
    """Recorded spikes ``(i, t)`` as one :class:`neo.SpikeTrain` per neuron (times in s).

    Parameters
    ----------
    i, t : array_like
        Neuron indices and spike times (s).
    n_neurons : int
        Population size.
    t_start, t_stop : float
        Window (s); spikes outside ``[t_start, t_stop]`` are dropped.
    neurons : array_like of int or None
        The neurons to convert, in this order (default: all).

    Returns
    -------
    list of neo.SpikeTrain
        Each with ``annotations["neuron"]`` set to its index.
    """
    import neo
    import quantities as pq

    if not t_stop > t_start:
        raise ValueError(f"t_stop must be after t_start, found: {t_start}..{t_stop}")
    i = np.asarray(i, dtype=np.int64)
    t = np.asarray(t, dtype=float)
    if i.shape != t.shape:
        raise ValueError(f"i and t must have the same shape, found: {i.shape} and {t.shape}")
    keep = (t >= t_start) & (t <= t_stop)
    i, t = i[keep], t[keep]
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    bounds = np.searchsorted(i, np.arange(n_neurons + 1))
    neurons = np.arange(n_neurons) if neurons is None else np.asarray(neurons, dtype=np.int64)
    if neurons.size and (neurons.min() < 0 or neurons.max() >= n_neurons):
        raise ValueError(f"neuron indices must be in [0, {n_neurons}), found: {neurons.min()}..{neurons.max()}")
    return [neo.SpikeTrain(t[bounds[k]:bounds[k + 1]] * pq.s, t_start=t_start * pq.s, t_stop=t_stop * pq.s,
                           neuron=int(k)) for k in neurons]


@_quiet_upstream
def binned(spiketrains, bin_size):
    """``elephant.conversion.BinnedSpikeTrain`` of the trains at ``bin_size`` seconds."""
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain

    _check_positive("bin_size", bin_size)
    return BinnedSpikeTrain(spiketrains, bin_size=bin_size * pq.s)


@_quiet_upstream
def correlation_matrix(spiketrains, bin_size, min_spikes=2):
    """Pairwise spike-count correlation coefficients (Pearson) at ``bin_size`` seconds.

    Computed by ``elephant.spike_train_correlation.correlation_coefficient`` on the trains that have at
    least ``min_spikes`` spikes (a silent train has no defined correlation).

    Parameters
    ----------
    spiketrains : list of neo.SpikeTrain
        Common ``t_start``/``t_stop``.
    bin_size : float
        Counting bin (s).
    min_spikes : int
        Trains with fewer spikes are left out.

    Returns
    -------
    cc : numpy.ndarray, shape (n_active, n_active)
    active : numpy.ndarray of int
        Positions (in ``spiketrains``) of the trains in ``cc``.
    """
    from elephant.spike_train_correlation import correlation_coefficient

    _check_positive("bin_size", bin_size)
    active = np.array([k for k, st in enumerate(spiketrains) if len(st) >= min_spikes], dtype=np.int64)
    if active.size < 2:
        return np.full((active.size, active.size), np.nan), active
    bst = binned([spiketrains[k] for k in active], bin_size)
    counts = bst.sparse_matrix
    counts_vary = counts.max(axis=1).toarray().ravel() != counts.min(axis=1).toarray().ravel()
    if not counts_vary.all():  # constant counts (e.g. one spike in every bin): undefined correlation
        active = active[counts_vary]
        if active.size < 2:
            return np.full((active.size, active.size), np.nan), active
        bst = binned([spiketrains[k] for k in active], bin_size)
    return np.asarray(correlation_coefficient(bst)), active


def pairwise_values(matrix):
    """The values above the diagonal of a square matrix (each pair once), finite ones only."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square, found shape: {matrix.shape}")
    values = matrix[np.triu_indices(matrix.shape[0], k=1)]
    return values[np.isfinite(values)]


def correlation_vs_tuning(cc, preferred, n_bins=10, period=None):
    """Mean pairwise correlation as a function of the distance between preferred stimuli.

    Parameters
    ----------
    cc : numpy.ndarray, shape (n, n)
        Correlation matrix.
    preferred : array_like, shape (n,)
        Preferred stimulus of each neuron of ``cc`` (same order); ``NaN`` for an untuned neuron, whose
        pairs are left out.
    n_bins : int
        Distance bins.
    period : float or None
        When the stimulus is circular (e.g. ``pi`` for orientation, ``2*pi`` for direction), distances
        wrap around with this period.

    Returns
    -------
    centres, mean, sem, count : numpy.ndarray
        Bin centres (distance), mean correlation, its standard error and the number of pairs per bin.
    """
    cc = np.asarray(cc, dtype=float)
    preferred = np.asarray(preferred, dtype=float).ravel()
    if cc.shape != (preferred.size, preferred.size):
        raise ValueError(f"cc must be ({preferred.size}, {preferred.size}) for {preferred.size} preferred "
                         f"values, found: {cc.shape}")
    if int(n_bins) < 1:
        raise ValueError(f"n_bins must be >= 1, found: {n_bins}")
    iu = np.triu_indices(preferred.size, k=1)
    dist = np.abs(preferred[iu[0]] - preferred[iu[1]])
    if period is not None:
        _check_positive("period", period)
        dist = np.mod(dist, period)
        dist = np.minimum(dist, period - dist)
    values = cc[iu]
    ok = np.isfinite(values) & np.isfinite(dist)  # untuned neurons (preferred NaN) have no distance
    dist, values = dist[ok], values[ok]
    hi = float(dist.max()) if dist.size else 1.0
    edges = np.linspace(0.0, hi if hi > 0 else 1.0, int(n_bins) + 1)
    which = np.clip(np.digitize(dist, edges) - 1, 0, int(n_bins) - 1)
    count = np.bincount(which, minlength=int(n_bins))
    total = np.bincount(which, weights=values, minlength=int(n_bins))
    total2 = np.bincount(which, weights=values**2, minlength=int(n_bins))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = total2 / count - mean**2
        sem = np.sqrt(np.maximum(var, 0) / np.maximum(count - 1, 1))
    mean[count == 0] = np.nan
    sem[count < 2] = np.nan
    return (edges[:-1] + edges[1:]) / 2, mean, sem, count


@_quiet_upstream
def cross_correlogram(st_i, st_j, bin_size, max_lag, surrogate="jitter", n_surrogates=20, dither=None, seed=0):
    """Cross-correlogram of two trains, with a surrogate baseline and the corrected correlogram.

    The correlogram is ``elephant.spike_train_correlation.cross_correlation_histogram``; the baseline
    is the mean correlogram of ``st_i`` with ``n_surrogates`` surrogates of ``st_j`` made by
    ``elephant.spike_train_surrogates``: ``"jitter"`` (``dither_spikes``, each spike moved
    uniformly within ``±dither``: removes correlations finer than ``dither``, keeps the slow rate
    profile) or ``"shuffle"`` (``shuffle_isis``: keeps the ISI distribution, removes all timing
    relations). Positive lags: ``st_j`` fires after ``st_i``.

    Parameters
    ----------
    st_i, st_j : neo.SpikeTrain
        Same ``t_start`` and ``t_stop``.
    bin_size : float
        Correlogram bin (s).
    max_lag : float
        Largest lag shown (s).
    surrogate : {"jitter", "shuffle", None}
        Baseline method (``None``: no baseline).
    n_surrogates : int
    dither : float or None
        Jitter half-width (s); default ``10 * bin_size``.
    seed : int or None
        Seed of NumPy's global generator while the surrogates are drawn (restored afterwards), for
        reproducible figures; ``None`` leaves the generator alone.

    Returns
    -------
    dict
        ``lags`` (s, bin centres), ``cch`` (counts), ``baseline`` (counts or None),
        ``corrected`` (``cch - baseline`` or None).
    """
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram
    from elephant import spike_train_surrogates

    _check_positive("bin_size", bin_size)
    _check_positive("max_lag", max_lag)
    if surrogate not in (None, *SURROGATE_METHODS):
        raise ValueError(f"surrogate must be one of {', '.join(SURROGATE_METHODS)} or None, found: {surrogate!r}")
    if int(n_surrogates) < 1:
        raise ValueError(f"n_surrogates must be >= 1, found: {n_surrogates}")
    n_lag = max(int(round(max_lag / bin_size)), 1)

    def cch_of(a, b):
        bi = BinnedSpikeTrain(a, bin_size=bin_size * pq.s, t_start=a.t_start, t_stop=a.t_stop)
        bj = BinnedSpikeTrain(b, bin_size=bin_size * pq.s, t_start=a.t_start, t_stop=a.t_stop)
        hist, lags = cross_correlation_histogram(bi, bj, window=[-n_lag, n_lag], border_correction=False,
                                                 binary=False, kernel=None)
        return np.asarray(hist.magnitude, dtype=float).ravel(), np.asarray(lags)

    cch, lag_ids = cch_of(st_i, st_j)
    out = {"lags": lag_ids * bin_size, "cch": cch, "baseline": None, "corrected": None, "surrogate": surrogate}
    if surrogate is None or len(st_j) == 0:
        return out
    kwargs = {}
    if surrogate == "jitter":
        dither = 10 * bin_size if dither is None else float(dither)
        _check_positive("dither", dither)
        kwargs["dither"] = dither * pq.s
    state = np.random.get_state() if seed is not None else None
    try:
        if seed is not None:
            np.random.seed(seed)
        method = getattr(spike_train_surrogates, SURROGATE_METHODS[surrogate])
        surr = method(st_j, n_surrogates=int(n_surrogates), **kwargs)
    finally:
        if state is not None:
            np.random.set_state(state)
    baseline = np.mean([cch_of(st_i, s)[0] for s in surr], axis=0)
    out.update(baseline=baseline, corrected=cch - baseline)
    return out


def _window_counts_segments(train, counting_window):
    """The train cut into consecutive windows of ``counting_window`` s (spike times as arrays)."""
    times = np.asarray(train.times.rescale("s").magnitude)
    t0, t1 = float(train.t_start.rescale("s").magnitude), float(train.t_stop.rescale("s").magnitude)
    n_win = int(np.floor((t1 - t0) / counting_window + 1e-9))
    edges = t0 + counting_window * np.arange(n_win + 1)
    cuts = np.searchsorted(times, edges)
    return [times[cuts[k]:cuts[k + 1]] for k in range(n_win)]


@_quiet_upstream
def fano_factors(spiketrains, counting_window, min_windows=5):
    """Fano factor of each train's spike counts in consecutive windows (``elephant.statistics.fanofactor``).

    Each train is cut into windows of ``counting_window`` seconds, which Elephant treats as trials.

    Parameters
    ----------
    spiketrains : list of neo.SpikeTrain
    counting_window : float
        Window (s).
    min_windows : int
        Fewer windows than this gives ``NaN``.

    Returns
    -------
    numpy.ndarray
        One value per train (``NaN`` for silent trains or too few windows).
    """
    from elephant.statistics import fanofactor

    _check_positive("counting_window", counting_window)
    out = np.full(len(spiketrains), np.nan)
    for k, st in enumerate(spiketrains):
        segments = _window_counts_segments(st, counting_window)
        if len(segments) >= min_windows and any(len(s) for s in segments):
            out[k] = fanofactor(segments)
    return out


@_quiet_upstream
def cv_isis(spiketrains, min_spikes=3):
    """Coefficient of variation of each train's inter-spike intervals (``elephant.statistics.isi``, ``cv``).

    Trains with fewer than ``min_spikes`` spikes give ``NaN``.
    """
    from elephant.statistics import cv, isi

    out = np.full(len(spiketrains), np.nan)
    for k, st in enumerate(spiketrains):
        if len(st) >= max(int(min_spikes), 3):
            out[k] = cv(np.asarray(isi(st).magnitude))
    return out


def default_pairs(spiketrains, n_pairs=3):
    """Pairs of the most active trains (positions in the list), for correlograms."""
    counts = np.array([len(st) for st in spiketrains])
    top = [int(k) for k in np.argsort(-counts, kind="stable")[: n_pairs + 1] if counts[k] > 0]
    if len(top) < 2:
        return []
    return [(top[0], top[k]) for k in range(1, len(top))][:n_pairs]


def correlation_figure(cc, title="", preferred=None, period=None, bin_size=None, neurons=None):
    """Correlation matrix, distribution of pairwise values, and (with ``preferred``) vs tuning distance.

    Parameters
    ----------
    cc : numpy.ndarray
        From :func:`correlation_matrix`.
    preferred : array_like or None
        Preferred stimulus of each neuron of ``cc``; adds the correlation-vs-tuning-distance panel.
    period : float or None
        Period of a circular stimulus (see :func:`correlation_vs_tuning`).
    bin_size : float or None
        Shown in the title.
    neurons : array_like of int or None
        Population index of each row of ``cc``: the matrix's tick labels when there are at most 20.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    n_panels = 3 if preferred is not None else 2
    fig, axes = plt.subplots(1, n_panels, figsize=(4.2 * n_panels, 3.8))
    values = pairwise_values(cc) if cc.size else np.empty(0)
    shown = np.array(cc, dtype=float, copy=True)
    order_note = ""
    if preferred is not None and shown.size:
        order = np.argsort(np.asarray(preferred, dtype=float), kind="stable")
        shown = shown[np.ix_(order, order)]
        order_note = " (sorted by preferred)"
        if neurons is not None:
            neurons = np.asarray(neurons)[order]
    axis_label = "analysed neuron (position)"
    if shown.size:
        np.fill_diagonal(shown, np.nan)
        lim = float(np.nanmax(np.abs(shown))) if np.isfinite(shown).any() else 1.0
        im = axes[0].imshow(shown, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(im, ax=axes[0], shrink=0.8, label="r")
        if neurons is not None and len(neurons) == shown.shape[0] <= 20:
            ticks = np.arange(shown.shape[0])
            labels = [str(int(k)) for k in neurons]
            axes[0].set_xticks(ticks, labels, fontsize=8 if len(ticks) <= 10 else 6)
            axes[0].set_yticks(ticks, labels, fontsize=8 if len(ticks) <= 10 else 6)
            axis_label = "neuron"
        else:
            for axis in (axes[0].xaxis, axes[0].yaxis):
                axis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    else:
        axes[0].text(0.5, 0.5, "fewer than 2 active neurons", transform=axes[0].transAxes, ha="center")
    axes[0].set_title("count correlations" + order_note, fontsize=9)
    axes[0].set_xlabel(axis_label)
    axes[0].set_ylabel(axis_label)
    if values.size:
        axes[1].hist(values, bins=min(60, max(10, int(np.sqrt(values.size)))), color="C0", alpha=0.8)
        axes[1].axvline(float(np.mean(values)), color="k", linestyle="--", linewidth=1,
                        label=f"mean {np.mean(values):.3g}")
        axes[1].legend(fontsize=8)
    axes[1].set_xlabel("pairwise correlation r")
    axes[1].set_ylabel("pairs")
    axes[1].yaxis.set_major_locator(MaxNLocator(integer=True))
    axes[1].set_title(f"{values.size:,} pairs", fontsize=9)
    if preferred is not None:
        centres, mean, sem, count = correlation_vs_tuning(cc, preferred, period=period)
        ok = count > 0
        axes[2].errorbar(centres[ok], mean[ok], yerr=np.nan_to_num(sem[ok]), marker="o", color="C3", capsize=2)
        axes[2].axhline(0, color="0.6", linewidth=0.8)
        axes[2].set_xlabel("distance in preferred stimulus")
        axes[2].set_ylabel("mean r")
        axes[2].set_title("correlation vs tuning distance", fontsize=9)
    bin_note = f" (bin {bin_size * 1e3:.3g} ms)" if bin_size else ""
    fig.suptitle((f"{title}: " if title else "") + "spike-count correlations" + bin_note, fontsize=10)
    fig.tight_layout()
    return fig


def correlogram_figure(results, labels, title=""):
    """Cross-correlograms (one panel per pair) with their surrogate baselines.

    Parameters
    ----------
    results : list of dict
        From :func:`cross_correlogram`.
    labels : list of str
        Pair labels.
    """
    import matplotlib.pyplot as plt

    n = max(len(results), 1)
    fig, axes = plt.subplots(1, n, figsize=(4 * n, 3.3), squeeze=False)
    axes = axes[0]
    if not results:
        axes[0].text(0.5, 0.5, "no active pairs", transform=axes[0].transAxes, ha="center", va="center")
    for ax, res, label in zip(axes, results, labels):
        lags_ms = res["lags"] * 1e3
        width = (lags_ms[1] - lags_ms[0]) if lags_ms.size > 1 else 1.0
        ax.bar(lags_ms, res["cch"], width=width, color="0.55", label="CCH")
        if res["baseline"] is not None:
            ax.plot(lags_ms, res["baseline"], color="C3", linewidth=1.5, label=f"{res['surrogate']} baseline")
        ax.axvline(0, color="k", linewidth=0.6, linestyle=":")
        ax.set_xlabel("lag (ms), j after i > 0")
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("coincidences")
    fig.suptitle((f"{title}: " if title else "") + "cross-correlograms", fontsize=10)
    fig.tight_layout()
    return fig


def variability_figure(fano, cv, title="", counting_window=None):
    """Distributions of Fano factors and CVs of ISIs (Poisson: both 1)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4))
    for ax, values, name in ((axes[0], fano, "Fano factor"), (axes[1], cv, "CV of ISIs")):
        values = np.asarray(values, dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 1:  # one neuron: a histogram says nothing, show the value
            ax.axvline(float(values[0]), color="C2", linewidth=3, label=f"{values[0]:.3g} (one neuron)")
            ax.set_xlim(0, max(1.5, 1.3 * float(values[0])))
            ax.set_yticks([])
            ax.legend(fontsize=8)
        elif values.size:
            ax.hist(values, bins=min(40, max(5, int(np.sqrt(values.size)) * 2)), color="C2", alpha=0.8)
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.axvline(float(np.median(values)), color="k", linestyle="--", linewidth=1,
                       label=f"median {np.median(values):.3g}")
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not enough spikes", transform=ax.transAxes, ha="center", va="center", color="0.4")
        ax.axvline(1.0, color="0.6", linewidth=0.8, linestyle=":")
        ax.set_xlabel(name + " (1: Poisson)")
        ax.set_ylabel("neurons" if values.size != 1 else "")
    if counting_window:
        axes[0].set_title(f"counts in {counting_window * 1e3:.3g} ms windows", fontsize=9)
    fig.suptitle((f"{title}: " if title else "") + "spike-train variability", fontsize=10)
    fig.tight_layout()
    return fig
