"""The standard figures of a run: a raster + population rate per recorded population (for a few neurons
firing densely, their instantaneous rates and ISIs instead), the recorded state variables, and weight
views per recorded connection. Made at the end of every ``spikelearn run`` and by ``spikelearn inspect``.

A run that lacks some data (no spikes, no weights, a single neuron, no phases) gets the figures it can
have; a figure that fails is logged and skipped (or raised with ``strict=True``), never the others.
"""

import json
import logging
from pathlib import Path

import numpy as np

from . import _io
from .traces import DENSE_SPIKES_PER_NEURON, TINY_POPULATION, isi_figure, state_figure

__all__ = [
    "standard_figures",
    "analysis_figures",
    "correlation_summary",
    "task_figures",
    "cch_bin_size",
    "save_figure",
    "FORMATS",
    "events_of",
    "connection_wmax",
    "sort_key",
    "raster_subset",
    "MAX_RASTER_ROWS",
]

logger = logging.getLogger(__name__)

FORMATS = ("png", "svg", "pdf")

#: a raster shows at most this many neurons unless a neuron subset is chosen (a figure has ~300 pixel
#: rows: more neurons than that blur into noise); see :func:`raster_subset`
MAX_RASTER_ROWS = 400

#: runs longer than this (s) also get a zoomed raster of their last ``ZOOM_SECONDS``
ZOOM_AFTER = 10.0
ZOOM_SECONDS = 2.0


def _use_agg():
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")


def save_figure(fig, outdir, stem, fmt="png", dpi=110):
    """Save ``fig`` as ``outdir/stem.fmt``, close it, and return the path.

    A PDF figure gets a PNG copy next to it (``report.html`` embeds PNG and SVG, not PDF).
    """
    import matplotlib.pyplot as plt

    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, found: {fmt!r}")
    path = Path(outdir) / f"{stem}.{fmt}"
    # metadata without dates so that the same run gives the same file
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}
    try:
        fig.savefig(path, dpi=dpi, metadata=metadata[fmt])
        if fmt == "pdf":
            fig.savefig(path.with_suffix(".png"), dpi=dpi, metadata=metadata["png"])
    finally:
        plt.close(fig)
    return path


def events_of(result):
    """Event times to mark on rasters: ``data/events.json`` (``{kind: [times in s]}``), if present."""
    path = Path(result.path) / "data" / "events.json"
    if not path.is_file():
        return None
    try:
        events = json.loads(path.read_text())
    except json.JSONDecodeError as ex:
        logger.warning("ignoring unreadable %s: %s", path, ex)
        return None
    return {str(k): np.asarray(v, dtype=float) for k, v in events.items()} if isinstance(events, dict) else None


def connection_wmax(result, conn):
    """The upper weight bound of a plastic connection (its rule's ``wmax``), or ``None``."""
    try:
        plasticity = result.scenario.get("connections", {}).get(conn, {}).get("plasticity") or {}
        if "wmax" not in plasticity:
            return None
        from spikelearn.units import parse_quantity

        value = float(parse_quantity(str(plasticity["wmax"])))
        return value if value > 0 else None
    except (ValueError, TypeError, AttributeError, KeyError, OSError) as ex:
        logger.debug("no wmax for %s: %s", conn, ex)
        return None


def sort_key(result, population, sort_by="preferred"):
    """``(values, label)`` to sort a population's raster by, or ``(None, None)``.

    ``sort_by`` names a per-neuron attribute saved by the task (``data/attributes_<pop>.npz``).
    """
    if not sort_by:
        return None, None
    attrs = _io.load_attributes(result, population)
    values = attrs.get(sort_by)
    if values is None:
        return None, None
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.number):
        logger.warning("attribute %r of %s is not one number per neuron; not sorting", sort_by, population)
        return None, None
    return values.astype(float), f"sorted by {sort_by}"


def _window(result, window, t_max, span=None):
    """The analysis window: ``window`` (a string or pair), by default the run's recorded time, or
    ``span`` (a spike recorder's `_io.spike_window`) when given."""
    start, stop = _io.parse_window(window)
    first, duration = span if span is not None else (0.0, _io.run_duration(result))
    start = first if start is None else max(start, first)
    if stop is None:
        stop = duration if duration else max(t_max, start + 1e-3)
    elif duration:
        stop = min(stop, duration)
    if stop <= start:
        stop = start + 1e-3
    return start, stop


def _attempt(kind, name, strict, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception as ex:  # one broken figure must not cost the others (or the run)
        if strict:
            raise
        logger.error("%s figure of %r failed: %s: %s", kind, name, type(ex).__name__, ex, exc_info=True)
        return None


def _raster_paths(result, name, outdir, fmt, window, neurons, bin_size, sort_by, phases, events):
    from .rasters import raster_figure

    i, t, n = _io.load_spikes(result, name)
    if neurons is not None:
        neurons = np.asarray(neurons, dtype=np.int64)
        neurons = neurons[neurons < n]
    values, label = sort_key(result, name, sort_by)
    if values is not None and values.size != n:
        logger.warning("attribute %r of %s has %d values for %d neurons; not sorting", sort_by, name,
                       values.size, n)
        values = label = None
    t0, t1 = _window(result, window, float(t.max()) if t.size else 0.0, _io.spike_window(result, name))
    stem = f"raster_{name}"
    if neurons is None and n > MAX_RASTER_ROWS:
        neurons = raster_subset(n, values)
    in_window = (t >= t0) & (t <= t1)
    if neurons is None and n <= TINY_POPULATION and in_window.sum() > DENSE_SPIKES_PER_NEURON * n:
        fig = isi_figure(i[in_window], t[in_window], n, t0, t1, title=name)  # a raster would be solid bars
    else:
        fig = raster_figure(i, t, n, t0, t1, title=name, phases=phases, events=events, neurons=neurons,
                            sort_by=values, sort_label=label, bin_size=bin_size)
    paths = [save_figure(fig, outdir, stem, fmt)]
    if window is None and t1 - t0 > ZOOM_AFTER:
        z0 = t1 - ZOOM_SECONDS
        fig = raster_figure(i, t, n, z0, t1, title=f"{name} (last {ZOOM_SECONDS:g} s)", phases=phases,
                            events=events, neurons=neurons, sort_by=values, sort_label=label,
                            bin_size=bin_size if bin_size and bin_size < ZOOM_SECONDS / 5 else None)
        paths.append(save_figure(fig, outdir, f"{stem}_end", fmt))
    return paths


def raster_subset(n, sort_by=None, max_rows=None):
    """The neurons a raster shows by default when a population has more than ``max_rows`` of them
    (default :data:`MAX_RASTER_ROWS`): the first ``max_rows`` by index (neighbouring neurons often
    belong together: the units of one chain, one ring copy), or, when rows are sorted by an attribute,
    ``max_rows`` spread evenly over the sorted order so the whole range of the attribute is covered.

    Examples
    --------
    >>> raster_subset(10, max_rows=4).tolist()
    [0, 1, 2, 3]
    >>> raster_subset(6, sort_by=[5, 4, 3, 2, 1, 0], max_rows=3).tolist()
    [0, 3, 5]
    """
    max_rows = MAX_RASTER_ROWS if max_rows is None else int(max_rows)
    if n <= max_rows:
        return np.arange(n)
    if sort_by is None:
        return np.arange(max_rows)
    order = np.argsort(np.asarray(sort_by), kind="stable")
    return np.sort(order[np.linspace(0, n - 1, max_rows).round().astype(np.int64)])


def _state_paths(result, name, outdir, fmt, window):
    data = _io.load_states(result, name)
    t = np.asarray(data["t"], dtype=float)
    if not t.size:
        return []

    def part(t0, t1):
        keep = (t >= t0) & (t <= t1)
        return {k: (v[..., keep] if k != "index" and np.ndim(v) and v.shape[-1] == t.size else v)
                for k, v in data.items()}

    t0, t1 = _window(result, window, float(t.max()))
    paths = [save_figure(state_figure(part(t0, t1), title=f"{name}: recorded state"), outdir, f"state_{name}", fmt)]
    if window is None and t1 - t0 > ZOOM_AFTER:  # a long trace is a band: its last seconds show the dynamics
        fig = state_figure(part(t1 - ZOOM_SECONDS, t1), title=f"{name}: recorded state (last {ZOOM_SECONDS:g} s)")
        paths.append(save_figure(fig, outdir, f"state_{name}_end", fmt))
    return paths


def _weight_paths(result, conn, outdir, fmt):
    from .weights import weight_evolution_figure, weight_histogram_figure

    weights = _io.load_weights(result, conn)
    wmax = connection_wmax(result, conn)
    paths = [save_figure(weight_histogram_figure(weights, title=conn, wmax=wmax), outdir, f"weights_{conn}", fmt)]
    fig = weight_evolution_figure(weights, title=conn, wmax=wmax)
    if fig is not None:
        paths.append(save_figure(fig, outdir, f"weights_{conn}_time", fmt))
    return paths


def standard_figures(result, outdir, fmt="png", window=None, populations=None, neurons=None, bin_size=None,
                     sort_by="preferred", strict=False):
    """Rasters with population rates, state-variable traces, and weight histograms before/after (and over
    time), of a run.

    Parameters
    ----------
    result : spikelearn.results.RunResult or path-like
        The run (only its run directory is read).
    outdir : path-like
        Where the figures go (created if needed).
    fmt : {"png", "svg", "pdf"}
    window : str or (float, float) or None
        Time window, ``"start:stop"`` in s or quantities (default: the whole run; runs longer than
        10 s also get a raster of their last 2 s).
    populations : list of str or None
        Spike recorders to draw (default: all).
    neurons : array_like of int or None
        Neuron subset drawn in every raster (default: all, or :func:`raster_subset` of populations
        larger than :data:`MAX_RASTER_ROWS`; the rate underneath is that of the neurons drawn).
    bin_size : float or None
        Population-rate bin in s (default: about 200 bins over the window).
    sort_by : str or None
        Per-neuron attribute (``data/attributes_<pop>.npz``) to order raster rows by, when present.
    strict : bool
        Raise the first figure error instead of logging it and going on.

    Returns
    -------
    list of pathlib.Path
        The figure files written, in a stable order.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, found: {fmt!r}")
    if bin_size is not None and not float(bin_size) > 0:
        raise ValueError(f"bin_size must be > 0 s, found: {bin_size}")
    _use_agg()
    result = _io.as_result(result)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    names = _io.spike_recorders(result)
    if populations is not None:
        unknown = sorted(set(populations) - set(names))
        if unknown:
            raise ValueError(f"no recorded spikes for population(s) {', '.join(unknown)}; "
                             f"recorded: {', '.join(names) or 'none'}")
        names = [n for n in names if n in set(populations)]
    phases = _io.load_phases(result)
    events = events_of(result)
    paths = []
    for name in names:
        paths += _attempt("raster", name, strict, _raster_paths, result, name, outdir, fmt, window, neurons,
                          bin_size, sort_by, phases, events) or []
    for name in _io.state_recorders(result):
        paths += _attempt("states", name, strict, _state_paths, result, name, outdir, fmt, window) or []
    for conn in _io.weight_recorders(result):
        paths += _attempt("weights", conn, strict, _weight_paths, result, conn, outdir, fmt) or []
    return paths


#: populations with more neurons than this use their most active ``MAX_CORR_NEURONS`` for correlations
MAX_CORR_NEURONS = 200
#: default spike-count bin of correlations and correlograms' range
CORR_BIN = 0.02
CCH_BIN = 0.001
CCH_MAX_LAG = 0.05


def _population_sizes(result):
    sizes = {}
    for name, pop in (result.scenario.get("populations") or {}).items():
        try:
            sizes[name] = int(pop.get("size"))
        except (TypeError, ValueError, AttributeError):
            continue
    return sizes


def _matrix_paths(result, conn, outdir, fmt, sort_by):
    from .weights import weight_matrix_figure

    weights = _io.load_weights(result, conn)
    spec = (result.scenario.get("connections") or {}).get(conn, {})
    sizes = _population_sizes(result)
    pre, post = spec.get("source"), spec.get("target")
    n_pre, n_post = sizes.get(pre), sizes.get(post)
    i, j = weights.get("i", np.empty(0)), weights.get("j", np.empty(0))
    if n_pre is not None and i.size and i.max() >= n_pre or n_post is not None and j.size and j.max() >= n_post:
        n_pre = n_post = None  # sizes do not match the recorded indices: fall back to the data
    pre_sort = sort_key(result, pre, sort_by)[0] if pre else None
    post_sort = sort_key(result, post, sort_by)[0] if post else None
    if pre_sort is not None and (n_pre is None or pre_sort.size != n_pre):
        pre_sort = None
    if post_sort is not None and (n_post is None or post_sort.size != n_post):
        post_sort = None
    fig = weight_matrix_figure(weights, n_pre, n_post, title=conn, pre_sort=pre_sort, post_sort=post_sort,
                               pre_label=f"pre ({pre})" if pre else "pre",
                               post_label=f"post ({post})" if post else "post")
    return [save_figure(fig, outdir, f"weights_{conn}_matrix", fmt)]


def correlation_summary(result, name, window=None, neurons=None, corr_bin=CORR_BIN, sort_by="preferred",
                        max_neurons=MAX_CORR_NEURONS, include=()):
    """Spike-train statistics of one population (Elephant), as arrays and summary numbers.

    Parameters
    ----------
    result : RunResult
    name : str
        Spike recorder.
    window, neurons : see :func:`standard_figures`.
    corr_bin : float
        Spike-count bin for correlations (s); also the Fano-factor counting window times 5.
    sort_by : str or None
        Attribute holding each neuron's preferred stimulus (for correlation vs tuning distance).
    max_neurons : int
        At most this many (the most active) neurons enter the correlation matrix.
    include : iterable of int
        Neurons analysed even when they are not among the most active (e.g. chosen correlogram pairs).

    Returns
    -------
    dict or None
        ``trains`` (neo), ``neurons`` (indices of the trains), ``cc``, ``cc_neurons``, ``preferred``,
        ``fano``, ``cv``, ``summary`` (numbers for the report); ``None`` when no neuron of the
        population spiked in the window. With a single active neuron, ``cc`` is 1 x 1 ``NaN``.
    """
    from .correlations import correlation_matrix, cv_isis, fano_factors, pairwise_values, to_spiketrains

    if not corr_bin > 0:
        raise ValueError(f"corr_bin must be > 0 s, found: {corr_bin}")
    i, t, n = _io.load_spikes(result, name)
    t0, t1 = _window(result, window, float(t.max()) if t.size else 0.0, _io.spike_window(result, name))
    chosen = np.arange(n) if neurons is None else np.asarray(neurons, dtype=np.int64)
    chosen = chosen[(chosen >= 0) & (chosen < n)]
    keep = (t >= t0) & (t <= t1)
    counts = np.bincount(i[keep], minlength=n)[chosen] if n else np.empty(0, dtype=int)
    if np.count_nonzero(counts) < 1:
        return None
    active = chosen[counts > 0]
    if active.size > max_neurons:
        top = np.argsort(-counts[counts > 0], kind="stable")[:max_neurons]
        extra = np.intersect1d(np.asarray(list(include), dtype=np.int64), chosen[counts > 0])
        active = np.union1d(active[top], extra)
    trains = to_spiketrains(i, t, n, t0, t1, neurons=active)
    cc, in_cc = correlation_matrix(trains, corr_bin)
    preferred, label = sort_key(result, name, sort_by)
    pref_cc = None
    if preferred is not None and preferred.size == n:
        pref_cc = preferred[active[in_cc]]
    counting_window = max(5 * corr_bin, 0.05)
    fano = fano_factors(trains, counting_window)
    cv = cv_isis(trains)
    pairs = pairwise_values(cc) if cc.size else np.empty(0)
    finite = lambda a: a[np.isfinite(a)]  # noqa: E731
    selection = (f"the {active.size} most active of {int(np.count_nonzero(counts))} active neurons"
                 if np.count_nonzero(counts) > active.size else f"all {active.size} active neurons")
    summary = {
        "neurons analysed": f"{active.size} ({selection}; {chosen.size} in the population or selection)",
        "correlation bin (ms)": corr_bin * 1e3,
        "mean pairwise r": float(np.mean(pairs)) if pairs.size else None,
        "sd pairwise r": float(np.std(pairs)) if pairs.size else None,
        f"median Fano factor ({counting_window * 1e3:.3g} ms)": float(np.median(finite(fano))) if finite(fano).size else None,
        "median CV of ISIs": float(np.median(finite(cv))) if finite(cv).size else None,
    }
    return {"trains": trains, "neurons": active, "cc": cc, "cc_neurons": active[in_cc], "preferred": pref_cc,
            "fano": fano, "cv": cv, "counting_window": counting_window, "summary": summary, "selection": selection}


def _correlation_paths(result, name, outdir, fmt, window, neurons, corr_bin, sort_by, pairs, summaries):
    from .correlations import correlation_figure, correlogram_figure, cross_correlogram, default_pairs
    from .correlations import variability_figure

    wanted = [k for pair in (pairs or ()) for k in pair]
    stats = correlation_summary(result, name, window, neurons, corr_bin, sort_by, include=wanted)
    if stats is None:
        return []
    summaries[name] = stats["summary"]
    period = None
    attrs = _io.load_attributes(result, name)
    if "preferred_period" in attrs:
        period = float(np.asarray(attrs["preferred_period"]).ravel()[0])
    paths = [save_figure(variability_figure(stats["fano"], stats["cv"], title=name,
                                            counting_window=stats["counting_window"]),
                         outdir, f"variability_{name}", fmt)]
    if stats["cc"].shape[0] < 2:  # a single active neuron: no pairs
        return paths
    paths.insert(0, save_figure(correlation_figure(stats["cc"], title=f"{name} ({stats['selection']})",
                                                   preferred=stats["preferred"],
                                                   period=period, bin_size=corr_bin, neurons=stats["cc_neurons"]),
                                outdir, f"correlations_{name}", fmt))
    trains, active = stats["trains"], stats["neurons"]
    position = {int(k): p for p, k in enumerate(active)}
    if pairs:
        chosen = [(position[a], position[b]) for a, b in pairs if a in position and b in position]
        if len(chosen) < len(pairs):
            logger.warning("%s: correlogram pairs with a neuron that did not spike (or is not selected) "
                           "are left out", name)
    else:
        chosen = default_pairs(trains)
    results, labels = [], []
    for a, b in chosen:
        cch_bin = cch_bin_size(len(trains[a]), len(trains[b]), float((trains[a].t_stop - trains[a].t_start).magnitude))
        max_lag = max(CCH_MAX_LAG, 20 * cch_bin)
        results.append(cross_correlogram(trains[a], trains[b], cch_bin, max_lag, surrogate="jitter",
                                         dither=max_lag / 2))
        labels.append(f"neurons {active[a]} × {active[b]} (jitter ±{max_lag / 2 * 1e3:g} ms)")
    which = ("the pairs asked for (--pairs)" if pairs else
             "the most active neuron with each of the next most active" if chosen else "no active pairs")
    title = f"{name} ({which}; baseline: the same spikes jittered)"
    paths.append(save_figure(correlogram_figure(results, labels, title=title), outdir, f"correlograms_{name}", fmt))
    return paths


def cch_bin_size(n_i, n_j, duration, target=5.0):
    """Correlogram bin (s): about ``target`` expected chance coincidences per bin for independent
    trains with ``n_i`` and ``n_j`` spikes in ``duration`` s, rounded to 1, 2, 5 or 10 ms (1 ms at least).

    Examples
    --------
    >>> cch_bin_size(1500, 1500, 100.0)
    0.001
    >>> cch_bin_size(75, 75, 5.0)
    0.005
    """
    if n_i <= 0 or n_j <= 0 or not duration > 0:
        return CCH_BIN
    raw = target * duration / (n_i * n_j)
    for size in (0.001, 0.002, 0.005, 0.01):
        if size >= raw:
            return size
    return 0.01


def task_figures(result):
    """The task's own figures of the run: those in ``<run>/figures`` that are not standard figures (the
    task made them when the run was evaluated; ``spikelearn inspect`` makes missing ones first, when the
    task is installed)."""
    standard = ("raster_", "state_", "weights_")
    return sorted(p for p in (Path(result.path) / "figures").glob("*")
                  if p.suffix in (".png", ".svg") and not p.name.startswith(standard))


def analysis_figures(result, outdir, fmt="png", window=None, populations=None, neurons=None, bin_size=None,
                     corr_bin=CORR_BIN, sort_by="preferred", pairs=None, strict=False):
    """Every figure of ``spikelearn inspect`` for one run, grouped by section.

    The standard figures (:func:`standard_figures`), weight matrices, and for each population with at
    least two active neurons: spike-count correlations (matrix, distribution, vs tuning distance when
    the task saved a ``preferred`` attribute), Fano factors and CVs of ISIs, and cross-correlograms of
    ``pairs`` (default: the most active neurons) with a jitter baseline — all through Elephant.

    Parameters
    ----------
    result, outdir, fmt, window, populations, neurons, bin_size, sort_by, strict
        As in :func:`standard_figures`.
    corr_bin : float
        Spike-count bin of the correlations (s).
    pairs : list of (int, int) or None
        Neuron pairs for cross-correlograms (indices in the population).

    Returns
    -------
    sections : dict[str, list of pathlib.Path]
        ``"activity"``, ``"weights"``, ``"correlations"``, ``"task"``.
    summaries : dict[str, dict]
        Per population, summary numbers of the correlation analysis.
    """
    result = _io.as_result(result)
    outdir = Path(outdir)
    paths = standard_figures(result, outdir, fmt, window, populations, neurons, bin_size, sort_by, strict)
    sections = {"activity": [p for p in paths if p.name.startswith(("raster_", "state_"))],
                "weights": [p for p in paths if p.name.startswith("weights_")], "correlations": [], "task": []}
    for conn in _io.weight_recorders(result):
        sections["weights"] += _attempt("weight matrix", conn, strict, _matrix_paths, result, conn, outdir, fmt,
                                        sort_by) or []
    sections["weights"].sort(key=lambda p: p.name)
    names = [n for n in _io.spike_recorders(result) if populations is None or n in set(populations)]
    summaries = {}
    for name in names:
        sections["correlations"] += _attempt("correlation", name, strict, _correlation_paths, result, name,
                                             outdir, fmt, window, neurons, corr_bin, sort_by, pairs,
                                             summaries) or []
    sections["task"] = _attempt("task", "task", strict, task_figures, result) or []
    return sections, summaries
