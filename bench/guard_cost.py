"""What the in-loop guard costs on cpp: the song network (``n_in`` Poisson inputs -> ``n_out`` conductance
LIF neurons, all-to-all additive STDP, as ``scenarios/song_stdp.toml``) at 10^3, 10^5 and 10^6 synapses, run
with the guard off, with the connections checked as often as the populations (``guard.every_connections`` =
``guard.every`` = 10 ms: the guard before 2026-12-06) and with the defaults (populations every 10 ms,
connections every 1 s, static weights once). The three run interleaved, ``--rounds`` times, on one cached
build each; the simulation loop's time is the program's own (``log.txt``). Writes
``bench/results/<machine>-<date>-guard.json`` and ``.md``.

    python bench/guard_cost.py [--rounds 3]
"""

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = [(1000, 1, "100*second"), (1000, 100, "10*second"), (1000, 1000, "2*second")]
CONFIGS = {"off": ["guard.enabled=false"], "connections every 10 ms": ['guard.every_connections="10*ms"'],
           "defaults": []}
SCENARIO = """name = "guard-cost"
seed = 1
dt = "0.1*ms"
duration = "{duration}"
device = "cpp"
[populations.inputs]
model = "poisson"
size = {n_in}
parameters = {{ rate = "15*Hz" }}
[populations.out]
model = "lif_cond"
size = {n_out}
parameters = {{ tau_m = "10*ms", tau_e = "5*ms", E_l = "-74*mV", E_e = "0*mV", v_t = "-54*mV", v_r = "-60*mV" }}
[connections.inputs_to_out]
source = "inputs"
target = "out"
connect = "all"
weight = "rand()*0.01"
effect = "ge_post += w"
plasticity = {{ rule = "stdp_additive", tau_pre = "20*ms", tau_post = "20*ms", A_pre = 0.01, depression_ratio = 1.05, wmax = 0.01 }}
[record]
spikes = ["out"]
"""
LOOP = re.compile(r"its simulation loop ([0-9.]+) s")


def loop_time(scenario, out, overrides):
    cmd = [str(Path(sys.executable).parent / "spikelearn"), "run", str(scenario), "--out", str(out), "--no-progress"]
    for o in overrides:
        cmd += ["--set", o]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    rundir = Path(re.findall(r"run directory: (\S+)", text)[-1])
    return float(LOOP.findall((rundir / "log.txt").read_text())[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n_in, n_out, duration in SIZES:
            path = tmp / f"song-{n_in}x{n_out}.toml"
            path.write_text(SCENARIO.format(n_in=n_in, n_out=n_out, duration=duration))
            times = {c: [] for c in CONFIGS}
            for c, o in CONFIGS.items():  # builds (cached for the timed rounds)
                loop_time(path, tmp / "runs", o)
            for r in range(args.rounds):
                order = list(CONFIGS) if r % 2 == 0 else list(CONFIGS)[::-1]
                for c in order:
                    times[c].append(loop_time(path, tmp / "runs", CONFIGS[c]))
            off = statistics.median(times["off"])
            row = {"synapses": n_in * n_out, "duration": duration, "loop_s": times,
                   "ratio_to_off": {c: statistics.median(t) / off for c, t in times.items()},
                   "load": os.getloadavg()}
            rows.append(row)
            print(f"{n_in * n_out:>9} synapses: " + ", ".join(f"{c} {v:.3f}x" for c, v in row["ratio_to_off"].items()),
                  flush=True)
    stem = f"{platform.node() or 'machine'}-{date.today().isoformat()}-guard"
    out = ROOT / "bench" / "results"
    (out / f"{stem}.json").write_text(json.dumps({"rows": rows, "rounds": args.rounds}, indent=1))
    lines = ["| synapses | loop, guard off (s) | connections every 10 ms / off | defaults / off |", "|---|---|---|---|"]
    for row in rows:
        r = row["ratio_to_off"]
        lines.append(f"| {row['synapses']:.0e} | {statistics.median(row['loop_s']['off']):.3f} | "
                     f"{r['connections every 10 ms']:.2f} | {r['defaults']:.2f} |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
