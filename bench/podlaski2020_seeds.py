"""The seed spread of the dynamic-inversion learning scenarios, from their committed records
(``docs/papers/records/dynamic-inversion-{regression,mnist,regression-spiking}/main-seed*-cpp.json``): every
model's final error relative to backprop's (regression) or test error (MNIST), and the regression's angles to
backprop, as mean and min-max over the seeds; the spiking regression's angles per seed against its oracle's
range. Writes ``docs/papers/figures/<scenario>/seeds.png``.

    python bench/podlaski2020_seeds.py
"""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs" / "papers"
REGRESSION = ["DI_Brian2", "BP", "FA", "FA_2", "PBP", "NDI", "NDI_2", "NDI_3", "readout_only", "BP_x_leak_gain"]
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
    models = ["DI_Brian2", "FA", "FA_2", "PBP", "NDI", "NDI_2", "NDI_3"]
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


def spiking():
    """Brian2's spiking inversion per seed against the NumPy oracle of the same event process (its six
    replicates' range, shaded) and the claims' thresholds (dashed)."""
    recs = _records("dynamic-inversion-regression-spiking")
    if not recs:
        return None
    oracle = json.loads((DOCS.parents[1] / "bench" / "results" / "podlaski2020-spiking-oracle.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, metric, key, thr, title in (
            (axes[0], "angle_bp_layers", "angle_bp_mean", "max_angle_bp", "to backprop's delta"),
            (axes[1], "angle_closed_form_layers", "angle_cf_mean", "max_angle_closed_form",
             "to the closed-form inversion, same weights")):
        for layer in (0, 1):
            orc = [a[layer] for run in oracle["runs"] for a in run[key]]
            ax.axhspan(min(orc), max(orc), xmin=layer / 2 + 0.05, xmax=layer / 2 + 0.45, color="C0", alpha=0.25,
                       label="oracle, 6 replicates" if layer == 0 else None)
            vals = [m[metric][layer] for m in recs]
            ax.plot(np.full(len(vals), layer), vals, "o", color="C3", label="Brian2, per seed" if layer == 0 else None)
        ax.axhline(oracle["thresholds"][thr], color="k", ls="--", lw=1, label="claim threshold (larger layer)")
        ax.set_xticks([0, 1], ["hidden layer 1", "hidden layer 2"])
        ax.set_xlim(-0.5, 1.5)
        ax.set_ylim(0, None)
        ax.set_ylabel("mean angle over 1000 updates (deg)")
        ax.set_title(f"spiking inversion, {len(recs)} seeds: {title}", fontsize=9)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    path = DOCS / "figures" / "dynamic-inversion-regression-spiking" / "seeds.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    for made in (regression(), mnist(), spiking()):
        if made:
            print(made)
