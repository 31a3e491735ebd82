"""Run the NumPy oracle of Zhang et al. 2023 (``tests/oracles/zhang_hawkes.py``) on the authors' grids and
store per-grid-point statistics (mean and seed spread) in ``bench/results/zhang2023-oracle.json``.

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/zhang2023_oracle.py --section flagtest2_52s \\
        --test 2 --duration 52 --replicates 3

Each invocation simulates one batch (grid × replicates × variants, see ``run_grid``) and writes/replaces
one section of the json file.

The coupled rings (``simulate_coupled``, the authors' ``scanCoupledHawkesNet.m`` flagTest 2: coupling
ratio 0, 0.5, ..., 5, U_fwd = 30 Hz for both rings, stimuli -10 and +10 degrees):

    OPENBLAS_NUM_THREADS=1 nice -n 10 python bench/zhang2023_oracle.py --section coupled_flagtest2_52s \\
        --test coupled --duration 52 --replicates 2 --variants authors
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
COUPLED_VARIANTS = {
    "authors": dict(name="authors", fano=0.0, rand_wee=False),  # the authors' coupled code: F = 0, Gaussian Wee
    "rand_wee": dict(name="rand_wee", fano=0.0, rand_wee=True),  # bRandWee: Wee entries permuted
    "fano0.7": dict(name="fano0.7", fano=0.7, rand_wee=False),  # internal variability (not in their code)
}
COUPLED_KEYS = ("r_diag", "lam_c", "lam_c_naive", "kl", "mean_sample", "mean_sample_pred", "corr_samples",
                "corr_post", "diff_corr", "rate_exc_mean", "rate_inh_mean", "bump_height", "bump_height_fit",
                "prior_pred", "prior_pred_authors_literal", "mi_bits", "mi_bits_per_s", "mi_upper_bits")
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


def summarise_coupled(stats):
    """mean ± sd over replicates per variant and coupling ratio; vector statistics per component."""
    out = {}
    for v in sorted({s["variant"] for s in stats}):
        pts = []
        for x in sorted({s["cross_ratio"] for s in stats if s["variant"] == v}):
            rs = [s for s in stats if s["variant"] == v and s["cross_ratio"] == x]
            p = {"cross_ratio": x, "lam_x": rs[0]["lam_x"], "n": len(rs),
                 "prior_fit_converged": all(r["prior_fit"]["converged"] for r in rs)}
            for k in COUPLED_KEYS:
                if k not in rs[0]:
                    continue
                vals = np.array([r[k] for r in rs], float)
                sd = np.std(vals, axis=0, ddof=1) if len(vals) > 1 else None
                p[k] = {"mean": np.mean(vals, axis=0).tolist(), "sd": None if sd is None else sd.tolist(),
                        "values": vals.tolist()}
            pts.append(p)
        out[v] = pts
    return out


def run_coupled(a):
    """flagTest 2 of scanCoupledHawkesNet.m: grid of coupling ratios × replicates × variants, one batch."""
    names = (a.variants or "authors").split(",")
    variants = [COUPLED_VARIANTS[v] for v in names]
    grid = [float(g) for g in a.grid.split(",")] if a.grid else [r / 2 for r in range(11)]
    tags, R, F, RW = [], [], [], []
    for v in variants:
        for rep in range(a.replicates):
            for r in grid:
                tags.append((v["name"], rep))
                R.append(r)
                F.append(v["fano"])
                RW.append(v["rand_wee"])
    t0 = time.time()
    out = zh.simulate_coupled(R, u_fwd=(30.0, 30.0), fano=F, rand_wee=RW, duration=a.duration, seed=a.seed,
                              feedforward=a.feedforward)
    t_sim = time.time() - t0
    stats = zh.coupled_statistics(out, discard=a.discard)
    for s, (name, rep) in zip(stats, tags):
        s["variant"], s["replicate"] = name, rep
    # the authors' MI: the ratio-2 row (their IdxPost = 5) of the same variant and replicate is the posterior
    for s in stats:
        ref = [q for q in stats if q["variant"] == s["variant"] and q["replicate"] == s["replicate"]
               and q["cross_ratio"] == 2.0]
        s.update(mi_bits=float("nan"), mi_bits_per_s=float("nan"), mi_upper_bits=float("nan"))
        if ref and ref[0]["lam_c"] > 0:
            xent, mi, up = zh.coupled_mutual_information(ref[0], s, posi=out["posi"])
            s.update(mi_bits=mi, mi_bits_per_s=mi / out["window"], mi_upper_bits=up)
    wall = time.time() - t0
    section = {
        "authors_commit": zh.AUTHORS_COMMIT, "authors_commit_date": "2021-10-06",
        "model": "coupled rings (scanCoupledHawkesNet.m flagTest 2, simCoupledHawkesNet.m)",
        "grid": {"cross_ratio": grid, "u_fwd": [30.0, 30.0], "posi": list(out["posi"]), "jxe": out["jxe"],
                 "ratio_ie": 3.0, "cut_ee": True, "share_inh": False, "feedforward": out["feedforward"]},
        "duration_s": a.duration, "discard_s": a.discard, "window_ms": 20.0, "dt_ms": 0.1, "tref_ms": 2.0,
        "units": {"lam_c": "deg^-2 per window", "kl": "nats", "mi_bits": "bits per window",
                  "rates": "Hz", "diff_corr": "deg^2"},
        "replicates": a.replicates, "batch_seed": a.seed, "variants": variants, "n_rows": len(stats),
        "wall_s": round(wall, 1), "sim_s": round(t_sim, 1),
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, 1 thread, shared, nice 10",
        "summary": summarise_coupled(stats),
        "rows": stats,
    }
    return section


def _fmt(p, k, i=None):
    if k not in p:
        return "nan"
    m, sd = p[k]["mean"], p[k]["sd"]
    if i is not None:
        m, sd = m[i], (None if sd is None else sd[i])
    return f"{m:.3g}±{(sd or 0):.2g}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--section", required=True)
    ap.add_argument("--feedforward", choices=("spikes", "rate"), default="spikes",
                    help="coupled: the authors' bSample_ufwd 1 (spikes, scanCoupledHawkesNet.m) or 0 (rate, "
                         "Cluster_code/scanCoupledNet_Cluster.m, the published figure's script)")
    ap.add_argument("--test", choices=("1", "2", "coupled"), default="2",
                    help="the authors' flagTest of scanRecHawkesNet (1, 2), or 'coupled' (scanCoupledHawkesNet "
                         "flagTest 2)")
    ap.add_argument("--duration", type=float, default=52.0)
    ap.add_argument("--discard", type=float, default=2.0)
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--variants", default=None,
                    help="single ring: filter_then_noise,noise_before_filter,F0 (default), "
                         "filter_then_noise_no_tref; coupled: authors (default), rand_wee, fano0.7")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid", default=None, help="comma-separated grid values (default: the authors' grid)")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "zhang2023-oracle.json"))
    a = ap.parse_args()
    if a.test == "coupled":
        section = run_coupled(a)
        _write(a, section)
        print(f"{a.section}: {section['n_rows']} rows, {section['wall_s']:.0f} s")
        for v, pts in section["summary"].items():
            for p in pts:
                print(f"{v:9s} ratio={p['cross_ratio']:<4} r_diag {_fmt(p, 'r_diag', 0)} {_fmt(p, 'r_diag', 1)} "
                      f"lam_c {_fmt(p, 'lam_c')} naive {_fmt(p, 'lam_c_naive')} pred {_fmt(p, 'prior_pred')} "
                      f"kl {_fmt(p, 'kl')} mean {_fmt(p, 'mean_sample', 0)} {_fmt(p, 'mean_sample', 1)} "
                      f"(pred {_fmt(p, 'mean_sample_pred', 0)} {_fmt(p, 'mean_sample_pred', 1)}) "
                      f"corr {_fmt(p, 'corr_samples')} post {_fmt(p, 'corr_post')} MI {_fmt(p, 'mi_bits')}")
        return
    a.test = int(a.test)
    variants = [VARIANTS[v] for v in (a.variants or "filter_then_noise,noise_before_filter,F0").split(",")]
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
    _write(a, section)
    print(f"{a.section}: {len(stats)} rows, {wall:.0f} s")
    for v, pts in section["summary"].items():
        for p in pts:
            print(f"{v:28s} {x_key}={p[x_key]:<6} r11 {p['r11']['mean']:.3f}±{p['r11']['sd'] or 0:.3f} "
                  f"r22 {p['r22']['mean']:.3f}±{p['r22']['sd'] or 0:.3f} lam_s {p['lam_s']['mean']:.2e} "
                  f"(world {p['lam_s_world']:.2e}) MI {p['mi_bits']['mean']:.2f} KL {p['kl_bits']['mean']:.2f} "
                  f"dc {p['diff_corr']['mean']:.1f} rate {p['rate_exc_peak']['mean']:.0f} "
                  f"FF {p['fano_200ms']['mean']:.2f}")


def _write(a, section):
    data = {}
    if os.path.exists(a.out):
        with open(a.out) as fh:
            data = json.load(fh)
    data[a.section] = section
    with open(a.out, "w") as fh:
        json.dump(data, fh, indent=1)


if __name__ == "__main__":
    main()
