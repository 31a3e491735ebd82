"""A cached rerun of an unchanged scenario with a new seed: the whole ``spikelearn run`` command, timed from
outside, against the same network hand-written in Brian2 (``bench/networks.py``, one script: import,
build, compile when needed, run, read the monitors) in the same command.

    .venv/bin/python bench/rerun.py                   # song-stdp (100 s simulated), 5 rounds
    .venv/bin/python bench/rerun.py --rounds 2        # quicker

Each round runs, in rotating order: ``spikelearn run song-stdp --seed k`` (figures and report.html),
the same with ``--no-figures``, and the Brian2 script with seed k. The first, cold round builds the caches
and is not counted. The standalone program's own time is read from each run's log. Writes
``bench/results/<machine>-<date>-rerun.json`` and ``.md``.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import ROOT, load, machine, measure  # noqa: E402

SPIKELEARN = [sys.executable, "-m", "spikelearn.cli", "run", "song-stdp", "--no-progress"]
PROGRAM = re.compile(r"the cpp program ran ([0-9.]+) s")


def spikelearn(seed, out, extra=()):
    t0 = time.perf_counter()
    proc = subprocess.run([*SPIKELEARN, "--seed", str(seed), "--out", out, *extra], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "MPLBACKEND": "Agg"})
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][-400:]}
    run_dir = proc.stdout.strip().splitlines()[-1].removeprefix("run directory: ")
    found = PROGRAM.search((Path(ROOT, run_dir) / "log.txt").read_text())
    return {"wall_s": wall, "program_s": float(found.group(1)) if found else None}


def brian2(seed, build_root):
    spec = {"impl": "brian2", "device": "cpp", "duration": 100.0, "seed": seed, "net": "song",
            "inputs": "exponential", "n_out": 1, "target": "cython", "cache": "",
            "build_dir": str(Path(build_root) / "song-rerun")}
    res = measure(spec, 1800)
    return res if "error" in res else {"wall_s": res["wall_s"], "program_s": None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (after one cold round)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    cfg = parser.parse_args(argv)
    out = tempfile.mkdtemp(prefix="slbench-rerun-")
    build_root = tempfile.mkdtemp(prefix="slbench-rerun-b2-")
    cases = {"spikelearn run": lambda s: spikelearn(s, out),
             "spikelearn run --no-figures": lambda s: spikelearn(s, out, ["--no-figures"]),
             "Brian2 script": lambda s: brian2(s, build_root)}
    names = list(cases)
    result = {"machine": machine(), "date": date.today().isoformat(), "load_start": load(), "rounds": cfg.rounds}
    times = {name: [] for name in names}
    for r in range(cfg.rounds + 1):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            res = cases[name](100 + r)
            print(f"round {r}{' (cold, not counted)' if r == 0 else ''}: {name}: {res}", flush=True)
            if r > 0:
                times[name].append(res)
    result["load_end"] = load()
    rows = []
    for name in names:
        ok = [x for x in times[name] if "error" not in x]
        programs = [x["program_s"] for x in ok if x.get("program_s")]
        rows.append({"command": name, "wall_s": statistics.median([x["wall_s"] for x in ok]) if ok else None,
                     "walls": [round(x["wall_s"], 3) for x in ok],
                     "program_s": statistics.median(programs) if programs else None,
                     "errors": [x["error"] for x in times[name] if "error" in x]})
    result["rows"] = rows
    stem = Path(cfg.out) / f"{result['machine']['node']}-{result['date']}-rerun"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    lines = [f"Cached rerun of song-stdp (100 s simulated) with a new seed per round; {cfg.rounds} rounds after a "
             f"cold one, medians; load {[round(x, 2) for x in result['load_start']]} at start, "
             f"{[round(x, 2) for x in result['load_end']]} at the end.", "",
             "| command | whole command s | of which the cpp program s | × Brian2 script |", "| --- | --- | --- | --- |"]
    base = rows[-1]["wall_s"]
    for row in rows:
        ratio = f"{row['wall_s'] / base:.2f}" if row["wall_s"] and base else ""
        program = f"{row['program_s']:.2f}" if row["program_s"] else ""
        lines.append(f"| `{row['command']}` | {row['wall_s']:.2f} | {program} | {ratio} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
