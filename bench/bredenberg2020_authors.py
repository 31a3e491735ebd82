"""Reference runs of Bredenberg, Simoncelli & Savin (NeurIPS 2020) with the authors' own NumPy code.

Their repository, github.com/colinbredenberg/Efficient-Plasticity-Camera-Ready, commit
c3f6cc42fb0214735f38a0999b244cc97c60cec6 (2020-10-21, the newest; see docs/papers/bredenberg2020-authors-code.md),
is NOT part of this repository. Export it to a throw-away directory and point ``--authors`` at it:

    git --git-dir=<bare mirror> archive c3f6cc42fb0214735f38a0999b244cc97c60cec6 | tar -x -C /tmp/bred_A

The harness imports their modules from that directory (``sys.path``) without copying or editing the files
(no byte code is written there either). What it changes, all from here, in memory:

* ``pl_exp_params_cr.py`` is executed from its own source with two literal substitutions, each asserted to
  occur exactly once: ``objective = 'linear'`` -> the chosen task (the switch their README tells the user to
  edit) and ``np.random.seed(seed = 120994)`` -> ``--seed``. The module is registered as
  ``pl_exp_params_cr`` so that their circular import (``pl_support_functions_cr`` imports it) sees the same
  object. ``network_load`` is then set to False (only avoids their ``import dill``).
* ``normative_plasticity_cr`` is imported unchanged. ``PlasticNet.train_run`` reads the module globals
  ``params`` and ``input_params`` (line 154); they are set on that module to the same dicts the network holds.
* Classification only: ``param_fns['objective']`` (``classifier_vonmises_l12``) is wrapped with ``float()``:
  under NumPy 2 its 1-element array cannot be stored into ``obj_record[ii, jj]`` (line 190). The
  plasticity rules call the unwrapped function, as shipped.
* Settings: ``trial_num_2 = --trials``; ``learning_rate``, ``learning_rate_bias``, ``learning_rate_input``
  and ``learning_rate_decoder`` times ``--rate-scale``; ``sigma = --sigma``. Annealing stays off
  (``annealed = False`` as shipped, so every update is ``dt * 100 * lr * delta``).

Initialisation, as their ``__main__`` (normative_plasticity_cr.py:297-320): seed (in the parameter file),
D ~ U(+-1/N) drawn there; reseed with the same seed; W ~ U(+-0.3/sqrt N); W_in ~ U(+-0.5/sqrt 12);
b = 0 (estimation) or 0.7 (classification). Then, as ``__main__``, ``train_run(T, 0.1, train=True,
rt_input=True)`` with ``trial_num = 0`` (does nothing but store ``*_old``).

Training ("short" protocol, fixed): ONE call of their ``train_run(params['T'], 0.1*ones(N), train=True,
train_2=True, rt_input=True)``: ``--trials`` trials of T = 1000 at dt = 0.01 with their drifting von Mises
stimulus (``mv_vonmises_sampler`` / ``mv_vonmises_update``), rates reset to 0.1 and running averages to 0
each trial, learning gated off for the first 40 time units. RNG: the training draws follow directly on the
W_in draws of the global legacy generator. (Their ``__main__`` runs its 100-trial test in between, which
also draws from that generator, so their stream is not reproduced draw for draw.)

Tests, before and after training (OUR protocol, the same as for the spikelearn Brian2 circuit): the 12
angles phi_k = -pi + 2 pi k / 12 (their preferred angles), each held 3 times, i.e. 36 holds of 200 time
units; orders ``rng.permutation(np.tile(arange(12), 3))`` with ``rng = np.random.default_rng(seed)``, the
first permutation for the test before, the second for the test after (as
``spikelearn.tasks.bredenberg2020.coding.schedule``). The test is run BY THEIR CODE: a single
``train_run(36*200, 0.1*ones(N), train=False, rt_input=True)`` call (``T`` and ``test_num`` set to 7200 and 1
for the call and restored afterwards), with ``param_fns['input_sampler']`` and ``param_fns['input_f']``
monkeypatched to return the fixed schedule (the input vector is computed by their ``mv_vonmises_update``
with zero drift and zero diffusion, i.e. s_k = [cos(theta - phi_k)]_+). So: no learning, no reset between
holds (rates start at 0.1 once, at the session start), their one-step input lag, their rate clip. Their test
draws its rate noise from the global legacy generator; the harness saves that generator's state, reseeds it
with seed + 1 (before) or seed + 2 (after), and restores it afterwards, so the tests do not shift the training
stream. Their ``r_record`` keeps every 20th step; kept are the samples after the first 50 time units of each
hold: 750 samples per hold.

Output (``--out``, npz): ``curve`` (n_trials,) mean of their per-step objective (``obj_record``, the reward
R(t) <= 0) over the learning steps (jj*dt > transient) of each training trial; ``test_angles`` (12,); for tag
in (before, after): ``{tag}_rates`` (12, 3, 750, N) [angle, repeat, sample, unit] (clipped rates, as their
record), ``{tag}_out`` (12, 3, 750, n_out) = D r with the D of that test (pre-sigmoid for classification),
``{tag}_order`` (36,) angle index of each hold, ``{tag}_obj`` (12, 3) mean per-step objective over the kept
window (every step); ``W0, Win0, b0, D0`` and ``W, W_in, b, D`` (initial, final); ``settings`` (JSON),
``commit``, ``wall_s`` and per-phase ``wall_train_s``, ``wall_test_before_s``, ``wall_test_after_s``.

Commands of the reference runs (one at a time, ~20-25 min each on one core):

    .venv/bin/python bench/bredenberg2020_authors.py --authors /tmp/bred_A --task estimation --seed 120994 \
        --trials 26 --rate-scale 10 --out bench/results/bredenberg2020-authors/estimation_seed120994.npz
    .venv/bin/python bench/bredenberg2020_authors.py --authors /tmp/bred_A --task classification --seed 120994 \
        --trials 26 --rate-scale 10 --out bench/results/bredenberg2020-authors/classification_seed120994.npz
    (and the same with --seed 1)

``--train-T`` and ``--test-hold`` exist only for smoke tests (they change the protocol).
Their functions used: ``PlasticNet.__init__``, ``PlasticNet.train_run``; through it ``relu_diff``/
``inv_relu_diff``, ``mv_vonmises_sampler``, ``mv_vonmises_update``, ``autoencoder``/``circular_classifier``,
``standard_decoder``/``logistic_decoder``, ``MSE_l2``/``classifier_vonmises_l12``, the ``MSE_l2_*`` /
``classifier_*`` rules (``generic_rule``), ``MSE_decoder_rule``/``log_likelihood_decoder_rule``.
"""

import argparse
import copy
import hashlib
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

COMMIT = "c3f6cc42fb0214735f38a0999b244cc97c60cec6"
N_ANGLES, N_REPEATS, SETTLE = 12, 3, 50.0
LR_KEYS = ("learning_rate", "learning_rate_bias", "learning_rate_input", "learning_rate_decoder")


def _load_authors(authors, task, seed):
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.dont_write_bytecode = True
    authors = str(Path(authors).resolve())
    if authors not in sys.path:
        sys.path.insert(0, authors)
    path = os.path.join(authors, "pl_exp_params_cr.py")
    src = Path(path).read_text()
    subs = [("objective = 'linear'", f"objective = {'linear' if task == 'estimation' else 'classifier'!r}"),
            ("np.random.seed(seed = 120994)", f"np.random.seed(seed = {int(seed)})")]
    for old, new in subs:
        if src.count(old) != 1:
            raise RuntimeError(f"expected exactly one {old!r} in {path}, found {src.count(old)}")
        src = src.replace(old, new)
    spec = importlib.util.spec_from_file_location("pl_exp_params_cr", path)
    exp_params = importlib.util.module_from_spec(spec)
    sys.modules["pl_exp_params_cr"] = exp_params
    exec(compile(src, path, "exec"), exp_params.__dict__)  # their parameter file, seeded, D drawn here
    exp_params.network_load = False
    import normative_plasticity_cr as nc  # noqa: E402

    hashes = {f: hashlib.sha256(Path(authors, f).read_bytes()).hexdigest()
              for f in ("normative_plasticity_cr.py", "pl_exp_params_cr.py", "pl_support_functions_cr.py")}
    return exp_params, nc, hashes


def _test(net, nc, order, angles, hold, noise_seed):
    """One test session by their ``train_run`` (no learning), fixed angle per hold, no reset between holds."""
    import pl_support_functions_cr as sf

    params = net.params
    dt, res = params["dt"], params["record_res"]
    per = int(round(hold / dt))
    fixed = {"input_dim": params["input_dim"], "kappa_in": 0.0, "mu_in": 0.0, "sigma_sampler": 0.0}
    s_of = {k: sf.mv_vonmises_update(params, fixed, None, float(angles[k]), 0.0) for k in range(len(angles))}
    step = [0]

    def sampler(input_params, size):
        i, th = s_of[order[0]]
        return i.reshape(-1, 1), np.array([th])

    def input_f(params_, input_params_, i_prev, theta_prev, rand_var):
        step[0] += 1  # train_run calls this once per step jj = 1, 2, ...
        return s_of[order[step[0] // per]]

    saved_fns = dict(net.param_fns)
    saved = {k: params[k] for k in ("T", "test_num")}
    T = len(order) * hold
    state = np.random.get_state()
    try:
        net.param_fns["input_sampler"], net.param_fns["input_f"] = sampler, input_f
        params["T"], params["test_num"] = T, 1
        np.random.seed(noise_seed)
        r_rec, _, _, th_rec, _, obj = net.train_run(T, 0.1 * np.ones(params["N"]), train=False, rt_input=True)
    finally:
        np.random.set_state(state)
        net.param_fns.clear()
        net.param_fns.update(saved_fns)
        params.update(saved)
    assert step[0] == int(round(T / dt)) - 1, step[0]
    assert per % res == 0 and int(round(SETTLE / dt)) % res == 0
    n_keep = (per - int(round(SETTLE / dt))) // res
    rates = np.zeros((len(angles), N_REPEATS, n_keep, params["N"]))
    objm = np.zeros((len(angles), N_REPEATS))
    seen = np.zeros(len(angles), dtype=int)
    for h, k in enumerate(order):
        a = (h * per + int(round(SETTLE / dt))) // res
        rates[k, seen[k]] = r_rec[0, :, a:a + n_keep].T
        assert np.allclose(th_rec[0, 0, a:a + n_keep], angles[k])
        objm[k, seen[k]] = obj[0, h * per + int(round(SETTLE / dt)):(h + 1) * per].mean()
        seen[k] += 1
    assert (seen == N_REPEATS).all()
    out = rates @ net.decoder.T
    return rates, out, objm


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--authors", required=True, help="directory with their exported files")
    ap.add_argument("--task", choices=("estimation", "classification"), default="estimation")
    ap.add_argument("--seed", type=int, default=120994)
    ap.add_argument("--trials", type=int, default=26)
    ap.add_argument("--rate-scale", type=float, default=10.0)
    ap.add_argument("--sigma", type=float, default=None, help="rate noise (default theirs, 0.2)")
    ap.add_argument("--train-T", type=float, default=None, help="smoke tests only: trial length (theirs 1000)")
    ap.add_argument("--test-hold", type=float, default=200.0, help="smoke tests only: hold length")
    ap.add_argument("--commit", default=COMMIT, help="commit of the exported tree (recorded only)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    t_all = time.time()

    exp_params, nc, hashes = _load_authors(args.authors, args.task, args.seed)
    # as their __main__ (normative_plasticity_cr.py:298-320)
    np.random.seed(seed=args.seed)
    params = copy.deepcopy(exp_params.params)
    decoder = copy.deepcopy(exp_params.decoder)
    param_fns = copy.deepcopy(exp_params.param_fns)
    input_params = copy.deepcopy(exp_params.input_params)
    N = params["N"]
    w_0 = np.random.uniform(-0.3 / np.sqrt(N), 0.3 / np.sqrt(N), (N, N))
    i_w_0 = np.random.uniform(-0.5 / np.sqrt(params["input_dim"]), 0.5 / np.sqrt(params["input_dim"]),
                              (N, params["input_dim"]))
    bias_0 = np.ones((N,)) * (0.0 if exp_params.objective == "linear" else 0.7)

    params["trial_num_2"] = args.trials
    for k in LR_KEYS:
        params[k] = params[k] * args.rate_scale
    if args.sigma is not None:
        params["sigma"] = args.sigma
    if args.train_T is not None:
        params["T"] = args.train_T
    if args.task == "classification":
        obj_fn = param_fns["objective"]
        param_fns["objective"] = lambda *a, **kw: float(np.asarray(obj_fn(*a, **kw)).reshape(-1)[0])
    nc.params, nc.input_params = params, input_params  # train_run reads these module globals

    net = nc.PlasticNet(params, param_fns, input_params, decoder, w_0, bias_0, i_w_0)
    init = {"W0": net.weights.copy(), "Win0": net.i_weights.copy(), "b0": net.biases.copy(),
            "D0": net.decoder.copy()}
    net.train_run(params["T"], 0.1 * np.ones((N,)), train=True, rt_input=True)  # trial_num = 0: stores *_old

    angles = -np.pi + 2 * np.pi * np.arange(N_ANGLES) / N_ANGLES
    rng = np.random.default_rng(args.seed)
    orders = {tag: rng.permutation(np.tile(np.arange(N_ANGLES), N_REPEATS)) for tag in ("before", "after")}

    res = {}
    t = time.time()
    res["before_rates"], res["before_out"], res["before_obj"] = _test(
        net, nc, orders["before"], angles, args.test_hold, (args.seed + 1) % 2**32)
    res["wall_test_before_s"] = time.time() - t
    print(f"test before: {res['wall_test_before_s']:.0f} s", flush=True)

    t = time.time()
    out = net.train_run(params["T"], 0.1 * np.ones((N,)), train=True, train_2=True, rt_input=True)
    obj = out[5]
    del out
    res["wall_train_s"] = time.time() - t
    learn = np.arange(obj.shape[1]) * params["dt"] > params["transient"]
    learn[0] = False
    res["curve"] = obj[:, learn].mean(axis=1)
    del obj
    print(f"training: {res['wall_train_s']:.0f} s; curve {np.round(res['curve'], 4)}", flush=True)

    t = time.time()
    res["after_rates"], res["after_out"], res["after_obj"] = _test(
        net, nc, orders["after"], angles, args.test_hold, (args.seed + 2) % 2**32)
    res["wall_test_after_s"] = time.time() - t
    print(f"test after: {res['wall_test_after_s']:.0f} s", flush=True)

    settings = {
        "task": args.task, "seed": args.seed, "trials": args.trials, "rate_scale": args.rate_scale,
        "sigma": params["sigma"], "T_train": params["T"], "dt": params["dt"], "transient": params["transient"],
        "test": {"angles": "-pi + 2 pi k/12", "repeats": N_REPEATS, "hold": args.test_hold, "settle": SETTLE,
                 "record_every_steps": params["record_res"], "order": "default_rng(seed).permutation(tile), "
                 "first before, second after", "noise_seed": "legacy np.random.seed(seed+1) before, seed+2 after",
                 "how": "their train_run(train=False, rt_input=True) with monkeypatched input_f/input_sampler"},
        "annealed": exp_params.annealed, "objective": exp_params.objective,
        "params": {k: (float(v) if isinstance(v, (int, float, np.floating)) else str(v)) for k, v in params.items()},
        "input_params": {k: (float(v) if isinstance(v, (int, float, np.floating)) else str(v))
                         for k, v in input_params.items()},
        "commit": args.commit, "sha256": hashes, "numpy": np.__version__, "python": platform.python_version(),
        "authors_dir": str(Path(args.authors).resolve()),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out, test_angles=angles, before_order=orders["before"], after_order=orders["after"],
        W=net.weights, W_in=net.i_weights, b=net.biases, D=net.decoder, **init, **res,
        settings=json.dumps(settings), commit=args.commit, wall_s=time.time() - t_all)
    print(f"wrote {args.out}; wall {time.time() - t_all:.0f} s", flush=True)


if __name__ == "__main__":
    main()
