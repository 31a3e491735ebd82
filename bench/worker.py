"""One benchmark measurement in its own process (so that imports, peak memory and Brian2's global device
state belong to it alone). Called by ``bench/run.py`` as ``python bench/worker.py SPEC_JSON``; prints one
JSON line with the timings and spike counts.

Timing points, the same for every implementation: ``first_step_s`` is the time from the command's start
(the parent's clock before it spawned this process) to the first simulated step: the end of
``Network.before_run`` on ``runtime``, the launch of the compiled binary on ``cpp``, the call of
``nest.Simulate`` for NEST. ``run_s`` is the simulation loop alone (Brian2's own ``_last_run_time``, read
by the binary from its clock on ``cpp``; the ``Simulate`` call for NEST); ``run_cpu_s`` the CPU time of
the same (on ``cpp`` the binary's whole CPU time), which a loaded machine inflates much less. ``compile_s`` is code generation
+ compilation on ``cpp`` (``device.build`` up to the binary's launch).
"""

import glob
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKS = {}


def _hooks():
    """Record when the simulation starts, without changing what Brian2 does."""
    from brian2.core.network import Network
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    before_run = Network.before_run

    def timed_before_run(self, namespace):
        before_run(self, namespace)
        MARKS.setdefault("first_step", time.time())
        MARKS["cpu0"] = time.process_time()

    Network.before_run = timed_before_run
    net_run = Network.run

    def timed_net_run(self, *args, **kwargs):
        out = net_run(self, *args, **kwargs)
        from brian2 import get_device

        if not isinstance(get_device(), CPPStandaloneDevice):
            MARKS["run_s"] = float(get_device()._last_run_time)
            MARKS["run_cpu_s"] = time.process_time() - MARKS["cpu0"]
        return out

    Network.run = timed_net_run
    run = CPPStandaloneDevice.run

    def timed_run(self, *args, **kwargs):
        MARKS["first_step"] = time.time()  # standalone: Network.before_run only generated code
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = run(self, *args, **kwargs)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        MARKS["run_s"] = float(self._last_run_time)
        # CPU time of the binary (start-up and writing results included): robust to a loaded machine
        MARKS["run_cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return out

    CPPStandaloneDevice.run = timed_run
    build = CPPStandaloneDevice.build

    def timed_build(self, *args, **kwargs):
        MARKS["build_start"] = time.time()
        return build(self, *args, **kwargs)

    CPPStandaloneDevice.build = timed_build


def _result(t0, counts):
    out = {"first_step_s": MARKS["first_step"] - t0, "run_s": MARKS["run_s"], "run_cpu_s": MARKS["run_cpu_s"],
           "counts": counts}
    if "build_start" in MARKS:
        out["compile_s"] = MARKS["first_step"] - MARKS["build_start"]
    return out


def spikelearn_run(spec, t0):
    """The ``spikelearn run`` command itself (in-process, so the hooks see it)."""
    _hooks()
    from spikelearn.cli import main

    out = tempfile.mkdtemp(prefix="slbench-run-")
    argv = ["run", spec["scenario"], "--device", spec["device"], "--seed", str(spec["seed"]), "--no-progress",
            "--out", out, "--set", f'duration="{spec["duration"]}*second"']
    argv += [a for kv in spec.get("set", []) for a in ("--set", kv)]
    argv += [a for p in spec.get("plugins", []) for a in ("--plugin", str(ROOT / p))]
    if spec["device"] == "runtime":
        argv += ["--set", f'device_options.target="{spec["target"]}"']
    sys.stdout = open(os.devnull, "w")  # the command's own report; ours goes to the real stdout
    try:
        status = main(argv)
    finally:
        sys.stdout.close()
        sys.stdout = sys.__stdout__
    if status:
        raise SystemExit(f"spikelearn run exited with {status}")
    import numpy as np

    counts = {}
    (run_dir,) = glob.glob(os.path.join(out, "*", "*"))
    for f in glob.glob(os.path.join(run_dir, "data", "spikes_*.npz")):
        with np.load(f) as d:
            counts[Path(f).stem[len("spikes_"):]] = [int(len(d["t"])), int(d["N"])]
    shutil.rmtree(out)
    return _result(t0, counts)


def brian2_run(spec, t0):
    """The same network written directly in Brian2, on the same device and seed."""
    _hooks()
    import numpy as np
    from brian2 import defaultclock, device, ms, prefs, second, seed, set_device

    sys.path.insert(0, str(ROOT / "bench"))
    import networks

    if spec["device"] == "cpp":
        set_device("cpp_standalone", directory=spec["build_dir"], build_on_run=False)
    else:
        prefs.codegen.target = spec["target"]
    for name, value in spec.get("prefs", {}).items():  # e.g. compiler flags (bench/layout_1e6.py)
        prefs[name] = getattr(np, value) if name == "core.default_float_dtype" else value
    defaultclock.dt = 0.1 * ms
    seed(spec["seed"])
    if spec["net"] == "coba":
        net, mons = networks.coba()
    else:
        net, mons = networks.song(n_out=spec.get("n_out", 1), inputs=spec.get("inputs", "exponential"),
                                  **spec.get("song_options", {}))
    net.run(spec["duration"] * second)
    if spec["device"] == "cpp":
        device.build(directory=spec["build_dir"], compile=True, run=True, with_output=False)
    counts = {name: [int(len(np.asarray(m.t))), int(m.source.N)] for name, m in mons.items()}
    return _result(t0, counts)


def nest_run(spec, t0):
    import nest  # imported first: its import time counts, like Brian2's

    sys.path.insert(0, str(ROOT / "bench"))
    import networks

    if spec.get("net") == "coba":
        recorders, sizes = networks.coba_nest(seed=spec["seed"])
    else:
        recorders, _ = networks.song_nest(n_out=spec.get("n_out", 1), seed=spec["seed"])
        sizes = {"inputs": 1000, "out": spec.get("n_out", 1)}
    first, cpu0 = time.time(), time.process_time()
    nest.Simulate(spec["duration"] * 1000.0)
    run, run_cpu = time.time() - first, time.process_time() - cpu0
    counts = {name: [int(r.get("n_events")), sizes[name]] for name, r in recorders.items()}
    return {"first_step_s": first - t0, "run_s": run, "run_cpu_s": run_cpu, "counts": counts, "nest_version": nest.__version__}


def annarchy_run(spec, t0):
    """The network written with ANNarchy (bench/networks_annarchy.py), one thread. ``compile_s`` is code
    generation + compilation (``Network.compile``; ANNarchy skips compiling when ``build_dir`` already
    holds the same code), ``run_s`` the ``simulate`` call."""
    # ANNarchy's CMake build looks for nanobind with the ``python3`` of PATH: this interpreter's
    bindir = os.path.dirname(sys.executable)
    os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("VIRTUAL_ENV", os.path.dirname(bindir))
    os.environ["OMP_NUM_THREADS"] = "1"
    import ANNarchy

    sys.path.insert(0, str(ROOT / "bench"))
    import networks_annarchy as na

    duration_ms = spec["duration"] * 1000.0
    if spec["net"] == "coba":
        net, mons = na.coba(seed=spec["seed"])
        sizes = na.COBA["sizes"]
    else:
        net, mons, _ = na.song(n_out=spec.get("n_out", 1), seed=spec["seed"], inputs=spec.get("inputs", "poisson"),
                               storage_order=spec.get("storage_order"), storage_format=spec.get("storage_format"),
                               duration_ms=duration_ms)
        sizes = {"inputs": 1000, "out": spec.get("n_out", 1)}
    c0 = time.time()
    net.compile(directory=spec["build_dir"], silent=True)
    first, cpu0 = time.time(), time.process_time()
    net.simulate(duration_ms)
    run, run_cpu = time.time() - first, time.process_time() - cpu0
    counts = {name: [na.spike_count(m), sizes[name]] for name, m in mons.items()}
    return {"first_step_s": first - t0, "compile_s": first - c0, "run_s": run, "run_cpu_s": run_cpu,
            "counts": counts, "annarchy_version": ANNarchy.__release__}


def peak_rss_mb():
    """Largest resident set of this process and the processes it ran (the compiler, the binary): this
    process's VmHWM (its own address space since exec, unlike ``ru_maxrss``, which a process spawned by
    a large parent inherits) and its children's ``ru_maxrss``."""
    own = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = float(line.split()[1]) / 1024.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return max(own, children)


def main():
    spec = json.loads(sys.argv[1])
    t0 = spec["t0"]
    if spec.get("cache"):
        os.environ["SPIKELEARN_CACHE"] = spec["cache"]
    os.environ.setdefault("MPLBACKEND", "Agg")
    impl = {"spikelearn": spikelearn_run, "brian2": brian2_run, "nest": nest_run, "annarchy": annarchy_run}[spec["impl"]]
    result = impl(spec, t0)
    result["worker_wall_s"] = time.time() - t0
    result["peak_rss_mb"] = peak_rss_mb()
    print("BENCH-RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
