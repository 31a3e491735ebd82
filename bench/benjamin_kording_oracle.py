"""The NumPy oracle of ``adversarial_inference`` (tests/oracles/adversarial_ws.py) over seeds: the spread of
each measure and of each comparison, which fixes the claims of the adversarial-* scenarios **before** their
first Brian2 run.

Rule (written before any run of the scenarios): for each comparison ``d`` = adversarial minus a baseline of
the same run, signed so that d > 0 means the adversarial circuit does better, over seeds 1-5:

- mean(d) - 3 SD(d) > 0: the scenario claims d > 0 (threshold: the baseline measured in the same run);
- otherwise the comparison is not separated here: reported with its numbers, not claimed.

Comparisons: separability of z vs untrained (``frozen``) and vs classic wake-sleep; Fréchet distance vs the
ungated network and vs classic wake-sleep; surprise vs the frozen circuit (whose discriminator learns wake vs
sleep too: the control the issue asks for).

    python bench/benjamin_kording_oracle.py [--seeds 1 2 3 4 5] [--data digits mnist moving_digits]

Writes bench/results/benjamin-kording-oracle.json.
"""

import argparse
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "oracles"))

import adversarial_ws as O  # noqa: E402

from spikelearn.tasks.benjamin_kording import data as Dt  # noqa: E402
from spikelearn.tasks.benjamin_kording import inference as inf  # noqa: E402

RULES = {"sigma_wake": 0.1, "sigma_sleep": 0.1, "sigma_x": 0.05, "eta_A": 0.05, "eta_G": 0.01, "eta_C": 0.01,
         "eta_D": 0.01, "lam_D": 0.01}
#: the scenarios' settings (scenarios/adversarial_*.toml)
SETTINGS = {
    "digits": {"n_h": 32, "n_z": 10, "epochs": 20, "frames": 1},
    "mnist": {"n_h": 64, "n_z": 16, "epochs": 10, "frames": 1},
    "moving_digits": {"n_h": 32, "n_z": 10, "epochs": 5, "frames": 6},
}
COMMON = {"novel": (8, 9), "test_fraction": 0.25, "n_novel": 200, "width": 14, "data_seed": 0, "n_feat": 64,
          "n_pc": 16}
#: the oracle's method of each circuit of the task
METHOD = {"adv": "adversarial", "cws": "classic", "ung": "ungated", "frz": "frozen"}
#: (claim, measure, oracle method of the baseline, sign): d = sign*(adversarial - baseline), the task's claims
COMPARISONS = tuple((name, measure, METHOD[base], sign) for name, (measure, base, sign, _) in inf.COMPARISONS.items())

def one(dataset, seed):
    s = SETTINGS[dataset]
    rng = np.random.default_rng(seed)
    proto = Dt.protocol(dataset, s["epochs"], COMMON["novel"], COMMON["test_fraction"], COMMON["n_novel"],
                        s["frames"], COMMON["width"], COMMON["data_seed"], rng)
    stream = proto["table"][proto["index"]]
    w0 = O.init_weights(rng, stream.shape[1], s["n_h"], s["n_z"], COMMON["n_feat"], s["frames"] > 1)
    out = {}
    n0 = proto["n_train"]
    for m in O.METHODS:
        _, rec = O.run(w0, stream, proto["starts"], RULES, m, np.random.default_rng(1000 + seed), proto["plastic"])
        out[m] = Dt.score(rec["h"][n0:], rec["z"][n0:], rec["D_wake"][n0:], rec["D_sleep"][n0:],
                          rec["x_sleep"][n0:], proto, COMMON["n_pc"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--data", nargs="+", default=list(SETTINGS))
    args = ap.parse_args(argv)
    path = ROOT / "bench" / "results" / "benjamin-kording-oracle.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for ds in args.data:
        t0 = time.time()
        runs = {seed: one(ds, seed) for seed in args.seeds}
        summary = {}
        for m in O.METHODS:
            for k in runs[args.seeds[0]][m]:
                v = np.array([runs[s][m][k] for s in args.seeds])
                summary[f"{m}.{k}"] = [float(v.mean()), float(v.std(ddof=1))]
        claims = {}
        for name, key, base, sign in COMPARISONS:
            d = np.array([sign * (runs[s]["adversarial"][key] - runs[s][base][key]) for s in args.seeds])
            mean, sd = float(d.mean()), float(d.std(ddof=1))
            claims[name] = {"d": [float(x) for x in d], "mean": mean, "sd": sd, "claimed": bool(mean - 3 * sd > 0)}
        results[ds] = {"settings": {**SETTINGS[ds], **COMMON, **RULES}, "seeds": args.seeds, "summary": summary,
                       "comparisons": claims, "seconds": round(time.time() - t0, 1)}
        print(ds, json.dumps(claims, indent=1))
    path.write_text(json.dumps(results, indent=1, default=list) + "\n")


if __name__ == "__main__":
    main()
