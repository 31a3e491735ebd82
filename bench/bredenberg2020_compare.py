"""Our Brian2 circuit against the authors' code on the same settings (Bredenberg, Simoncelli & Savin 2020).

    .venv/bin/python bench/bredenberg2020_compare.py

Reads (nothing is run here):
- the authors' own code, run by ``bench/bredenberg2020_authors.py`` (their ``train_run``, commit c3f6cc4) on the
  shortened protocol: ``bench/results/bredenberg2020-authors/{estimation,classification}_seed*.npz`` (~15 MB
  each, not committed; their metrics are kept in ``bench/results/bredenberg2020-authors.json``);
- the authors' algorithm over seeds 1-5 (``bench/bredenberg2020_oracle.py``): ``bench/results/bredenberg2020-oracle.json``;
- the Brian2 runs of ``spikelearn reproduce``: ``docs/papers/records/reward-{estimation,discrimination}-k10/``.

Every number is computed by the task's own functions (:mod:`spikelearn.tasks.bredenberg2020.coding`). Writes
``bench/results/bredenberg2020-compare.json`` and, per task, ``docs/papers/figures/<scenario>/compare.png``
(learning curves; Fisher information per angle after training, population and readout), and prints a table:
for each metric the oracle's mean +- SD, the authors' code per seed, and Brian2 per seed with its z-score
against the oracle's spread (|z| <= 3: within the seed spread).
"""

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spikelearn.tasks.bredenberg2020 import coding as ref  # noqa: E402

TASKS = {"estimation": ("estimation", "reward-estimation-k10"),
         "discrimination": ("classification", "reward-discrimination-k10")}
THIN_AUTHORS = 5  # their recording every 20 steps -> every time unit, as the task's record_dt = 1 s
KAPPA = 0.75


def authors_metrics(task, path):
    d = np.load(path, allow_pickle=True)
    angles = d["test_angles"]
    out = {"curve": d["curve"].tolist()}
    for tag in ("before", "after"):
        X, Y = d[f"{tag}_rates"], d[f"{tag}_out"]
        fi, fo = ref.linear_fisher(X, np.pi / 6, THIN_AUTHORS), ref.linear_fisher(Y, np.pi / 6, THIN_AUTHORS)
        out[f"fisher_{tag}"], out[f"fisher_readout_{tag}"] = fi.tolist(), fo.tolist()
        if task == "estimation":
            out[f"readout_error_{tag}"] = ref.prior_weighted(ref.readout_errors(Y, angles), angles, KAPPA)
        else:
            out[f"readout_accuracy_{tag}"] = ref.readout_accuracy(Y, angles, KAPPA)
        out[f"allocation_{tag}"] = ref.allocation_ratio(task, fi, angles)
        out[f"allocation_readout_{tag}"] = ref.allocation_ratio(task, fo, angles)
    if task == "estimation":
        out["error_drop"] = 1 - out["readout_error_after"] / out["readout_error_before"]
    else:
        out["accuracy_gain"] = out["readout_accuracy_after"] - out["readout_accuracy_before"]
    out["allocation"], out["allocation_readout"] = out["allocation_after"], out["allocation_readout_after"]
    return out


def authors_runs(task, otask):
    """The metrics of the authors' code runs: computed from their npz files (large, not committed) when
    present, and kept in ``bench/results/bredenberg2020-authors.json`` (committed)."""
    path = ROOT / "bench/results/bredenberg2020-authors.json"
    saved = json.loads(path.read_text()) if path.exists() else {}
    files = sorted((ROOT / "bench/results/bredenberg2020-authors").glob(f"{otask}_seed*.npz"))
    if files:
        saved[otask] = {p.stem: authors_metrics(task, p) for p in files}
        path.write_text(json.dumps(saved, indent=1))
    return saved.get(otask, {})


def brian_metrics(record):
    m = dict(record["metrics"])
    if "error_change" in m:
        m["error_drop"] = -m["error_change"]
    if "accuracy_change" in m:
        m["accuracy_gain"] = m["accuracy_change"]
    m["allocation"], m["allocation_readout"] = m["allocation_after"], m["allocation_readout_after"]
    return m


def main():
    oracle = json.loads((ROOT / "bench/results/bredenberg2020-oracle.json").read_text())
    summary = {}
    for task, (otask, scenario) in TASKS.items():
        runs = oracle["tasks"][otask]["runs"]
        keys = ["error_drop" if task == "estimation" else "accuracy_gain", "allocation", "allocation_readout"]
        authors = authors_runs(task, otask)
        recdir = ROOT / "docs/papers/records" / scenario
        brian = {}
        for p in sorted(recdir.glob("*-cpp.json")):
            rec = json.loads(p.read_text())
            if rec["status"] == "complete":
                brian[p.stem] = brian_metrics(rec)
        table = {}
        print(f"\n{scenario}")
        for key in keys:
            row = {}
            for variant, label in (("none", "main"), ("off", "plasticity-off"), ("shuffled", "shuffled-reward")):
                vals = np.array([m[key] for m in runs[variant]], dtype=float)
                mean, sd = float(vals.mean()), float(vals.std(ddof=1))
                ours = {k: float(v[key]) for k, v in brian.items() if k.startswith(label + "-")}
                row[variant] = {"oracle_mean": mean, "oracle_sd": sd,
                                "brian2": ours, "z": {k: (v - mean) / sd for k, v in ours.items()}}
                if variant == "none":
                    row[variant]["authors"] = {k: float(v[key]) for k, v in authors.items()}
                z = ", ".join(f"{k.split('-seed')[1].split('-')[0]}: {v:.3f} (z {(v - mean) / sd:+.1f})"
                              for k, v in ours.items())
                auth = (", ".join(f"{v[key]:.3f}" for v in authors.values()) if variant == "none" else "")
                print(f"  {key:20s} {variant:9s} oracle {mean:.3f} +- {sd:.3f}"
                      + (f" | authors' code {auth}" if auth else "") + f" | Brian2 {z}")
            table[key] = row
        summary[scenario] = {"table": table, "authors": authors, "brian2": {k: {q: v[q] for q in keys + ["curve"]}
                                                                              for k, v in brian.items()}}
        figure(task, scenario, runs, authors, brian)
    out = ROOT / "bench/results/bredenberg2020-compare.json"
    out.write_text(json.dumps(summary, indent=1))
    print(f"wrote {out}")


def figure(task, scenario, runs, authors, brian):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    angles = np.degrees(ref.test_angles(12))
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    curves = np.array([m["curve"] for m in runs["none"]])
    x = np.arange(1, curves.shape[1] + 1)
    axes[0].fill_between(x, curves.mean(0) - curves.std(0), curves.mean(0) + curves.std(0), color="0.8",
                         label="authors' algorithm, seeds 1-5 (mean +- SD)")
    for k, v in authors.items():
        axes[0].plot(x, v["curve"], "k-", lw=1, label=f"authors' code ({k.split('_')[1]})")
    for k, v in brian.items():
        if k.startswith("main-"):
            axes[0].plot(x[:len(v["curve"])], v["curve"], "-", color="C3", lw=1, label=f"Brian2 ({k.split('-')[1]})")
    axes[0].set_xlabel("training trial")
    axes[0].set_ylabel("mean reward per trial")
    axes[0].legend(fontsize=7)
    for ax, key, label in ((axes[1], "fisher_after", "population"), (axes[2], "fisher_readout_after", "readout")):
        F = np.array([m[key] for m in runs["none"]])
        ax.fill_between(angles, np.percentile(F, 0, axis=0), np.percentile(F, 100, axis=0), color="0.8",
                        label="authors' algorithm, seeds 1-5 (range)")
        Foff = np.array([m[key] for m in runs["off"]])
        ax.plot(angles, Foff.mean(0), "--", color="0.4", label="plasticity off (mean)")
        for k, v in authors.items():
            ax.plot(angles, v[key], "k-", lw=1, label="authors' code")
        for k, v in brian.items():
            if k.startswith("main-"):
                ax.plot(angles, v[key], "-", color="C3", lw=1, label="Brian2" if "seed1" in k else None)
        ax.set_xlabel("test angle (deg)")
        ax.set_ylabel(f"linear Fisher information ({label})")
        ax.legend(fontsize=7)
    fig.suptitle(f"{scenario}: Brian2 against the authors' code and algorithm, same settings")
    fig.tight_layout()
    out = ROOT / "docs/papers/figures" / scenario / "compare.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
