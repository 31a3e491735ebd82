"""Analysis of run directories: rasters, rates, weights, spike-train correlations (Elephant), a
self-contained HTML report, run comparison and NWB export.

Analysis reads only run directories (:class:`spikelearn.results.RunResult`), never a live network.
matplotlib, Elephant, Neo and pynwb are imported inside the functions that need them, so importing
this package is cheap; figures use the non-interactive Agg backend.

Entry points
------------
standard_figures(result, outdir, fmt="png")
    Rasters with population rates and weight histograms; made at the end of every run.
inspect_run(paths, out=None, fmt="png", ...)
    All figures plus ``report.html`` for one run, or a side-by-side comparison for two.
export_nwb(run_path, out_path)
    Spikes as an NWB Units table, scenario and provenance as metadata.
add_inspect_arguments(parser), add_export_arguments(parser)
    argparse wiring for ``spikelearn inspect`` / ``spikelearn export``.
"""

from .figures import standard_figures

__all__ = [
    "standard_figures",
    "inspect_run",
    "export_nwb",
    "add_inspect_arguments",
    "add_export_arguments",
    "inspect_command",
    "export_command",
]


def __getattr__(name):
    # the heavier entry points are loaded on first use
    if name in ("inspect_run",):
        from .report import inspect_run

        return inspect_run
    if name in ("export_nwb",):
        from .nwb import export_nwb

        return export_nwb
    if name in ("add_inspect_arguments", "add_export_arguments", "inspect_command", "export_command"):
        from . import commands

        return getattr(commands, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
