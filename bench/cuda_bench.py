"""Benchmark: ``cpp`` vs ``cuda`` on the STDP network (N Poisson inputs -> 1 LIF neuron, Song et al.'s
network with N from 10^3 to 10^6) and on a recurrent plastic network (N Poisson inputs -> N LIF neurons,
each with ~1000 plastic inputs as in Song's network, and static recurrent connections, p = 0.02, 1 ms delay).

    python bench/cuda_bench.py [--devices cpp,cuda] [--sizes 1000,10000,100000,1000000] [--out FILE]

Each point runs in its own process (a fresh Brian2 device) with an empty build cache, and reports wall
time split into *build* (code generation + compilation) and *run* (the compiled binary: initialisation,
simulation, writing results), the real-time factor (run wall time / simulated time) and synaptic events
per second of run time. Events are counted from the recorded spikes: every presynaptic spike updates
its outgoing synapses and every postsynaptic spike the incoming ones (STDP). The crossover is the
smallest N at which cuda's run time is below cpp's. Writes a JSON file (default
``bench/results/<machine>-<date>-cuda.json``) and prints a table. Needs a GPU for ``cuda`` (on a
machine without one, use ``--devices cpp``); ``bench/gpu_check.sh`` runs it on a lent GPU machine.

Builds take most of the time (a cuda build is one nvcc call per generated file). To spend less of it,
build every point side by side first, then measure the runs one at a time on the cached builds:

    python bench/cuda_bench.py --build-only --jobs 4 --cache /tmp/bc    # build times -> /tmp/bc/builds.json
    python bench/cuda_bench.py --cache /tmp/bc                          # run times, one point at a time

Then ``build_s`` is the build time measured with ``parallel_builds`` builds side by side (an upper
bound on a lone build's) and ``cached_build_s`` the second, cached build (code generation; nothing
compiled); the run times are measured alone either way.
"""

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: simulated time per STDP-network size: long enough that the run is not all start-up, short enough
#: that cpp's largest point stays under a minute
STDP_DURATION = {1_000: 10.0, 10_000: 5.0, 100_000: 2.0, 1_000_000: 0.5}

RECURRENT = """
name = "bench-recurrent"
seed = 1
dt = "0.1*ms"
duration = "{duration}*second"
device = "cpp"
[populations.inp]
model = "poisson"
size = {n_in}
parameters = {{ rate = "15*Hz" }}
[populations.exc]
model = "lif_cond"
size = {n_exc}
[connections.in_exc]
source = "inp"
target = "exc"
connect = "all"
p = {p_in}
weight = "rand()*0.01"
plasticity = {{ rule = "stdp_additive", wmax = 0.01 }}
[connections.rec]
source = "exc"
target = "exc"
connect = "i != j"
p = 0.02
weight = "0.0005"
delay = "1*ms"
[record]
spikes = ["inp", "exc"]
"""


def point(kind, n, device, duration, cache, build_only=False):
    """One measurement in this process; returns a dict (only the build time with ``build_only``)."""
    os.environ["SPIKELEARN_CACHE"] = cache
    from brian2 import defaultclock, device as brian_device, seed

    from spikelearn.build import build_network
    from spikelearn.devices import DeviceSession
    from spikelearn.registry import default_registry
    from spikelearn.scenario import builtin_scenarios, load_scenario

    reg = default_registry()
    threads = os.cpu_count() if device == "cpp-all" else 0
    device_override = [f'device="{"cpp" if device == "cpp-all" else device}"']
    device_override += [f"device_options.threads={threads}"] if threads else []
    if kind == "stdp":
        sc = load_scenario(builtin_scenarios()["song-stdp"], reg).with_overrides(
            [f"populations.inputs.size={n}", f'duration="{duration}*second"',
             'record.spikes=["inputs", "out"]', "record.states={}", "record.weights={}"] + device_override, reg)
    elif kind == "balanced":  # n excitatory neurons, n/4 inhibitory, in-degrees 900 and 225 as balanced-stdp
        p_e, p_i = min(1.0, 900 / n), min(1.0, 225 / (n // 4))
        sc = load_scenario(builtin_scenarios()["balanced-stdp"], reg).with_overrides(
            [f"populations.E.size={n}", f"populations.I.size={n // 4}", f"connections.ee.p={p_e}",
             f"connections.ei.p={p_e}", f"connections.ie.p={p_i}", f"connections.ii.p={p_i}",
             f'duration="{duration}*second"', "record.weights={}"] + device_override, reg)
    elif kind == "hpc":  # balanced-stdp-1e8 as it is (n: its excitatory neurons, 11250)
        sc = load_scenario(builtin_scenarios()["balanced-stdp-1e8"], reg).with_overrides(
            [f'duration="{duration}*second"', "record.weights={}"] + device_override, reg)
    else:
        path = Path(cache) / "recurrent.toml"
        path.write_text(RECURRENT.format(duration=duration, n_in=n, n_exc=n, p_in=min(1.0, 1000 / n)))
        sc = load_scenario(path, reg).with_overrides(device_override, reg)
    with DeviceSession(sc) as session:
        defaultclock.dt = sc.dt
        seed(sc.seed)
        t0 = time.perf_counter()
        net, ctx = build_network(sc, reg, None)
        session.run(net, sc.duration, build_only=True)  # generate + compile, and mark the build complete
        t_build = time.perf_counter() - t0
        if build_only:
            return {"kind": kind, "n": n, "device": device, "build_s": round(t_build, 3)}
        t0 = time.perf_counter()
        brian_device.run(directory=str(session.build_dir), with_output=False)
        t_run = time.perf_counter() - t0
        info = (session.build_dir / "results" / "last_run_info.txt").read_text().split()
        t_loop = float(info[0])  # the simulation loop alone (no synapse creation, no writing)
        monitors = {m.source.name: m for m in net.objects if type(m).__name__ == "SpikeMonitor"}
        spikes = {name: int(m.num_spikes) for name, m in monitors.items()}
        events, n_synapses = 0, 0
        for s in (s for s in net.objects if type(s).__name__ == "Synapses"):  # read before the session ends
            n_syn = len(s)
            n_synapses += n_syn
            src, tgt = s.source.name, s.target.name
            if src in spikes:
                events += spikes[src] * n_syn / max(1, len(s.source))
            if "post" in [p.prepost for p in s._pathways] and tgt in spikes:
                events += spikes[tgt] * n_syn / max(1, len(s.target))
    return {"kind": kind, "n": n, "device": device, "duration_s": duration, "build_s": round(t_build, 3),
            "run_s": round(t_run, 3), "loop_s": round(t_loop, 3), "rtf": round(t_loop / duration, 4),
            "spikes": spikes, "synapses": int(n_synapses), "events": int(events),
            "events_per_s": round(events / t_loop, 1)}


def device_name():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default="cpp,cuda")
    parser.add_argument("--sizes", default="1000,10000,100000,1000000", help="STDP network sizes N")
    parser.add_argument("--recurrent", default="1000,10000", help="recurrent network sizes (inputs = neurons)")
    parser.add_argument("--recurrent-duration", type=float, default=1.0)
    parser.add_argument("--balanced", default="", help="balanced-stdp sizes (excitatory neurons; in-degree "
                        "1125, so 1.4*N*1125 synapses)")
    parser.add_argument("--stdp-scale", type=float, default=1.0, help="factor on the STDP network's durations")
    parser.add_argument("--balanced-duration", type=float, default=0.5)
    parser.add_argument("--hpc-duration", type=float, default=0.0,
                        help="simulated seconds of balanced-stdp-1e8 (1.58e8 synapses); 0: not run")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per point")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--cache", type=Path, help="build cache to use and keep (default: a temporary one)")
    parser.add_argument("--build-only", action="store_true",
                        help="only build every point (--jobs at a time) into --cache and record the build times "
                             "in it; a later run with the same --cache measures run times alone and reports "
                             "these build times")
    parser.add_argument("--jobs", type=int, default=1, help="points built side by side with --build-only")
    parser.add_argument("--point", nargs=4, metavar=("KIND", "N", "DEVICE", "DURATION"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.point:
        kind, n, device, duration = args.point
        row = point(kind, int(n), device, float(duration), str(args.cache), args.build_only)
        print("RESULT " + json.dumps(row), flush=True)
        return
    devices = args.devices.split(",")
    plan = [("stdp", int(n), STDP_DURATION.get(int(n), 1.0) * args.stdp_scale) for n in args.sizes.split(",") if n]
    plan += [("recurrent", int(n), args.recurrent_duration) for n in args.recurrent.split(",") if n]
    plan += [("balanced", int(n), args.balanced_duration) for n in args.balanced.split(",") if n]
    plan += [("hpc", 11250, args.hpc_duration)] if args.hpc_duration else []
    points = [(kind, n, device, duration) for kind, n, duration in plan for device in devices]
    with contextlib.ExitStack() as stack:
        cache = args.cache or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cuda-bench-")))
        cache.mkdir(parents=True, exist_ok=True)
        if args.build_only:
            _build_all(points, cache, args)
            return
        _measure(points, cache, args)


def _subprocess_point(p, cache, args, build_only=False):
    kind, n, device, duration = p
    cmd = [sys.executable, __file__, "--point", kind, str(n), device, str(duration), "--cache", str(cache)]
    cmd += ["--build-only"] if build_only else []
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                              env=dict(os.environ, MPLBACKEND="Agg"))
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        return json.loads(lines[-1][7:]) if lines else {
            "kind": kind, "n": n, "device": device, "error": proc.stderr.strip().splitlines()[-12:]}
    except subprocess.TimeoutExpired:
        return {"kind": kind, "n": n, "device": device, "error": f"timeout after {args.timeout} s"}


def _build_all(points, cache, args):
    """Builds every point, ``--jobs`` at a time; build times go to ``cache/builds.json``."""
    builds = cache / "builds.json"
    done = json.loads(builds.read_text()) if builds.exists() else {}
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for row in pool.map(lambda p: _subprocess_point(p, cache, args, build_only=True), points):
            print(json.dumps(row), flush=True)
            if "build_s" in row:
                done[_key(row)] = dict(build_s=row["build_s"], parallel_builds=max(1, args.jobs))
                builds.write_text(json.dumps(done, indent=1))


def _measure(points, cache, args):
    """Runs every point in turn (built first unless ``--build-only`` built it into the same cache)."""
    builds = json.loads((cache / "builds.json").read_text()) if (cache / "builds.json").exists() else {}
    out = args.out or ROOT / "bench" / "results" / f"{platform.node()}-{date.today().isoformat()}-cuda.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results, report = [], None
    for p in points:
        row = _subprocess_point(p, cache, args)
        if "build_s" in row and _key(row) in builds:  # built before: this build_s is the cached rebuild
            row["cached_build_s"] = row["build_s"]
            row.update(builds[_key(row)])
        results.append(row)
        print(json.dumps(row), flush=True)
        report = _report(results)
        out.write_text(json.dumps(report, indent=1))  # after every point: a killed run keeps its results
    print(f"\n{'network':10} {'N':>8} {'device':6} {'build s':>8} {'run s':>8} {'RTF':>8} {'events/s':>10}")
    for r in results:
        if "run_s" in r:
            print(f"{r['kind']:10} {r['n']:>8} {r['device']:6} {r['build_s']:>8.1f} {r['run_s']:>8.2f} "
                  f"{r['rtf']:>8.3f} {r['events_per_s']:>10.3g}")
        else:
            print(f"{r['kind']:10} {r['n']:>8} {r['device']:6} failed: {r['error']}")
    print(f"crossover N (cuda run time < cpp): {report and report['crossover_n_run_time']}; written to {out}")


def _key(row):
    return f"{row['kind']}-{row['n']}-{row['device']}"


def _report(results):
    """The JSON report: the machine, every point so far, and the crossover N per network."""
    crossover = {}
    for kind in ("stdp", "recurrent", "balanced", "hpc"):
        sizes = sorted({r["n"] for r in results if r["kind"] == kind})
        wins = [n for n in sizes
                if all(any(r["kind"] == kind and r["n"] == n and r["device"] == d and "run_s" in r for r in results)
                       for d in ("cpp", "cuda"))
                and _get(results, kind, n, "cuda")["run_s"] < _get(results, kind, n, "cpp")["run_s"]]
        crossover[kind] = wins[0] if wins else None
    return {"machine": platform.node(), "cpus": os.cpu_count(), "gpu": device_name(),
            "date": date.today().isoformat(), "load_average": os.getloadavg(), "results": results,
            "crossover_n_run_time": crossover}


def _get(results, kind, n, device):
    return next(r for r in results if r["kind"] == kind and r["n"] == n and r["device"] == device)


if __name__ == "__main__":
    main()
