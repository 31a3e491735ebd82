"""Devices: ``runtime`` (Brian2 runtime, numpy or cython), ``cpp`` (cpp_standalone), ``cuda``
(brian2cuda's cuda_standalone).

Standalone build directories live in a cache keyed by the content of the resolved scenario (minus the
seed, which only changes ``main.cpp``, and minus the values of ``device_options.runtime_parameters``,
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

from .cache import cache_root
from .errors import BuildError, SimulationStopped
from .scenario import set_key

__all__ = ["DeviceSession", "build_directory"]

logger = logging.getLogger(__name__)

STANDALONE = {"cpp": "cpp_standalone", "cuda": "cuda_standalone"}
BUILDING_MARKER = ".spikelearn-building"
COMPILE_LOG = "compile.log"
RUN_INFO = "last_run_info.txt"
PR_SET_PDEATHSIG = 1  # prctl(2)


def build_directory(scenario, device):
    """The cached build directory of a scenario on a standalone device."""
    content = json.loads(json.dumps({k: v for k, v in scenario.data.items() if k != "seed"}, default=str))
    if device == "cpp":  # values given on the command line (run_args) do not change the program
        for key in scenario.device_options.get("runtime_parameters", ()):
            set_key(content, key, "<run-time>", scenario.source)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:16]
    slot = os.environ.get("SPIKELEARN_BUILD_SLOT")
    return cache_root() / "build" / device / (f"{scenario.name}-{digest}" + (f"-w{slot}" if slot else ""))


def _with_jobs(make_args):
    """``make``'s arguments with ``-j`` set by ``$SPIKELEARN_BUILD_JOBS`` when it is set (several builds
    side by side, e.g. a GPU check, each with a bounded number of compiler processes)."""
    jobs = os.environ.get("SPIKELEARN_BUILD_JOBS")
    if not jobs:
        return list(make_args)
    if not jobs.isdigit() or int(jobs) < 1:
        raise BuildError(f"$SPIKELEARN_BUILD_JOBS = {jobs!r}: expected a positive integer (make jobs per build)")
    return [a for a in make_args if not a.startswith("-j")] + [f"-j{int(jobs)}"]


class DeviceSession:
    """Selects a device for one run and gives it back afterwards (so runs can follow each other in one
    process, e.g. in tests)."""

    def __init__(self, scenario, device=None, build_dir=None):
        self.scenario = scenario
        self.name = device or scenario.device
        self.options = scenario.device_options
        self.build_dir = Path(build_dir) if build_dir else (
            build_directory(scenario, self.name) if self.name in STANDALONE else None
        )
        self._lock = None
        self._restore = None
        self._restore_make_args = None

    @property
    def standalone(self):
        return self.name in STANDALONE

    def __enter__(self):
        import gc

        from brian2 import prefs, set_device

        # objects of an earlier run in this process still hold their names until collected, and Brian2
        # would name the new ones "..._1": different generated files, so a needless recompilation
        gc.collect()

        if self.name == "runtime":
            set_device("runtime")
            prefs.codegen.target = self.options["target"]
        elif self.name == "cpp":
            _stable_clock_order()
            self._acquire()
            set_device("cpp_standalone", directory=str(self.build_dir), build_on_run=False)
            if self.options["threads"]:
                prefs.devices.cpp_standalone.openmp_threads = self.options["threads"]
        elif self.name == "cuda":
            from .cuda import configure_cuda

            self._restore = configure_cuda(self.options)
            self._acquire()
            set_device("cuda_standalone", directory=str(self.build_dir), build_on_run=False)
        else:
            raise BuildError(f"unknown device '{self.name}'; allowed: runtime, cpp, cuda")
        return self

    def _acquire(self):
        from brian2 import prefs

        self.build_dir.parent.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.build_dir.parent / f".{self.build_dir.name}.lock", "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        if (self.build_dir / BUILDING_MARKER).exists():
            logger.warning("build directory %s was left half-written by an interrupted build; rebuilding it "
                           "from scratch", self.build_dir)
            shutil.rmtree(self.build_dir)
        self.build_dir.mkdir(parents=True, exist_ok=True)
        (self.build_dir / BUILDING_MARKER).write_text("a build is in progress, or was cut short\n")
        # the compiler's output goes to a file, read on failure (Brian2 would print all of it)
        make_args = prefs.devices.cpp_standalone.extra_make_args_unix
        self._restore_make_args = list(make_args)
        prefs.devices.cpp_standalone.extra_make_args_unix = _with_jobs(make_args) + [f">{COMPILE_LOG}", "2>&1"]

    def __exit__(self, *exc):
        from brian2.devices.device import reinit_devices, set_device

        reinit_devices()
        set_device("runtime")
        if self._restore_make_args is not None:
            from brian2 import prefs

            prefs.devices.cpp_standalone.extra_make_args_unix = self._restore_make_args
            self._restore_make_args = None
        if self._restore is not None:
            self._restore()
            self._restore = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        if self.name == "cuda" and exc[0] is not None and issubclass(exc[0], NotImplementedError):
            from .cuda import unsupported_message  # brian2cuda refused a feature: name it

            raise BuildError(unsupported_message(exc[1])) from exc[1]
        return False

    # -- running -----------------------------------------------------------------------------------
    def run(self, net, duration, progress=None, build_only=False, run_args=None):
        """Run ``net`` for ``duration``; on standalone devices generate, compile and execute.

        ``progress`` is a callable receiving the completed fraction; on standalone devices the
        generated code writes the fraction to a file that a thread here reads (no Python in the loop).
        ``run_args`` are Brian2's command-line values of the standalone program (run-time parameters).
        Raises `SimulationStopped` when the simulation ended before ``duration``.
        """
        from brian2 import second

        if not self.standalone:
            report = None
            if progress is not None:
                def report(elapsed, completed, start, duration):  # runs between time steps, not in them
                    progress(float(completed))
            net.run(duration, report=report, report_period=0.5 * second)
            # Brian2 turns Ctrl-C (and our SIGTERM handler) into a stop at the end of the current
            # time step: a network that did not reach the end was interrupted
            from brian2 import defaultclock

            if float(net.t) < float(duration) - 0.5 * float(defaultclock.dt):
                raise SimulationStopped(f"stopped at t = {float(net.t):.6g} s of {float(duration):g} s",
                                        t_end=float(net.t))
            return
        progress_file = self.build_dir / "progress.txt"
        report_code = None
        if progress is not None:
            report_code = ('std::ofstream _progress("progress.txt", std::ios::trunc); '
                           '_progress << completed << std::endl; _progress.close();')
        net.run(duration, report=report_code, report_period=0.5 * second)
        from brian2 import device

        with contextlib.suppress(FileNotFoundError):
            progress_file.unlink()
        try:
            device.build(directory=str(self.build_dir), compile=True, run=False, with_output=False)
        except RuntimeError as ex:
            signame = _make_stopped_by(ex)
            if signame:  # Ctrl-C reached make and the compilers: not a compile error
                raise SimulationStopped(f"the {self.name} build was stopped by {signame} (nothing was simulated)",
                                        t_end=0.0, recorded=False) from None
            raise BuildError(_compile_error_message(self.build_dir, self.name)) from ex
        (self.build_dir / BUILDING_MARKER).unlink()  # compiled: the directory is whole
        if build_only:
            return
        stop = threading.Event()
        watcher = None
        if progress is not None:
            watcher = threading.Thread(target=_watch_progress, args=(progress_file, progress, stop), daemon=True)
            watcher.start()
        run_info = self.build_dir / "results" / RUN_INFO
        with contextlib.suppress(FileNotFoundError):
            run_info.unlink()  # an earlier run's, not this one's
        binary = _Program()
        t0 = time.perf_counter()
        try:
            with binary.launching():
                device.run(directory=str(self.build_dir), with_output=False, run_args=run_args or None)
        except RuntimeError as ex:
            if binary.killed():
                raise SimulationStopped(f"{binary.received()}the {self.name} program was killed by "
                                        f"{signal.Signals(-binary.returncode).name}; nothing was recorded",
                                        t_end=0.0, recorded=False) from None
            raise BuildError(_run_error_message(self.build_dir)) from ex
        finally:
            stop.set()
            if watcher is not None:
                watcher.join()
        logger.info("standalone build + run took %.2f s", time.perf_counter() - t0)
        fraction = _completed_fraction(run_info)
        if fraction < 1.0:
            t_end = fraction * float(duration)
            raise SimulationStopped(f"{binary.received()}the {self.name} program stopped at t = {t_end:.6g} s "
                                    f"of {float(duration):g} s", t_end=t_end)
        if progress is not None:
            progress(1.0)


def _stable_clock_order():
    """Brian2's ``network_run`` writes one ``main.cpp`` line per clock in the order of a ``set`` of clocks,
    whose default hash is a memory address: ``main.cpp`` changed from one process to the next and an
    unchanged network recompiled ``main.cpp`` on every run (~3 s). Clocks get the name-digest hash
    that the cuda device uses (see `spikelearn.cuda._patch_brian2cuda`, item 3)."""
    from brian2.core.clocks import BaseClock

    from .cuda import _stable_clock_hash

    BaseClock.__hash__ = _stable_clock_hash


class _Program:
    """The standalone program of one run. Brian2's ``device.run`` starts it with ``subprocess.call``;
    while :meth:`launching`, that call starts it here instead: in its own process group (Ctrl-C in the
    terminal reaches only this process), killed if this process dies (Linux), and with SIGINT and SIGTERM
    sent to this process forwarded to it as SIGINT, which Brian2's generated ``main`` turns into a stop at
    the end of the current time step, after which the program writes its results. A second signal kills
    it. Outside the main thread (no signal handlers there) the program stays in this process's group."""

    def __init__(self):
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
                                         preexec_fn=_killed_with_parent())
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


def _compile_error_message(build_dir, device):
    """The compiler's first error line (naming the generated file) and where the full output is."""
    log = build_dir / COMPILE_LOG
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    first = next((ln.strip() for ln in lines if _ERROR_LINE.search(ln)), None)
    if first is None:
        first = next((ln.strip() for ln in lines if ln.strip()), "no compiler output")
    generated = re.match(r"([^\s:(]+\.(?:cpp|cu|h|cuh))[:(]", first)
    where = f"; generated file: {build_dir / generated.group(1)}" if generated else ""
    return (f"{device} build failed: {first}{where} (full compiler output: {log}); "
            f"try --device runtime")


def _run_error_message(build_dir):
    log = build_dir / "results" / "stdout.txt"
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    last = next((ln.strip() for ln in reversed(lines) if ln.strip()), "no output")
    return f"the compiled simulation in {build_dir} failed: {last} (full output: {log}); try --device runtime"
