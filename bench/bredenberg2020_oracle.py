"""Thresholds of the reward-coding claims (Bredenberg, Simoncelli & Savin 2020), from the authors' algorithm.

    .venv/bin/python bench/bredenberg2020_oracle.py            # ~20 min on one core

The oracle is ``tests/oracles/bredenberg_protocol.py``: the authors' training loop, vectorised over seeds,
checked number for number against their own ``train_run`` (``bench/bredenberg2020_oracle_check.py``; commit
c3f6cc4). It runs the shortened protocol of ``reward-estimation-k10`` and ``reward-discrimination-k10`` (26
trials of 1000 time units at 10x every learning rate, the drifting stimulus, no baseline; the 12 x 3 x 200
test before and after) for seeds 1-5, the learning run and both controls (plasticity off: W, W_in, b frozen,
the readout learns; shuffled: the third factor is the reward against an independent angle stream), and scores
them with the task's own functions (:mod:`spikelearn.tasks.bredenberg2020.coding`, ``thin`` = 5).

Rules, written before any run:

- ``error_drop`` (estimation) and ``accuracy_gain`` (discrimination): mean - 3 SD of the learning run over
  the seeds, rounded down to 0.01.
- ``allocation`` and ``allocation_readout``: ``lo`` = mean - 3 SD of the learning run, ``hi`` = the largest
  mean + 3 SD of the two controls. If ``lo > hi`` the threshold is their midpoint rounded to 0.01 and the
  claim separates learning from both controls; otherwise the threshold is ``hi`` rounded up to 0.01 and the
  oracle predicts the claim NOT to be reproducible at this length (reported as such).

Writes ``bench/results/bredenberg2020-oracle.json`` (per seed, every metric; the thresholds).
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "oracles"))

import bredenberg_protocol as bp  # noqa: E402

from spikelearn.tasks.bredenberg2020 import coding as ref  # noqa: E402

SEEDS = [1, 2, 3, 4, 5]
N_TRIALS, RATE_SCALE, THIN, KAPPA = 26, 10.0, 5, 0.75
CONTROLS = {"none": {}, "off": {"plastic": False}, "shuffled": {"shuffle_reward": True}}


def session_metrics(task, rates, readout, angles):
    """The task's metrics of one test session for one network."""
    spacing = 2 * np.pi / len(angles)
    out = {"fisher": ref.linear_fisher(rates, spacing, THIN), "fisher_readout": ref.linear_fisher(readout, spacing, THIN)}
    if task == "estimation":
        out["allocation"] = ref.region_ratio(out["fisher"], angles, 0.0, np.pi)
        out["allocation_readout"] = ref.region_ratio(out["fisher_readout"], angles, 0.0, np.pi)
        out["readout_error"] = ref.prior_weighted(ref.readout_errors(readout, angles), angles, KAPPA)
    else:
        out["allocation"] = ref.region_ratio(out["fisher"], angles, (0.0, np.pi), (np.pi / 2, -np.pi / 2))
        out["allocation_readout"] = ref.region_ratio(out["fisher_readout"], angles, (0.0, np.pi),
                                                     (np.pi / 2, -np.pi / 2))
        out["readout_accuracy"] = ref.readout_accuracy(readout, angles, KAPPA)
    return out


def run(task, control):
    angles = ref.test_angles(12)
    t0 = time.time()
    w0 = bp.init_weights(task, SEEDS)
    weights, curve = bp.train(task, [np.random.default_rng([s, 1]) for s in SEEDS], N_TRIALS, rate_scale=RATE_SCALE,
                              init=w0, **CONTROLS[control])
    res = []
    for tag, w in (("before", w0), ("after", weights)):
        rates, readout = bp.test(w, angles, seed=7, task=task)
        res.append([session_metrics(task, rates[b], readout[b], angles) for b in range(len(SEEDS))])
    per_seed = []
    for b, seed in enumerate(SEEDS):
        before, after = res[0][b], res[1][b]
        m = {"seed": seed, "curve": curve[b].tolist()}
        for tag, s in (("before", before), ("after", after)):
            for k, v in s.items():
                m[f"{k}_{tag}"] = np.asarray(v).tolist()
        if task == "estimation":
            m["error_drop"] = 1 - after["readout_error"] / before["readout_error"]
        else:
            m["accuracy_gain"] = after["readout_accuracy"] - before["readout_accuracy"]
        m["allocation"], m["allocation_readout"] = after["allocation"], after["allocation_readout"]
        per_seed.append(m)
    print(f"{task} {control}: {time.time() - t0:.0f} s", flush=True)
    return per_seed


def stats(values):
    v = np.asarray(values, dtype=float)
    return float(np.mean(v)), float(np.std(v, ddof=1))


def thresholds(task, runs):
    out = {}
    first = "error_drop" if task == "estimation" else "accuracy_gain"
    mean, sd = stats([m[first] for m in runs["none"]])
    out[first] = {"mean": mean, "sd": sd, "threshold": math.floor((mean - 3 * sd) * 100) / 100}
    for claim in ("allocation", "allocation_readout"):
        mean, sd = stats([m[claim] for m in runs["none"]])
        lo = mean - 3 * sd
        hi = max(stats([m[claim] for m in runs[c]])[0] + 3 * stats([m[claim] for m in runs[c]])[1]
                 for c in ("off", "shuffled"))
        separated = lo > hi
        thr = round((lo + hi) / 2, 2) if separated else math.ceil(hi * 100) / 100
        out[claim] = {"mean": mean, "sd": sd, "lo": lo, "controls_hi": hi, "separated": separated, "threshold": thr,
                      "controls": {c: dict(zip(("mean", "sd"), stats([m[claim] for m in runs[c]])))
                                   for c in ("off", "shuffled")}}
    return out


def main():
    result = {"seeds": SEEDS, "n_trials": N_TRIALS, "rate_scale": RATE_SCALE, "thin": THIN, "tasks": {}}
    partial = ROOT / "bench" / "results" / "bredenberg2020-oracle-partial.json"
    done = json.loads(partial.read_text()) if partial.exists() else {}
    for task in ("estimation", "classification"):
        runs = {}
        for c in CONTROLS:  # each run kept as it finishes (a rerun continues)
            key = f"{task}/{c}"
            if key not in done:
                done[key] = run(task, c)
                partial.write_text(json.dumps(done))
            runs[c] = done[key]
        result["tasks"][task] = {"runs": runs, "thresholds": thresholds(task, runs)}
        print(json.dumps(result["tasks"][task]["thresholds"], indent=1), flush=True)
    path = ROOT / "bench" / "results" / "bredenberg2020-oracle.json"
    path.write_text(json.dumps(result, indent=1))
    partial.unlink()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
