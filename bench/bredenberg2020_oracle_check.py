"""Check the NumPy protocol oracle ``tests/oracles/bredenberg_protocol.py`` against the authors' own code.

    git --git-dir=<fetched repo> archive HEAD | tar -x -C /tmp/bred_B      # their repo, outside this tree
    .venv/bin/python bench/bredenberg2020_oracle_check.py --authors /tmp/bred_B [--T 5 --transient 1 --trials 2]
    .venv/bin/python bench/bredenberg2020_oracle_check.py --timing          # steps/s of the batched oracle

Authors' code: https://github.com/colinbredenberg/Efficient-Plasticity-Camera-Ready at commit
c3f6cc42fb0214735f38a0999b244cc97c60cec6 (NeurIPS 2020 camera-ready). It is imported from ``--authors``, never
copied here. Per task, their parameter file is executed in memory (for classification with
``objective = 'linear'`` replaced by ``'classifier'``, the edit their README asks for); its import seeds the
legacy generator with 120994 and draws the decoder. ``T`` and ``transient`` are then shortened in the
``params``/``input_params`` dicts, which are also set as the module globals that ``train_run`` reads; the
classification objective is wrapped with ``float()`` (NumPy 2 refuses to store the 1-element array). As in their
``__main__``: ``np.random.seed(120994)``, ``W``, ``W_in``, bias, ``PlasticNet``, then
``train_run(T, 0.1, train=True, train_2=True, rt_input=True)`` for ``--trials`` trials. The oracle runs
``train_exact`` (B = 1, legacy global generator, the same draw order) on the same settings. Printed per weight:
the max |difference| relative to the max |weight| of their final weights, and relative to the max |change|
over training (stricter; its floor is the rounding of the weights themselves, ~1e-15 x steps / change); and the
per-trial mean objective over learning steps. Pass: the differences relative to max|w| and the objectives'
relative differences below ``--tol`` (1e-10), those relative to max|change| below ``--tol-change`` (1e-6).
"""

import argparse
import copy
import importlib
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "oracles"))

import bredenberg_protocol as bp  # noqa: E402

THEIR_MODULES = ("pl_exp_params_cr", "pl_support_functions_cr", "normative_plasticity_cr")


def run_authors(path, task, T, transient, n_trials):
    """Their train_run on a short session; returns (initial weights, final weights, per-trial mean objective)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in THEIR_MODULES:
        sys.modules.pop(name, None)
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))
    sys.modules.setdefault("dill", types.ModuleType("dill"))  # only imported (network_load = True), never used
    src = (path / "pl_exp_params_cr.py").read_text()
    if task == "classification":
        assert src.count("objective = 'linear'") == 1
        src = src.replace("objective = 'linear'", "objective = 'classifier'")
    ep = types.ModuleType("pl_exp_params_cr")
    ep.__file__ = str(path / "pl_exp_params_cr.py")
    sys.modules["pl_exp_params_cr"] = ep
    exec(compile(src, ep.__file__, "exec"), ep.__dict__)  # seeds 120994, draws the decoder
    npc = importlib.import_module("normative_plasticity_cr")
    params = copy.deepcopy(ep.params)
    input_params = copy.deepcopy(ep.input_params)
    param_fns = dict(ep.param_fns)
    decoder = ep.decoder.copy()
    params.update(T=T, transient=transient, trial_num_2=n_trials)
    input_params.update(T=T)
    if task == "classification":
        objective = param_fns["objective"]
        param_fns["objective"] = lambda *a, **k: float(np.asarray(objective(*a, **k)).ravel()[0])
    npc.params, npc.input_params = params, input_params
    N, n_in = params["N"], params["input_dim"]
    np.random.seed(120994)
    w0 = np.random.uniform(-0.3 / np.sqrt(N), 0.3 / np.sqrt(N), (N, N))
    iw0 = np.random.uniform(-0.5 / np.sqrt(n_in), 0.5 / np.sqrt(n_in), (N, n_in))
    b0 = np.ones(N) * (0.7 if task == "classification" else 0.0)
    init = dict(W=w0.copy(), W_in=iw0.copy(), b=b0.copy(), D=decoder.copy())
    net = npc.PlasticNet(params, param_fns, input_params, decoder, w0, b0, iw0)
    out = net.train_run(params["T"], 0.1 * np.ones(N), train=True, train_2=True, rt_input=True)
    obj = out[-1]
    steps = obj.shape[1]
    learn = np.arange(steps) * params["dt"] > transient
    final = dict(W=net.weights, W_in=net.i_weights, b=net.biases, D=net.decoder)
    return init, final, obj[:, learn].mean(axis=1)


def check(path, task, T, transient, n_trials, tol, tol_change):
    init_a, fin_a, obj_a = run_authors(path, task, T, transient, n_trials)
    init_o = bp.legacy_init(task)
    fin_o, obj_o = bp.train_exact(task, n_trials, T=T, transient=transient)
    ok = True
    print(f"\n{task}: N {init_a['W'].shape[0]}, T {T}, transient {transient}, {n_trials} trial(s)")
    for k in ("W", "W_in", "b", "D"):
        same_init = np.array_equal(init_o[k][0], init_a[k])
        diff = np.max(np.abs(fin_o[k][0] - fin_a[k]))
        rel_w = diff / np.max(np.abs(fin_a[k]))
        change = np.max(np.abs(fin_a[k] - init_a[k]))
        rel_c = diff / change if change > 0 else np.inf
        ok &= same_init and rel_w < tol and rel_c < tol_change
        print(f"  {k:5s} init identical {same_init}  max|diff| {diff:.2e}  rel. to max|w| {rel_w:.2e}  "
              f"rel. to max|change| {rel_c:.2e} (max|change| {change:.2e})")
    rel_obj = np.max(np.abs(obj_o[0] - obj_a) / np.abs(obj_a))
    ok &= rel_obj < tol
    print(f"  mean objective over learning steps: authors {np.array2string(obj_a, precision=10)}  "
          f"oracle {np.array2string(obj_o[0], precision=10)}  rel. diff {rel_obj:.2e}")
    return ok


def timing(B=5, T=1000.0, task="estimation"):
    """Steps per second of the batched oracle: one trial of T time units for B networks."""
    t0 = time.perf_counter()
    bp.train(task, list(range(1, B + 1)), 1, T=T)
    wall = time.perf_counter() - t0
    steps = int(T / bp.SETTINGS[task]["dt"]) - 1
    print(f"{task}: B {B}, N {bp.SETTINGS[task]['N']}, {steps} steps in {wall:.1f} s: {steps / wall:,.0f} "
          f"steps/s ({steps * B / wall:,.0f} network-steps/s); 2.6 M steps -> {2.6e6 / steps * wall / 60:.1f} min")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--authors", type=Path, help="work tree of the authors' repository")
    ap.add_argument("--T", type=float, default=5.0)
    ap.add_argument("--transient", type=float, default=1.0)
    ap.add_argument("--trials", type=int, default=2)
    ap.add_argument("--tol", type=float, default=1e-10)
    ap.add_argument("--tol-change", type=float, default=1e-6)
    ap.add_argument("--tasks", nargs="+", default=["estimation", "classification"])
    ap.add_argument("--timing", action="store_true", help="time the batched oracle (B = 5, one T = 1000 trial)")
    a = ap.parse_args()
    if a.timing:
        for task in a.tasks:
            timing(task=task)
    if a.authors is None:
        if not a.timing:
            ap.error("--authors is required (or --timing)")
        return
    ok = all([check(a.authors.resolve(), task, a.T, a.transient, a.trials, a.tol, a.tol_change) for task in a.tasks])
    print("\nPASS" if ok else "\nFAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
