"""Sphinx configuration of spikelearn's documentation (``sphinx-build -W docs docs/_build``).

The scenario-file reference (``reference.md``) is generated at every build from the validator's key sets
and from the registered plugins' declared parameters, so it cannot drift from the code.
"""

import dataclasses
from pathlib import Path

project = "spikelearn"
author = "spikelearn developers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.autosummary", "numpydoc", "sphinx_gallery.gen_gallery"]
sphinx_gallery_conf = {"examples_dirs": "../examples/gallery", "gallery_dirs": "gallery", "filename_pattern": "plot_",
                       "download_all_examples": False}
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3
numpydoc_show_class_members = False
autodoc_member_order = "bysource"
html_theme = "alabaster"
html_title = "spikelearn"
suppress_warnings = ["myst.xref_missing"]  # links to repository files (bench/, tests/) outside the site

HERE = Path(__file__).parent


def _parameters_table(plugin):
    rows = ["| parameter | default | meaning | constraints |", "| --- | --- | --- | --- |"]
    for name, param in plugin.parameters.items():
        extra = []
        for f in dataclasses.fields(param):
            value = getattr(param, f.name)
            if f.name in ("default", "doc") or value in ((), None, "") or (f.name == "kind" and value == "quantity"):
                continue
            extra.append(f"{f.name}: {value}")
        doc = str(param.doc).replace("|", "\\|")
        rows.append(f"| `{name}` | `{param.default}` | {doc} | {'; '.join(extra)} |")
    return rows if plugin.parameters else ["(no parameters)"]


def write_reference(app=None):
    """``reference.md``: every scenario key the validator accepts, then every built-in model, rule and
    task with its declared parameters."""
    from spikelearn import scenario as sc
    from spikelearn.claims import CLAIM_KEYS, STATISTICS
    from spikelearn.registry import default_registry

    tables = [("top level", sc.TOP_KEYS), ("`[populations.NAME]`", sc.POPULATION_KEYS),
              ("`[connections.NAME]`", sc.CONNECTION_KEYS), ("`[device_options]`", sc.DEVICE_OPTION_KEYS),
              ("`[phases]`", sc.PHASE_KEYS), ("`[record]`", sc.RECORD_KEYS),
              ("`[record.spikes.POP]`", sc.SPIKE_RECORD_KEYS),
              ("`[record.states.POP]`", sc.STATE_RECORD_KEYS), ("`[record.weights.CONN]`", sc.WEIGHT_RECORD_KEYS),
              ("`[task]`", sc.TASK_KEYS), ("`[sweep]`", sc.SWEEP_KEYS), ("`[guard]`", sc.GUARD_KEYS), ("`[claims.NAME]`", CLAIM_KEYS)]
    lines = ["# Scenario-file reference", "",
             "Generated from the validator (`spikelearn/scenario.py`) and the registered plugins at every docs "
             "build. Any other key is an error (with a did-you-mean suggestion). Choices: `device` in "
             f"{', '.join(sc.DEVICES)}; `device_options.target` in {', '.join(sc.RUNTIME_TARGETS)}; "
             f"`phases.kind` in {', '.join(sc.PHASE_KINDS)}; `claims.NAME.statistic` in "
             f"{'; '.join(f'{k} ({v[1]})' for k, v in STATISTICS.items())} (`spikelearn.claims`).", "",
             "## Keys", "", "| table | keys |", "| --- | --- |"]
    lines += [f"| {name} | {', '.join(f'`{k}`' for k in sorted(keys))} |" for name, keys in tables]
    registry = default_registry()
    for kind, title in (("models", "Neuron and input models"), ("plasticity", "Plasticity rules"),
                        ("tasks", "Tasks")):
        lines += ["", f"## {title}", ""]
        for name, plugin in registry.available(kind).items():
            lines += [f"### `{name}`", "", f"{plugin.description}" + (f" ({plugin.reference})" if getattr(
                plugin, "reference", "") else ""), ""] + _parameters_table(plugin) + [""]
    (HERE / "reference.md").write_text("\n".join(lines).rstrip() + "\n")


def setup(app):
    app.connect("builder-inited", write_reference)
