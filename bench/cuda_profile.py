"""Where brian2cuda's time per step goes: the same 10^5 steps (10 s at 0.1 ms) of

- ``empty``: one neuron with one linear equation (one state-update kernel per step: the floor);
- ``song-bare``: Song et al.'s network (1000 Poisson inputs -> 1 LIF neuron, additive STDP) written
  directly in Brian2, without monitors;
- ``song-monitors``: the same with spike monitors on both groups (what spikelearn records);
- ``song-profiled``: ``song-bare`` built with brian2cuda's ``profile=True`` (per-kernel times; the
  synchronisation it adds makes the total slower: read the split, not the sum);
- ``song-spikelearn``: the song-stdp scenario through spikelearn (its records: spikes of both
  populations, no states, no weight trace), the scenario's own code path.

    python bench/cuda_profile.py --device cuda --out FILE [--modes empty,song-bare,...] [--jobs 4]

Every mode builds in its own process (``--jobs`` side by side), then runs alone, one after the other;
the run time is the compiled binary's wall time. Writes one JSON file.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MODES = ("empty", "song-bare", "song-monitors", "song-profiled", "song-spikelearn")
DURATION = 10.0


def _brian(mode, device, directory, phase):
    import brian2 as b2

    if device == "cuda":
        import brian2cuda  # noqa: F401
    b2.set_device(f"{device}_standalone", build_on_run=False, directory=directory)
    b2.prefs.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.environ.get('SPIKELEARN_BUILD_JOBS', '4')}"]
    b2.defaultclock.dt = 0.1 * b2.ms
    b2.seed(1)
    if mode == "empty":
        objects = [b2.NeuronGroup(1, "dv/dt = -v/(10*ms) : 1", method="exact")]
    else:
        inputs = b2.PoissonGroup(1000, 15 * b2.Hz)
        out = b2.NeuronGroup(1, """dv/dt = (ge*(E_e - v) + E_l - v)/tau_m : volt
                                   dge/dt = -ge/tau_e : 1""", threshold="v > v_t", reset="v = v_r",
                             method="euler", namespace=dict(tau_m=10 * b2.ms, tau_e=5 * b2.ms, E_l=-74 * b2.mV,
                                                            E_e=0 * b2.mV, v_t=-54 * b2.mV, v_r=-60 * b2.mV))
        out.v = -60 * b2.mV
        syn = b2.Synapses(inputs, out, """w : 1
            dApre/dt = -Apre/(20*ms) : 1 (event-driven)
            dApost/dt = -Apost/(20*ms) : 1 (event-driven)""",
                          on_pre="ge_post += w\nApre += 0.0001\nw = clip(w + Apost, 0, 0.01)",
                          on_post="Apost += -1.05*0.0001\nw = clip(w + Apre, 0, 0.01)")
        syn.connect()
        syn.w = "rand()*0.01"
        objects = [inputs, out, syn]
        if mode == "song-monitors":
            objects += [b2.SpikeMonitor(inputs), b2.SpikeMonitor(out)]
    net = b2.Network(objects)
    net.run(DURATION * b2.second, profile=(mode == "song-profiled"))
    t0 = time.perf_counter()
    b2.device.build(directory=directory, compile=True, run=False)
    if phase == "build":
        return {"build_s": round(time.perf_counter() - t0, 2)}
    t0 = time.perf_counter()
    b2.device.run(directory=directory, with_output=False, run_args=[])
    row = {"run_s": round(time.perf_counter() - t0, 3)}
    if mode == "song-profiled":
        info = b2.device.network_get_profiling_info(net)  # sorted, largest first
        row["profile_s"] = [(name, round(float(t / b2.second), 4)) for name, t in info]
    return row


def _spikelearn(device, cache, phase):
    os.environ["SPIKELEARN_CACHE"] = cache
    sys.path.insert(0, str(Path(__file__).parent))
    from cuda_bench import point

    row = point("stdp", 1000, device, DURATION, cache, build_only=(phase == "build"))
    return {k: row[k] for k in ("build_s", "run_s") if k in row}


def one(mode, device, workdir, phase):
    if mode == "song-spikelearn":
        return _spikelearn(device, str(workdir / "cache"), phase)
    return _brian(mode, device, str(workdir / mode), phase)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--build-only", action="store_true", help="only build every mode (into --workdir)")
    parser.add_argument("--one", nargs=2, metavar=("MODE", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cuda-profile-"))
    if args.one:
        print("RESULT " + json.dumps(one(args.one[0], args.device, workdir, args.one[1])), flush=True)
        return
    modes = args.modes.split(",")

    def sub(mode, phase):
        cmd = [sys.executable, __file__, "--device", args.device, "--workdir", str(workdir), "--out", str(args.out),
               "--one", mode, phase]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        return json.loads(lines[-1][7:]) if lines else {"error": (proc.stdout + proc.stderr).strip().splitlines()[-8:]}

    report = {"device": args.device, "steps": int(DURATION / 1e-4), "modes": {}}
    with ThreadPoolExecutor(args.jobs) as pool:
        builds = dict(zip(modes, pool.map(lambda m: sub(m, "build"), modes)))
    if args.build_only:
        args.out.write_text(json.dumps(builds, indent=1))
        return
    for mode in modes:
        row = dict(builds[mode])
        if "error" not in row:
            row.update(sub(mode, "run"))
        if "run_s" in row:
            row["us_per_step"] = round(row["run_s"] / report["steps"] * 1e6, 2)
        report["modes"][mode] = row
        args.out.write_text(json.dumps(report, indent=1))
        print(mode, json.dumps(row)[:300], flush=True)


if __name__ == "__main__":
    main()
