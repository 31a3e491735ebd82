"""The ``spikelearn`` command.

User errors (a bad scenario, an unknown plugin, a failed build, an interrupt) print one line and exit
with status 1; ``--debug`` (before or after the command) shows the traceback. The exit statuses are
listed in ``spikelearn --help`` (:data:`EXIT_STATUSES`). Heavy imports (Brian2, matplotlib) happen
inside the commands, so ``spikelearn --help`` is instant.
"""

import argparse
import os
import sys

__all__ = ["main", "build_parser", "EXIT_OK", "EXIT_ERROR", "EXIT_USAGE", "EXIT_CLAIM_FAILED"]

EXIT_OK = 0
EXIT_ERROR = 1  # a user error, a failed or interrupted run
EXIT_USAGE = 2  # argparse's status for a command-line usage error
EXIT_CLAIM_FAILED = 3  # `run --strict`: the run finished but a claim failed (`reproduce`: or a control passed)

EXIT_STATUSES = f"""exit status:
  {EXIT_OK}  ok
  {EXIT_ERROR}  user error (bad scenario, plugin or option), failed or interrupted run
  {EXIT_USAGE}  usage error (unknown command or option, missing argument)
  {EXIT_CLAIM_FAILED}  `run --strict`: a claim failed (the run itself completed); `reproduce`: a claim the docs say
     passes failed, or a negative control passed"""


def _add_scenario_options(p):
    p.add_argument("scenario", help="a scenario file or a built-in scenario name (see `spikelearn list`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario key, validated like the file (repeatable), "
                        "e.g. --set duration=\"10*second\" --set connections.c.plasticity.tau_pre=\"10*ms\"")
    p.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="FILE",
                   help="load plugins (models, plasticity rules, tasks) from a single Python file (repeatable)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="spikelearn",
        description="Spiking networks with plasticity plugins on Brian2: run scenarios, inspect runs.",
        epilog=EXIT_STATUSES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run a scenario and write a run directory")
    _add_scenario_options(p)
    p.add_argument("--device", choices=("runtime", "cpp", "cuda"), help="override the scenario's device")
    p.add_argument("--seed", type=int, help="override the scenario's seed")
    p.add_argument("--out", default="runs", help="root of the run directories (default: ./runs)")
    p.add_argument("--strict", action="store_true", help=f"exit with status {EXIT_CLAIM_FAILED} when a claim fails")
    p.add_argument("--build-only", action="store_true",
                   help="standalone devices: generate and compile, do not run")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figures", action="store_true",
                   help="metrics and claims only: no figures and no report.html (`spikelearn inspect RUN` draws them "
                        "later); about half of a cached rerun's time")
    p.add_argument("--force", action="store_true",
                   help="run even when the memory estimate exceeds the machine's available memory")
    p.add_argument("--pack-with", action="append", default=[], metavar="SCENARIO",
                   help="a further scenario of the same structure (another seed or parameter value; repeatable): "
                        "all are simulated as copies in one network, each written as its own run directory")

    p = sub.add_parser("validate", help="check a scenario without building anything")
    _add_scenario_options(p)

    p = sub.add_parser("show", help="print a scenario's network: populations, connections, rules, operations, records")
    _add_scenario_options(p)

    p = sub.add_parser("sweep", help="run a parameter grid x seeds on Dask distributed")
    _add_scenario_options(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="a grid axis (repeatable); replaces the scenario's [sweep] grid")
    p.add_argument("--device", choices=("runtime", "cpp", "cuda"), help="override the scenario's device")
    p.add_argument("--seeds", type=int, help="seeds per grid point (default: the [sweep] table's, or 1)")
    p.add_argument("--workers", type=int, default=2, help="local Dask worker processes (default 2)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--pack", type=int, metavar="K",
                   help="simulate up to K points as copies in one network (default: the [sweep] table's pack, or 1)")
    p.add_argument("--compile-parameters", action="store_true",
                   help="compile plasticity parameters of the grid into each point's program instead of "
                        "giving them at run time (one build per value; bitwise like a plain run)")
    p.add_argument("--out", default="runs", help="root of the run directories (default: ./runs)")
    p.add_argument("--no-progress", action="store_true")

    p = sub.add_parser("reproduce", help="the papers' scenarios at full length (every seed and control the docs "
                                         "report): a results record per run, the docs' results page from them")
    p.add_argument("names", nargs="*", metavar="PAPER|SCENARIO",
                   help="papers or scenarios of spikelearn/papers.toml (default: all)")
    p.add_argument("--device", choices=("runtime", "cpp", "cuda"), help="override each scenario's device")
    p.add_argument("--seeds", type=int, help="run the first N seeds (default: the seeds the docs report)")
    p.add_argument("--jobs", type=int, default=1, help="runs at a time (default 1)")
    p.add_argument("--docs", default="docs/papers",
                   help="where records/, figures/ and results.md go (default: docs/papers of the checkout)")
    p.add_argument("--runs", default="runs/reproduce", help="root of the run directories (default: ./runs/reproduce)")
    p.add_argument("--force", action="store_true", help="rerun runs that have a current record")
    p.add_argument("--no-controls", action="store_true", help="only the scenarios, not their negative controls")
    p.add_argument("--limit-minutes", type=float, metavar="M",
                   help="stop a run after M minutes (kept incomplete; its record says so)")
    p.add_argument("--list", action="store_true", help="print the runs and whether each has a current record; run nothing")
    p.add_argument("--pages-only", action="store_true", help="regenerate results.md from the records; run nothing")

    p = sub.add_parser("check-plugin", help="run the contract checks on a plasticity rule (a name or a file)")
    p.add_argument("rule", help="a registered rule name, or a Python file defining one rule")
    p.add_argument("--device", action="append", choices=("runtime", "cpp", "cuda"),
                   help="device(s) to check on (default: every available one)")
    p.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="FILE")

    p = sub.add_parser("new-plugin", help="write a small installable package for a new plasticity rule")
    p.add_argument("name", help="the rule's name (a Python identifier, e.g. my_rule)")
    p.add_argument("--dir", default=".", help="where to create the package directory (default: .)")

    from .analysis.commands import add_export_arguments, add_inspect_arguments

    add_inspect_arguments(sub.add_parser("inspect", help="figures + report.html of a run; two runs: a comparison"))
    add_export_arguments(sub.add_parser("export", help="export a run as NWB"))

    p = sub.add_parser("train-denoiser", help="train the dendritic trees of a learned prior (Lyo & Savin) into the user cache")
    p.add_argument("--prior", default="swissroll", choices=("swissroll", "swissroll-gated", "digits"),
                   help="swissroll: the 2x48 tree and the 1-layer control; swissroll-gated: the tree with gated "
                        "sensory and context inputs; digits: the 3x128 tree and the 1-layer control (12-D PCA)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="directory for <prior>_<tree>_seed<K>.npz (default: ~/.cache/spikelearn/denoisers, "
                                 "or $SPIKELEARN_CACHE/denoisers)")
    p.add_argument("--steps", type=int, help="Adam steps (default: the prior's, as packaged)")

    p = sub.add_parser("clean", help="remove the temporary directories that killed runs left in a runs folder")
    p.add_argument("runs_dir", metavar="RUNS_DIR", help="a runs root (--out of `spikelearn run`) or one scenario's folder")

    p = sub.add_parser("list", help="list built-in scenarios, models, plasticity rules and tasks")
    p.add_argument("what", nargs="?", choices=("scenarios", "models", "plasticity", "tasks"),
                   help="only this kind")
    p.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="FILE")

    for p in sub.choices.values():  # `spikelearn run X --debug` as well as `spikelearn --debug run X`
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    from .errors import SpikelearnError

    try:
        return COMMANDS[args.command](args)
    except SpikelearnError as ex:
        if args.debug:
            raise
        print(f"spikelearn: error: {ex}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("spikelearn: interrupted", file=sys.stderr)
        return EXIT_ERROR


def _registry(args):
    from .registry import default_registry

    return default_registry(_plugin_files(args))


def _plugin_files(args):
    """The ``--plugin`` files, and those of the run whose ``RUN_DIR/scenario.toml`` is run again."""
    return tuple(args.plugins) + _run_dir_plugins(args)


def _run_dir_plugins(args):
    """Plugin files a run used, when its ``RUN_DIR/scenario.toml`` is run again (so that it repeats): the
    copies in ``RUN_DIR/plugins/``, wherever the run directory now is (a ``--plugin`` file of the same
    name replaces the copy). A copy that no longer has the hash the run recorded is used with a warning."""
    from pathlib import Path

    from .errors import SpikelearnError
    from .results import RunResult

    scenario = getattr(args, "scenario", None)
    if not scenario or Path(scenario).name != "scenario.toml" or not (Path(scenario).parent / "provenance.json").is_file():
        return ()
    try:
        run = RunResult(Path(scenario).parent)
        files, changed = run.plugin_files(), run.changed_plugin_files()
    except (OSError, ValueError, KeyError, TypeError, SpikelearnError):  # an unreadable run directory: no plugins
        return ()
    for path in changed:
        print(f"spikelearn: warning: {path}: differs from the plugin file the run used (its SHA-256 in "
              f"{run.path / 'provenance.json'}); the run may not repeat", file=sys.stderr)
    given = {Path(p).name for p in args.plugins}
    return tuple(f for f in files if Path(f).name not in given)


def _load(args, registry):
    from .scenario import load_scenario

    overrides = list(args.overrides)
    if getattr(args, "seed", None) is not None:
        overrides.append(f"seed={args.seed}")
    scenario = load_scenario(args.scenario, registry, overrides)
    for message in scenario.warnings:
        print(f"spikelearn: warning: {scenario.source}: {message}", file=sys.stderr)
    return scenario


def cmd_run(args):
    from .registry import default_registry

    plugin_files = _plugin_files(args)
    registry = default_registry(plugin_files)
    scenario = _load(args, registry)
    from .runner import run_scenario

    def echo(message):
        print(message, file=sys.stderr)

    device = args.device or scenario.device
    echo(f"scenario '{scenario.name}' on {device}: {float(scenario.duration):g} s simulated, seed {scenario.seed}")
    if args.pack_with:
        return _run_packed(args, scenario, registry, plugin_files, echo)
    outcome = run_scenario(
        scenario, registry, out_root=args.out, device=args.device, progress=not args.no_progress,
        build_only=args.build_only, command="spikelearn " + " ".join(sys.argv[1:]),
        plugin_files=plugin_files, echo=echo, force=args.force, figures=not args.no_figures,
    )
    if outcome.build_only:
        print(f"built only, not run: generated and compiled for '{device}' (record: {outcome.path})")
        return 0
    _print_outcome(outcome)
    if args.strict and not outcome.all_passed:
        return EXIT_CLAIM_FAILED
    return 0


def _run_packed(args, scenario, registry, plugin_files, echo):
    from .runner import run_packed
    from .scenario import load_scenario

    others = [load_scenario(name, registry, list(args.overrides)) for name in args.pack_with]
    outcomes = run_packed([scenario, *others], registry, out_root=args.out, device=args.device,
                          progress=not args.no_progress, command="spikelearn " + " ".join(sys.argv[1:]),
                          plugin_files=plugin_files, echo=echo, force=args.force, build_only=args.build_only,
                          figures=not args.no_figures)
    if args.build_only:
        print(f"built only, not run: {len(outcomes)} packed copies generated and compiled (records: "
              f"{', '.join(str(o.path) for o in outcomes)})")
        return 0
    for outcome in outcomes:
        _print_outcome(outcome)
    if args.strict and not all(o.all_passed for o in outcomes):
        return EXIT_CLAIM_FAILED
    return 0


def _print_outcome(outcome):
    if outcome.metrics:
        print("metrics:")
        for name, value in outcome.metrics.items():
            print(f"  {name}: {_short(value)}")
    if outcome.claims:
        print("claims:")
        for c in outcome.claims:
            verdict = "PASS" if c["passed"] else "FAIL"
            print(f"  [{verdict}] {c['name']}: {c['statement']}")
            print(f"         value {_short(c['value'])}, threshold {_short(c['threshold'])}")
    print(f"run directory: {outcome.path}")


def _short(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        inner = ", ".join(_short(v) for v in value[:12])
        return f"[{inner}{', ...' if len(value) > 12 else ''}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        return _short(list(value))
    return str(value)


def cmd_validate(args):
    registry = _registry(args)
    scenario = _load(args, registry)
    if scenario.task is None:  # the scenario's own network: Brian2 checks its code without running it
        from .runner import check_network

        check_network(scenario, registry)
        net = scenario
    else:  # the task's part of the network is described (its parameters checked), nothing is built
        from .runner import describe_scenario

        net = describe_scenario(scenario, registry).net
    if scenario.sweep and scenario.sweep["pack"] > 1:  # two seeds of it packed (nothing is built)
        from .runner import check_packable

        check_packable([scenario, scenario.with_overrides([f"seed={scenario.seed + 1}"], registry)], registry)
    print(f"{scenario.source}: valid scenario '{scenario.name}' ({len(net.populations)} populations, "
          f"{len(net.connections)} connections, task {scenario.task or 'none'}, device {scenario.device})")
    return 0


def cmd_show(args):
    from .runner import show_network

    registry = _registry(args)
    print(show_network(_load(args, registry), registry))
    return 0


def cmd_list(args):
    kinds = [args.what] if args.what else ["scenarios", "models", "plasticity", "tasks"]
    registry = _registry(args) if kinds != ["scenarios"] else None
    for kind in kinds:
        print(f"{kind}:")
        if kind == "scenarios":
            from .scenario import builtin_scenarios
            import tomllib

            for name, path in builtin_scenarios().items():
                try:
                    desc = tomllib.loads(path.read_text()).get("description", "")
                except (OSError, tomllib.TOMLDecodeError) as ex:
                    desc = f"(unreadable: {ex})"
                print(f"  {name:32s} {desc}")
        else:
            for name, plugin in registry.available(kind).items():
                print(f"  {name:32s} {plugin.description}")
            for name, message in registry.broken[kind].items():
                print(f"  {name:32s} BROKEN: {message}")
    return 0


def cmd_sweep(args):
    from .errors import SpikelearnError
    from .registry import default_registry
    from .sweep import failed_points, parse_grid, run_sweep

    for option, value in (("--workers", args.workers), ("--seeds", args.seeds), ("--pack", args.pack)):
        if value is not None and value < 1:
            raise SpikelearnError(f"sweep: {option}: {value}; allowed: a whole number >= 1")
    if args.device:
        args.overrides.append(f'device="{args.device}"')
    plugin_files = _plugin_files(args)
    registry = default_registry(plugin_files)
    base = _load(args, registry)
    if args.grid:
        grid = dict(parse_grid(g) for g in args.grid)
    else:
        grid = dict(base.sweep["grid"]) if base.sweep else {}
    seeds = args.seeds if args.seeds is not None else (base.sweep["seeds"] if base.sweep else 1)
    pack = args.pack if args.pack is not None else (base.sweep["pack"] if base.sweep else 1)
    sweep_dir = run_sweep(base, grid, seeds, registry, out_root=args.out, workers=args.workers,
                          scheduler=args.scheduler, plugin_files=plugin_files, progress=not args.no_progress,
                          runtime_parameters=not args.compile_parameters, pack=pack,
                          echo=lambda m: print(m, file=sys.stderr))
    print(f"sweep table: {sweep_dir / 'table.csv'}")
    failed = failed_points(sweep_dir)
    if failed:
        print(f"spikelearn: error: {len(failed)} sweep point(s) did not complete:", file=sys.stderr)
        for row in failed:
            params = ", ".join(f"{k[len('param:'):]}={v}" for k, v in row.items() if k.startswith("param:"))
            print(f"  point {row['point']} ({params or 'no grid'}, seed {row['seed']}): {row['status']}: "
                  f"{row.get('error') or 'not run'}", file=sys.stderr)
        return 1
    return 0


def cmd_reproduce(args):
    from pathlib import Path

    from .errors import SpikelearnError
    from .reproduce import current_record, load_manifest, plan, reproduce, write_results_page

    for option, value in (("--jobs", args.jobs), ("--seeds", args.seeds)):
        if value is not None and value < 1:
            raise SpikelearnError(f"reproduce: {option}: {value}; allowed: a whole number >= 1")
    if args.limit_minutes is not None and not args.limit_minutes > 0:
        raise SpikelearnError(f"reproduce: --limit-minutes: {args.limit_minutes}; allowed: a number of minutes > 0")
    docs = Path(args.docs)
    if not docs.is_dir():
        raise SpikelearnError(f"reproduce: --docs: {docs}: no such directory; run from the project's checkout "
                              "(docs/papers) or give --docs DIR")
    manifest = load_manifest()
    jobs = plan(manifest, args.names, device=args.device, seeds=args.seeds, controls=not args.no_controls)
    if args.pages_only:
        write_results_page(manifest, docs)
        print(f"results page: {docs / 'results.md'}")
        return EXIT_OK
    if args.list:
        for job in jobs:
            record = current_record(job, docs / "records")
            state = f"record of {record['finished'][:10]}: {record['verdict']}" if record else "to run"
            print(f"{job.label}  (~{job.minutes:g} min)  {state}")
        return EXIT_OK
    records, stopped = reproduce(jobs, docs, args.runs, manifest, force=args.force, workers=args.jobs,
                                 limit_minutes=args.limit_minutes, echo=lambda m: print(m, flush=True))
    print(f"\nresults page: {docs / 'results.md'}")
    print(f"{'scenario':<32} {'runs':>4} {'ok':>4}  verdicts")
    for name in dict.fromkeys(job.scenario for job in jobs):
        mine = [records[j.label] for j in jobs if j.scenario == name and j.label in records]
        verdicts = "; ".join(f"{r['variant']} {r['seed']}: {r['verdict']}" for r in mine if not r["ok"])
        print(f"{name:<32} {len(mine):>4} {sum(r['ok'] for r in mine):>4}  {verdicts or 'as the docs say'}")
    if stopped:
        print(f"spikelearn: error: reproduce stopped by {stopped}; the runs in progress were kept incomplete "
              "(no record); run the same command to resume", file=sys.stderr)
        return EXIT_ERROR
    done = list(records.values())
    if any(r["status"] != "complete" for r in done) or len(done) < len(jobs):
        return EXIT_ERROR
    return EXIT_OK if all(r["ok"] for r in done) else EXIT_CLAIM_FAILED


def cmd_check_plugin(args):
    from pathlib import Path

    from .errors import PluginError
    from .registry import Registry
    from .testing import check_rule

    plugins = list(args.plugins)
    name = args.rule
    if name.endswith(".py") or Path(name).is_file():
        registry = Registry()
        rules = [n for n in registry.add_file(name) if n in registry.available("plasticity")]
        if len(rules) != 1:
            raise PluginError(f"plugin file {name}: expected exactly one plasticity rule, found {rules or 'none'}")
        plugins.append(name)
        name = rules[0]
    results = check_rule(name, plugin_files=plugins, devices=args.device)
    for r in results:
        print(r.line())
    failed = [r for r in results if not r.passed and not r.skipped]
    print(f"verdict: rule '{name}' {'FAILS ' + str(len(failed)) + ' check(s)' if failed else 'passes every check'}")
    return 1 if failed else 0


def cmd_new_plugin(args):
    from .scaffold import write_plugin_package

    path = write_plugin_package(args.name, args.dir)
    print(f"created {path}")
    print(f"next: pip install -e {path} && spikelearn list plasticity && spikelearn run {path}/scenarios/{args.name}_demo.toml")
    return 0


def cmd_clean(args):
    import shutil
    from pathlib import Path

    from .errors import SpikelearnError
    from .results import stale_run_directories

    if not Path(args.runs_dir).is_dir():
        raise SpikelearnError(f"{args.runs_dir}: RUNS_DIR: not a directory; expected a runs folder (--out of `spikelearn run`)")
    stale = stale_run_directories(args.runs_dir)
    for found in stale:
        print(f"removing {found.describe()}")
        shutil.rmtree(found.path)
    print(f"removed {len(stale)} temporary run director{'y' if len(stale) == 1 else 'ies'} of killed runs from "
          f"{args.runs_dir} (those of runs still in progress are kept)")
    return 0


def _add_resolved(runs, task_figures=False):
    """Run directories written before ``resolved.json`` existed get it (analysis reads it, not plugins);
    with ``task_figures``, a run without its task's figures gets them when the task is installed (analysis
    itself never loads plugins)."""
    from pathlib import Path

    from .analysis.figures import task_figures as existing_task_figures
    from .errors import PluginError
    from .registry import default_registry
    from .results import RunResult
    from .runner import ensure_resolved

    for run in runs:
        if not (Path(run) / "scenario.toml").is_file():
            continue
        ensure_resolved(run)
        result = RunResult(run)
        task_name = (result.scenario.get("task") or {}).get("name")
        if not task_figures or not task_name or existing_task_figures(result):
            continue
        try:
            task = default_registry(result.plugin_files()).get("tasks", task_name)
        except PluginError as ex:
            print(f"spikelearn: note: {run}: no task figures ({ex})", file=sys.stderr)
            continue
        try:
            import matplotlib

            matplotlib.use("Agg")
            task.figures(result, result.path / "figures")
        except OSError as ex:
            print(f"spikelearn: note: {run}: cannot add the task's figures ({ex})", file=sys.stderr)


def cmd_inspect(args):
    from .analysis.commands import inspect_command

    _add_resolved(args.runs, task_figures=True)
    return inspect_command(args)


def cmd_export(args):
    from .analysis.commands import export_command

    _add_resolved([args.run])
    return export_command(args)


def cmd_train_denoiser(args):
    from .tasks.lyo2024.learned import train_prior

    if args.seed < 0:
        raise SystemExit(f"spikelearn train-denoiser: --seed must be >= 0, found: {args.seed}")
    if args.steps is not None and args.steps < 1:
        raise SystemExit(f"spikelearn train-denoiser: --steps must be >= 1, found: {args.steps}")
    paths = train_prior(args.prior, args.seed, directory=args.out, steps=args.steps)
    print("trained trees written: " + ", ".join(str(p) for p in paths))
    return 0


COMMANDS = {"run": cmd_run, "validate": cmd_validate, "list": cmd_list, "sweep": cmd_sweep, "check-plugin": cmd_check_plugin,
            "new-plugin": cmd_new_plugin, "inspect": cmd_inspect, "export": cmd_export, "clean": cmd_clean,
            "train-denoiser": cmd_train_denoiser, "show": cmd_show, "reproduce": cmd_reproduce}


def entry():
    """The ``spikelearn`` command: `main`, then a fast exit. Once the command has returned, everything it
    wrote is closed; the interpreter's own teardown (Brian2, SymPy, matplotlib modules) took 0.3 s of a
    3.4 s cached rerun. The streams and logs are flushed and the ``atexit`` handlers run (Brian2's removes
    its temporary log files), then the process ends without that teardown.

    In this process Brian2 is imported without ``pylab``: its ``from pylab import *`` (matplotlib's
    pyplot and pylab, 0.4 s of Brian2's 1.1 s import) fills Brian2's namespace with plotting names that
    nothing in a command uses; Brian2 then imports NumPy's names itself. The figures import matplotlib
    when they are drawn."""
    import atexit
    import logging

    sys.modules.setdefault("pylab", None)
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    atexit._run_exitfuncs()
    os._exit(code or 0)


if __name__ == "__main__":
    entry()
