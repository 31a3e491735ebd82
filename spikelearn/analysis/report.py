"""``report.html``: one self-contained page per run (or per comparison of two runs).

Figures are embedded as base64 ``data:`` URIs, so the page opens in a browser from anywhere with no
server and no side files. It shows the claims with pass/fail, the metrics, every figure of
:func:`~spikelearn.analysis.figures.analysis_figures`, the resolved scenario and the provenance.
"""

import base64
import datetime
import html
import json
import logging
from pathlib import Path

import numpy as np

from spikelearn.results import writable_folder

from . import _io

__all__ = ["inspect_run", "write_report", "embed_image", "html_page", "format_value", "DEFAULT_OUT"]

logger = logging.getLogger(__name__)

#: default output folder of ``inspect``, inside the (first) run directory
DEFAULT_OUT = "inspect"

_MIME = {".png": "image/png", ".svg": "image/svg+xml"}

CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto;
       max-width: 1280px; padding: 1em 2em 4em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
h3 { margin-bottom: .3em; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: .5em 0 1em; } td, th { border: 1px solid #ddd; padding: 3px 8px;
       text-align: left; vertical-align: top; } th { background: #f4f4f4; }
td.num { font-family: ui-monospace, Menlo, Consolas, monospace; text-align: right; }
.pass { background: #e3f4e1; color: #1f6b1a; font-weight: bold; }
.fail { background: #fbe3e3; color: #9b1c1c; font-weight: bold; }
.warn { background: #fff4d6; } .diff { background: #fff4d6; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #666; font-size: .9em; }
pre { background: #f7f7f7; padding: .8em; overflow-x: auto; font-size: 12px; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; } .cols > div { min-width: 0; }
nav a { margin-right: 1em; }
"""


def embed_image(path, alt=None):
    """An ``<img>`` tag with the image (PNG or SVG) inlined as a base64 ``data:`` URI.

    A PDF is embedded through its PNG copy (:func:`~spikelearn.analysis.figures.save_figure` writes one).
    """
    path = Path(path)
    if path.suffix == ".pdf":
        path = path.with_suffix(".png")
    mime = _MIME.get(path.suffix)
    if mime is None:
        raise ValueError(f"cannot embed {path}: only PNG and SVG figures can be embedded")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(alt or path.stem, quote=True)
    return f'<img alt="{alt}" src="data:{mime};base64,{data}">'


def format_value(value, digits=4, limit=8):
    """A metric value as short text: numbers with ``digits`` significant digits; lists and dicts show
    their first ``limit`` items and say how many there are (``limit=None``: all of them).

    Examples
    --------
    >>> format_value([0.123456, 2, None])
    '[0.1235, 2, –]'
    >>> format_value(list(range(10)), limit=3)
    '[0, 1, 2, … (10 values)]'
    >>> format_value({"a": 1.0, "b": 2.0, "c": 3.0}, limit=2)
    '{a: 1, b: 2, … (3 entries)}'
    """
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}" if abs(int(value)) >= 10000 else str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.{digits}g}"
    cut = (lambda n: limit is not None and n > limit)
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
        shown = ", ".join(format_value(v, digits, limit) for v in (items[:limit] if cut(len(items)) else items))
        return f"[{shown}, … ({len(items)} values)]" if cut(len(items)) else f"[{shown}]"
    if isinstance(value, dict):
        items = list(value.items())
        shown = ", ".join(f"{k}: {format_value(v, digits, limit)}" for k, v in (items[:limit] if cut(len(items)) else items))
        return "{" + shown + (f", … ({len(items)} entries)" if cut(len(items)) else "") + "}"
    return str(value)


def _value_cell(value):
    """A table cell with a value; a value cut for the table unfolds to all of it."""
    short, full = format_value(value), format_value(value, limit=None)
    if short == full:
        return f"<td class='num'>{_esc(short)}</td>"
    return f"<td class='num'><details><summary>{_esc(short)}</summary>{_esc(full)}</details></td>"


def _esc(text):
    return html.escape(str(text))


def html_page(title, body):
    """A complete HTML document with the report style."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def claims_table(claims):
    """HTML table of claims (name, statement, value, threshold, pass/fail)."""
    if not claims:
        return "<p class='sub'>This run has no claims.</p>"
    rows = ["<tr><th>claim</th><th>statement</th><th>value</th><th>threshold</th><th>result</th></tr>"]
    for c in claims:
        passed = c.get("passed")
        cls, word = ("pass", "pass") if passed else ("fail", "FAIL") if passed is not None else ("warn", "?")
        rows.append(f"<tr><td>{_esc(c.get('name', ''))}</td><td>{_esc(c.get('statement', ''))}</td>"
                    f"{_value_cell(c.get('value'))}"
                    f"{_value_cell(c.get('threshold'))}"
                    f"<td class='{cls}'>{word}</td></tr>")
    return "<table>" + "".join(rows) + "</table>"


def metrics_table(metrics):
    """HTML table of ``{name: value}``."""
    if not metrics:
        return "<p class='sub'>No metrics.</p>"
    rows = ["<tr><th>metric</th><th>value</th></tr>"]
    rows += [f"<tr><td>{_esc(k)}</td>{_value_cell(v)}</tr>" for k, v in metrics.items()]
    return "<table>" + "".join(rows) + "</table>"


def figures_html(paths, heading_level=3):
    """``<figure>`` blocks with the embedded images and their file names as captions."""
    out = []
    for p in paths:
        try:
            img = embed_image(p)
        except (OSError, ValueError) as ex:
            logger.warning("figure %s not embedded: %s", p, ex)
            continue
        out.append(f"<figure>{img}<figcaption>{_esc(Path(p).name)}</figcaption></figure>")
    return "\n".join(out) or "<p class='sub'>No figures.</p>"


_SECTION_TITLES = {"activity": "Activity: rasters and population rates", "weights": "Weights",
                   "correlations": "Spike-train statistics (Elephant)", "task": "Task figures"}


def _run_header(result):
    scenario = result.scenario
    status = (result.status or {}) if hasattr(result, "status") else {}
    prov = result.provenance or {}
    bits = [f"scenario <b>{_esc(scenario.get('name', '?'))}</b>", f"run <code>{_esc(Path(result.path).name)}</code>",
            f"status <b>{_esc(status.get('status', '?'))}</b>" + (f" ({_esc(status['reason'])})" if status.get("reason") else ""),
            f"device {_esc(prov.get('device', scenario.get('device', '?')))}", f"seed {_esc(prov.get('seed', scenario.get('seed', '?')))}",
            f"duration {_esc(scenario.get('duration', '?'))}"]
    if status.get("status", "complete") != "complete" and status.get("t_end") is not None:
        bits[-1] += f" (simulated up to {format_value(status['t_end'])} s)"
    if prov.get("build_and_run_seconds") is not None:
        bits.append(f"build+run {format_value(prov['build_and_run_seconds'])} s")
    return (f"<p class='sub'>{_esc(scenario.get('description', ''))}</p>"
            f"<p>{' · '.join(bits)}</p><p class='sub'>{_esc(result.path)}</p>")


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
