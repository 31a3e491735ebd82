"""NumPy references for the equilibrium-propagation network on MNIST (``nudged-train-mnist``,
``nudged-gradient-mnist``): the thresholds of their claims, computed before the Brian2 runs.

For seeds 1..``--seeds`` (each its own initial weights and presentation order), with the scenario's
settings: backprop (:func:`~spikelearn.tasks.bengio2017.networks.mlp_train`), the Euler-discretised
EP dynamics and rule (:func:`~spikelearn.tasks.bengio2017.networks.ep_train`) with symmetric feedback,
and the same without feedback (the control: only the output layer learns). Then, at seed 1's initial
weights, the cosine of the NumPy rule's input→hidden update with the exact gradient for 50 samples.

    python bench/bengio2017_mnist_reference.py [--seeds 5] [--out bench/results/bengio2017-mnist-reference.json]

``--lr-scan`` instead runs backprop and EP at learning rates 0.02, 0.05 and 0.1 (784-200-10, 10 epochs,
seed 1): the measurement behind the scenario's learning rate
(-> bench/results/bengio2017-mnist-lr-scan.json).
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np

from spikelearn.tasks.bengio2017 import networks as ref

SETTINGS = {"n_hidden": 500, "learning_rate": 0.02, "beta": 0.2, "tau": 5e-3, "dt": 1e-3, "n_free": 100,
            "n_nudged": 10, "epochs": 4, "n_train_per_class": 400, "data_seed": 0}


def one_seed(seed, s, data, feedbacks=("symmetric", "none")):
    Xtr, ytr, Xte, yte = data
    rng = np.random.default_rng(seed)
    order = np.array([rng.permutation(len(ytr)) for _ in range(s["epochs"])])
    W = ref.init_weights(rng, Xtr.shape[1], s["n_hidden"], 10)
    ep_kw = {k: s[k] for k in ("beta", "tau", "dt", "n_free", "n_nudged", "epochs")}
    out = {"seed": seed}
    out["backprop"] = ref.mlp_train(Xtr, ytr, Xte, yte, *W, s["learning_rate"], s["epochs"], order)["test_accuracy"]
    for fb in feedbacks:
        r = ref.ep_train(Xtr, ytr, Xte, yte, *W, lr=s["learning_rate"], feedback=fb, order=order, **ep_kw)
        out[f"ep_{fb}"] = r["test_accuracy"]
        out[f"ep_{fb}_train_online"] = r["train_accuracy"]
    return out


def cosines(s, data, n=50, seed=1, lr=0.002):
    """Cosine of the NumPy rule's one-sample ΔW1 with the exact gradient, ``n`` samples at the initial
    weights of ``seed`` (the gradient scenario's small learning rate)."""
    Xtr, ytr, Xte, yte = data
    rng = np.random.default_rng(seed)
    W1, b1, W2, b2 = ref.init_weights(rng, Xtr.shape[1], s["n_hidden"], 10)
    cos = []
    for k in rng.permutation(len(ytr))[:n]:
        r = ref.ep_train(Xtr[k:k + 1], ytr[k:k + 1], Xte[:1], yte[:1], W1, b1, W2, b2, lr=lr, beta=s["beta"],
                         tau=s["tau"], dt=s["dt"], n_free=s["n_free"], n_nudged=s["n_nudged"], epochs=1,
                         order=np.zeros((1, 1), dtype=int))
        g = ref.exact_gradient(Xtr[k], np.eye(10)[ytr[k]], W1, b1, W2, b2, W2)
        cos.append(ref.cosine(r["W1"] - W1, -g["W1"]))
    return cos


def lr_scan(data, out):
    s = dict(SETTINGS, n_hidden=200, epochs=10)
    rows = []
    for lr in (0.02, 0.05, 0.1):
        r = one_seed(1, dict(s, learning_rate=lr), data, feedbacks=("symmetric",))
        rows.append({"learning_rate": lr, "backprop": r["backprop"], "ep_symmetric": r["ep_symmetric"]})
        print(lr, "backprop", r["backprop"], "EP", r["ep_symmetric"], flush=True)
    Path(out).write_text(json.dumps({"settings": s, "seed": 1, "test_accuracy_per_epoch": rows}, indent=1) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", default="bench/results/bengio2017-mnist-reference.json")
    ap.add_argument("--lr-scan", action="store_true")
    args = ap.parse_args()
    s = dict(SETTINGS)
    data = ref.load_mnist_split(s["n_train_per_class"], s["data_seed"])
    if args.lr_scan:
        return lr_scan(data, "bench/results/bengio2017-mnist-lr-scan.json")
    t0 = time.time()
    runs = [one_seed(seed, s, data) for seed in range(1, args.seeds + 1)]
    final = {k: np.array([r[k][-1] for r in runs]) for k in ("backprop", "ep_symmetric", "ep_none")}
    gap = final["backprop"] - final["ep_symmetric"]
    cos = cosines(s, data)
    summary = {
        "final_test_accuracy": {k: v.tolist() for k, v in final.items()},
        "gap_backprop_minus_ep": gap.tolist(),
        "gap_mean": float(gap.mean()), "gap_sd": float(gap.std(ddof=1)),
        "ep_sd": float(final["ep_symmetric"].std(ddof=1)),
        "gap_backprop_minus_no_feedback": (final["backprop"] - final["ep_none"]).tolist(),
        "cosines_seed1": cos, "cosine_mean": float(np.mean(cos)), "cosine_min": float(np.min(cos)),
    }
    # the rules that turn the references into thresholds (fixed here, before any Brian2 run)
    summary["thresholds"] = {
        "max_accuracy_gap": float(np.ceil((np.abs(gap).max() + 2 * summary["gap_sd"]) * 200) / 200),
        "max_ep_reference_gap": float(max(0.005, np.ceil(3 * summary["ep_sd"] * 200) / 200)),
        "min_cosine": float(np.floor(summary["cosine_min"] * 100) / 100),
        "rules": {
            "max_accuracy_gap": "largest |backprop - EP| over the seeds + 2 SD of the gap, rounded up to 0.5 points",
            "max_ep_reference_gap": "3 SD of the NumPy EP's final test accuracy over the seeds, rounded up to 0.5 "
                                    "points, at least 0.5 points",
            "min_cosine": "smallest per-sample cosine of the NumPy rule's update, rounded down to 0.01",
        },
    }
    out = {"settings": s, "seconds": round(time.time() - t0, 1), "runs": runs, "summary": summary}
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
