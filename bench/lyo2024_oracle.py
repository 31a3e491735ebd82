"""NumPy oracle of the learned-prior scenarios (Lyo & Savin 2024): the thresholds of
``dendritic-swissroll-posterior`` and ``dendritic-digits``, fixed from it before the Brian2 runs.

    .venv/bin/python bench/lyo2024_oracle.py            # 5 seeds each, ~5 min on 2 cores

The oracle is :func:`spikelearn.tasks.lyo2024.learned.sample_tree`: the same trees (the packaged seed-0
weights), schedule, time step, chain counts, cycle counts and gate sequence as the scenarios, simulated in
NumPy with seeds 1-5, scored by the tasks' own metric functions. The rules, written before any run:

- swiss-roll posterior: ``sw_max`` = the largest (mean + 3 SD over seeds) of the sliced Wasserstein distance
  over the four gate patterns and both periods, rounded up to 0.01; ``mean_tolerance`` the same for the
  mean error; ``lag1_max`` the same for |lag-1 residual correlation| (at least 0.05); ``rate_ratio_min`` =
  mean - 3 SD of the fast/main ratio of independent samples per second, rounded down to 0.1.
- digits: ``frechet_max`` = mean + 3 SD of the deep tree's Fréchet distance rounded up to 0.1;
  ``confidence_min`` = mean - 3 SD rounded down to 0.01; ``same_class_tolerance`` = mean + 3 SD of
  P(same class next cycle) - its independent value, rounded up to 0.01 (at least 0.02);
  ``class_fraction_min`` = 0.05 (half the uniform share), fixed a priori.

The additive population (the authors' estimator on the unconditional tree) is simulated and reported. The
controls (wrong sign, gate ignored, single-layer tree, constant-noise Langevin) are simulated too, so
the record says whether the oracle predicts them to fail. Writes ``bench/results/lyo2024-oracle.json``.
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spikelearn.tasks.lyo2024 import learned  # noqa: E402
from spikelearn.tasks.lyo2024 import mixtures as ref  # noqa: E402
from spikelearn.tasks.lyo2024.learned_tasks import (digit_classifier, digit_metrics,  # noqa: E402
                                                    lag1_residual_correlation)
from spikelearn.tasks.lyo2024.task import gate_sequence, pattern_samples  # noqa: E402

SEEDS = [1, 2, 3, 4, 5]
# the scenarios' settings (scenarios/dendritic_swissroll_posterior.toml, scenarios/dendritic_digits.toml)
ROLL = {"dt": 0.25e-3, "duration": 2.1, "y": 0.5, "c": 1.0, "discard": 1, "reference_seed": 12345,
        "pops": {"main": (300, 0.1, 1.0), "fast": (300, 0.05, 1.0), "wrong_sign": (150, 0.1, -1.0),
                 "additive": (150, 0.1, 1.0)}}
DIGITS = {"dt": 0.5e-3, "duration": 1.1, "discard": 1, "chains": 200, "period": 0.1, "langevin_u": 0.05,
          "langevin_rate": 10.0}


def up(v, step):
    return round(math.ceil(v / step - 1e-9) * step, 6)


def down(v, step):
    return round(math.floor(v / step + 1e-9) * step, 6)


def stats(values):
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)), "values": a.tolist()}


def swissroll():
    params = learned.load_tree("swissroll-gated", "deep", 0)
    unconditional = learned.load_tree("swissroll", "deep", 0)
    refs = {q: learned.reference_posterior(20000, ROLL["reference_seed"] + k, q[0], ROLL["y"], q[1], ROLL["c"])[0]
            for k, q in enumerate(ref.gate_patterns())}
    rows = {}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for role, (n, period, sign) in ROLL["pops"].items():
            n_cycles = int(round(ROLL["duration"] / period))
            gates = gate_sequence(n_cycles)
            cond = lambda k: learned.gated_inputs(gates[k, 0], sign * ROLL["y"], gates[k, 1], sign * ROLL["c"])  # noqa: E731
            t0 = time.time()
            if role == "additive":  # the authors' estimator: the unconditional tree + likelihood gradients
                lik = lambda x, k: learned.likelihood_gradient(x, gates[k, 0], ROLL["y"], gates[k, 1], ROLL["c"])  # noqa: E731
                troughs = learned.sample_tree(unconditional, n, n_cycles, period, ROLL["dt"], rng, likelihood_score=lik)
            else:
                troughs = learned.sample_tree(params, n, n_cycles, period, ROLL["dt"], rng, cond=cond)
            samples = pattern_samples(troughs, ROLL["discard"])
            for q, x in samples.items():
                flat = x.reshape(-1, 2)
                rows.setdefault(f"{role}_gs{q[0]}_gc{q[1]}_sliced_wasserstein", []).append(
                    ref.sliced_wasserstein(flat, refs[q]))
                rows.setdefault(f"{role}_gs{q[0]}_gc{q[1]}_mean_error", []).append(
                    float(np.linalg.norm(flat.mean(axis=0) - refs[q].mean(axis=0))))
                if role == "main" and q != (0, 0):
                    prior = samples[(0, 0)].reshape(-1, 2)
                    rows.setdefault(f"gate_ignored_gs{q[0]}_gc{q[1]}_sliced_wasserstein", []).append(
                        ref.sliced_wasserstein(prior, refs[q]))
                    rows.setdefault(f"gate_ignored_gs{q[0]}_gc{q[1]}_mean_error", []).append(
                        float(np.linalg.norm(prior.mean(axis=0) - refs[q].mean(axis=0))))
            r1 = lag1_residual_correlation(troughs, ROLL["discard"])
            rows.setdefault(f"{role}_lag1_residual_correlation", []).append(r1)
            rows.setdefault(f"{role}_rate", []).append((1 - r1) / (1 + r1) / period)
            print(f"swissroll seed {seed} {role}: {time.time() - t0:.1f} s", flush=True)
    rows["rate_ratio"] = [f / m for f, m in zip(rows["fast_rate"], rows["main_rate"])]
    for k, q in enumerate(ref.gate_patterns()):  # an independent draw of 1500 exact samples, scored the same way
        for rep in range(5):
            fresh = learned.reference_posterior(1500, ROLL["reference_seed"] + 100 + 10 * rep + k, q[0], ROLL["y"], q[1],
                                                ROLL["c"])[0]
            rows.setdefault(f"monte_carlo_gs{q[0]}_gc{q[1]}_sliced_wasserstein", []).append(
                ref.sliced_wasserstein(fresh, refs[q]))
    out = {k: stats(v) if len(v) > 1 else {"mean": v[0], "sd": 0.0, "values": v} for k, v in rows.items()}
    bound = lambda keys: max(out[k]["mean"] + 3 * out[k]["sd"] for k in keys)  # noqa: E731
    pats = [f"gs{q[0]}_gc{q[1]}" for q in ref.gate_patterns()]
    thresholds = {
        "sw_max": up(bound([f"{r}_{q}_sliced_wasserstein" for r in ("main", "fast") for q in pats]), 0.01),
        "mean_tolerance": up(bound([f"{r}_{q}_mean_error" for r in ("main", "fast") for q in pats]), 0.01),
        "lag1_max": max(0.05, up(max(abs(out[f"{r}_lag1_residual_correlation"]["mean"])
                                     + 3 * out[f"{r}_lag1_residual_correlation"]["sd"] for r in ("main", "fast")), 0.01)),
        "rate_ratio_min": down(out["rate_ratio"]["mean"] - 3 * out["rate_ratio"]["sd"], 0.1),
    }
    return out, thresholds


def digits():
    data = learned.digits_pca()
    clf = digit_classifier(data)
    trees = {t: learned.load_tree("digits", t, 0) for t in ("deep", "shallow")}
    n_cycles = int(round(DIGITS["duration"] / DIGITS["period"]))
    rows = {}
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for role, tree, schedule in (("deep", "deep", "oscillation"), ("shallow", "shallow", "oscillation"),
                                     ("langevin", "deep", "constant")):
            t0 = time.time()
            troughs = learned.sample_tree(trees[tree], DIGITS["chains"], n_cycles, DIGITS["period"], DIGITS["dt"], rng,
                                          schedule=schedule, langevin_u=DIGITS["langevin_u"],
                                          langevin_rate=DIGITS["langevin_rate"])
            x = troughs[DIGITS["discard"] + 1:]
            finite = np.all(np.isfinite(x), axis=(0, 2))
            m = digit_metrics(x[:, finite], data, clf)
            for k in ("frechet_distance", "sliced_wasserstein", "confidence", "min_class_fraction", "p_same_class",
                      "p_same_class_independent", "nearest_training_distance_ratio"):
                rows.setdefault(f"{role}_{k}", []).append(m[k])
            rows.setdefault(f"{role}_same_class_excess", []).append(m["p_same_class"] - m["p_same_class_independent"])
            rows.setdefault(f"{role}_non_finite_chains", []).append(int((~finite).sum()))
            print(f"digits seed {seed} {role}: {time.time() - t0:.1f} s", flush=True)
    held = digit_metrics(data["test"], data, clf)
    out = {k: stats(v) for k, v in rows.items()}
    out["held_out_confidence"] = held["confidence"]
    out["held_out_min_class_fraction"] = held["min_class_fraction"]
    out["train_vs_held_out_frechet_distance"] = learned.frechet_distance(data["train"], data["test"])
    d = lambda k: out[f"deep_{k}"]  # noqa: E731
    thresholds = {
        "frechet_max": up(d("frechet_distance")["mean"] + 3 * d("frechet_distance")["sd"], 0.1),
        "confidence_min": down(d("confidence")["mean"] - 3 * d("confidence")["sd"], 0.01),
        "same_class_tolerance": max(0.02, up(d("same_class_excess")["mean"] + 3 * d("same_class_excess")["sd"], 0.01)),
        "class_fraction_min": 0.05,
    }
    return out, thresholds


def predicted_controls(roll, roll_t, dig, dig_t):
    """Whether each control fails the thresholds in every oracle seed."""
    pats = [f"gs{q[0]}_gc{q[1]}" for q in ref.gate_patterns()[1:]]
    out = {}
    for ctrl in ("gate_ignored", "wrong_sign"):
        for q in pats:
            sw = np.array(roll[f"{ctrl}_{q}_sliced_wasserstein"]["values"])
            me = np.array(roll[f"{ctrl}_{q}_mean_error"]["values"])
            out[f"{ctrl}_{q}_fails_every_seed"] = bool(np.all((sw >= roll_t["sw_max"]) | (me >= roll_t["mean_tolerance"])))
    for ctrl in ("shallow", "langevin"):
        v = lambda k: np.array(dig[f"{ctrl}_{k}"]["values"])  # noqa: E731
        fails = ((v("frechet_distance") >= dig_t["frechet_max"]) | (v("confidence") < dig_t["confidence_min"])
                 | (v("min_class_fraction") < dig_t["class_fraction_min"])
                 | (v("same_class_excess") > dig_t["same_class_tolerance"]))
        out[f"{ctrl}_fails_every_seed"] = bool(np.all(fails))
    return out


def main():
    t0 = time.time()
    roll, roll_t = swissroll()
    dig, dig_t = digits()
    record = {"date": time.strftime("%Y-%m-%d"), "seeds": SEEDS, "swissroll_settings": {**ROLL, "pops": {
        k: {"chains": v[0], "period_s": v[1], "input_sign": v[2]} for k, v in ROLL["pops"].items()}},
              "digits_settings": DIGITS, "swissroll": roll, "swissroll_thresholds": roll_t, "digits": dig,
              "digits_thresholds": dig_t, "controls_predicted": predicted_controls(roll, roll_t, dig, dig_t),
              "wall_s": time.time() - t0}
    path = ROOT / "bench" / "results" / "lyo2024-oracle.json"
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({"swissroll": roll_t, "digits": dig_t, "controls": record["controls_predicted"]}, indent=1))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
