"""Run the NumPy oracle of Zhang et al. 2023 (``tests/oracles/zhang_hawkes.py``) on the authors' grids and
store per-grid-point statistics (mean and seed spread) in ``bench/results/zhang2023-oracle.json``.

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/zhang2023_oracle.py --section flagtest2_52s \\
        --test 2 --duration 52 --replicates 3

Each invocation simulates one batch (grid × replicates × variants, see ``run_grid``) and writes/replaces
one section of the json file.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from oracles import zhang_hawkes as zh  # noqa: E402

VARIANTS = {
    "filter_then_noise": dict(name="filter_then_noise", ordering="filter_then_noise", fano=0.7),
    "noise_before_filter": dict(name="noise_before_filter", ordering="noise_before_filter", fano=0.7),
    "F0": dict(name="F0", ordering="filter_then_noise", fano=0.0),
    "filter_then_noise_no_tref": dict(name="filter_then_noise_no_tref", ordering="filter_then_noise",
                                      fano=0.7, tref=0.0),
}
KEYS = ("r11", "r22", "lam_s", "P11", "P22", "P12", "var_s", "var_z", "corr_sz", "mi_bits", "mi_bits_per_s",
        "kl_bits", "diff_corr", "rate_exc_mean", "rate_exc_peak", "rate_inh_mean", "fano_200ms", "fano_20ms",
        "corr_200ms")


def summarise(stats, x_key):
    out = {}
    for v in sorted({s["variant"] for s in stats}):
        pts = []
        for x in sorted({s[x_key] for s in stats if s["variant"] == v}):
            rs = [s for s in stats if s["variant"] == v and s[x_key] == x]
            p = {x_key: x, "lam_x": rs[0]["lam_x"], "lam_s_world": rs[0]["lam_s_world"],
                 "mi_upper_bits": rs[0]["mi_upper_bits"]}
            for k in KEYS:
                vals = np.array([r[k] for r in rs], float)
                p[k] = {"mean": float(np.mean(vals)), "sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                        "min": float(np.min(vals)), "max": float(np.max(vals)), "values": [float(a) for a in vals]}
            pts.append(p)
        out[v] = pts
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--section", required=True)
    ap.add_argument("--test", type=int, choices=(1, 2), default=2, help="the authors' flagTest")
    ap.add_argument("--duration", type=float, default=52.0)
    ap.add_argument("--discard", type=float, default=2.0)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--variants", default="filter_then_noise,noise_before_filter,F0")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", default=None, help="comma-separated grid values (default: the authors' grid)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "zhang2023-oracle.json"))
    a = ap.parse_args()
    variants = [VARIANTS[v] for v in a.variants.split(",")]
    if a.test == 2:
        grid, x_key = [j / 100 for j in range(11)], "w_E"
    else:
        grid, x_key = [float(u) for u in range(5, 55, 5)], "u_fwd"
    if a.grid:
        grid = [float(g) for g in a.grid.split(",")]
    t0 = time.time()
    if a.test == 2:
        stats = zh.run_grid(grid, a.replicates, variants, duration=a.duration, discard=a.discard, base_seed=a.seed)
    else:  # flagTest 1: U_fwd grid at w_E = 0.002
        stats = []
        tags, U, F, O, T = [], [], [], [], []
        for v in variants:
            for r in range(a.replicates):
                for u in grid:
                    tags.append((v["name"], r))
                    U.append(u)
                    F.append(v["fano"])
                    O.append(v["ordering"])
                    T.append(v.get("tref"))
        out = zh.simulate_ring([0.002] * len(U), u_fwd=U, fano=F, ordering=O, tref=T, duration=a.duration,
                               seed=a.seed)
        stats = zh.statistics(out, discard=a.discard)
        for s, (name, r) in zip(stats, tags):
            s["variant"], s["replicate"] = name, r
    wall = time.time() - t0
    section = {
        "authors_commit": zh.AUTHORS_COMMIT,
        "authors_commit_date": "2021-10-06",
        "flagTest": a.test,
        "grid": {x_key: grid, **({"w_E": 0.002} if a.test == 1 else {"u_fwd": 30.0})},
        "duration_s": a.duration, "discard_s": a.discard, "window_ms": 20.0, "dt_ms": 0.1,
        "fano": 0.7, "urec_world": 10.0,
        "replicates": a.replicates, "batch_seed": a.seed,
        "variants": variants, "n_rows": len(stats), "wall_s": round(wall, 1),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, 1 thread, shared, nice 10",
        "summary": summarise(stats, x_key),
        "rows": stats,
    }
    data = {}
    if os.path.exists(a.out):
        with open(a.out) as fh:
            data = json.load(fh)
    data[a.section] = section
    with open(a.out, "w") as fh:
        json.dump(data, fh, indent=1)
    print(f"{a.section}: {len(stats)} rows, {wall:.0f} s")
    for v, pts in section["summary"].items():
        for p in pts:
            print(f"{v:28s} {x_key}={p[x_key]:<6} r11 {p['r11']['mean']:.3f}±{p['r11']['sd'] or 0:.3f} "
                  f"r22 {p['r22']['mean']:.3f}±{p['r22']['sd'] or 0:.3f} lam_s {p['lam_s']['mean']:.2e} "
                  f"(world {p['lam_s_world']:.2e}) MI {p['mi_bits']['mean']:.2f} KL {p['kl_bits']['mean']:.2f} "
                  f"dc {p['diff_corr']['mean']:.1f} rate {p['rate_exc_peak']['mean']:.0f} "
                  f"FF {p['fano_200ms']['mean']:.2f}")


if __name__ == "__main__":
    main()
