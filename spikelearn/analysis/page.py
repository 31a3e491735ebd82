"""The building blocks of the ``report.html`` pages (`spikelearn.analysis.report` for one run,
`spikelearn.analysis.compare` for two): the style, embedded figures, value formatting, tables and the
run header.

Figures are embedded as base64 ``data:`` URIs, so a page opens in a browser from anywhere with no
server and no side files.
"""

import base64
import html
import logging
from pathlib import Path

import numpy as np

__all__ = ["embed_image", "html_page", "format_value"]

logger = logging.getLogger(__name__)

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
