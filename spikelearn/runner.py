"""Running a scenario: seed, device, build, simulate with a progress bar, save, evaluate, figures.

The run directory is created first and written under a temporary name; Ctrl-C or SIGTERM during the
simulation keeps it, marked incomplete, with whatever was recorded up to the interrupt (a standalone
program is stopped at the end of its current time step and writes its results; see
:mod:`spikelearn.devices`), and ``status.json`` says why and the simulated time reached (``t_end``). An
interrupted run is never evaluated. Temporary directories that killed runs left behind are reported
(``spikelearn clean`` removes them).

``provenance.json`` records the versions, the command, the plugin files (copied into ``plugins/`` with
their SHA-256) and, when spikelearn is installed from a git checkout, its commit and whether tracked
files differ from it.
"""

import contextlib
import logging
import platform
import signal
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .claims import evaluate_claims
from .build import brian_message, build_network
from .errors import (BuildError, RunInterrupted, ScenarioError, SimulationError, SimulationStopped,
                     SpikelearnError, keep_brian_from_blaming_itself)
from .results import (RESOLVED_FILE, write_resolved, RunDirectory, RunResult, copy_plugin_files, save_recorders, stale_run_directories,
                      write_json_atomic)
from .scenario import to_toml
from .schedule import phase_intervals

__all__ = ["run_scenario", "run_packed", "check_packable", "RunOutcome", "evaluate_run", "check_network"]

logger = logging.getLogger(__name__)

VERSIONED = ("spikelearn", "brian2", "brian2cuda", "numpy", "scipy", "elephant", "neo", "matplotlib")


@dataclass
class RunOutcome:
    path: Path
    metrics: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)
    build_only: bool = False

    @property
    def all_passed(self):
        return all(c["passed"] for c in self.claims)


def _versions():
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


#: parts of the checkout that no run executes or reads (their changes do not make a run's code dirty)
NOT_RUN = ("docs", "tests", "bench", ".ci")


def _source_checkout():
    """``{"commit": ..., "dirty": ...}`` of the git checkout spikelearn is installed from (an editable
    install), ``dirty`` when tracked files that a run executes or reads differ from the commit (anything
    but ``docs/``, ``tests/``, ``bench/`` and ``.ci/``: `spikelearn reproduce` rewrites the docs' results
    while it runs); ``None`` when it is not installed from a checkout or git cannot tell."""
    root = Path(__file__).resolve().parent.parent

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()

    try:
        if Path(git("rev-parse", "--show-toplevel")).resolve() != root:  # e.g. site-packages of a venv in a checkout
            return None
        changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", *(f":(exclude){p}" for p in NOT_RUN))
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(changed)}
    except (OSError, subprocess.SubprocessError):
        return None


@contextmanager
def _sigterm_as_interrupt():
    """Handle SIGTERM like Ctrl-C for the duration of a run (main thread only): a running runtime
    network stops at the end of its time step (Brian2's own Ctrl-C behaviour); while a standalone
    program runs, :mod:`spikelearn.devices` forwards both signals to it; otherwise (building) it raises
    KeyboardInterrupt."""
    def handler(signum, frame):
        from brian2.core.network import Network

        if Network._globally_running and not Network._globally_stopped:
            Network._globally_stopped = True
        else:
            raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _FileLog:
    """Route spikelearn's and Brian2's log records of one run into ``log.txt``."""

    def __init__(self, path):
        self.handler = logging.FileHandler(path)
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self.handler.setLevel(logging.INFO)
        self.loggers = [logging.getLogger("spikelearn"), logging.getLogger("brian2")]

    def __enter__(self):
        for lg in self.loggers:
            lg.addHandler(self.handler)
            if lg.level == logging.NOTSET or lg.level > logging.INFO:
                lg.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc):
        for lg in self.loggers:
            lg.removeHandler(self.handler)
        self.handler.close()
        return False


def run_scenario(scenario, registry, out_root="runs", device=None, progress=True, build_only=False,
                 command=None, plugin_files=(), echo=None, figures=True, spike_inputs=None, force=False):
    """Run a validated scenario; return a `RunOutcome` with the run directory and the claims.

    ``device`` overrides the scenario's device. ``echo`` (a callable taking a string) receives
    one-line status messages for the user. ``spike_inputs`` maps spike-time populations to
    ``(indices, times_s)`` (for programmatic use, e.g. the contract kit). A run whose estimated memory
    (:func:`estimate_memory`) exceeds the machine's available memory is refused unless ``force``.
    """
    return _run([scenario], registry, out_root, device, progress, build_only, command, plugin_files, echo,
                figures, spike_inputs, force)[0]


def run_packed(scenarios, registry, out_root="runs", device=None, progress=True, command=None, plugin_files=(),
               echo=None, figures=True, force=False, build_only=False):
    """Run validated scenarios of one structure (seeds, parameter values of one scenario) as copies in one
    network (:mod:`spikelearn.pack`); return one `RunOutcome` per scenario, each an ordinary run directory
    whose provenance says it was packed and with which runs. What prevents packing is refused with a
    `~spikelearn.pack.PackError` before any run directory is made."""
    if len(scenarios) < 2:
        raise SpikelearnError(f"packing needs at least 2 scenarios, found {len(scenarios)}")
    first = scenarios[0]
    for sc in scenarios[1:]:
        for what in ("name", "task", "device", "dt", "duration"):
            if getattr(sc, what) != getattr(first, what):
                raise SpikelearnError(f"{sc.source}: packed runs need one {what}: {getattr(sc, what)} vs "
                                      f"{getattr(first, what)} ({first.source})")
        if sc.phases != first.phases:
            raise SpikelearnError(f"{sc.source}: packed runs need one phase schedule")
    return _run(scenarios, registry, out_root, device, progress, build_only, command, plugin_files, echo, figures,
                None, force)


def _run(scenarios, registry, out_root, device, progress, build_only, command, plugin_files, echo, figures,
         spike_inputs, force):
    from .devices import DeviceSession

    if device is not None:
        scenarios = [s if s.device == device else s.with_overrides([f'device="{device}"'], registry) for s in scenarios]
    scenario = scenarios[0]
    packed = len(scenarios) > 1
    echo = echo or (lambda message: None)
    task = registry.get("tasks", scenario.task) if scenario.task else None
    _check_memory(scenario, force, echo, copies=len(scenarios))
    if scenario.task is None and not build_only and not packed:
        # a network the scenario file alone describes: Brian2 checks its code before anything is written
        # (built-in tasks' networks are tested with the tasks; checking them here would cost up to minutes)
        check_network(scenario, registry, spike_inputs)
    if packed:
        check_packable(scenarios, registry)
    rundirs = []
    stale = stale_run_directories(out_root)
    if stale:
        echo(f"note: {len(stale)} temporary run director{'y' if len(stale) == 1 else 'ies'} of killed runs in "
             f"{out_root}: {', '.join(s.describe() for s in stale[:3])}{', ...' if len(stale) > 3 else ''}; "
             f"`spikelearn clean {out_root}` removes them")
    try:
        provenances = []
        for sc in scenarios:
            rundir = RunDirectory(out_root, sc.name)
            rundirs.append(rundir)
            (rundir.path / "scenario.toml").write_text(to_toml(sc.data))
            write_resolved(rundir.path, sc)
            provenances.append({
                "scenario": sc.name, "source": str(sc.source), "seed": sc.seed,
                "device": sc.device, "versions": _versions(), "command": command or " ".join(sys.argv),
                "host": platform.node(), "machine": platform.machine(), "spikelearn_git": _source_checkout(),
                "plugin_files": [str(p) for p in plugin_files],
                "plugins": copy_plugin_files(plugin_files, rundir.path),
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run_id": rundir.id,
            })
        if packed:  # each copy names the others and the seed of the network's own random numbers
            ids = [r.id for r in rundirs]
            for k, prov in enumerate(provenances):
                prov["packed"] = {"copies": len(ids), "index": k, "runs": ids, "random_seed": scenario.seed}
        for rundir, prov in zip(rundirs, provenances):
            write_json_atomic(rundir.path / "provenance.json", prov)
            if scenario.phases is not None:
                intervals = phase_intervals(scenario.phases, scenario.duration)
                write_json_atomic(rundir.path / "data" / "phases.json",
                                  {"names": scenario.phases["names"], "intervals": [list(iv) for iv in intervals]})
        where = ", ".join(str(r.path.parent / r.id) for r in rundirs[:3]) + (", ..." if len(rundirs) > 3 else "")
        echo(f"run director{'ies' if packed else 'y'}: {where}" + (f" ({len(rundirs)} packed copies)" if packed else ""))
        return _simulate_and_evaluate(scenarios, rundirs, provenances, registry, task, progress, build_only,
                                      echo, figures, spike_inputs)
    except (RunInterrupted, KeyboardInterrupt):
        _abandon_open(rundirs, "incomplete", "interrupted")
        raise
    except SimulationError as ex:
        _abandon_open(rundirs, "stopped", str(ex))
        raise
    except OSError as ex:  # e.g. the disk filled up while the results were written
        _abandon_open(rundirs, "failed", f"{type(ex).__name__}: {ex}")
        kept = ", ".join(str(r.path) for r in rundirs) or "nothing"
        raise SpikelearnError(f"{ex.strerror or ex}{': ' + str(ex.filename) if ex.filename else ''}; what was written "
                              f"is kept in {kept}, marked incomplete") from ex
    except BaseException as ex:
        _abandon_open(rundirs, "failed", str(ex) if isinstance(ex, SpikelearnError) else f"{type(ex).__name__}: {ex}")
        raise


def _abandon_open(rundirs, status, reason):
    for rundir in rundirs:
        if rundir.path.name.startswith("."):
            rundir.abandon(status, reason)


def _save(ctx, rundirs):
    """Save what the monitors recorded: in the run directory, or each packed copy's in its own."""
    if ctx.layout is None:
        save_recorders(ctx, rundirs[0].path / "data")
        return
    from .pack import split
    from .results import recorder_arrays

    files = recorder_arrays(ctx)
    for k, rundir in enumerate(rundirs):
        save_recorders(ctx.copies[k], rundir.path / "data", split(files, ctx.layout, k))


def _simulate_and_evaluate(scenarios, rundirs, provenances, registry, task, progress, build_only, echo, figures,
                           spike_inputs):
    from .devices import DeviceSession

    scenario = scenarios[0]
    packed = len(scenarios) > 1
    with contextlib.ExitStack() as logs:
        for rundir in rundirs:
            logs.enter_context(_FileLog(rundir.path / "log.txt"))
        logs.enter_context(_sigterm_as_interrupt())
        from brian2 import BrianLogger, defaultclock, seed as brian_seed

        keep_brian_from_blaming_itself()

        # every object the builder makes goes into the Network; Brian2's "never included in a
        # network" warning only appears after a build error, as noise below the real message
        BrianLogger.suppress_name("unused_brian_object")
        for message in scenario.warnings:
            logger.warning("%s: %s", scenario.source, message)

        build_dir = _packed_build_dir(scenarios) if packed else None
        bar = None
        with DeviceSession(scenario, build_dir=build_dir) as session:
            defaultclock.dt = scenario.dt
            brian_seed(scenario.seed)
            t_build = time.perf_counter()
            with _brian_errors(scenario, session):
                net, ctx = build_network(scenario, registry, task, spike_inputs=spike_inputs,
                                         copies=scenarios if packed else None)
                guard = _install_guard(scenario, session, ctx, echo)
                threads = session.threads(ctx.net)
            if progress and not build_only:
                bar = _progress_bar(scenario)
            t_run = time.perf_counter()
            try:
                with _brian_errors(scenario, session):
                    session.run(net, scenario.duration, progress=bar.update_fraction if bar else None,
                                build_only=build_only, run_args=ctx.run_args)
            except KeyboardInterrupt as ex:
                if bar:
                    bar.close()
                stopped = ex if isinstance(ex, SimulationStopped) else SimulationStopped(
                    str(ex) or "Ctrl-C", recorded=not session.standalone)
                for rundir in rundirs:
                    rundir.t_end = stopped.t_end
                if guard is not None and (hit := guard.tripped()) is not None:
                    _stop_on_guard(hit, guard, ctx, rundirs)
                if stopped.recorded:
                    _save(ctx, rundirs)
                paths = [r.abandon("incomplete", f"{stopped.reason} (wall time {time.perf_counter() - t_run:.1f} s)")
                         for r in rundirs]
                kept = "what was recorded is kept" if stopped.recorded else "the run directory is kept"
                raise RunInterrupted(f"run interrupted: {stopped.reason}; {kept} in {', '.join(map(str, paths))} "
                                     "(marked incomplete, not evaluated)") from None
            finally:
                if bar:
                    bar.close()
            for prov in provenances:
                prov["build_and_run_seconds"] = round(time.perf_counter() - t_build, 3)
                prov["device_build_dir"] = str(session.build_dir) if session.build_dir else None
                prov["threads"] = threads
            if build_only:
                outcomes = []
                for rundir, prov in zip(rundirs, provenances):
                    prov["build_only"] = True
                    write_json_atomic(rundir.path / "provenance.json", prov)
                    path = rundir.abandon("build-only", f"generated and compiled in {session.build_dir}; not run",
                                          suffix=".build-only")
                    outcomes.append(RunOutcome(path, build_only=True))
                return outcomes
            if guard is not None and (hit := guard.tripped()) is not None:
                _stop_on_guard(hit, guard, ctx, rundirs)
            _save(ctx, rundirs)
            for rundir in rundirs:
                rundir.simulated(float(scenario.duration))
                if scenario.guard["enabled"] and guard is None:
                    _check_after_run(rundir)
    outcomes = []
    for sc, rundir, prov in zip(scenarios, rundirs, provenances):
        prov["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        write_json_atomic(rundir.path / "provenance.json", prov)
        try:
            outcome = evaluate_run(rundir.path, task, registry, figures=figures)
        except (OSError, KeyboardInterrupt, SpikelearnError):
            raise
        except Exception as ex:  # a task that cannot evaluate this run: the recorded data stay
            logger.error("evaluating the run failed", exc_info=True)
            reason = f"task '{sc.task}' could not evaluate the run: {type(ex).__name__}: {ex}"
            path = rundir.abandon("failed", reason)
            raise SpikelearnError(f"{reason}; the recorded data are kept in {path} (marked incomplete)") from ex
        outcome.path = rundir.finalize()
        outcomes.append(outcome)
    if figures:
        for outcome in outcomes:
            try:
                write_run_report(outcome.path)
            except Exception as ex:  # the run is complete and saved; only its report is missing
                logger.error("report failed: %s: %s", type(ex).__name__, ex, exc_info=True)
                warnings.warn(f"report.html of {outcome.path} failed ({type(ex).__name__}: {ex}); the results are "
                              "saved", stacklevel=2)
    return outcomes


def _packed_build_dir(scenarios):
    """The cached build directory of a packed network: named for every copy's scenario (seeds aside)."""
    import hashlib
    import json

    from .devices import BACKENDS

    single = BACKENDS[scenarios[0].device].build_directory(scenarios[0]) if BACKENDS[scenarios[0].device].standalone \
        else None
    if single is None:
        return None
    content = [{k: v for k, v in s.data.items() if k != "seed"} for s in scenarios]
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return single.with_name(f"{scenarios[0].name}-packed{len(scenarios)}-{digest}")


def check_packable(scenarios, registry):
    """Describe the copies' networks and merge them (no Brian2 object is made); raises
    `~spikelearn.pack.PackError` naming what prevents packing."""
    from .build import BuildContext, _compose_all, describe_network
    from .pack import merge

    from .pack import PackError

    task = registry.get("tasks", scenarios[0].task) if scenarios[0].task else None
    ctxs = [describe_network(s, registry, task) for s in scenarios]
    composed = [_compose_all(c) for c in ctxs]
    try:
        merge(ctxs, [p for _, p in composed], [ns for ns, _ in composed], BuildContext(scenarios[0], registry))
    except PackError as ex:
        raise PackError(f"{scenarios[0].source}: cannot be packed: {ex}") from None


@contextmanager
def _brian_errors(scenario, session):
    """Brian2 refusing what a valid-looking scenario asks (an unknown identifier in a weight expression, a
    bad connect condition, an effect on a missing variable) becomes one `BuildError` line; the full
    traceback goes to the log (and to the terminal with --debug). A feature the session's device refuses
    is left to the session, which names it."""
    try:
        yield
    except (SpikelearnError, OSError, KeyboardInterrupt):
        raise
    except Exception as ex:
        if session.backend.unsupported(ex) is not None:
            raise
        logger.error("building or running the network failed", exc_info=True)
        raise BuildError(f"{scenario.source}: building or running the network failed: {brian_message(ex)}") from ex


def estimate_memory(scenario):
    """Bytes the scenario's declared network and recordings need, about (``(total, parts)``, parts a list
    of ``(what, bytes)``): 10 double-precision values per neuron and per synapse (state, parameters,
    indices), every recorded state sample and weight-trace sample, and the spikes of recorded populations
    at up to 100 Hz (spike counts above that are not foreseen). A task's own objects are not counted."""
    from .network import expected_synapses
    from .units import parse_quantity

    duration, dt = float(scenario.duration), float(scenario.dt)
    parts = []
    for name, pop in scenario.populations.items():
        parts.append((f"population {name}", 80 * pop.size))
    for name, conn in scenario.connections.items():
        parts.append((f"connection {name}", 80 * int(expected_synapses(conn, scenario.populations))))
    for pop, spec in scenario.record["states"].items():
        indices = spec["indices"]
        n = len(indices) if isinstance(indices, list) else min(int(indices), scenario.populations[pop].size)
        steps = duration / max(float(parse_quantity(spec["dt"])), dt)
        parts.append((f"state recording of {pop}", 8 * len(spec["variables"]) * n * steps))
    for conn, spec in scenario.record["weights"].items():
        indices = spec.get("indices", 0)
        n = len(indices) if isinstance(indices, list) else int(indices)
        if n and "dt" in spec:
            parts.append((f"weight trace of {conn}", 8 * n * duration / max(float(parse_quantity(spec["dt"])), dt)))
    for pop in scenario.record["spikes"]:  # at 100 Hz, 12 bytes a spike
        limit = scenario.record.get("spike_limits", {}).get(pop, {})
        n = limit.get("indices", scenario.populations[pop].size)
        start, stop = (float(parse_quantity(limit[k])) if k in limit else d for k, d in (("start", 0.0), ("stop", duration)))
        parts.append((f"spikes of {pop}", 12 * n * 100.0 * (stop - start)))
    return sum(b for _, b in parts), parts


def _check_memory(scenario, force, echo, copies=1):
    """Refuse a run (of ``copies`` packed copies) whose estimated memory exceeds what the machine has
    available (unless ``force``)."""
    import psutil

    total, parts = estimate_memory(scenario)
    total, parts = total * copies, [(what, b * copies) for what, b in parts]
    available = psutil.virtual_memory().available
    largest = ", ".join(f"{what} {b / 2**30:.3g} GiB" for what, b in sorted(parts, key=lambda p: -p[1])[:3])
    if total > available and not force:
        raise BuildError(f"{scenario.source}: the run needs about {total / 2**30:.3g} GiB (largest: {largest}); "
                         f"{available / 2**30:.3g} GiB are available; record less (record.states indices, dt) "
                         "or run shorter, or use --force to try anyway")
    if total > 2**30:
        echo(f"memory estimate: {total / 2**30:.3g} GiB of {available / 2**30:.3g} GiB available ({largest})")


@contextmanager
def _on_runtime(scenario, registry, task_key=None):
    """A NumPy runtime session for ``scenario`` in which nothing runs: yields ``(scenario on runtime, task)``.
    A `BuildError` inside becomes a `ScenarioError` naming its key (else ``task_key``)."""
    from brian2 import BrianLogger, defaultclock

    from .build import KeyedBuildError
    from .devices import DeviceSession

    sc = scenario
    if scenario.device != "runtime" or scenario.device_options["target"] != "numpy":
        sc = scenario.with_overrides(['device="runtime"', 'device_options.target="numpy"'], registry)
    task = registry.get("tasks", sc.task) if sc.task else None
    BrianLogger.suppress_name("unused_brian_object")  # the objects are deleted unused on purpose
    try:
        with DeviceSession(sc):
            defaultclock.dt = sc.dt
            yield sc, task
    except KeyedBuildError as ex:
        raise ScenarioError(scenario.source, ex.key, str(ex)[len(ex.key) + 2:]) from ex
    except BuildError as ex:
        raise ScenarioError(scenario.source, task_key, str(ex)) from ex


def check_network(scenario, registry, spike_inputs=None):
    """Build the scenario's network on the runtime device (NumPy) without running it, so that Brian2
    checks every code string (connect conditions, weights, effects, rule code, recorded variables)
    against the names and units the models and rules provide; a refusal becomes a `ScenarioError`
    naming the scenario key. ``spikelearn validate`` and ``run`` (before the run directory exists) call
    it for scenarios without a task: a task's network can take minutes to build on the runtime device.
    The objects are deleted afterwards; the real build re-seeds Brian2, so runs are unchanged."""
    import gc

    keep_brian_from_blaming_itself()
    try:
        with _on_runtime(scenario, registry) as (sc, task):
            net, ctx = build_network(sc, registry, task, spike_inputs=spike_inputs)
            try:
                net._clocks = {obj.clock for obj in net.sorted_objects}  # what Network.run sets first
                net.before_run({})
            except (SpikelearnError, KeyboardInterrupt):
                raise
            except Exception as ex:
                raise ScenarioError(scenario.source, _key_of(ex, sc), brian_message(ex)) from ex
            finally:
                del net, ctx
    finally:
        gc.collect()  # the objects must not keep their names from the real build


def describe_scenario(scenario, registry):
    """The network description of ``scenario`` with what its task adds (the task's ``prepare`` runs on
    the runtime device; no group is built). Returns the `BuildContext`; a task refusing its parameters
    is a `ScenarioError` naming ``task``."""
    from .build import describe_network

    with _on_runtime(scenario, registry, "task" if scenario.task else None) as (sc, task):
        return describe_network(sc, registry, task)


def show_network(scenario, registry):
    """The text ``spikelearn show`` prints: the scenario's network description with what its task adds."""
    from .network import describe

    ctx = describe_scenario(scenario, registry)
    return describe(ctx.net, scenario, ctx.signals, scenario.data.get("phases"), ctx.extra_equations)


def _key_of(ex, scenario):
    """The scenario key behind a Brian2 error at code generation, from the object it names."""
    import re

    text = brian_message(ex)
    match = re.search(r"object '([^']+)'", text)
    if match is None:
        return None
    obj = match.group(1)
    name = re.sub(r"_(pre|post)(_\w+)?$", "", obj)
    if name not in scenario.connections:  # a group's own objects: <name>_stateupdater, <name>_spike_thresholder
        owners = [n for n in (*scenario.populations, *scenario.connections) if obj == n or obj.startswith(n + "_")]
        name = max(owners, key=len) if owners else name
    if name in scenario.connections:
        conn = scenario.connections[name]
        names = set(re.findall(r"'(\w+)'", text[match.end():]))
        in_effect = conn.effect and names & set(re.findall(r"\w+", conn.effect))
        return f"connections.{name}.{'plasticity' if conn.rules and not in_effect else 'effect'}"
    if name in scenario.populations:
        model = scenario.populations[name].model
        return f"models.{model}" if model in scenario.models else f"populations.{name}"
    return None


def _install_guard(scenario, session, ctx, echo):
    """The in-loop NaN/Inf/runaway check (:mod:`spikelearn.guard`), where the device can run it."""
    from .guard import Guard
    from .units import parse_quantity

    if not scenario.guard["enabled"]:
        return None
    if not session.backend.in_loop_guard:
        message = (f"the in-loop NaN/Inf guard is not available on '{session.name}' (its loop runs on the GPU); "
                   "the saved arrays are checked for NaN/Inf after the run instead")
        logger.warning(message)
        echo(f"note: {message}")
        return None
    guard = Guard(parse_quantity(scenario.guard["every"]), scenario.guard["limit"], scenario.duration,
                  session.build_dir if session.standalone else None,
                  every_connections=parse_quantity(scenario.guard["every_connections"]))
    guard.install(ctx.objects)
    return guard


def _stop_on_guard(hit, guard, ctx, rundirs):
    """The guard stopped the run: keep what was recorded, mark the run directories, raise. In a packed
    network the finding names the copy it came from; the other copies stopped with it."""
    _save(ctx, rundirs)
    reason = hit.message(guard.limit)
    copy = None
    if ctx.layout is not None:
        n = ctx.layout.sizes.get(hit.owner)
        copy = hit.i // n if n else None
    paths = []
    for k, rundir in enumerate(rundirs):
        rundir.t_end = hit.t  # the loop stops at the end of the time step of the finding
        if ctx.layout is None or k == copy:
            why = reason if copy is None else f"{reason} (in this copy, packed copy {k})"
        else:
            where = f"packed copy {copy}" if copy is not None else "the packed network"
            why = f"stopped with the other copies: in {where}, {reason}"
        paths.append(rundir.abandon("stopped", why))
    raise SimulationError(f"{reason}; what was recorded up to then is kept in {', '.join(map(str, paths))} "
                          "(marked incomplete)")


def _check_after_run(rundir):
    from .guard import check_saved_arrays

    found = check_saved_arrays(rundir.path / "data")
    if found is not None:
        reason = f"array '{found[1]}' of data/{found[0]} holds NaN or Inf (detected after the run)"
        path = rundir.abandon("stopped", reason)
        raise SimulationError(f"{reason}; the results are kept in {path} (marked incomplete)")


def ensure_resolved(path, registry=None):
    """Add ``resolved.json`` to a run directory written before runs had it (parses its scenario.toml
    with the plugins it used); nothing to do for newer runs."""
    if (Path(path) / RESOLVED_FILE).is_file():
        return
    from .registry import default_registry
    from .scenario import parse_scenario

    result = RunResult(path)
    scenario = parse_scenario(result.scenario, Path(path) / "scenario.toml",
                              registry or default_registry(result.plugin_files()))
    write_resolved(path, scenario)


def evaluate_run(path, task, registry, figures=True):
    """Evaluate the task on a saved run directory and write ``metrics.json`` and the figures."""
    ensure_resolved(path, registry)
    result = RunResult(path)
    metrics, claims = {}, []
    if task is not None:
        outcome = task.evaluate(result)
        metrics = {k: _plain(v) for k, v in outcome.metrics.items()}
        claims = [c.as_dict() for c in outcome.claims]
    claims += evaluate_claims(result)
    for c in claims:
        c["value"], c["threshold"] = _plain(c["value"]), _plain(c["threshold"])
    write_json_atomic(Path(path) / "metrics.json", {"scenario": result.name, "metrics": metrics, "claims": claims})
    if figures:
        try:
            make_figures(result, task)
        except OSError:  # a full disk is not a plotting bug: the run is not complete
            raise
        except Exception as ex:  # a plotting bug must not lose a finished run's results
            logger.error("figures failed: %s: %s", type(ex).__name__, ex, exc_info=True)
            warnings.warn(f"figures of {path} failed ({type(ex).__name__}: {ex}); the results are saved", stacklevel=2)
    return RunOutcome(Path(path), metrics, claims)


def make_figures(result, task):
    """The standard figures (rasters, rates, weights) and the task's own figures."""
    import matplotlib

    matplotlib.use("Agg")
    from .analysis import standard_figures

    outdir = result.path / "figures"
    paths = list(standard_figures(result, outdir))
    if task is not None:
        paths += list(task.figures(result, outdir) or [])
    import matplotlib.pyplot as plt

    plt.close("all")
    return paths


def write_run_report(path):
    """``report.html`` of a finished run directory: the figures in ``figures/`` embedded, with the claims,
    metrics, resolved scenario and provenance (``spikelearn inspect`` adds the spike-train statistics)."""
    from .analysis.report import write_report

    result = RunResult(path)
    figures = sorted(p for p in (Path(path) / "figures").glob("*") if p.suffix in (".png", ".svg"))
    sections = {"activity": [p for p in figures if p.name.startswith(("raster_", "state_"))],
                "weights": [p for p in figures if p.name.startswith("weights_")]}
    sections["task"] = [p for p in figures if p not in sections["activity"] + sections["weights"]]
    return write_report(result, sections, Path(path) / "report.html", written_by="spikelearn run")


def _plain(value):
    """JSON-friendly numbers (numpy scalars and arrays become Python floats and lists)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _ProgressBar:
    def __init__(self, total_seconds):
        from tqdm import tqdm

        self.total = total_seconds
        self.bar = tqdm(total=round(total_seconds, 3), unit="s sim", desc="building + simulating", leave=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} s sim [{elapsed}<{remaining}]",
                        file=sys.stderr, dynamic_ncols=True)
        self.done = 0.0

    def update_fraction(self, fraction):
        value = round(min(max(fraction, 0.0), 1.0) * self.total, 3)
        if value > self.done:
            if self.done == 0.0:
                self.bar.set_description_str("simulating", refresh=False)
            self.bar.update(value - self.done)
            self.done = value

    def close(self):
        self.bar.close()


def _progress_bar(scenario):
    return _ProgressBar(float(scenario.duration))
