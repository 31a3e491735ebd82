"""Benchmark: a 16-point sweep (8 grid values x 2 seeds) on a 2-worker Dask LocalCluster vs the same
points run one after the other, in the same command; plus what build reuse saves: a cold sweep whose grid
parameter is given at run time (one build per worker and seed) vs a cold sweep that compiles every value
(``--compile-parameters``), and a second, fully cached sweep.

    .venv/bin/python bench/sweep_bench.py [--device cpp|runtime]

Writes bench/results/<machine>-<date>-sweep.json and prints a table. Speed-ups are ratios measured side by
side in one run; the machine is stated (these machines are noisy).
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = "connections.inputs_to_out.plasticity.depression_ratio=0.9,0.95,1.0,1.05,1.1,1.15,1.2,1.25"


def sweep_args(out, device):
    return ["sweep", "song-stdp", "--grid", GRID, "--seeds", "2", "--set", 'duration="5*second"',
            "--set", f'device="{device}"', "--out", str(out), "--no-progress"]


def timed(cmd, env):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, capture_output=True, text=True)
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpp", choices=("cpp", "runtime"))
    args = parser.parse_args()
    exe = [sys.executable, "-m", "spikelearn.cli"]
    work = Path(tempfile.mkdtemp(prefix="spikelearn-sweep-bench-"))
    env = {**os.environ, "SPIKELEARN_CACHE": str(work / "cache")}
    load_before = os.getloadavg()
    try:
        compiled_cold = timed(exe + sweep_args(work / "cmp", args.device) + ["--workers", "2", "--compile-parameters"],
                              {**env, "SPIKELEARN_CACHE": str(work / "cache-compiled")})
        parallel_cold = timed(exe + sweep_args(work / "par", args.device) + ["--workers", "2"], env)
        shutil.rmtree(work / "par")
        parallel_cached = timed(exe + sweep_args(work / "par", args.device) + ["--workers", "2"], env)
        values = GRID.split("=")[1].split(",")
        t0 = time.perf_counter()
        for v in values:
            for seed in (1, 2):
                subprocess.run(exe + ["run", "song-stdp", "--set", 'duration="5*second"', "--set", f'device="{args.device}"',
                                      "--set", f"connections.inputs_to_out.plasticity.depression_ratio={v}",
                                      "--seed", str(seed), "--out", str(work / "seq"), "--no-progress"],
                               check=True, env=env, capture_output=True)
        sequential_cached = time.perf_counter() - t0
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "machine": {"node": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "date": date.today().isoformat(), "device": args.device, "points": 16,
        "loadavg_1_5_15_before": [round(x, 2) for x in load_before],
        "loadavg_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
        "parallel_2_workers_cold_compiled_parameters_s": round(compiled_cold, 2),
        "parallel_2_workers_cold_cache_s": round(parallel_cold, 2),
        "build_reuse_speedup_cold": round(compiled_cold / parallel_cold, 3),
        "parallel_2_workers_cached_s": round(parallel_cached, 2),
        "sequential_cached_s": round(sequential_cached, 2),
        "speedup_parallel_vs_sequential": round(sequential_cached / parallel_cached, 3),
        "build_cache_saving_s": round(parallel_cold - parallel_cached, 2),
    }
    out = ROOT / "bench" / "results" / f"{platform.node()}-{result['date']}-sweep.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:36s} {value}")
    print(f"written: {out}")


if __name__ == "__main__":
    main()
