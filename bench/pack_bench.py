"""Benchmark: runs per hour of packed ensembles (`spikelearn.pack`) against separate runs, side by side.

For song-stdp (10 s simulated) and reward-estimation (its short form on cpp), seeds are run
- separately: one ``spikelearn`` run per seed (each a new seed of one cached build: Brian2 recompiles
  ``main.cpp`` for a new seed), and
- packed: K = 8 and K = 64 seeds per network (`spikelearn.runner.run_packed`), each copy written as an
  ordinary run directory,
on cpp with 1 and 2 OpenMP threads (or on cuda: ``--device cuda --packs 8,64,1000``, threads not
applying). Every configuration runs in its own process after an untimed warm-up that compiles its build;
the timed part is everything a user waits for (build check, simulation, saving, evaluation; figures
off). Runs per hour = runs / wall time; the ratio is against the separate runs of the same scenario,
device and thread count, measured in the same command.

    .venv/bin/python bench/pack_bench.py [--quick]
    python bench/pack_bench.py --device cuda --scenarios song-stdp --packs 8,64,1000 --out $OUT/pack  # on a GPU

Writes bench/results/<machine>-<date>-pack.json and .md (or ``--out`` .json and .md) and prints the table.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "song-stdp": ['duration="10*second"'],
    "reward-estimation": ['populations.rates.size=5', 'task.parameters.n_train=1', 'task.parameters.n_test_angles=2',
                          'task.parameters.n_repeats=2', 'task.parameters.t_block="1*second"',
                          'task.parameters.t_settle="0.5*second"', 'task.parameters.record_dt="20*ms"',
                          'duration="9*second"'],
}


def one(spec):
    """Run ``spec["runs"]`` seeds of a scenario, ``spec["pack"]`` per network (1: separately); print the
    wall time of the timed part (after a warm-up that builds)."""
    from spikelearn.registry import default_registry
    from spikelearn.runner import run_packed, run_scenario
    from spikelearn.scenario import load_scenario

    registry = default_registry(())
    device = spec.get("device", "cpp")
    sets = SCENARIOS[spec["scenario"]] + [f'device="{device}"']
    if device == "cpp":
        sets.append(f"device_options.threads={spec['threads']}")
    out = Path(spec["out"])

    def batch(seeds):
        scenarios = [load_scenario(spec["scenario"], registry, sets + [f"seed={s}"]) for s in seeds]
        if len(scenarios) == 1:
            return [run_scenario(scenarios[0], registry, out_root=out, progress=False, figures=False)]
        return run_packed(scenarios, registry, out_root=out, progress=False, figures=False)

    k, runs = spec["pack"], spec["runs"]
    batch(range(1000, 1000 + k))  # warm-up: compiles the build this configuration reuses
    t0 = time.perf_counter()
    done = 0
    for start in range(1, runs + 1, k):
        done += len(batch(range(start, start + k)))
    wall = time.perf_counter() - t0
    print("PACK-RESULT " + json.dumps({"wall_s": wall, "runs": done}))


def measure(spec):
    with tempfile.TemporaryDirectory() as tmp:
        spec = {**spec, "out": tmp}
        proc = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], capture_output=True, text=True,
                              cwd=ROOT)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("PACK-RESULT ")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1][len("PACK-RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="4 separate runs, K = 4 and 8 only")
    parser.add_argument("--device", default="cpp", choices=("cpp", "cuda"))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated (default: all)")
    parser.add_argument("--packs", help="comma-separated K (default 8,64)")
    parser.add_argument("--threads", default="1,2", help="cpp OpenMP threads, comma-separated (default 1,2)")
    parser.add_argument("--out", help="result stem (default bench/results/<machine>-<date>-pack)")
    args = parser.parse_args()
    if args.one:
        one(json.loads(args.one))
        return
    packs = [int(k) for k in args.packs.split(",")] if args.packs else ([4, 8] if args.quick else [8, 64])
    separate_runs = 4 if args.quick else 16
    threads = [int(t) for t in args.threads.split(",")] if args.device == "cpp" else [0]
    rows = []
    for scenario in args.scenarios.split(","):
        for n_threads in threads:
            base = None
            for k in (1, *packs):
                runs = separate_runs if k == 1 else max(k, separate_runs)
                r = measure({"scenario": scenario, "device": args.device, "threads": n_threads, "pack": k,
                             "runs": runs})
                row = {"scenario": scenario, "device": args.device, "threads": n_threads, "pack": k, **r}
                if "wall_s" in r:
                    row["runs_per_hour"] = 3600 * r["runs"] / r["wall_s"]
                    if k == 1:
                        base = row["runs_per_hour"]
                    row["vs_separate"] = row["runs_per_hour"] / base if base else None
                rows.append(row)
                print(json.dumps(row), flush=True)
    from spikelearn.reproduce import cpu_model

    stem = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{platform.node()}-{date.today().isoformat()}-pack"
    meta = {"cpu": cpu_model(), "cores": os.cpu_count(), "node": platform.node(),
            "python": platform.python_version(), "rows": rows}
    stem.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    stem.with_suffix(".md").write_text(table(rows))
    print(table(rows))


def table(rows):
    """The Markdown table of the measured rows."""
    lines = ["| scenario | device | threads | K | runs | wall (s) | runs/hour | vs separate |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = f"| {r['scenario']} | {r['device']} | {r['threads'] or '-'} | {r['pack']} |"
        if "error" in r:
            lines.append(f"{head} - | - | error: {r['error']} | - |")
            continue
        ratio = f"{r['vs_separate']:.2f}" if r.get("vs_separate") else "-"
        lines.append(f"{head} {r['runs']} | {r['wall_s']:.1f} | {r['runs_per_hour']:.0f} | {ratio} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
