"""The thresholds of ``dynamic-inversion-regression-spiking`` from the NumPy oracle of its event process
(``tests/oracles/dynamic_inversion_events.py``): the authors' problems 1-3 (their draws for 1000 iterations)
under event streams 1 and 2, 1000 examples each (~20 min per stream on one core), and the closed form's
error on the same draws (``tests/oracles/dynamic_inversion_nets.py``, ``ndi``, ``tanh'`` once). Threshold
of each claim: the largest of the 6 replicates + 5 x their standard deviation, rounded up (0.5 deg, 0.01).
Writes ``bench/results/podlaski2020-spiking-oracle.json``.

    python bench/podlaski2020_spiking_oracle.py
"""

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "oracles"))
import dynamic_inversion_events as events  # noqa: E402
import dynamic_inversion_nets as nets  # noqa: E402

SEEDS, STREAMS, N = [1, 2, 3], [1, 2], 1000


def main():
    closed = {s: float(nets.run("ndi", seed=s, n=N, alpha=0.01, deriv_power=1, draws="authors")["error_final"])
              for s in SEEDS}
    runs = []
    for stream in STREAMS:
        t = time.time()
        r = events.run(SEEDS, stream, N)
        runs.append({"seeds": SEEDS, "event_seed": stream, "n": N, "seconds": time.time() - t,
                     "angle_bp_mean": np.nanmean(r["angle_bp"][:, 1:], axis=1).tolist(),
                     "angle_cf_mean": np.nanmean(r["angle_cf"][:, 1:], axis=1).tolist(),
                     "angle_bp_sd": np.nanstd(r["angle_bp"][:, 1:], axis=1).tolist(),
                     "angle_cf_sd": np.nanstd(r["angle_cf"][:, 1:], axis=1).tolist(),
                     "error": r["error"].tolist()})
    stats = {"max_angle_bp": [max(a) for run in runs for a in run["angle_bp_mean"]],
             "max_angle_closed_form": [max(a) for run in runs for a in run["angle_cf_mean"]],
             "max_error_difference": [abs(e - closed[s]) / closed[s] for run in runs
                                      for s, e in zip(run["seeds"], run["error"])]}
    thresholds = {"rule": "largest replicate + 5 x standard deviation of the 6 replicates, rounded up (0.5 deg, 0.01)"}
    for key, v in stats.items():
        raw = max(v) + 5 * float(np.std(v, ddof=1))
        step = 0.01 if key == "max_error_difference" else 0.5
        thresholds[key] = round(math.ceil(raw / step) * step, 2)
        print(f"{key}: replicates {np.round(v, 4).tolist()} -> {thresholds[key]}")
    out = {"what": "NumPy oracle of dynamic inversion with signed Poisson events on the authors' regression "
                   "(tests/oracles/dynamic_inversion_events.py, its defaults); closed-form errors: the oracle's ndi, "
                   "tanh' once, same draws",
           "closed_form_error": {str(s): e for s, e in closed.items()}, "runs": runs, "thresholds": thresholds}
    (ROOT / "bench" / "results" / "podlaski2020-spiking-oracle.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
