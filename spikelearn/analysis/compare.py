"""Two runs side by side (e.g. the same scenario on two devices, or a run and its negative control).

The comparison report shows the claims and metrics of both runs in one table, what differs in their
resolved scenarios and provenance, overlays of population rates, weight distributions and spike-train
statistics, and each run's figures in two columns, matched by name.
"""

import json
import logging
from pathlib import Path

import numpy as np

from spikelearn.results import writable_folder

from . import _io
from .page import _SECTION_TITLES, _esc, _run_header, figures_html, format_value, html_page, metrics_table

__all__ = ["compare_runs", "flatten", "scenario_differences", "activity_summary", "overlay_figures"]

logger = logging.getLogger(__name__)


def flatten(data, prefix=""):
    """Nested dicts as ``{"a.b.c": value}``.

    Examples
    --------
    >>> flatten({"a": {"b": 1}, "c": 2})
    {'a.b': 1, 'c': 2}
    """
    out = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def scenario_differences(a, b):
    """``[(key, value_a, value_b)]`` for every flattened key whose values differ (``None``: absent)."""
    fa, fb = flatten(a), flatten(b)
    return [(k, fa.get(k), fb.get(k)) for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


def activity_summary(result, window=None):
    """Per spike recorder: number of spikes, neurons, and mean rate (Hz) in the window (within the time
    the recorder covers)."""
    out = {}
    start, stop = _io.parse_window(window)
    for name in _io.spike_recorders(result):
        i, t, n = _io.load_spikes(result, name)
        first, last = _io.spike_window(result, name)
        t0 = first if start is None else max(start, first)
        t1 = stop if stop is not None else (last or (float(t.max()) if t.size else 0.0))
        t1 = min(t1, last) if last else t1
        k = int(np.count_nonzero((t >= t0) & (t < t1)))
        out[name] = {"spikes": k, "neurons": n,
                     "mean rate (Hz)": k / (n * (t1 - t0)) if n and t1 > t0 else None}
    return out


def _rate_axes(ax, result, name, label, color, window, bin_size):
    from .rasters import default_bin_size, population_rate

    i, t, n = _io.load_spikes(result, name)
    start, stop = _io.parse_window(window)
    first, last = _io.spike_window(result, name)
    t0 = first if start is None else max(start, first)
    t1 = stop if stop is not None else (last or (float(t.max()) if t.size else 0.0))
    t1 = min(t1, last) if last else t1
    if n == 0 or not t1 > t0:
        return
    centres, rate = population_rate(t, n, t0, t1, bin_size or default_bin_size(t1 - t0))
    ax.step(centres, rate, where="mid", color=color, linewidth=1, label=label)


def overlay_figures(a, b, outdir, fmt="png", window=None, bin_size=None, labels=("A", "B")):
    """Figures drawing both runs on the same axes: population rates and weight distributions.

    Returns
    -------
    list of pathlib.Path
    """
    import matplotlib.pyplot as plt

    from .figures import connection_wmax, save_figure
    from .weights import weight_bins

    outdir = Path(outdir)
    paths = []
    common = [n for n in _io.spike_recorders(a) if n in set(_io.spike_recorders(b))]
    for name in common:
        fig, ax = plt.subplots(figsize=(9, 3))
        _rate_axes(ax, a, name, labels[0], "C0", window, bin_size)
        _rate_axes(ax, b, name, labels[1], "C3", window, bin_size)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("rate (Hz)")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{name}: population rate", fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(save_figure(fig, outdir, f"overlay_rate_{name}", fmt))
    for conn in [c for c in _io.weight_recorders(a) if c in set(_io.weight_recorders(b))]:
        wa, wb = _io.load_weights(a, conn), _io.load_weights(b, conn)
        wmax = connection_wmax(a, conn)
        scale = wmax or 1.0
        fa = np.asarray(wa.get("w_final", []), dtype=float) / scale
        fb = np.asarray(wb.get("w_final", []), dtype=float) / scale
        fig, ax = plt.subplots(figsize=(6, 3.4))
        bins = weight_bins(fa, fb)
        for values, label, color in ((fa, labels[0], "C0"), (fb, labels[1], "C3")):
            if values.size:
                ax.hist(values, bins=bins, histtype="step", linewidth=1.6, color=color,
                        label=f"{label} (mean {values.mean():.3g})")
        ax.set_xlabel("final w / wmax" if wmax else "final w")
        ax.set_ylabel("synapses")
        ax.set_title(f"{conn}: final weights", fontsize=10)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        fig.tight_layout()
        paths.append(save_figure(fig, outdir, f"overlay_weights_{conn}", fmt))
    return paths


def _cell(value):
    return format_value(value)


def _side_by_side_table(rows, labels, header="name"):
    out = [f"<tr><th>{_esc(header)}</th><th>{_esc(labels[0])}</th><th>{_esc(labels[1])}</th></tr>"]
    for name, va, vb in rows:
        cls = " class='diff'" if _cell(va) != _cell(vb) else ""
        out.append(f"<tr{cls}><td>{_esc(name)}</td><td class='num'>{_esc(_cell(va))}</td>"
                   f"<td class='num'>{_esc(_cell(vb))}</td></tr>")
    return "<table>" + "".join(out) + "</table>"


def _claims_side_by_side(ca, cb, labels):
    by_a = {c.get("name"): c for c in ca or []}
    by_b = {c.get("name"): c for c in cb or []}
    names = list(by_a) + [n for n in by_b if n not in by_a]
    if not names:
        return "<p class='sub'>Neither run has claims.</p>"

    def cells(c):
        if c is None:
            return "<td>–</td><td>–</td>"
        cls, word = ("pass", "pass") if c.get("passed") else ("fail", "FAIL")
        return f"<td class='num'>{_esc(_cell(c.get('value')))}</td><td class='{cls}'>{word}</td>"

    out = [f"<tr><th>claim</th><th>threshold</th><th colspan=2>{_esc(labels[0])}</th>"
           f"<th colspan=2>{_esc(labels[1])}</th></tr>"]
    for n in names:
        ref = by_a.get(n) or by_b.get(n)
        out.append(f"<tr><td title='{_esc(ref.get('statement', ''))}'>{_esc(n)}</td>"
                   f"<td class='num'>{_esc(_cell(ref.get('threshold')))}</td>{cells(by_a.get(n))}{cells(by_b.get(n))}</tr>")
    return "<table>" + "".join(out) + "</table>"


def _paired_figures(sa, sb):
    """Rows of (name, path in A or None, path in B or None), matched by file name."""
    by_a = {Path(p).name: p for p in sa}
    by_b = {Path(p).name: p for p in sb}
    names = list(by_a) + [n for n in by_b if n not in by_a]
    rows = []
    for n in names:
        left = figures_html([by_a[n]]) if n in by_a else "<p class='sub'>—</p>"
        right = figures_html([by_b[n]]) if n in by_b else "<p class='sub'>—</p>"
        rows.append(f"<div class='cols'><div>{left}</div><div>{right}</div></div>")
    return "\n".join(rows)


def compare_runs(a, b, out=None, fmt="png", window=None, populations=None, neurons=None, bin_size=None,
                 corr_bin=None, sort_by="preferred", pairs=None, options=None):
    """Write a comparison report of two runs and return its path.

    Parameters
    ----------
    a, b : RunResult or path-like
        The two runs (labelled A and B).
    out : path-like or None
        Output folder (default: ``<A>/compare-<B's id>``). Each run's figures go to ``A/`` and ``B/``
        inside it, overlays at its top.
    fmt, window, populations, neurons, bin_size, corr_bin, sort_by, pairs
        As in :func:`~spikelearn.analysis.report.inspect_run`; applied to both runs alike.
    options : dict or None
        Shown in the report.

    Returns
    -------
    pathlib.Path
        ``report.html`` of the comparison.

    Raises
    ------
    spikelearn.errors.OutputError
        When the output folder cannot be written (e.g. run A on read-only storage: give ``out``).
    """
    import datetime

    from .figures import CORR_BIN, _use_agg, analysis_figures

    _use_agg()
    a, b = _io.as_result(a), _io.as_result(b)
    corr_bin = CORR_BIN if corr_bin is None else float(corr_bin)
    labels = (f"A: {_io.run_label(a)}", f"B: {_io.run_label(b)}")
    outdir = writable_folder(Path(out) if out is not None else Path(a.path) / f"compare-{Path(b.path).name}")
    kwargs = dict(fmt=fmt, window=window, populations=populations, neurons=neurons, bin_size=bin_size,
                  corr_bin=corr_bin, sort_by=sort_by, pairs=pairs)
    sections_a, summaries_a = analysis_figures(a, outdir / "A", **kwargs)
    sections_b, summaries_b = analysis_figures(b, outdir / "B", **kwargs)
    overlays = overlay_figures(a, b, outdir, fmt=fmt, window=window, bin_size=bin_size, labels=("A", "B"))
    ma, mb = a.metrics or {}, b.metrics or {}
    metrics_a, metrics_b = ma.get("metrics") or {}, mb.get("metrics") or {}
    metric_rows = [(k, metrics_a.get(k), metrics_b.get(k)) for k in list(metrics_a) +
                   [k for k in metrics_b if k not in metrics_a]]
    act_a, act_b = activity_summary(a, window), activity_summary(b, window)
    activity_rows = []
    for pop in list(act_a) + [p for p in act_b if p not in act_a]:
        for key in ("spikes", "mean rate (Hz)"):
            activity_rows.append((f"{pop}: {key}", act_a.get(pop, {}).get(key), act_b.get(pop, {}).get(key)))
    stat_rows = []
    for pop in list(summaries_a) + [p for p in summaries_b if p not in summaries_a]:
        keys = list(summaries_a.get(pop, {})) + [k for k in summaries_b.get(pop, {}) if k not in summaries_a.get(pop, {})]
        stat_rows += [(f"{pop}: {k}", summaries_a.get(pop, {}).get(k), summaries_b.get(pop, {}).get(k)) for k in keys]
    scen_diff = scenario_differences(a.scenario, b.scenario)
    pa, pb = dict(a.provenance or {}), dict(b.provenance or {})
    prov_diff = [(k, va, vb) for k, va, vb in scenario_differences(pa, pb)
                 if k not in ("started", "finished", "run_id")]
    title = f"{labels[0]}  vs  {labels[1]}"
    parts = [f"<h1>Comparison</h1><p><b>{_esc(labels[0])}</b> vs <b>{_esc(labels[1])}</b></p>",
             "<div class='cols'><div>", f"<h3>A</h3>{_run_header(a)}", "</div><div>", f"<h3>B</h3>{_run_header(b)}",
             "</div></div>",
             "<h2>Claims</h2>", _claims_side_by_side(ma.get("claims"), mb.get("claims"), ("A", "B")),
             "<h2>Metrics</h2><p class='sub'>Highlighted: rows that differ.</p>",
             _side_by_side_table(metric_rows, ("A", "B"), "metric") if metric_rows else "<p class='sub'>No metrics.</p>",
             "<h3>Activity</h3>", _side_by_side_table(activity_rows, ("A", "B"), "population"),
             ]
    if stat_rows:
        parts += ["<h3>Spike-train statistics (Elephant)</h3>", _side_by_side_table(stat_rows, ("A", "B"), "statistic")]
    parts += ["<h2>What differs</h2><h3>Scenario</h3>",
              _side_by_side_table(scen_diff, ("A", "B"), "key") if scen_diff else "<p>The resolved scenarios are identical.</p>",
              "<h3>Provenance</h3>",
              _side_by_side_table(prov_diff, ("A", "B"), "key") if prov_diff else "<p>No differences.</p>"]
    if overlays:
        parts += ["<h2>Overlays</h2><p class='sub'>A in blue, B in red.</p>", figures_html(overlays)]
    for key, heading in _SECTION_TITLES.items():
        if sections_a.get(key) or sections_b.get(key):
            parts += [f"<h2>{_esc(heading)}</h2><div class='cols'><div><b>A</b></div><div><b>B</b></div></div>",
                      _paired_figures(sections_a.get(key, []), sections_b.get(key, []))]
    parts += ["<h2>Resolved scenarios</h2><div class='cols'><div>",
              f"<pre>{_esc((Path(a.path) / 'scenario.toml').read_text())}</pre></div><div>",
              f"<pre>{_esc((Path(b.path) / 'scenario.toml').read_text())}</pre></div></div>",
              "<h2>Provenance</h2><div class='cols'><div>",
              f"<pre>{_esc(json.dumps(pa, indent=2, default=str))}</pre></div><div>",
              f"<pre>{_esc(json.dumps(pb, indent=2, default=str))}</pre></div></div>"]
    if options:
        parts += ["<h3>Analysis options</h3>", metrics_table(options)]
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    parts.append(f"<p class='sub'>Written by spikelearn inspect at {stamp}.</p>")
    path = outdir / "report.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(html_page(title, "\n".join(parts)), encoding="utf-8")
    tmp.replace(path)
    return path
