"""Spike rasters and population rates.

A raster of up to ``max_markers`` spikes is drawn as markers (rasterised in vector formats); above that
it is drawn as an image of spike counts per (neuron row, time pixel), which is exact at screen
resolution and renders a million spikes in well under a second. Phases from ``data/phases.json`` are
shaded behind the raster and the rate; event times (stimulus onsets, rewards) are marked as lines.
"""

import logging

import numpy as np

__all__ = [
    "select_spikes",
    "neuron_order",
    "population_rate",
    "default_bin_size",
    "plot_raster",
    "shade_phases",
    "mark_events",
    "raster_figure",
]

logger = logging.getLogger(__name__)

#: above this many spikes a raster is drawn as an image of counts rather than as markers
MAX_MARKERS = 200_000

_PHASE_COLORS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def select_spikes(i, t, t_start=None, t_stop=None, neurons=None):
    """Spikes inside ``[t_start, t_stop)`` and of the chosen neurons.

    Parameters
    ----------
    i, t : array_like
        Neuron indices and spike times (s).
    t_start, t_stop : float or None
        Window in seconds (``None``: open).
    neurons : array_like of int or None
        Keep only these neuron indices.

    Returns
    -------
    i, t : numpy.ndarray
    """
    i = np.asarray(i)
    t = np.asarray(t, dtype=float)
    keep = np.ones(t.shape, dtype=bool)
    if t_start is not None:
        keep &= t >= t_start
    if t_stop is not None:
        keep &= t < t_stop
    if neurons is not None:
        keep &= np.isin(i, np.asarray(neurons, dtype=i.dtype if i.size else np.int64))
    if keep.all():
        return i, t
    return i[keep], t[keep]


def neuron_order(n_neurons, neurons=None, sort_by=None):
    """Row of each neuron in a raster: ``rows[k]`` is the row of neuron ``k`` (``-1``: not shown).

    Parameters
    ----------
    n_neurons : int
        Population size.
    neurons : array_like of int or None
        The neurons to show (default: all).
    sort_by : array_like or None
        One value per neuron of the population (e.g. preferred stimulus); rows follow its order
        (stable, ties keep index order). Default: index order.

    Returns
    -------
    rows : numpy.ndarray of int, shape (n_neurons,)
    n_rows : int

    Examples
    --------
    >>> rows, n = neuron_order(4, sort_by=[3.0, 1.0, 2.0, 0.0])
    >>> rows.tolist(), n
    ([3, 1, 2, 0], 4)
    """
    n_neurons = int(n_neurons)
    if n_neurons < 0:
        raise ValueError(f"n_neurons must be >= 0, found: {n_neurons}")
    shown = np.arange(n_neurons) if neurons is None else np.unique(np.asarray(neurons, dtype=np.int64))
    if shown.size and (shown.min() < 0 or shown.max() >= n_neurons):
        raise ValueError(f"neuron indices must be in [0, {n_neurons}), found: {shown.min()}..{shown.max()}")
    if sort_by is not None:
        key = np.asarray(sort_by, dtype=float).ravel()
        if key.size != n_neurons:
            raise ValueError(f"sort_by must have one value per neuron ({n_neurons}), found: {key.size}")
        shown = shown[np.argsort(key[shown], kind="stable")]
    rows = np.full(n_neurons, -1, dtype=np.int64)
    rows[shown] = np.arange(shown.size)
    return rows, int(shown.size)


def default_bin_size(duration):
    """A rate bin giving about 200 bins over ``duration`` seconds, rounded to 1, 2 or 5 x 10^k s.

    Examples
    --------
    >>> default_bin_size(100.0)
    0.5
    >>> default_bin_size(1.0)
    0.005
    """
    duration = float(duration)
    if not np.isfinite(duration) or duration <= 0:
        return 0.001
    raw = max(duration / 200.0, 1e-4)
    exponent = np.floor(np.log10(raw))
    for mantissa in (1.0, 2.0, 5.0, 10.0):
        if mantissa * 10**exponent >= raw * 0.999:
            return float(round(mantissa * 10**exponent, 12))
    return float(10 ** (exponent + 1))


def population_rate(t, n_neurons, t_start, t_stop, bin_size):
    """Population firing rate: spikes per bin / (bin_size * n_neurons), in Hz.

    Parameters
    ----------
    t : array_like
        Spike times (s) of the population (all neurons together).
    n_neurons : int
        Number of neurons the spikes come from (> 0).
    t_start, t_stop : float
        Window (s).
    bin_size : float
        Bin width (s, > 0). The last bin may be shorter; its rate uses its true width.

    Returns
    -------
    centres, rate : numpy.ndarray
        Bin centres (s) and rates (Hz).
    """
    if bin_size is None or not bin_size > 0:
        raise ValueError(f"bin_size must be > 0 s, found: {bin_size}")
    if n_neurons <= 0:
        raise ValueError(f"n_neurons must be > 0, found: {n_neurons}")
    if not t_stop > t_start:
        raise ValueError(f"t_stop must be after t_start, found: {t_start}..{t_stop}")
    edges = np.arange(t_start, t_stop, bin_size)
    edges = np.append(edges, t_stop) if edges[-1] < t_stop else edges
    counts, _ = np.histogram(np.asarray(t, dtype=float), bins=edges)
    widths = np.diff(edges)
    return (edges[:-1] + edges[1:]) / 2, counts / (widths * n_neurons)


def shade_phases(ax, phases, t_start=None, t_stop=None, alpha=0.15, colors=None):
    """Shade the phase intervals of ``phases`` (the dict of ``data/phases.json``) on ``ax``.

    One collection per phase name (fast for thousands of intervals).

    Returns
    -------
    dict
        Phase name -> colour used (empty when nothing was shaded).
    """
    if not phases or not phases.get("intervals"):
        return {}
    names = list(phases.get("names") or [])
    for name, *_ in phases["intervals"]:
        if name not in names:
            names.append(name)
    palette = dict(zip(names, colors or _PHASE_COLORS * (len(names) // len(_PHASE_COLORS) + 1)))
    spans = {name: [] for name in names}
    lo = -np.inf if t_start is None else t_start
    hi = np.inf if t_stop is None else t_stop
    for name, start, stop in phases["intervals"]:
        start, stop = max(float(start), lo), min(float(stop), hi)
        if stop > start:
            spans[name].append((start, stop - start))
    used = {}
    for name, xranges in spans.items():
        if xranges:
            ax.broken_barh(xranges, (0, 1), transform=ax.get_xaxis_transform(), facecolors=palette[name],
                           alpha=alpha, linewidth=0, zorder=0, label=name)
            used[name] = palette[name]
    return used


def mark_events(ax, events, t_start=None, t_stop=None):
    """Mark event times as thin vertical lines, one colour per kind.

    Parameters
    ----------
    events : dict[str, array_like]
        Event kind (e.g. ``"reward"``) -> times in seconds.
    """
    if not events:
        return
    for k, (name, times) in enumerate(sorted(events.items())):
        times = np.asarray(times, dtype=float).ravel()
        if t_start is not None:
            times = times[times >= t_start]
        if t_stop is not None:
            times = times[times <= t_stop]
        if times.size:
            ax.vlines(times, 0, 1, transform=ax.get_xaxis_transform(), colors=f"C{(k + 3) % 10}",
                      linewidth=0.6, alpha=0.8, zorder=3, label=name)


def plot_raster(ax, i, t, rows, n_rows, t_start, t_stop, max_markers=MAX_MARKERS, color="k"):
    """Draw a raster on ``ax``: markers for few spikes, an image of counts for many.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    i, t : numpy.ndarray
        Neuron indices and times (s), already restricted to the window.
    rows : numpy.ndarray of int
        Row of each neuron (from :func:`neuron_order`); ``-1`` hides the neuron.
    n_rows : int
        Number of rows.
    t_start, t_stop : float
        x range (s).
    max_markers : int
        Above this many spikes, draw an image instead of markers.

    Returns
    -------
    str
        ``"markers"``, ``"image"`` or ``"empty"`` (what was drawn).
    """
    y = rows[i] if i.size else np.empty(0, dtype=np.int64)
    shown = y >= 0
    if not shown.all():
        y, t = y[shown], t[shown]
    ax.set_xlim(t_start, t_stop)
    ax.set_ylim(-0.5, max(n_rows, 1) - 0.5)
    if t.size == 0:
        ax.text(0.5, 0.5, "no spikes", transform=ax.transAxes, ha="center", va="center", color="0.4")
        return "empty"
    if t.size <= max_markers:
        # marker size shrinks with the number of rows so that dense rasters stay readable
        size = float(np.clip(300.0 / max(n_rows, 1), 0.5, 6.0))
        ax.plot(t, y, linestyle="none", marker="|" if n_rows <= 60 else ".", markersize=size,
                markeredgewidth=0.6 if n_rows <= 60 else 0, color=color, rasterized=True, zorder=2)
        return "markers"
    # about two bins per pixel of a 110-dpi figure; counts by direct binning (histogram2d's searchsorted is
    # several times slower for a million spikes)
    n_x = 1500
    n_y = int(min(n_rows, 750))
    col = np.minimum(((t - t_start) * (n_x / (t_stop - t_start))).astype(np.int64), n_x - 1)
    row = np.minimum(((y + 0.5) * (n_y / n_rows)).astype(np.int64), n_y - 1)
    counts = np.bincount(row * n_x + col, minlength=n_y * n_x).reshape(n_y, n_x).astype(float)
    vmax = max(float(np.percentile(counts[counts > 0], 99)), 1.0)
    ax.imshow(counts, aspect="auto", origin="lower", interpolation="nearest", cmap="Greys", vmin=0,
              vmax=vmax, extent=(t_start, t_stop, -0.5, n_rows - 0.5), rasterized=True, zorder=2)
    return "image"


def raster_figure(i, t, n_neurons, t_start, t_stop, title="", phases=None, events=None, neurons=None,
                  sort_by=None, sort_label=None, bin_size=None, max_markers=MAX_MARKERS):
    """A raster with the population rate underneath (phases shaded, events marked).

    Parameters
    ----------
    i, t : array_like
        Neuron indices and spike times (s) of one population.
    n_neurons : int
        Population size.
    t_start, t_stop : float
        Time window (s); spikes outside it are not drawn.
    title : str
    phases : dict or None
        Content of ``data/phases.json``.
    events : dict[str, array_like] or None
        Event kind -> times (s).
    neurons : array_like of int or None
        Neuron subset to draw (rates use the same subset).
    sort_by : array_like or None
        Per-neuron values to order the rows by (e.g. preferred stimulus).
    sort_label : str or None
        y-axis label when sorted.
    bin_size : float or None
        Rate bin (s); default :func:`default_bin_size` of the window.
    max_markers : int
        See :func:`plot_raster`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if not t_stop > t_start:
        raise ValueError(f"t_stop must be after t_start, found: {t_start}..{t_stop}")
    i, t = select_spikes(i, t, t_start, t_stop, neurons)
    rows, n_rows = neuron_order(n_neurons, neurons, sort_by)
    bin_size = default_bin_size(t_stop - t_start) if bin_size is None else float(bin_size)
    fig, (ax_r, ax_rate) = plt.subplots(2, 1, figsize=(9, 5.2), sharex=True,
                                        gridspec_kw={"height_ratios": (3, 1), "hspace": 0.08})
    shade_phases(ax_r, phases, t_start, t_stop)
    shade_phases(ax_rate, phases, t_start, t_stop)
    mark_events(ax_r, events, t_start, t_stop)
    drawn = plot_raster(ax_r, i, t, rows, n_rows, t_start, t_stop, max_markers=max_markers)
    ax_r.set_ylabel(f"neuron ({sort_label})" if sort_by is not None and sort_label else "neuron")
    if n_rows <= 10:
        ax_r.set_yticks(range(n_rows))
    else:  # rows are neurons: integer ticks only
        from matplotlib.ticker import MaxNLocator

        ax_r.yaxis.set_major_locator(MaxNLocator(integer=True))
    rate_note = ""
    if n_rows > 0 and t_stop - t_start >= bin_size:
        centres, rate = population_rate(t, n_rows, t_start, t_stop, bin_size)
        ax_rate.step(centres, rate, where="mid", color="C0", linewidth=1)
        # headroom above the curve for the note in the top right corner
        ax_rate.set_ylim(bottom=0, top=max(float(rate.max()) * 1.45, 1e-9) if rate.size else 1)
        mean_rate = t.size / (n_rows * (t_stop - t_start))
        rate_note = f"mean {mean_rate:.3g} Hz"
        ax_rate.axhline(mean_rate, color="0.5", linestyle=":", linewidth=0.8)
    ax_rate.set_ylabel("rate (Hz)")
    ax_rate.set_xlabel("time (s)")
    ax_rate.set_xlim(t_start, t_stop)
    if rate_note:
        ax_rate.text(0.995, 0.95, f"{rate_note}, bin {bin_size * 1e3:.3g} ms", transform=ax_rate.transAxes,
                     ha="right", va="top", fontsize=8, color="0.2", zorder=5,
                     bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1.5})
    shown = f"{n_rows} of {n_neurons} neurons" if n_rows < n_neurons else f"{n_rows} neuron{'s' * (n_rows != 1)}"
    subtitle = f"{t.size:,} spike{'s' * (t.size != 1)}, {shown}" + (" (density image)" if drawn == "image" else "")
    ax_r.set_title(f"{title}  —  {subtitle}" if title else subtitle, fontsize=10)
    handles, labels = ax_r.get_legend_handles_labels()
    if handles:
        ax_r.legend(handles, labels, loc="upper right", fontsize=7, ncol=min(len(labels), 4),
                    framealpha=0.8)
    fig.align_ylabels((ax_r, ax_rate))
    return fig
