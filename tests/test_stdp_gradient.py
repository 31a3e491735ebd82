"""STDP as gradient descent (plugin ``stdp_trace_gradient``, tasks ``stdp_window``, ``stdp_window_ou``,
``nudged_gradient``): checked against numbers worked out independently of Brian2.

- the closed-form window (A+ = eta*tau_r/(tau_x+tau_r), A- = eta*tau_x/(tau_x+tau_r), tau+ = tau_x,
  tau- = tau_r) against hand-computed numbers and against a brute-force NumPy integration of
  dw/dt = eta*x*dr/dt;
- the NumPy reference (``reference_update``) against ``runtime`` and ``cpp`` runs;
- negative controls: ordinary pair STDP with free amplitudes fails the ratio and zero-integral claims;
  postsynaptic spikes independent of V give no sign pattern; with the feedback off the hidden ΔW is
  exactly 0; with random feedback the cosine with the exact gradient falls far below 0.95;
- the exact gradient of the nudged network (implicit differentiation) against finite differences.
"""

from pathlib import Path

import numpy as np
import pytest

from spikelearn.plasticity.stdp_gradient import (GradientRate, TraceGradientSTDP, pair_weight_change, window,
                                                 window_amplitudes)
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario
from spikelearn.tasks.bengio2017 import networks as ref
from spikelearn.tasks.bengio2017.stdp_window import fit_window, pairing_schedule, triggered_dvdt, window_claims

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ETA, TAU_X, TAU_R = 0.01, 0.0168, 0.0337


# -- closed forms ---------------------------------------------------------------------------------------
def test_closed_form_numbers():
    a_p, t_p, a_m, t_m = window_amplitudes(ETA, TAU_X, TAU_R)
    # by hand: 0.01 * 33.7/50.5 = 0.00667327 ; 0.01 * 16.8/50.5 = 0.00332673
    assert a_p == pytest.approx(0.006673267, rel=1e-6)
    assert a_m == pytest.approx(0.003326733, rel=1e-6)
    assert (t_p, t_m) == (TAU_X, TAU_R)
    assert a_p / a_m == pytest.approx(33.7 / 16.8)
    assert a_p * t_p - a_m * t_m == pytest.approx(0.0, abs=1e-15)  # zero integral
    assert window(0.020, ETA, TAU_X, TAU_R) == pytest.approx(0.006673267 * np.exp(-20 / 16.8), rel=1e-6)
    assert window(-0.020, ETA, TAU_X, TAU_R) == pytest.approx(-0.003326733 * np.exp(-20 / 33.7), rel=1e-6)


def _brute_force(t_pre, t_post, t_end, step=2e-6):
    """dw = eta*x*dr on a fine grid: jumps of r at post spikes, exact decay in between (no closed form)."""
    n = int(round(t_end / step))
    x = r = w = 0.0
    pre_k = np.round(np.asarray(t_pre) / step).astype(int)
    post_k = np.round(np.asarray(t_post) / step).astype(int)
    pre_set, post_set = set(pre_k.tolist()), set(post_k.tolist())
    dx, dr = np.exp(-step / TAU_X), np.exp(-step / TAU_R)
    for k in range(n + 1):
        if k in pre_set:
            x += 1
        if k in post_set:
            w += ETA * x  # the delta part of dr/dt
            r += 1
        # continuous part over [k, k+1): -eta/tau_r * integral x*r, trapezoid on the exact exponentials
        x1, r1 = x * dx, r * dr
        w -= ETA / TAU_R * 0.5 * step * (x * r + x1 * r1)
        x, r = x1, r1
    return w


def test_pair_weight_change_matches_brute_force_integration():
    t_pre = [0.010, 0.035, 0.052]
    t_post = [0.030, 0.040, 0.090]
    exact = pair_weight_change(t_pre, t_post, ETA, TAU_X, TAU_R, t_end=0.2)
    assert exact == pytest.approx(_brute_force(t_pre, t_post, 0.2), rel=1e-4)
    # one pair, integrated to the end: the closed-form window
    for d in (-0.03, -0.005, 0.005, 0.03):
        assert pair_weight_change([0.5], [0.5 + d], ETA, TAU_X, TAU_R) == pytest.approx(
            float(window(d, ETA, TAU_X, TAU_R)), rel=1e-12)


def test_reference_update_is_bilinear_sum_of_windows():
    rule = TraceGradientSTDP()
    params = {"eta": ETA, "tau_x": TAU_X, "tau_r": TAU_R}
    pre, post = [0.1, 0.3], [0.12, 0.29]
    w = rule.reference_update(params, pre, post, w0=0.5)
    expected = 0.5 + sum(float(window(q - p, ETA, TAU_X, TAU_R)) for p in pre for q in post)
    assert w[0] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match="lack"):
        rule.reference_update({"eta": ETA}, pre, post)


def test_rate_reference_telescopes():
    rule = GradientRate()
    rng = np.random.default_rng(0)
    rho_pre = np.full((6, 2), 0.3)
    rho_post = rng.uniform(size=(6, 3))
    gate = np.array([0, 1, 1, 1, 1, 1.0])
    w = rule.reference_update({"eta": 2.0}, rho_pre, rho_post, gate)
    np.testing.assert_allclose(w, 2.0 * 0.3 * np.tile(rho_post[-1] - rho_post[0], (2, 1)), rtol=1e-12)


# -- window claims and the negative control ------------------------------------------------------------
OFFSETS = np.arange(-20, 21) * 0.005


def test_window_claims_pass_on_the_closed_form():
    dw = window(OFFSETS, ETA, TAU_X, TAU_R)
    claims, metrics = window_claims(OFFSETS, dw, ETA, TAU_X, TAU_R)
    assert all(c.passed for c in claims), [c.as_dict() for c in claims]
    assert metrics["fit_tau_plus_ms"] == pytest.approx(16.8, rel=1e-6)


def test_pair_stdp_with_free_amplitudes_fails_ratio_and_zero_integral():
    # ordinary pair STDP, same time constants, A- = 1.05 A+ (Song et al.): a valid STDP window...
    dw = np.where(OFFSETS > 0, 0.01 * np.exp(-OFFSETS / TAU_X), -0.0105 * np.exp(OFFSETS / TAU_R))
    claims = {c.name: c for c in window_claims(OFFSETS, dw, ETA, TAU_X, TAU_R)[0]}
    assert claims["window_signs"].passed
    fit = fit_window(OFFSETS, dw)
    assert fit["tau_plus"] == pytest.approx(TAU_X, rel=1e-6)
    # ...but neither the ratio A+/A- = tau_r/tau_x nor the zero integral holds
    assert not claims["amplitude_ratio"].passed
    assert not claims["zero_integral"].passed
    assert claims["zero_integral"].value > 0.3


def _window_run(registry, tmp_path, device, overrides=()):
    sc = load_scenario(SCENARIOS / "stdp_window_gradient.toml", registry, overrides=[
        f'device="{device}"', 'duration="2.4*second"', "task.parameters.n_pairings=2", *overrides])
    return run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


def test_window_run_matches_numpy_reference(device, registry, tmp_path):
    outcome = _window_run(registry, tmp_path, device)
    res = RunResult(outcome.path)
    w = res.weights("pre_to_post")
    offsets = res.array("offsets")
    pi, pt, _, qt = pairing_schedule(offsets, 2, 1.0, 0.2)
    pre_trains = [pt[pi == k] for k in w["i"]]
    expected = TraceGradientSTDP().reference_update({"eta": ETA, "tau_x": TAU_X, "tau_r": TAU_R}, pre_trains,
                                               [qt] * len(pre_trains), w0=w["w_initial"], duration=2.4)
    # rk4 at dt = 0.1 ms: the discretisation error is O((dt/tau)^5); 1e-7 of the largest change
    np.testing.assert_allclose(w["w_final"], expected, rtol=0, atol=1e-7 * np.abs(expected).max())
    assert all(c["passed"] for c in outcome.claims), outcome.claims


def test_pair_stdp_through_the_scenario_fails(registry, tmp_path):
    outcome = _window_run(registry, tmp_path, "runtime", [
        'connections.pre_to_post.plasticity={rule="stdp_additive", tau_pre="16.8*ms", tau_post="33.7*ms", '
        'A_pre=1, depression_ratio=1.05, wmax=1}', "connections.pre_to_post.weight=0.5"])
    claims = {c["name"]: c for c in outcome.claims}
    assert not claims["amplitude_ratio"]["passed"]
    assert not claims["zero_integral"]["passed"]


@pytest.mark.long
def test_window_scenario_claims(registry, tmp_path):
    sc = load_scenario(SCENARIOS / "stdp_window_gradient.toml", registry)
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    assert outcome.all_passed, outcome.claims


# -- OU statistical variant -------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error::RuntimeWarning")  # bins without two blocks: NaN SEM, no NumPy warning
def test_triggered_dvdt_on_a_known_signal():
    # V = 3*t + sin(2*pi*t): dV/dt at t is 3 + 2*pi*cos(2*pi*t); pre spikes at integer seconds -> 3 + 2*pi
    dt = 1e-4
    t = np.arange(0, 20, dt)
    V = 3 * t + np.sin(2 * np.pi * t)
    pre = np.arange(1, 19, 1.0)
    post = pre + 0.005
    edges = np.array([-0.0105, -0.0095, 0.0045, 0.0055])
    centers, mean, sem, counts = triggered_dvdt(V, dt, pre, post, 1e-3, edges, 4, 20.0)
    assert counts.tolist() == [0, 0, 18]
    assert np.isnan(sem[:2]).all() and np.isfinite(sem[2])
    assert mean[2] == pytest.approx(3 + 2 * np.pi * np.sin(2 * np.pi * 1e-3) / (2 * np.pi * 1e-3), rel=1e-6)


@pytest.mark.long
def test_ou_scenario_sign_pattern_and_control(registry, tmp_path):
    sc = load_scenario(SCENARIOS / "stdp_window_ou.toml", registry)
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    assert outcome.all_passed, outcome.claims
    # control: post spikes independent of V (gain 0) -> no sign pattern
    sc = load_scenario(SCENARIOS / "stdp_window_ou.toml", registry, overrides=["task.parameters.gain=0.0"])
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    assert not outcome.all_passed


# -- nudged network ----------------------------------------------------------------------------------
def _small_net(seed=3):
    rng = np.random.default_rng(seed)
    W1, b1, W2, b2 = ref.init_weights(rng, 8, 5, 3)
    b1 = rng.normal(0, 0.3, 5)
    b2 = rng.normal(0, 0.3, 3)
    return rng.uniform(0, 1, 8), np.eye(3)[1], W1, b1, W2, b2


@pytest.mark.parametrize("feedback", ["symmetric", "none", "random"])
def test_exact_gradient_matches_finite_differences(feedback):
    x, t, W1, b1, W2, b2 = _small_net()
    B = {"symmetric": W2, "none": None, "random": np.random.default_rng(9).uniform(-1, 1, W2.shape)}[feedback]

    def loss(W1_):
        _, uy = ref.fixed_point(x, W1_, b1, W2, b2, W2 if feedback == "symmetric" else B)
        return 0.5 * np.sum((t - ref.rho(uy)) ** 2)

    g = ref.exact_gradient(x, t, W1, b1, W2, b2, B)["W1"]
    h = 1e-6
    for i, j in [(0, 0), (3, 2), (7, 4)]:
        E = np.zeros_like(W1)
        E[i, j] = h
        assert g[i, j] == pytest.approx((loss(W1 + E) - loss(W1 - E)) / (2 * h), rel=1e-5, abs=1e-10)


def test_no_feedback_gradient_is_feedforward_backprop():
    x, t, W1, b1, W2, b2 = _small_net()
    g = ref.exact_gradient(x, t, W1, b1, W2, b2, None)
    np.testing.assert_allclose(g["W1"], ref.mlp_gradient(x, t, W1, b1, W2, b2)["W1"], rtol=1e-9, atol=1e-14)


def _nudged_run(registry, tmp_path, feedback, n=5, device="runtime"):
    sc = load_scenario(SCENARIOS / "nudged_gradient.toml", registry, overrides=[
        f'device="{device}"', f"task.parameters.n_samples={n}", f'duration="{(n + 1) * 0.25}*second"',
        f'task.parameters.feedback="{feedback}"'])
    return run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


def test_feedback_off_hidden_dw_exactly_zero(registry, tmp_path):
    outcome = _nudged_run(registry, tmp_path, "none")
    assert outcome.metrics["max_abs_hidden_dW"] == 0.0
    # the output layer still learns (the rule is active; only the path to the hidden layer is cut)
    res = RunResult(outcome.path)
    w2 = res.state("W2")["w"]
    assert np.max(np.abs(w2[:, -1] - w2[:, 0])) > 0


def test_symmetric_feedback_follows_gradient_random_does_not(registry, tmp_path):
    sym = _nudged_run(registry, tmp_path, "symmetric")
    assert sym.metrics["mean_cosine"] > 0.95
    assert sym.metrics["max_free_fixed_point_error"] < 1e-9  # Brian2's free phase = NumPy fixed point
    rnd = _nudged_run(registry, tmp_path, "random")
    assert rnd.metrics["mean_cosine"] < 0.5  # "clearly below 0.95"
    assert rnd.metrics["max_abs_hidden_dW"] > 0


@pytest.mark.long
def test_nudged_gradient_scenario(registry, tmp_path):
    sc = load_scenario(SCENARIOS / "nudged_gradient.toml", registry)
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    assert outcome.all_passed, outcome.claims
