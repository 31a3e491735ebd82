"""NumPy reference for ``stdp-window-dvdt`` (ΔW ∝ S_pre · dV_post/dt, Bengio et al. 2015): the thresholds
of its claims, fixed from the seed spread of an independent simulation before any Brian2 run.

The simulation is ``tests/oracles/dvdt_window.py`` (no spikelearn import), with the scenario's settings:
a population at tau_m = 10 ms (current step 6.36 for 5 ms) and one at 2 tau_m = 20 ms (step 11.30, so
that the noise-free peak of V is the same, 2.5), 2000 trials each; seeds 1..10 (the slow population
100+seed). Rules:

- ``window_signs``: the Δt ranges tested are those where every seed's |z| is far above the margin; the
  margin itself is 5 SE (as stdp-window-ou), about half of the oracle's worst bin.
- ``width_follows_tau_m`` and ``matches_oracle``: each statistic must lie in
  [min over seeds - 3 SD, max over seeds + 3 SD] (SD over the 10 seeds), rounded outwards to 0.01
  (ratios) or 0.1 ms (widths).
- the bin-by-bin test (tests/test_stdp_dvdt.py, 500 trials): normalised RMS difference between a window
  and the mean of the other seeds' windows, largest over 5 seeds, times 1.25.
- the control (ΔW = eta*V, S_pre·V_post): its window, to show it fails ``window_signs``.

    python bench/bengio2017_dvdt_reference.py [--seeds 10] [--out bench/results/bengio2017-dvdt-reference.json]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "oracles"))
import dvdt_window as oracle  # noqa: E402

SLOW = {"tau_m": 20e-3, "amplitude": 11.30}
PLUS_RANGE, MINUS_RANGE, MARGIN = 10e-3, 30e-3, 5.0


def band(values, k=3.0, q=0.01):
    v = np.asarray(values, dtype=float)
    sd = v.std(ddof=1)
    lo, hi = v.min() - k * sd, v.max() + k * sd
    return [round(float(np.floor(lo / q) * q), 4), round(float(np.ceil(hi / q) * q), 4)], float(sd)


def nrms(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.max(np.abs(b)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", default="bench/results/bengio2017-dvdt-reference.json")
    args = ap.parse_args()
    t0 = time.time()
    seeds = list(range(1, args.seeds + 1))
    fast = [oracle.summary(s) for s in seeds]
    slow = [oracle.summary(100 + s, SLOW) for s in seeds]
    c = fast[0]["centers"]
    sel_p = (c > 0) & (c <= PLUS_RANGE + 1e-9)
    sel_m = (c < 0) & (c >= -MINUS_RANGE - 1e-9)
    z_p = [float(np.min(f["mean"][sel_p] / f["sem"][sel_p])) for f in fast]
    z_m = [float(np.max(f["mean"][sel_m] / f["sem"][sel_m])) for f in fast]
    ratio = [s["width_minus"] / f["width_minus"] for f, s in zip(fast, slow)]
    out = {"settings": oracle.SETTINGS, "slow": SLOW, "seeds": seeds,
           "per_seed": [{"seed": s, "width_plus_ms": f["width_plus"] * 1e3, "width_minus_ms": f["width_minus"] * 1e3,
                         "area_ratio": f["area_ratio"], "spikes_per_trial": f["spikes_per_trial"],
                         "slow_width_plus_ms": g["width_plus"] * 1e3, "slow_width_minus_ms": g["width_minus"] * 1e3,
                         "slow_area_ratio": g["area_ratio"], "slow_spikes_per_trial": g["spikes_per_trial"],
                         "width_minus_ratio": r, "min_z_plus": zp, "max_z_minus": zm}
                        for s, f, g, r, zp, zm in zip(seeds, fast, slow, ratio, z_p, z_m)]}
    th = {"plus_range_ms": PLUS_RANGE * 1e3, "minus_range_ms": MINUS_RANGE * 1e3, "margin_se": MARGIN,
          "oracle_worst_z_plus": min(z_p), "oracle_worst_z_minus": max(z_m)}
    th["width_ratio"], th["width_ratio_sd"] = band(ratio)
    for key, vals, q in [("width_plus_ms", [f["width_plus"] * 1e3 for f in fast], 0.1),
                         ("width_minus_ms", [f["width_minus"] * 1e3 for f in fast], 0.1),
                         ("area_ratio", [f["area_ratio"] for f in fast], 0.01),
                         ("slow_width_plus_ms", [g["width_plus"] * 1e3 for g in slow], 0.1),
                         ("slow_width_minus_ms", [g["width_minus"] * 1e3 for g in slow], 0.1),
                         ("slow_area_ratio", [g["area_ratio"] for g in slow], 0.01)]:
        th[key], th[key + "_sd"] = band(vals, q=q)
    out["mean_window"] = {"centers_ms": (c * 1e3).tolist(), "fast": np.mean([f["mean"] for f in fast], 0).tolist(),
                          "fast_sd": np.std([f["mean"] for f in fast], 0, ddof=1).tolist(),
                          "slow": np.mean([g["mean"] for g in slow], 0).tolist(),
                          "slow_sd": np.std([g["mean"] for g in slow], 0, ddof=1).tolist()}
    # the bin-by-bin test's tolerance, at the test's 500 trials
    small = {"n_trials": 500}
    wins = [oracle.summary(s, small)["mean"] for s in range(1, 6)]
    loo = [nrms(w, np.mean([v for k, v in enumerate(wins) if k != i], 0)) for i, w in enumerate(wins)]
    th["nrms_500_trials_loo"] = loo
    th["nrms_500_trials"] = float(np.ceil(max(loo) * 1.25 * 1000) / 1000)
    ctrl = oracle.summary(1, read="V")
    out["control_V"] = {"mean": ctrl["mean"].tolist(), "sem": ctrl["sem"].tolist(),
                        "min_z_plus": float(np.min(ctrl["mean"][sel_p] / ctrl["sem"][sel_p])),
                        "max_z_minus": float(np.max(ctrl["mean"][sel_m] / ctrl["sem"][sel_m]))}
    out["thresholds"] = th
    out["seconds"] = time.time() - t0
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(th, indent=1))
    print("control:", out["control_V"]["min_z_plus"], out["control_V"]["max_z_minus"])


if __name__ == "__main__":
    main()
