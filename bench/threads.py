"""OpenMP threads on cpp: one thread against two (or ``--threads``), with the OpenMP wait policy active
(threads spin at barriers, OpenMP's default here) and passive (they sleep), on an idle machine and with
another process keeping one core busy. Each measurement is its own ``bench/worker.py`` process running
``spikelearn run`` (the simulation loop's time, Brian2's own measure); the configurations of one network
run interleaved, rotating which goes first, ``--repeats`` times.

    .venv/bin/python bench/threads.py                      # song 10^4-10^6 synapses + COBA-STDP, idle and loaded
    .venv/bin/python bench/threads.py --quick              # short simulations, 1 repeat

Writes ``bench/results/<machine>-<date>-threads.json`` and ``.md``. The threads of every run are set
explicitly (``device_options.threads``): this measures what the automatic choice is based on.
"""

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import COBA, ROOT, load, machine, measure  # noqa: E402

NETWORKS = {  # name -> (spec without device/threads, simulated seconds, synapses)
    "song 10^4": ({"scenario": "song-stdp", "set": ["populations.out.size=10"]}, 4.0, 1e4),
    "song 10^5": ({"scenario": "song-stdp", "set": ["populations.out.size=100"]}, 2.0, 1e5),
    "song 10^6": ({"scenario": "song-stdp", "set": ["populations.out.size=1000"]}, 0.5, 1e6),
    "coba-stdp": (dict(COBA), 1.0, 3.2e5),
}
DEFAULT_NETWORKS = list(NETWORKS)


def _busy(stop):
    while not stop.is_set():
        pass


def run(cfg, log):
    rows = []
    configs = [("1 thread", 0, "")]
    for n in cfg.threads:
        configs += [(f"{n} threads, OpenMP's default", n, ""), (f"{n} threads, active", n, "ACTIVE"),
                    (f"{n} threads, passive", n, "PASSIVE")]
    for loaded in (False, True):
        stop, hog = multiprocessing.Event(), None
        if loaded:  # another process on one core, as when a second job shares the machine
            hog = multiprocessing.Process(target=_busy, args=(stop,), daemon=True)
            hog.start()
        try:
            for net in cfg.networks:
                base, duration, synapses = NETWORKS[net]
                duration *= cfg.duration_scale
                log(f"{net}, {duration:g} s simulated, {'one core busy' if loaded else 'idle'} (load {load()})")
                results = {name: [] for name, _, _ in configs}
                for r in range(cfg.repeats):
                    order = configs[r % len(configs):] + configs[:r % len(configs)]
                    for name, threads, policy in order:
                        spec = {**base, "impl": "spikelearn", "device": "cpp", "duration": duration,
                                "seed": 1, "cache": cfg.cache, "target": "cython"}
                        spec["set"] = [*base.get("set", []), f"device_options.threads={threads}"]
                        # "": libgomp's default (spin a while, then sleep); set, spikelearn keeps it
                        res = measure(spec, cfg.timeout, env={**os.environ, "OMP_WAIT_POLICY": policy})
                        results[name].append(res)
                        log(f"    {name} #{r + 1}: " + (res.get("error") or f"loop {res['run_s']:.3f} s"))
                base_loop = statistics.median([x["run_s"] for x in results["1 thread"] if "error" not in x] or [0])
                for name, threads, policy in configs:
                    loops = [x["run_s"] for x in results[name] if "error" not in x]
                    loop = statistics.median(loops) if loops else None
                    rows.append({"network": net, "synapses": synapses, "duration": duration,
                                 "loaded": loaded, "config": name, "threads": threads, "wait_policy": policy,
                                 "loop_s": loop, "loops": loops,
                                 "vs_one_thread": loop / base_loop if loop and base_loop else None,
                                 "errors": [x["error"] for x in results[name] if "error" in x]})
        finally:
            stop.set()
            if hog is not None:
                hog.join()
    return rows


def markdown(result):
    lines = [f"Machine `{result['machine']['node']}`: {result['machine']['cpu']}, {result['machine']['cores']} cores; "
             f"{result['repeats']} repeats, medians of the simulation loop; load {result['load_start']} at start, "
             f"{result['load_end']} at the end.", "",
             "| network | synapses | sim s | other core | configuration | loop s | × one thread |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["rows"]:
        loop = f"{r['loop_s']:.3f}" if r["loop_s"] else "error"
        ratio = f"**{r['vs_one_thread']:.2f}**" if r["vs_one_thread"] else ""
        lines.append(f"| {r['network']} | {r['synapses']:.0e} | {r['duration']:g} | "
                     f"{'busy' if r['loaded'] else 'idle'} | {r['config']} | {loop} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1/10 of the durations, 1 repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="+", default=[2], help="thread counts against one thread")
    parser.add_argument("--networks", nargs="+", default=DEFAULT_NETWORKS, choices=list(NETWORKS),
                        help="networks to measure (default: %(default)s)")
    parser.add_argument("--duration-scale", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--cache", default=str(Path.home() / ".cache" / "spikelearn-bench"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    cfg = parser.parse_args(argv)
    if cfg.quick:
        cfg.repeats, cfg.duration_scale = 1, cfg.duration_scale / 10
    started = time.time()

    def log(msg):
        print(f"[{time.time() - started:7.1f} s] {msg}", flush=True)

    info = machine()
    result = {"machine": info, "date": date.today().isoformat(), "repeats": cfg.repeats, "load_start": load()}
    result["rows"] = run(cfg, log)
    result["load_end"] = load()
    tag = "" if cfg.networks == DEFAULT_NETWORKS else "-" + "-".join(n.replace(" 10^", "1e") for n in cfg.networks)
    stem = Path(cfg.out) / f"{info['node']}-{result['date']}-threads{tag}{'-quick' if cfg.quick else ''}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
