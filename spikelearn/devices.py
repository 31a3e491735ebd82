"""Devices: ``runtime`` (Brian2 runtime, numpy or cython), ``cpp`` (cpp_standalone), ``cuda``
(brian2cuda's cuda_standalone), one `Backend` each (`BACKENDS`): how it sets Brian2 up for a run and
gives it back, its build directory, how it runs a network, what it supports (`Backend.standalone`,
`Backend.takes_run_args`, `Backend.in_loop_guard`) and how its errors read. A `DeviceSession` is one
run on one backend; `active_backend` tells the builder which one Brian2's active device belongs to. The
standalone backends enter spikelearn's patches to Brian2 and brian2cuda (`spikelearn.brian2_patches`)
for the session only.

Standalone build directories live in a cache keyed by the content of the resolved scenario (minus the
seed, which the cpp program reads from ``$SPIKELEARN_SEED`` when it starts (`runtime_seed`) and which
changes only ``main.cu`` on cuda, and minus the values of ``device_options.runtime_parameters``,
which the cpp program reads from its command line): an unchanged network is not recompiled (Brian2
rewrites only changed files and ``make`` rebuilds only those), and different scenarios or parameter sets
never share a directory, so concurrent runs cannot clobber each other's builds. A lock file serialises
runs of the same build directory; ``$SPIKELEARN_BUILD_SLOT`` (set per Dask worker by a sweep) gives each
worker its own copy, so workers never wait for each other. ``$SPIKELEARN_BUILD_JOBS`` sets ``make -j``
(default: Brian2's unbounded ``-j`` for cpp, one job per core for cuda).

A build directory whose build was cut short (a killed or interrupted compile leaves truncated object
files that ``make`` would take as up to date) is detected by its marker file ``.spikelearn-building``,
written before code generation and removed once the binary is compiled, and rebuilt from scratch.
Compiler output goes to ``compile.log`` in the build directory; a failed compile is reported by its
first error line (with the generated file it names), not pages of output; a compile that Ctrl-C stopped
is reported as an interrupt (`spikelearn.errors.SimulationStopped`), not as a failed build.

The standalone program runs in its own process group: SIGINT and SIGTERM sent to spikelearn (Ctrl-C in
the terminal, ``kill``, a scheduler) are forwarded to it as SIGINT, on which Brian2's generated ``main``
stops at the end of the current time step and writes its results (a second signal kills it). A program
that did not simulate its whole duration (``results/last_run_info.txt``), or was killed, raises
`SimulationStopped` with the simulated time it reached, like an interrupted ``runtime`` network.
"""

import contextlib
import ctypes
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

from .brian2_patches import SEED_VARIABLE, brian2cuda_patches, ordered_noise, runtime_seed, stable_clock_order
from .cache import cache_root
from .errors import BuildError, SimulationStopped
from .scenario import set_key

__all__ = ["Backend", "RuntimeBackend", "StandaloneBackend", "CppBackend", "CudaBackend", "BACKENDS",
           "DeviceSession", "active_backend"]

logger = logging.getLogger(__name__)

BUILDING_MARKER = ".spikelearn-building"
COMPILE_LOG = "compile.log"
RUN_INFO = "last_run_info.txt"
PR_SET_PDEATHSIG = 1  # prctl(2)


def _with_jobs(make_args):
    """``make``'s arguments with ``-j`` set by ``$SPIKELEARN_BUILD_JOBS`` when it is set (several builds
    side by side, e.g. a GPU check, each with a bounded number of compiler processes)."""
    jobs = os.environ.get("SPIKELEARN_BUILD_JOBS")
    if not jobs:
        return list(make_args)
    if not jobs.isdigit() or int(jobs) < 1:
        raise BuildError(f"$SPIKELEARN_BUILD_JOBS = {jobs!r}: expected a positive integer (make jobs per build)")
    return [a for a in make_args if not a.startswith("-j")] + [f"-j{int(jobs)}"]


# -- backends: one per device ----------------------------------------------------------------------------
#: ``device_options.threads = "auto"`` uses one thread for networks with fewer synapses (bench/threads.py)
THREADS_MIN_SYNAPSES = 1e6
#: the OpenMP wait policy of standalone programs where the environment sets none (bench/threads.py: with
#: a core free as fast as libgomp's default, with both cores busy 1.3-2.5x faster; PASSIVE 4-400x slower)
OMP_WAIT_POLICY = "ACTIVE"


class Backend:
    """One device: how it sets Brian2 up for a run (and gives it back), where it builds, how it runs a
    network, what it supports and how its errors read.

    `BACKENDS` holds one instance per device name. A backend keeps no state of its own between runs: a
    run's build directory, lock and what to undo belong to its `DeviceSession`.
    """

    #: the device's name in scenarios and on the command line
    name = None
    #: Brian2's name of the device (``set_device``)
    brian_device = None
    #: generates, compiles and runs a program (a cached build directory, a lock, a compile log)
    standalone = False
    #: parameter values go on the program's command line (Brian2's ``run_args``; `build_network`
    #: declares ``device_options.runtime_parameters`` for them) instead of being assigned
    takes_run_args = False
    #: the in-loop NaN/Inf/runaway check (`spikelearn.guard`) can stop its simulation loop
    in_loop_guard = False

    def build_directory(self, scenario):
        """The cached build directory of ``scenario`` on this device; None where nothing is built."""
        return None

    def configure(self, options, build_dir, stack):
        """Set Brian2 up for one run: select the device, set its preferences (``options``: the
        scenario's ``device_options``), enter the patches it needs. Everything is given back through
        ``stack`` (a `contextlib.ExitStack`, closed when the session ends, in reverse order)."""
        raise NotImplementedError

    def run(self, net, duration, build_dir, progress=None, build_only=False, run_args=None):
        """Run ``net`` for ``duration`` (see `DeviceSession.run`)."""
        raise NotImplementedError

    def threads(self, options, synapses, stack):
        """Set the number of CPU threads for a network of ``synapses`` synapses (given back through
        ``stack``); return it."""
        return 1

    def unsupported(self, ex):
        """The `BuildError` message for a feature this device refuses (``ex``, raised while the network
        was built or run), or None: ``ex`` is no such refusal."""
        return None


class RuntimeBackend(Backend):
    """Brian2's runtime device (``device_options.target``: numpy or cython): Python drives the loop."""

    name = "runtime"
    brian_device = "runtime"
    in_loop_guard = True

    def configure(self, options, build_dir, stack):
        _prefer(stack, "codegen.target", options["target"])
        stack.enter_context(ordered_noise())
        _select(stack, self.brian_device)

    def run(self, net, duration, build_dir, progress=None, build_only=False, run_args=None):
        from brian2 import defaultclock, second

        report = None
        if progress is not None:
            def report(elapsed, completed, start, duration):  # runs between time steps, not in them
                progress(float(completed))
        net.run(duration, report=report, report_period=0.5 * second)
        # Brian2 turns Ctrl-C (and our SIGTERM handler) into a stop at the end of the current
        # time step: a network that did not reach the end was interrupted
        if float(net.t) < float(duration) - 0.5 * float(defaultclock.dt):
            raise SimulationStopped(f"stopped at t = {float(net.t):.6g} s of {float(duration):g} s",
                                    t_end=float(net.t))


class StandaloneBackend(Backend):
    """What the standalone devices share: the build cache, the lock and the build-in-progress marker,
    the compile log, the program's launch with signal forwarding, and how compile and run errors read."""

    standalone = True
    #: context managers of `spikelearn.brian2_patches` in force while a session lasts
    patches = ()

    def build_directory(self, scenario):
        content = json.loads(json.dumps({k: v for k, v in scenario.data.items() if k != "seed"}, default=str))
        if self.takes_run_args:  # values given on the command line (run_args) do not change the program
            for key in scenario.device_options.get("runtime_parameters", ()):
                set_key(content, key, "<run-time>", scenario.source)
        digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
        slot = os.environ.get("SPIKELEARN_BUILD_SLOT")
        return cache_root() / "build" / self.name / (f"{scenario.name}-{digest}" + (f"-w{slot}" if slot else ""))

    def configure(self, options, build_dir, stack):
        self._preferences(options, stack)
        for patch in self.patches:
            stack.enter_context(patch())
        _acquire(build_dir, stack)
        _select(stack, self.brian_device, directory=str(build_dir), build_on_run=False)

    def _preferences(self, options, stack):
        """Brian2's preferences of this device for ``options``, given back through ``stack``."""

    def run(self, net, duration, build_dir, progress=None, build_only=False, run_args=None):
        from brian2 import device, second

        progress_file = build_dir / "progress.txt"
        report_code = None
        if progress is not None:
            report_code = ('std::ofstream _progress("progress.txt", std::ios::trunc); '
                           '_progress << completed << std::endl; _progress.close();')
        net.run(duration, report=report_code, report_period=0.5 * second)
        with contextlib.suppress(FileNotFoundError):
            progress_file.unlink()
        try:
            device.build(directory=str(build_dir), compile=True, run=False, with_output=False)
        except RuntimeError as ex:
            signame = _make_stopped_by(ex)
            if signame:  # Ctrl-C reached make and the compilers: not a compile error
                raise SimulationStopped(f"the {self.name} build was stopped by {signame} (nothing was simulated)",
                                        t_end=0.0, recorded=False) from None
            raise BuildError(self.compile_error(build_dir)) from ex
        (build_dir / BUILDING_MARKER).unlink()  # compiled: the directory is whole
        if build_only:
            return
        stop = threading.Event()
        watcher = None
        if progress is not None:
            watcher = threading.Thread(target=_watch_progress, args=(progress_file, progress, stop), daemon=True)
            watcher.start()
        run_info = build_dir / "results" / RUN_INFO
        with contextlib.suppress(FileNotFoundError):
            run_info.unlink()  # an earlier run's, not this one's
        env = {**os.environ}
        seed = getattr(device, "spikelearn_seed", None)  # `runtime_seed`: read by the program at its start
        if seed is not None:
            env[SEED_VARIABLE] = str(seed)
        env.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
        binary = _Program(env=env)
        t0 = time.perf_counter()
        try:
            with binary.launching():
                device.run(directory=str(build_dir), with_output=False, run_args=run_args or None)
        except RuntimeError as ex:
            if binary.killed():
                raise SimulationStopped(f"{binary.received()}the {self.name} program was killed by "
                                        f"{signal.Signals(-binary.returncode).name}; nothing was recorded",
                                        t_end=0.0, recorded=False) from None
            raise BuildError(self.run_error(build_dir)) from ex
        finally:
            stop.set()
            if watcher is not None:
                watcher.join()
        loop = _loop_seconds(run_info)
        fraction = _completed_fraction(run_info)
        simulated = _simulated_time(fraction, duration)
        logger.info("the %s program ran %.2f s (its simulation loop %s)", self.name, time.perf_counter() - t0,
                    "unknown" if loop is None or simulated <= 0
                    else f"{loop:.2f} s, {loop / simulated:.3g} x real time")
        if fraction < 1.0:
            t_end = simulated
            raise SimulationStopped(f"{binary.received()}the {self.name} program stopped at t = {t_end:.6g} s "
                                    f"of {float(duration):g} s", t_end=t_end)
        if progress is not None:
            progress(1.0)

    def compile_error(self, build_dir):
        """The compiler's first error line (naming the generated file) and where the full output is."""
        log = build_dir / COMPILE_LOG
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        first = next((ln.strip() for ln in lines if _ERROR_LINE.search(ln)), None)
        if first is None:
            first = next((ln.strip() for ln in lines if ln.strip()), "no compiler output")
        generated = re.match(r"([^\s:(]+\.(?:cpp|cu|h|cuh))[:(]", first)
        where = f"; generated file: {build_dir / generated.group(1)}" if generated else ""
        return (f"{self.name} build failed: {first}{where} (full compiler output: {log}); "
                f"try --device runtime")

    def run_error(self, build_dir):
        """The program's last line of output and where the full output is."""
        log = build_dir / "results" / "stdout.txt"
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
        return f"the compiled simulation in {build_dir} failed: {last} (full output: {log}); try --device runtime"


class CppBackend(StandaloneBackend):
    """Brian2's cpp_standalone (``device_options.threads``: OpenMP threads; run-time parameters on the
    program's command line)."""

    name = "cpp"
    brian_device = "cpp_standalone"
    takes_run_args = True
    in_loop_guard = True
    patches = (ordered_noise, stable_clock_order, runtime_seed)

    def threads(self, options, synapses, stack):
        """Set the program's OpenMP threads from ``device_options.threads`` once the network is known
        (``synapses``, its expected number of synapses): an integer as given (0: no OpenMP, one thread);
        ``"auto"``: one thread below `THREADS_MIN_SYNAPSES`, else every core this process may use. Returns
        the number of threads."""
        asked = options["threads"]
        if asked == "auto":
            n = len(os.sched_getaffinity(0)) if synapses >= THREADS_MIN_SYNAPSES else 0
            logger.info("device_options.threads = \"auto\": %s (~%.3g synapses; threads pay from %.0e)",
                        f"{n} threads" if n else "one thread", synapses, THREADS_MIN_SYNAPSES)
        else:
            n = asked
            if n > 1 and synapses < THREADS_MIN_SYNAPSES:
                logger.warning("device_options.threads = %d on a network of ~%.3g synapses: below %.0e synapses "
                               "threads were measured slower than one (bench/threads.py); \"auto\" chooses by size",
                               n, synapses, THREADS_MIN_SYNAPSES)
        if n:
            _prefer(stack, "devices.cpp_standalone.openmp_threads", n)
        return max(n, 1)


class CudaBackend(StandaloneBackend):
    """brian2cuda's cuda_standalone, configured by `spikelearn.cuda` and patched by
    `spikelearn.brian2_patches`; its loop runs on the GPU, where the in-loop guard cannot stop it."""

    name = "cuda"
    brian_device = "cuda_standalone"
    patches = (ordered_noise, stable_clock_order, brian2cuda_patches)

    def _preferences(self, options, stack):
        from .cuda import configure_cuda  # first: says what is missing (brian2cuda, nvcc, cuRAND)

        stack.callback(configure_cuda(options))

    def unsupported(self, ex):
        if not isinstance(ex, NotImplementedError):
            return None
        from .cuda import unsupported_message  # brian2cuda refused a feature: name it

        return unsupported_message(ex)


#: the backend of each device name (the scenario's ``device``)
BACKENDS = {backend.name: backend for backend in (RuntimeBackend(), CppBackend(), CudaBackend())}


def active_backend():
    """The backend of Brian2's active device (the runtime backend outside a session): what the builder
    asks while a session lasts (`Backend.standalone`, `Backend.takes_run_args`)."""
    from brian2 import get_device
    from brian2.devices.device import all_devices

    device = get_device()
    for backend in BACKENDS.values():
        if all_devices.get(backend.brian_device) is device:
            return backend
    raise BuildError(f"Brian2's active device {device!r} is none of spikelearn's devices ({', '.join(BACKENDS)}); "
                     "select devices with spikelearn.devices.DeviceSession")


def _select(stack, brian_device, **options):
    """Make ``brian_device`` Brian2's active device; when ``stack`` closes, every device is reinitialised
    (which also gives Brian2's preferences their values at import back) and runtime is active again."""
    from brian2 import set_device

    stack.callback(_runtime_again)
    set_device(brian_device, **options)


def _runtime_again():
    from brian2.devices.device import reinit_devices, set_device

    reinit_devices()
    set_device("runtime")


def _prefer(stack, name, value):
    """Set Brian2's preference ``name`` (its full dotted name) to ``value``; its value now comes back when
    ``stack`` closes."""
    from brian2 import prefs

    previous = prefs[name]
    stack.callback(prefs.__setitem__, name, list(previous) if isinstance(previous, list) else previous)
    prefs[name] = value


def _acquire(build_dir, stack):
    """Lock ``build_dir`` (the lock is released when ``stack`` closes), rebuild it from scratch if an
    interrupted build left it half-written, mark it as being built, and send the compiler's output to
    its ``compile.log``."""
    from brian2 import prefs

    build_dir.parent.mkdir(parents=True, exist_ok=True)
    lock = stack.enter_context(open(build_dir.parent / f".{build_dir.name}.lock", "w"))
    fcntl.flock(lock, fcntl.LOCK_EX)
    stack.callback(fcntl.flock, lock, fcntl.LOCK_UN)
    if (build_dir / BUILDING_MARKER).exists():
        logger.warning("build directory %s was left half-written by an interrupted build; rebuilding it "
                       "from scratch", build_dir)
        shutil.rmtree(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / BUILDING_MARKER).write_text("a build is in progress, or was cut short\n")
    # the compiler's output goes to a file, read on failure (Brian2 would print all of it)
    make_args = prefs.devices.cpp_standalone.extra_make_args_unix
    _prefer(stack, "devices.cpp_standalone.extra_make_args_unix", _with_jobs(make_args) + [f">{COMPILE_LOG}", "2>&1"])


class DeviceSession:
    """One run's device (``device``, else the scenario's): its backend (`BACKENDS`) sets Brian2 up when
    the session starts and gives everything back when it ends (so runs can follow each other in one
    process, e.g. in tests). A feature the device refuses (`Backend.unsupported`) leaves the session as
    a `BuildError` naming it. ``build_dir`` overrides the backend's cached build directory."""

    def __init__(self, scenario, device=None, build_dir=None):
        self.name = device or scenario.device
        if self.name not in BACKENDS:
            raise BuildError(f"unknown device '{self.name}'; allowed: {', '.join(BACKENDS)}")
        self.backend = BACKENDS[self.name]
        self.options = scenario.device_options
        self.build_dir = Path(build_dir) if build_dir else self.backend.build_directory(scenario)
        self._undo = None

    @property
    def standalone(self):
        return self.backend.standalone

    def __enter__(self):
        import gc

        # objects of an earlier run in this process still hold their names until collected, and Brian2
        # would name the new ones "..._1": different generated files, so a needless recompilation
        gc.collect()
        with contextlib.ExitStack() as stack:  # a configuration that fails half-way is given back too
            self.backend.configure(self.options, self.build_dir, stack)
            self._undo = stack.pop_all()
        return self

    def __exit__(self, *exc):
        undo, self._undo = self._undo, None
        undo.__exit__(*exc)
        message = self.backend.unsupported(exc[1]) if exc[1] is not None else None
        if message is not None:
            raise BuildError(message) from exc[1]
        return False

    def threads(self, description):
        """Choose the CPU threads for the network of ``description`` (a `NetworkDescription`) before it
        is built into a program (cpp: `CppBackend.threads`); return their number."""
        return self.backend.threads(self.options, description.expected_synapses(), self._undo)

    def run(self, net, duration, progress=None, build_only=False, run_args=None):
        """Run ``net`` for ``duration``; on standalone devices generate, compile and execute.

        ``progress`` is a callable receiving the completed fraction; on standalone devices the
        generated code writes the fraction to a file that a thread here reads (no Python in the loop).
        ``run_args`` are Brian2's command-line values of the standalone program (run-time parameters).
        Raises `SimulationStopped` when the simulation ended before ``duration``.
        """
        self.backend.run(net, duration, self.build_dir, progress=progress, build_only=build_only,
                         run_args=run_args)


class _Program:
    """The standalone program of one run. Brian2's ``device.run`` starts it with ``subprocess.call``;
    while :meth:`launching`, that call starts it here instead: in its own process group (Ctrl-C in the
    terminal reaches only this process), killed if this process dies (Linux), and with SIGINT and SIGTERM
    sent to this process forwarded to it as SIGINT, which Brian2's generated ``main`` turns into a stop at
    the end of the current time step, after which the program writes its results. A second signal kills
    it. Outside the main thread (no signal handlers there) the program stays in this process's group."""

    def __init__(self, env=None):
        self.env = env
        self.proc = None
        self.signals = []
        self.returncode = None

    @contextlib.contextmanager
    def launching(self):
        import brian2.devices.cpp_standalone.device as standalone  # brian2cuda inherits its run()

        real = standalone.subprocess
        standalone.subprocess = types.SimpleNamespace(call=self.call)
        try:
            yield
        finally:
            standalone.subprocess = real

    def call(self, cmd, stdout=None):
        forwarding = threading.current_thread() is threading.main_thread()
        previous = {}
        if forwarding:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._forward)
        try:
            self.proc = subprocess.Popen(cmd, stdout=stdout, process_group=0 if forwarding else None,
                                         preexec_fn=_killed_with_parent(), env=self.env)
            if self.signals:  # arrived while it was starting
                self._send()
            self.returncode = self.proc.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        return self.returncode

    def _forward(self, signum, frame):
        self.signals.append(signal.Signals(signum).name)
        logger.warning("%s received: stopping the simulation at the end of the current time step%s",
                       self.signals[-1], "" if len(self.signals) == 1 else "; killing it (second signal)")
        if self.proc is not None:
            self._send()

    def _send(self):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT if len(self.signals) == 1 else signal.SIGKILL)

    def killed(self):
        """Whether the program died of a signal that a user or a scheduler sends (not a crash)."""
        return self.returncode is not None and -self.returncode in (
            signal.SIGINT, signal.SIGTERM, signal.SIGKILL, signal.SIGHUP)

    def received(self):
        return f"{self.signals[0]} received: " if self.signals else ""


def _killed_with_parent():
    """A ``preexec_fn`` that asks for SIGKILL when this process dies (Linux; ``None`` elsewhere): a killed
    spikelearn must not leave its program running in its own process group. ``prctl`` is looked up
    here, before the fork."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    return lambda: prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _completed_fraction(run_info):
    """The fraction of the planned duration that the program simulated (``results/last_run_info.txt``,
    written by its ``brian_end``: run time and completed fraction); 0 when it wrote none."""
    try:
        return float(run_info.read_text().split()[1])
    except (FileNotFoundError, IndexError, ValueError):
        return 0.0


def _simulated_time(fraction, duration):
    """Seconds the program simulated: the default clock's time as the program saved it (a stopped program
    simulated less than planned), else the completed fraction of ``last_run_info.txt`` (printed with 6
    significant digits) times the duration."""
    import numpy as np
    from brian2 import defaultclock

    try:  # (``defaultclock.t_`` is a VariableView on a standalone device, which float() refuses)
        return float(np.asarray(defaultclock.variables["t"].get_value()).ravel()[0])
    except Exception as ex:  # noqa: BLE001 -- no saved clock (a program that wrote no results)
        logger.warning("the saved clock of the program could not be read (%s: %s); the simulated time is taken "
                       "from last_run_info.txt (6 significant digits)", type(ex).__name__, ex)
        return fraction * float(duration)


def _loop_seconds(run_info):
    """Wall-clock seconds of the program's simulation loop (``results/last_run_info.txt``: set-up such as
    making synapses and writing results excluded); None when it wrote none."""
    try:
        return float(run_info.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def _make_stopped_by(ex):
    """The signal's name when Brian2's "Project compilation failed (error code: N)" is ``make`` stopped by
    SIGINT, SIGTERM or SIGHUP (N is the wait status of ``os.system``, a shell's 128 + signal number
    included), else ``None``: a compile error."""
    found = re.search(r"error code: (\d+)", str(ex))
    if found is None:
        return None
    status = int(found.group(1))
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
    elif os.WIFEXITED(status) and os.WEXITSTATUS(status) > 128:
        signum = os.WEXITSTATUS(status) - 128
    else:
        return None
    return signal.Signals(signum).name if signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP) else None


def _watch_progress(path, progress, stop):
    while not stop.wait(0.2):
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            continue
        if text:
            with contextlib.suppress(ValueError):
                progress(float(text))


_ERROR_LINE = re.compile(r"(^|\W)(fatal )?error\b", re.IGNORECASE)
