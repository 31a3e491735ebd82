"""One built-in scenario on ``cpp`` and on ``cuda`` side by side (two ``spikelearn run`` processes), then
the agreement check of the ``cuda`` tests (`spikelearn.agreement`). For a lent GPU machine, where the
test's sequential cpp-then-cuda order would cost the cpp run's time again:

    python bench/gpu_agree.py NAME --out DIR [--timeout S] [--set KEY=VALUE ...]

Prints one JSON line (``AGREE {...}``) and writes it to ``DIR/NAME.json``: each device's wall time, its
build + run time from the run log, its claims, and the disagreements (empty: they agree). A device that
did not finish in ``--timeout`` seconds is reported as not finished, with what its run directory holds.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def run_one(name, device, out, timeout, overrides):
    cmd = [sys.executable, "-m", "spikelearn.cli", "run", name, "--device", device, "--out", str(out / device),
           "--no-progress"] + [a for kv in overrides for a in ("--set", kv)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        rc, tail = proc.returncode, (proc.stdout + proc.stderr).strip().splitlines()[-15:]
    except subprocess.TimeoutExpired as exc:
        rc, tail = "timeout", (exc.stdout or b"").decode(errors="replace").splitlines()[-5:] if isinstance(
            exc.stdout, bytes) else [f"killed after {timeout} s"]
    wall = time.perf_counter() - t0
    runs = sorted((out / device).glob("*/*/status.json"))
    row = {"device": device, "exit": rc, "wall_s": round(wall, 1), "tail": tail}
    if runs:
        run_dir = runs[-1].parent
        row["run_dir"] = str(run_dir)
        row["status"] = json.loads(runs[-1].read_text()).get("status")
        log = (run_dir / "log.txt").read_text() if (run_dir / "log.txt").exists() else ""
        ran = re.findall(r"program ran ([0-9.]+) s \(its simulation loop ([0-9.]+) s", log)
        row["program_s"], row["loop_s"] = (float(ran[-1][0]), float(ran[-1][1])) if ran else (None, None)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timeout", type=float, default=560)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    out = args.out / args.name
    out.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        rows = list(pool.map(lambda d: run_one(args.name, d, out, args.timeout, args.overrides), ("cpp", "cuda")))
    report = {"scenario": args.name, "overrides": args.overrides, "cpp": rows[0], "cuda": rows[1]}
    if all(r.get("status") == "complete" for r in rows):
        from spikelearn.agreement import disagreements
        from spikelearn.results import RunResult

        a, b = (RunResult(Path(r["run_dir"])) for r in rows)
        for key, result in (("cpp", a), ("cuda", b)):
            report[key]["claims"] = [{k: c[k] for k in ("name", "value", "passed")} for c in result.metrics["claims"]]
        report["disagreements"] = disagreements(args.name, a, b)
        report["agree"] = not report["disagreements"]
    else:
        report["agree"] = None  # not both finished
    text = json.dumps(report, default=str)
    (args.out / f"{args.name}.json").write_text(text)
    print("AGREE " + text, flush=True)


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
