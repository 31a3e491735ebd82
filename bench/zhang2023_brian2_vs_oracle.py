"""The Brian2 ring of a ``poisson-sampling`` run against the NumPy oracle of the authors' newest code.

    .venv/bin/python bench/zhang2023_brian2_vs_oracle.py RUN_DIR [--out bench/results/zhang2023-brian2-vs-oracle.md]

The oracle's own ``statistics`` (``tests/oracles/zhang_hawkes.py``) is computed on the run's per-window
population vectors (``tests/test_poisson_sampling.py``: ``oracle_layout``), compared with the medians of the
oracle's 52-s replicates (``bench/results/zhang2023-oracle.json``, section ``flagtest2_52s``) under the
tolerances of ``docs/papers/zhang2023-authors-code.md`` §11 7 (``compare_with_oracle``). Writes a markdown
table: each statistic as Brian2 (oracle median), and the statistics outside tolerance.
"""

import argparse
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "tests"), os.path.join(HERE, "..", "tests", "oracles")]
import test_poisson_sampling as tps  # noqa: E402
import zhang_hawkes as zh  # noqa: E402

from spikelearn.results import RunResult  # noqa: E402

KEYS = ("r11", "r22", "lam_s", "var_s", "var_z", "diff_corr", "rate_exc_mean", "fano_200ms")


def _q(v):
    return "/".join(f"{x:.1f}" for x in np.asarray(v)[[0, 2, 4]])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "zhang2023-brian2-vs-oracle.md"))
    a = ap.parse_args()
    result = RunResult(a.run)
    stats = zh.statistics(tps.oracle_layout(result), discard=2.0)
    ref = tps._oracle_reference("flagtest2_52s")
    bad = tps.compare_with_oracle(stats, ref)
    prov = result.provenance
    lines = [f"# Brian2 ({result.name}, seed {result.resolved['seed']}, commit {prov['spikelearn_git']['commit'][:8]}) "
             "against the oracle of the authors' newest code",
             "",
             "Each cell: Brian2 (median of the oracle's three 52-s replicates). Quantiles q05/q50/q95 in degrees.",
             "Tolerances: docs/papers/zhang2023-authors-code.md §11 7.",
             "",
             "| w_E | " + " | ".join(KEYS) + " | s quantiles | z quantiles |",
             "|---" * (len(KEYS) + 3) + "|"]
    for b in stats:
        o = ref[b["w_E"]]
        cells = [f"{b[k]:.4g} ({o[k]:.4g})" for k in KEYS]
        lines.append(f"| {b['w_E']:g} | " + " | ".join(cells)
                     + f" | {_q(b['s_quantiles'])} ({_q(o['s_quantiles'])}) | {_q(b['z_quantiles'])} ({_q(o['z_quantiles'])}) |")
    lines += ["", "Outside tolerance (statistic: grid points; at most one allowed): "
              + (", ".join(f"{k}: {v}" for k, v in bad.items()) if bad else "none")]
    with open(a.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0 if all(len(v) <= 1 for v in bad.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
