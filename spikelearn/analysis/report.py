"""``report.html``: one self-contained page per run (or per comparison of two runs, written by
`spikelearn.analysis.compare`).

The page shows the claims with pass/fail, the metrics, every figure of
:func:`~spikelearn.analysis.figures.analysis_figures` (embedded, see `spikelearn.analysis.page`), the
resolved scenario and the provenance.
"""

import datetime
import json
from pathlib import Path

from spikelearn.results import writable_folder

from . import _io
from .page import (_SECTION_TITLES, _esc, _run_header, claims_table, figures_html, format_value, html_page,
                   metrics_table)

__all__ = ["inspect_run", "write_report", "DEFAULT_OUT"]

#: default output folder of ``inspect``, inside the (first) run directory
DEFAULT_OUT = "inspect"


def _summary_table(summaries):
    if not summaries:
        return ""
    keys = []
    for s in summaries.values():
        keys += [k for k in s if k not in keys]
    rows = ["<tr><th>population</th>" + "".join(f"<th>{_esc(k)}</th>" for k in keys) + "</tr>"]
    for name, s in summaries.items():
        rows.append(f"<tr><td>{_esc(name)}</td>" + "".join(f"<td class='num'>{_esc(format_value(s.get(k)))}</td>"
                                                           for k in keys) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def write_report(result, sections, out_path, summaries=None, options=None, written_by="spikelearn inspect"):
    """Write ``report.html`` for one run.

    Parameters
    ----------
    result : RunResult
    sections : dict[str, list of path-like]
        Figures by section (from :func:`~spikelearn.analysis.figures.analysis_figures`).
    out_path : path-like
        The HTML file to write.
    summaries : dict or None
        Per-population correlation summaries.
    options : dict or None
        Analysis options, listed in the report.
    written_by : str
        The command named at the bottom of the page. Any other than ``spikelearn inspect`` adds a line
        saying how to get the spike-train statistics.

    Returns
    -------
    pathlib.Path
    """
    out_path = Path(out_path)
    metrics = result.metrics or {}
    title = f"{result.scenario.get('name', 'run')} — {Path(result.path).name}"
    nav = " ".join(f"<a href='#{k}'>{_esc(v.split(':')[0])}</a>" for k, v in _SECTION_TITLES.items() if sections.get(k))
    parts = [f"<h1>{_esc(title)}</h1>", _run_header(result),
             f"<nav><a href='#claims'>Claims</a> <a href='#metrics'>Metrics</a> {nav} "
             f"<a href='#scenario'>Scenario</a> <a href='#provenance'>Provenance</a></nav>",
             "<h2 id='claims'>Claims</h2>", claims_table(metrics.get("claims") or []),
             "<h2 id='metrics'>Metrics</h2>", metrics_table(metrics.get("metrics") or {})]
    if summaries:
        parts += ["<h3>Spike-train statistics</h3>", _summary_table(summaries)]
    for key, heading in _SECTION_TITLES.items():
        if sections.get(key):
            parts += [f"<h2 id='{key}'>{_esc(heading)}</h2>", figures_html(sections[key])]
    scenario_text = (Path(result.path) / "scenario.toml").read_text()
    parts += ["<h2 id='scenario'>Resolved scenario</h2>", f"<pre>{_esc(scenario_text)}</pre>",
              "<h2 id='provenance'>Provenance</h2>",
              f"<pre>{_esc(json.dumps(result.provenance or {}, indent=2, default=str))}</pre>"]
    if options:
        parts += ["<h3>Analysis options</h3>", metrics_table(options)]
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if written_by != "spikelearn inspect":
        parts.append(f"<p class='sub'>Spike-train statistics (correlations, correlograms, Fano factors, CVs) "
                     f"and weight matrices: <code>spikelearn inspect {_esc(result.path)}</code></p>")
    parts.append(f"<p class='sub'>Written by {_esc(written_by)} at {stamp}.</p>")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.tmp")
    tmp.write_text(html_page(title, "\n".join(parts)), encoding="utf-8")
    tmp.replace(out_path)
    return out_path


def _check_common(fmt, bin_size, corr_bin):
    from .figures import FORMATS

    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, found: {fmt!r}")
    if bin_size is not None and not float(bin_size) > 0:
        raise ValueError(f"bin_size must be > 0 s, found: {bin_size}")
    if not float(corr_bin) > 0:
        raise ValueError(f"corr_bin must be > 0 s, found: {corr_bin}")


def _check_window(result, start, stop):
    """A window reaching past the time a run's data cover is an error naming that end (an incomplete
    run's end is the time it reached)."""
    end = _io.run_duration(result)
    if end is None or not ((start is not None and start >= end) or (stop is not None and stop > end * (1 + 1e-9))):
        return
    from spikelearn.errors import SpikelearnError

    planned = _io.planned_duration(result)
    which = "" if planned is None or planned == end else f" (incomplete; planned {planned:g} s)"
    given = f"{'' if start is None else f'{start:g}'}:{'' if stop is None else f'{stop:g}'}"
    raise SpikelearnError(f"{result.path}: --window: {given} s reaches past the run's recorded end, "
                          f"t = {end:g} s{which}; allowed: a window within 0:{end:g}")


def inspect_run(paths, out=None, fmt="png", window=None, populations=None, neurons=None, bin_size=None,
                corr_bin=None, sort_by="preferred", pairs=None):
    """Make every figure of a run and its ``report.html``; with two runs, a side-by-side comparison.

    Parameters
    ----------
    paths : list of path-like
        One run directory, or two to compare.
    out : path-like or None
        Output folder (default: ``<run>/inspect``; for a comparison, ``<first run>/compare-<second id>``).
    fmt : {"png", "svg", "pdf"}
        Figure files' format (the report embeds PNG copies of PDF figures).
    window : str or (float, float) or None
        Time window, ``"start:stop"`` in seconds or quantities (default: the whole run); one reaching past
        the time the run's data cover (an incomplete run's recorded end) is a `SpikelearnError`.
    populations : list of str or None
        Spike recorders to analyse (default: all).
    neurons : list of int or None
        Neuron subset (indices within each population).
    bin_size : float or None
        Population-rate bin (s).
    corr_bin : float or None
        Spike-count bin of the correlations (s; default 20 ms).
    sort_by : str or None
        Per-neuron attribute ordering rasters and weight matrices.
    pairs : list of (int, int) or None
        Neuron pairs for cross-correlograms.

    Returns
    -------
    pathlib.Path
        The ``report.html`` written.

    Raises
    ------
    spikelearn.errors.OutputError
        When the output folder cannot be written (e.g. a run directory on read-only storage: give ``out``).
    """
    from .figures import CORR_BIN, _use_agg, analysis_figures

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if len(paths) not in (1, 2):
        raise ValueError(f"inspect takes one run directory, or two to compare; found {len(paths)}")
    corr_bin = CORR_BIN if corr_bin is None else float(corr_bin)
    _check_common(fmt, bin_size, corr_bin)
    start, stop = _io.parse_window(window)
    _use_agg()
    results = [_io.as_result(p) for p in paths]
    for result in results:
        _check_window(result, start, stop)
    options = {"window": window or "whole run", "populations": populations or "all",
               "neurons": neurons if neurons is not None else "all",
               "rate bin (s)": bin_size or "auto", "correlation bin (s)": corr_bin, "format": fmt,
               "sort by": sort_by or "index"}
    if len(results) == 2:
        from .compare import compare_runs

        return compare_runs(results[0], results[1], out=out, fmt=fmt, window=window, populations=populations,
                            neurons=neurons, bin_size=bin_size, corr_bin=corr_bin, sort_by=sort_by, pairs=pairs,
                            options=options)
    result = results[0]
    outdir = writable_folder(Path(out) if out is not None else Path(result.path) / DEFAULT_OUT)
    sections, summaries = analysis_figures(result, outdir, fmt=fmt, window=window, populations=populations,
                                           neurons=neurons, bin_size=bin_size, corr_bin=corr_bin,
                                           sort_by=sort_by, pairs=pairs)
    return write_report(result, sections, outdir / "report.html", summaries=summaries, options=options)
