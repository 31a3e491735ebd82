"""Adversarial inference learning (Benjamin & Kording): data, measures, rules and the task's circuits.

- the protocol (splits, order, sequences), the moving digits, the Fréchet distance and the separability;
- the rules' updates equal their NumPy references;
- a tiny Brian2 run (runtime) of each data kind: the recognition weights of the ungated and untrained circuits
  never change and the generative weights of the untrained one neither; every circuit's recorded test latents
  are the clean pass of its final weights (`inference.infer`); the discriminator's recorded D is its readout of
  the fixed features of the recorded states; the sleep samples carry the stated noise around the dendrites'
  prediction;
- windowed state records (start/stop) hold the values a full record holds at the same steps.
The NumPy oracle of the whole algorithm is tests/oracles/adversarial_ws.py (bench/benjamin_kording_oracle.py);
the short form of the digits claim runs in tests/test_short_claims.py.
"""

from pathlib import Path

import numpy as np
import pytest

from spikelearn.tasks.benjamin_kording import data as dat
from spikelearn.tasks.benjamin_kording import inference as inf

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
TINY = ["task.parameters.epochs=2", "task.parameters.max_train=40", "task.parameters.max_test=40",
        "task.parameters.n_novel=20", "task.parameters.snapshots=2", 'device="runtime"',
        'device_options.target="numpy"']


# -- data and measures ---------------------------------------------------------------------------------
def test_protocol_orders_epochs_then_tests_with_learning_off():
    proto = dat.protocol("digits", 3, (8, 9), 0.25, 50, 1, 14, 0, np.random.default_rng(1))
    _, y = dat.load_images("digits")
    n_train = proto["n_train"]
    train = proto["index"][:n_train].reshape(3, -1)
    assert all(sorted(e) == sorted(train[0]) for e in train) and not np.array_equal(train[0], train[1])
    assert not np.isin(y[train[0]], (8, 9)).any()
    assert proto["plastic"].sum() == n_train and not proto["plastic"][n_train:].any()
    assert np.isin(proto["labels"][~proto["familiar"]], (8, 9)).all() and (~proto["familiar"]).sum() == 50
    assert not np.isin(proto["index"][n_train:][proto["familiar"]], train[0]).any()  # held out
    again = dat.protocol("digits", 3, (8, 9), 0.25, 50, 1, 14, 0, np.random.default_rng(1))
    assert np.array_equal(again["index"], proto["index"])


def test_moving_digits_translate_one_pixel_per_frame_and_bounce():
    X, _ = dat.load_images("digits")
    F = dat.moving_digits(X[:20], 12, 11, np.random.default_rng(3)).reshape(20, 12, 8, 11)
    for seq, img in zip(F, X[:20]):
        pos = [next(p for p in range(4) if np.array_equal(frame[:, p:p + 8], img.reshape(8, 8))) for frame in seq]
        assert all(abs(b - a) == 1 for a, b in zip(pos, pos[1:]))
        assert min(pos) >= 0 and max(pos) <= 3


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20000, 3))
    assert dat.frechet_distance(A, A) == pytest.approx(0, abs=1e-6)
    shift = np.array([1.0, 2.0, 0.0])
    assert dat.frechet_distance(A, A + shift) == pytest.approx(5.0, rel=1e-6)
    # N(0, I) vs N(0, 4 I): tr(I + 4I - 2*2I) = 3
    assert dat.frechet_distance(A, 2 * rng.standard_normal((20000, 3))) == pytest.approx(3.0, rel=0.05)


def test_separability_and_surprise():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 30)
    Z = np.eye(4)[y] * 5 + 0.1 * rng.standard_normal((120, 4))
    assert dat.separability(Z, y) == 1.0
    assert 0.1 < dat.separability(rng.standard_normal((120, 4)), y) < 0.5
    assert np.isnan(dat.separability(Z[::30], y[::30]))  # one sample per class
    assert np.isnan(dat.separability(Z[:5], y[:5]))  # one class


# -- the rules -----------------------------------------------------------------------------------------
def test_rule_references_are_the_stated_updates():
    from spikelearn.plasticity import wake_sleep as ws

    w0, post, r = np.ones((2, 3)), np.array([1.0, -2.0]), np.array([0.5, 0.0, 1.0])
    lp = ws.LocalPrediction().reference_update({"eta": 0.1}, w0, post, r)
    assert np.allclose(lp, w0 + 0.1 * np.outer(post, r))
    gp = ws.GatedPerturbation().reference_update({"eta": 0.1}, w0, post, r)  # post = mod * pert
    assert np.allclose(gp, w0 - 0.1 * np.outer(post, r))
    v = ws.WakeSleepDiscriminator().reference_update({"eta": 0.1, "lam": 0.5}, np.ones(3), r, -1)
    assert np.allclose(v, 0.5 * np.ones(3) - 0.1 * r)


# -- the task in Brian2 ----------------------------------------------------------------------------------
def _tiny(registry, tmp_path, scenario, extra=()):
    from spikelearn.results import RunResult
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    task = registry.get("tasks", "adversarial_inference")
    probe = load_scenario(SCENARIOS / scenario, registry, overrides=TINY + list(extra))
    proto = task._protocol(probe.task_params, np.random.default_rng(0))
    duration = len(proto["index"]) * inf.STEPS * 1e-3
    sc = load_scenario(SCENARIOS / scenario, registry, overrides=TINY + list(extra) + [f'duration="{duration!r}*second"'])
    out = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False, figures=False)
    return RunResult(out.path), proto, out


def _matrix(result, name, shape, key="w_final"):
    wt = result.weights(name)
    M = np.zeros(shape)
    M[np.asarray(wt["j"]), np.asarray(wt["i"])] = np.asarray(wt[key])
    return M


@pytest.mark.parametrize("scenario", ["adversarial_digits.toml", "adversarial_moving_digits.toml"])
def test_tiny_run_circuits_and_records(registry, tmp_path, scenario):
    extra = ["task.parameters.frames=3"] if "moving" in scenario else []
    result, proto, out = _tiny(registry, tmp_path, scenario, extra)
    p = result.params
    n_h, n_z = int(p["n_h"]), int(p["n_z"])
    n_x = proto["table"].shape[1]
    temporal = "moving" in scenario
    frames = proto["table"][proto["index"][proto["n_train"]:]]
    starts = proto["starts"][proto["n_train"]:]
    for c in inf.CIRCUITS:
        W = {k: _matrix(result, f"{c}_{k}", s) for k, s in (("W1", (n_h, n_x)), ("W2", (n_z, n_h)))}
        W0 = {k: _matrix(result, f"{c}_{k}", W[k].shape, "w_initial") for k in W}
        R = _matrix(result, f"{c}_R", (n_h, n_h)) if temporal else None
        changed = not np.allclose(W["W1"], W0["W1"])
        assert changed == (c in ("adv", "cws")), c
        h_rec = np.asarray(result.state(f"{c}_h")["r"])[:, ::2].T
        z_rec = np.asarray(result.state(f"{c}_z")["r"])[:, ::2].T
        h, z = inf.infer(W["W1"], W["W2"], frames, starts, R)
        assert np.allclose(h_rec, h, atol=1e-9) and np.allclose(z_rec, z, atol=1e-9), c
        # D in wake: the readout of the fixed features of (x, h), (h, z)[, (h_prev, h)]
        hprev = np.vstack([np.zeros(n_h), h[:-1]]) * (~starts)[:, None]
        pairs = [(frames, h), (h, z)] + ([(hprev, h)] if temporal else [])
        D = sum(np.maximum(np.hstack(pair) @ result.array(f"A{k}").T + result.array(f"b{k}"), 0)
                @ np.asarray(result.weights(f"{c}_v{k}")["w_final"]) for k, pair in enumerate(pairs))
        assert np.allclose(np.asarray(result.state(f"{c}_d")["D"])[0, ::2], D, atol=1e-9), c
    # the untrained circuit's generative pathway: sleep samples = the dendrites' prediction + the stated noise
    G1 = _matrix(result, "frz_G1", (n_x, n_h))
    assert np.allclose(G1, result.array("G1_initial"))
    hs = np.asarray(result.state("frz_h")["r"])[:, 1::2].T
    xs = np.asarray(result.state("frz_x")["r"])[:, 1::2].T
    resid = xs - np.tanh(hs @ G1.T)
    assert abs(resid.std() / float(p["sigma_x"]) - 1) < 0.05 and abs(resid.mean()) < 0.01
    assert {c["name"] for c in out.claims} == set(inf.COMPARISONS)


def test_scenario_duration_must_match_the_protocol(registry, tmp_path):
    from spikelearn.errors import SpikelearnError
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(SCENARIOS / "adversarial_digits.toml", registry, overrides=TINY + ['duration="1*second"'])
    with pytest.raises(SpikelearnError, match="need duration = 0.56"):
        run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False, figures=False)


def test_windowed_state_record_equals_full_record(registry, tmp_path):
    """``[record.states]`` with ``start``/``stop``: the values a full record holds at the same steps."""
    from spikelearn.results import RunResult
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    text = """
name = "windowed"
seed = 1
dt = "1*ms"
duration = "50*ms"
device = "runtime"
device_options = {{ target = "numpy" }}
[models.ou]
equations = "dv/dt = -v/(5*ms) + sqrt(2/(5*ms))*xi : 1"
[populations.a]
model = "ou"
size = 3
[record]
spikes = []
states = {{ a = {{ variables = ["v"], indices = 2, dt = "{dt}" {window} }} }}
"""
    states = {}
    for tag, dt, window in (("all", "1*ms", ""), ("win", "3*ms", ', start = "10*ms", stop = "40*ms"')):
        path = tmp_path / f"{tag}.toml"
        path.write_text(text.format(dt=dt, window=window))
        out = run_scenario(load_scenario(path, registry), registry, out_root=tmp_path / tag, progress=False,
                           figures=False)
        states[tag] = RunResult(out.path).state("a")
    win, full = states["win"], states["all"]
    assert np.allclose(win["t"], np.arange(10e-3, 40e-3 - 1e-9, 3e-3))
    cols = [int(np.argmin(abs(np.asarray(full["t"]) - t))) for t in win["t"]]
    assert np.asarray(win["v"]).shape == (2, len(cols))
    assert np.array_equal(np.asarray(win["v"]), np.asarray(full["v"])[:, cols])
