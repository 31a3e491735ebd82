"""argparse wiring of ``spikelearn inspect`` and ``spikelearn export``, for :mod:`spikelearn.cli`.

Usage in the CLI::

    from spikelearn.analysis.commands import add_inspect_arguments, add_export_arguments
    p = sub.add_parser("inspect", help="figures and report.html of a run; two runs: a comparison")
    add_inspect_arguments(p)          # sets p's default func=inspect_command
    p = sub.add_parser("export", help="export a run's spikes (NWB)")
    add_export_arguments(p)           # sets func=export_command
    ...
    COMMANDS = {..., "inspect": inspect_command, "export": export_command}

Both commands return 0 and print the path written; bad options raise
:class:`spikelearn.errors.SpikelearnError` (one line naming the option, the value and what is allowed;
exit 1 in the CLI), an output that cannot be written :class:`spikelearn.errors.OutputError` (naming
the path and the option that chooses another).
"""

import logging

from . import _io

__all__ = ["add_inspect_arguments", "add_export_arguments", "inspect_command", "export_command",
           "parse_neurons", "parse_pairs", "parse_seconds"]

logger = logging.getLogger(__name__)


def parse_seconds(text):
    """Seconds from ``"0.005"`` or a time quantity string (``"5*ms"``); `ValueError` for anything else
    (``"5*mV"`` is a voltage, not 5 ms)."""
    try:
        return float(text)
    except ValueError:
        from spikelearn.units import dimension_name, parse_quantity

        expected = "expected a time: seconds (e.g. 0.005) or a quantity (e.g. 5*ms)"
        try:
            value = parse_quantity(text)
        except ValueError as ex:
            raise ValueError(f"{ex}; {expected}") from None
        kind = dimension_name(value)
        if kind != "a time":
            raise ValueError(f"{text!r} is {kind}; {expected}") from None
        return float(value)


def parse_neurons(text):
    """Neuron indices from ``"0-9,20,30-39"`` (ranges inclusive).

    Examples
    --------
    >>> parse_neurons("0-2,7")
    [0, 1, 2, 7]
    """
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = part.split("-", 1)
            lo, hi = int(lo), int(hi)
            if hi < lo:
                raise ValueError(f"neuron range must be low-high, found: {part!r}")
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    if not out or min(out) < 0:
        raise ValueError(f"neurons must be non-negative indices like '0-9,20', found: {text!r}")
    return out


def parse_pairs(text):
    """Neuron pairs from ``"3:7,10:11"``."""
    pairs = []
    for part in str(text).split(","):
        if part.strip():
            a, sep, b = part.partition(":")
            if not sep:
                raise ValueError(f"pairs must look like '3:7,10:11', found: {text!r}")
            pairs.append((int(a), int(b)))
    return pairs


def add_inspect_arguments(parser):
    """Add the options of ``spikelearn inspect RUN [RUN]`` to ``parser`` (and ``func=inspect_command``)."""
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR",
                        help="a run directory; two run directories make a side-by-side comparison")
    parser.add_argument("--out", help="output folder (default: RUN_DIR/inspect, or RUN_A/compare-<B id>)")
    parser.add_argument("--format", dest="fmt", choices=("png", "svg", "pdf"), default="png",
                        help="figure file format (default: png; the report embeds PNG copies of PDF figures)")
    parser.add_argument("--window", metavar="START:STOP",
                        help="time window in s or quantities, e.g. 90:100 or '2*second:3*second' (default: all)")
    parser.add_argument("--populations", metavar="NAME[,NAME]",
                        help="spike recorders to analyse (default: all)")
    parser.add_argument("--neurons", metavar="LIST", help="neuron subset, e.g. 0-99,200 (default: all)")
    parser.add_argument("--bin-size", metavar="DT", help="population-rate bin, s or quantity (default: ~200 bins)")
    parser.add_argument("--corr-bin", metavar="DT", help="spike-count bin of correlations (default: 20*ms)")
    parser.add_argument("--sort-by", metavar="ATTRIBUTE",
                        help="per-neuron attribute saved by the run's task ordering raster rows, '' for index "
                             "order (default: preferred, when saved)")
    parser.add_argument("--pairs", metavar="I:J[,I:J]", help="neuron pairs for cross-correlograms")
    parser.set_defaults(func=inspect_command)
    return parser


def add_export_arguments(parser):
    """Add the options of ``spikelearn export RUN --nwb OUT`` to ``parser`` (and ``func=export_command``)."""
    parser.add_argument("run", metavar="RUN_DIR", help="the run directory to export")
    parser.add_argument("--nwb", required=True, metavar="OUT.nwb",
                        help="write an NWB file (spikes, recorded states and weights, phases)")
    parser.add_argument("--populations", metavar="NAME[,NAME]", help="spike recorders to export (default: all)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT.nwb if it exists")
    parser.add_argument("--experimenter", action="append", metavar="'LAST, FIRST'",
                        help="who ran the simulation (repeat for several)")
    parser.add_argument("--institution", help="institution where the simulation was run")
    parser.add_argument("--lab", help="lab where the simulation was run")
    parser.add_argument("--subject-id", help="id of the simulated network (default: the scenario name)")
    parser.add_argument("--species", help="Latin binomial or NCBI Taxonomy link of the animal the network models "
                                          "(default: NCBI Taxonomy 'synthetic construct')")
    parser.set_defaults(func=export_command)
    return parser


def _split(text):
    return [s.strip() for s in text.split(",") if s.strip()] if text else None


def _option_seconds(text, option):
    from spikelearn.errors import SpikelearnError

    if not text:
        return None
    try:
        return parse_seconds(text)
    except ValueError as ex:
        raise SpikelearnError(f"inspect: {option}: {ex}") from ex


def _check_sort_by(runs, sort_by):
    """An explicit ``--sort-by`` must name a per-neuron attribute that one of the runs saved."""
    from pathlib import Path

    from spikelearn.errors import SpikelearnError

    saved = set()
    for run in runs:
        for path in (Path(run) / "data").glob("attributes_*.npz"):
            saved.update(_io.load_attributes(_io.as_result(run), path.stem[len("attributes_"):]))
    if sort_by not in saved:
        raise SpikelearnError(f"inspect: --sort-by: no per-neuron attribute {sort_by!r} in the run's data; "
                              f"allowed: {', '.join(sorted(saved)) or 'none saved'}, or '' for index order")


def inspect_command(args, echo=print):
    """Run ``spikelearn inspect`` from parsed arguments; returns the exit status (0)."""
    from spikelearn.errors import OutputError, SpikelearnError

    from .report import inspect_run

    bin_size = _option_seconds(args.bin_size, "--bin-size")
    corr_bin = _option_seconds(args.corr_bin, "--corr-bin")
    if args.sort_by:
        _check_sort_by(args.runs, args.sort_by)
    try:
        report = inspect_run(
            args.runs, out=args.out, fmt=args.fmt, window=args.window, populations=_split(args.populations),
            neurons=parse_neurons(args.neurons) if args.neurons else None, bin_size=bin_size, corr_bin=corr_bin,
            sort_by="preferred" if args.sort_by is None else args.sort_by or None,
            pairs=parse_pairs(args.pairs) if args.pairs else None)
    except OutputError as ex:
        default = "" if args.out else "by default the report goes inside the run directory: "
        raise OutputError(f"inspect: --out: {ex}; {default}choose a writable folder with --out DIR", ex.path) from ex
    except (ValueError, KeyError, FileNotFoundError) as ex:
        raise SpikelearnError(f"inspect: {ex}") from ex
    echo(f"report: {report}")
    return 0


def export_command(args, echo=print):
    """Run ``spikelearn export`` from parsed arguments; returns the exit status (0)."""
    from spikelearn.errors import OutputError, SpikelearnError

    from .nwb import export_nwb

    try:
        path = export_nwb(args.run, args.nwb, populations=_split(args.populations), overwrite=args.overwrite,
                          experimenter=args.experimenter, institution=args.institution, lab=args.lab,
                          subject_id=args.subject_id, species=args.species)
    except OutputError as ex:
        raise OutputError(f"export: --nwb: {ex}; choose a writable path with --nwb OUT.nwb", ex.path) from ex
    except (ValueError, KeyError, FileNotFoundError, FileExistsError) as ex:
        raise SpikelearnError(f"export: {ex}") from ex
    echo(f"wrote {path}")
    return 0
