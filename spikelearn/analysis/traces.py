"""Figures of recorded state variables, and of the spikes of populations too small for a raster.

A raster of one neuron firing at 20 Hz for 100 s is a solid bar: for a population of at most
:data:`TINY_POPULATION` neurons with many spikes, :func:`isi_figure` shows each neuron's instantaneous
rate (1/ISI) over time and its ISI distribution instead.
"""

import numpy as np

__all__ = ["state_figure", "isi_figure", "display_unit", "TINY_POPULATION", "DENSE_SPIKES_PER_NEURON", "MAX_TRACES"]

#: populations with at most this many neurons get :func:`isi_figure` instead of a raster when their
#: spikes would merge into bars (more than :data:`DENSE_SPIKES_PER_NEURON` spikes per neuron)
TINY_POPULATION = 5
DENSE_SPIKES_PER_NEURON = 300

#: a state figure draws at most this many recorded neurons per variable, and at most MAX_POINTS samples
#: of each (evenly spaced)
MAX_TRACES = 5
MAX_POINTS = 20000

_DISPLAY = {"volt": ("mV", 1e3), "amp": ("nA", 1e9), "siemens": ("nS", 1e9), "second": ("ms", 1e3),
            "hertz": ("Hz", 1.0)}


def display_unit(unit):
    """``(label, factor)`` to show values stored in the SI ``unit`` (``"volt"`` is shown in mV).

    Examples
    --------
    >>> display_unit("volt")
    ('mV', 1000.0)
    >>> display_unit("1")
    ('', 1.0)
    """
    if unit in _DISPLAY:
        return _DISPLAY[unit]
    return ("" if unit in ("1", "", None) else str(unit)), 1.0


def state_figure(data, title, max_traces=MAX_TRACES):
    """One panel per recorded variable of a state recording (``data/state_<name>.npz`` as a dict: ``t``,
    ``index``, one 2-d array ``(neurons, samples)`` per variable and its ``_unit_<var>``), at most
    ``max_traces`` neurons each (and at most :data:`MAX_POINTS` samples, evenly spaced)."""
    import matplotlib.pyplot as plt

    t = np.asarray(data["t"], dtype=float)
    step = max(1, t.size // MAX_POINTS)  # a figure has ~1000 pixel columns
    t = t[::step]
    index = np.asarray(data["index"]).ravel()
    variables = [k for k in data if k not in ("t", "index") and not k.startswith("_unit_")]
    if not variables:
        raise ValueError(f"state recording {title!r} holds no variables")
    shown = min(len(index), max_traces)
    fig, axes = plt.subplots(len(variables), 1, figsize=(9, 1.9 * len(variables) + 0.6), sharex=True,
                             squeeze=False)
    for ax, var in zip(axes[:, 0], variables):
        label, factor = display_unit(str(data[f"_unit_{var}"])) if f"_unit_{var}" in data else ("", 1.0)
        values = np.atleast_2d(np.asarray(data[var], dtype=float))[:, ::step]
        for row in range(shown):
            ax.plot(t, values[row] * factor, lw=0.8, label=f"neuron {index[row]}")
        ax.set_ylabel(f"{var} ({label})" if label else var)
    axes[0, 0].set_title(title + (f" ({shown} of {len(index)} recorded neurons)" if shown < len(index) else ""))
    if shown > 1:
        axes[0, 0].legend(loc="upper right", fontsize=7, ncol=min(shown, 5))
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    return fig


def isi_figure(i, t, n, t_start, t_stop, title):
    """Instantaneous rate (1/ISI) over time and the ISI histogram of each neuron of a tiny population."""
    import matplotlib.pyplot as plt

    fig, (ax_rate, ax_hist) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [2.2, 1]})
    for neuron in range(n):
        times = np.sort(t[(i == neuron) & (t >= t_start) & (t <= t_stop)])
        if times.size < 2:
            continue
        isi = np.diff(times)
        ax_rate.plot(times[1:], 1.0 / isi, ".", ms=1.5, alpha=0.4, label=f"neuron {neuron}")
        ax_hist.hist(isi * 1e3, bins=60, histtype="step", label=f"neuron {neuron}")
    ax_rate.set_xlim(t_start, t_stop)
    ax_rate.set_yscale("log")
    ax_rate.set_xlabel("time (s)")
    ax_rate.set_ylabel("1 / ISI (Hz)")
    ax_rate.set_title(f"{title}: instantaneous rate ({n} neuron{'s' if n > 1 else ''}, "
                      f"{t.size} spikes; too dense for a raster)")
    ax_hist.set_xlabel("ISI (ms)")
    ax_hist.set_ylabel("intervals")
    ax_hist.set_title("ISI distribution")
    if n > 1:
        ax_hist.legend(fontsize=7)
    fig.tight_layout()
    return fig
