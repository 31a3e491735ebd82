"""The seed spread of the dynamic-inversion learning scenarios, from their committed records
(``docs/papers/records/dynamic-inversion-{regression,mnist}/main-seed*-cpp.json``): every model's final error
relative to backprop's (regression) or test error (MNIST), and the regression's angles to backprop, as mean and
min-max over the seeds. Writes ``docs/papers/figures/<scenario>/seeds.png``.

    python bench/podlaski2020_seeds.py
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "papers"
REGRESSION = ["DI_Brian2", "BP", "FA", "PBP", "NDI", "NDI_2", "readout_only", "BP_x_leak_gain"]
MNIST = ["DI_Brian2", "BP", "FA", "PBP", "NDI", "NDI_2", "readout_only"]


def _records(scenario):
    return [json.loads(p.read_text())["metrics"]
            for p in sorted((DOCS / "records" / scenario).glob("main-seed*-cpp.json"))]


def _bars(ax, labels, values, log=False):
    values = np.asarray(values, dtype=float)  # seeds x models
    mean = np.nanmean(values, axis=0)
    lo, hi = mean - np.nanmin(values, axis=0), np.nanmax(values, axis=0) - mean
    x = np.arange(len(labels))
    ax.bar(x, mean, color=["C3" if lab.startswith("DI") else "0.6" for lab in labels])
    ax.errorbar(x, mean, yerr=[lo, hi], fmt="none", ecolor="k", capsize=3)
    ax.set_xticks(x, [lab.replace("_", " ").replace("Brian2", "(Brian2)") for lab in labels], rotation=40,
                  ha="right", fontsize=8)
    if log:
        ax.set_yscale("log")


def regression():
    recs = _records("dynamic-inversion-regression")
    if not recs:
        return None
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    _bars(axes[0], REGRESSION, [[m[f"error_over_BP_{k}"] for k in REGRESSION] for m in recs], log=True)
    axes[0].set_ylabel("final error / backprop's")
    models = ["DI_Brian2", "FA", "PBP", "NDI", "NDI_2"]
    for layer, ax in enumerate(axes[1:]):
        _bars(ax, models, [[(m[f"angle_bp_last_{k}"][layer]) for k in models] for m in recs])
        ax.set_ylabel("degrees")
        ax.set_title(f"hidden layer {layer + 1}: angle to backprop, last 1000 updates", fontsize=9)
    axes[0].set_title(f"nonlinear regression, {len(recs)} seeds (bars: mean; lines: min-max)", fontsize=9)
    fig.tight_layout()
    path = DOCS / "figures" / "dynamic-inversion-regression" / "seeds.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def mnist():
    recs = _records("dynamic-inversion-mnist")
    if not recs:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    _bars(ax, MNIST, [[100 * m[f"test_error_{k}"] for k in MNIST] for m in recs])
    ax.set_ylabel("test error (%)")
    ax.set_title(f"MNIST subset 784-256-10, 6 epochs, {len(recs)} seeds (mean, min-max)", fontsize=9)
    fig.tight_layout()
    path = DOCS / "figures" / "dynamic-inversion-mnist" / "seeds.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    for made in (regression(), mnist()):
        if made:
            print(made)
