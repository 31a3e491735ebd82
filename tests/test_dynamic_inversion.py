"""Dynamic inversion (plugin ``dynamic_inversion``; tasks ``dynamic_inversion``,
``dynamic_inversion_spiking``), checked against numbers worked out
independently of Brian2:

- the closed-form steady state ``B (WB - alpha I)^-1 e`` against least squares (``lstsq`` minimum-norm
  solution at alpha = 0, the ridge solution ``(W^T W + alpha I)^-1 W^T e`` for alpha > 0) and against the
  exact (matrix-exponential) trajectory of the linear controller;
- the smoothed spectral abscissa gradient against finite differences; stabilisation of random feedback;
- negative controls: an unstabilised random B ~ U(-0.5, 0.5) is reported unstable and the run is
  refused (``BuildError``); a controller stopped after 5 tau fails the inversion claim;
- the Brian2 runs against the exact NumPy trajectory. (Learning: tests/test_dynamic_inversion_regression.py.)
"""

from pathlib import Path

import numpy as np
import pytest

from spikelearn.errors import BuildError
from spikelearn.tasks.podlaski2020 import controller as ref

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
def _run(registry, tmp_path, scenario, overrides=()):
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(SCENARIOS / scenario, registry, overrides=list(overrides))
    return run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)


def _problem(seed, n_pre=20, n_post=10):
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, 1.0 / np.sqrt(n_pre), (n_post, n_pre))
    return rng, W, rng.normal(0.0, 1.0, n_post)


# -- closed forms ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transpose_feedback_gives_minimum_norm_solution(seed):
    _, W, e = _problem(seed)
    d = ref.steady_state(W, -W.T, e)
    lstsq = np.linalg.lstsq(W, e, rcond=None)[0]  # minimum-norm solution of the underdetermined system
    np.testing.assert_allclose(W @ d, e, atol=1e-10)
    np.testing.assert_allclose(d, lstsq, atol=1e-10)
    assert ref.angle_deg(d, W.T @ e) > 20.0  # not the backprop direction


@pytest.mark.parametrize("alpha", [0.05, 0.1, 1.0])
def test_leaky_transpose_is_ridge_solution(alpha):
    _, W, e = _problem(3)
    d = ref.steady_state(W, -W.T, e, alpha=alpha)
    ridge = np.linalg.solve(W.T @ W + alpha * np.eye(W.shape[1]), W.T @ e)
    np.testing.assert_allclose(d, ridge, atol=1e-10)


def test_random_feedback_is_a_generalised_inverse_in_the_range_of_B():
    rng, W, e = _problem(4)
    B, _ = ref.stabilise_feedback(W, rng.uniform(-0.5, 0.5, (20, 10)), target=-0.2)
    d = ref.steady_state(W, B, e)
    np.testing.assert_allclose(W @ d, e, atol=1e-10)
    coef = np.linalg.lstsq(B, d, rcond=None)[0]
    np.testing.assert_allclose(B @ coef, d, atol=1e-10)
    assert ref.angle_deg(d, np.linalg.pinv(W) @ e) > 10.0  # another inverse than the pseudo-inverse


def test_trajectory_converges_to_closed_form_and_gain_keeps_fixed_point():
    _, W, e = _problem(5)
    fixed = ref.steady_state(W, -W.T, e)
    d1, _ = ref.controller_trajectory(W, -W.T, e, [20.0, 400.0], gain=1.0)
    d3, _ = ref.controller_trajectory(W, -W.T, e, [20.0, 400.0], gain=3.0)
    np.testing.assert_allclose(d1[-1], fixed, atol=1e-8)
    np.testing.assert_allclose(d3[-1], fixed, atol=1e-8)  # alpha = 0: the gain does not move it
    err = [np.linalg.norm(W @ d[0] - e) for d in (d1, d3)]
    assert err[1] < 0.1 * err[0]  # ... but speeds convergence
    # with a leak the fixed point depends on alpha/gain
    a1 = ref.steady_state(W, -W.T, e, alpha=0.3, gain=1.0)
    a3 = ref.steady_state(W, -W.T, e, alpha=0.3, gain=3.0)
    np.testing.assert_allclose(a3, ref.steady_state(W, -W.T, e, alpha=0.1), atol=1e-12)
    assert np.linalg.norm(a1 - a3) > 1e-2


def test_shape_and_value_errors_name_the_value():
    _, W, e = _problem(6)
    with pytest.raises(ValueError, match=r"shape \(20, 10\)"):
        ref.steady_state(W, W, e)
    with pytest.raises(ValueError, match="alpha must be"):
        ref.steady_state(W, -W.T, e, alpha=-1.0)
    with pytest.raises(ValueError, match="gain must be"):
        ref.controller_jacobian(W, -W.T, gain=0.0)


# -- stability --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(5))
def test_unstabilised_random_feedback_is_refused(seed):
    rng, W, _ = _problem(seed)
    B0 = rng.uniform(-0.5, 0.5, (20, 10))
    assert ref.spectral_abscissa(ref.controller_jacobian(W, B0)) > 0
    with pytest.raises(BuildError, match=r"unstable: the largest real part .* is \+"):
        ref.check_stable(W, B0)
    B, info = ref.stabilise_feedback(W, B0, target=-0.2)
    assert info["initial_abscissa"] > 0 > -0.2 > info["final_abscissa"]
    assert ref.check_stable(W, B) == pytest.approx(info["final_abscissa"])
    # the stabilised matrix stays related to the random start (not replaced by -W^T)
    assert 0.1 < info["relative_change"] < 1.0


def test_transpose_feedback_is_stable_and_flipped_sign_is_not():
    _, W, _ = _problem(7)
    assert ref.check_stable(W, -W.T) < 0
    with pytest.raises(BuildError, match="unstable"):
        ref.check_stable(W, W.T)


def test_smoothed_abscissa_gradient_matches_finite_differences():
    rng, W, _ = _problem(8)
    J = ref.controller_jacobian(W, rng.uniform(-0.5, 0.5, (20, 10)))
    s, grad = ref.smoothed_spectral_abscissa(J, eps=0.05)
    assert s > ref.spectral_abscissa(J)
    for (a, b) in [(0, 25), (3, 21), (22, 5), (12, 12)]:
        h = 1e-6
        Jp, Jm = J.copy(), J.copy()
        Jp[a, b] += h
        Jm[a, b] -= h
        fd = (ref.smoothed_spectral_abscissa(Jp, 0.05)[0] - ref.smoothed_spectral_abscissa(Jm, 0.05)[0]) / (2 * h)
        assert grad[a, b] == pytest.approx(fd, rel=1e-4, abs=1e-7)


def test_smoothed_abscissa_tends_to_abscissa():
    A = np.diag([-1.0, -0.5, -2.0])  # normal matrix: f(s) = sum 1/(2(s - lambda)), solvable by hand
    s, _ = ref.smoothed_spectral_abscissa(A, eps=1e-6)
    assert s == pytest.approx(-0.5, abs=1e-5)


# -- the plasticity rule ----------------------------------------------------------------------------------
def test_rule_applies_one_update_per_pulse():
    """A 3x2 Synapses object with the rule's code: two one-step pulses give w0 + 2*eta*delta*r."""
    from brian2 import NeuronGroup, Network, Synapses, defaultclock, ms, prefs

    from spikelearn.plasticity.dynamic_inversion import DynamicInversionUpdate

    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    rule = DynamicInversionUpdate()
    delta, r, w0 = np.array([0.5, -1.0]), np.array([1.0, 2.0, -0.5]), np.full((2, 3), 0.1)
    pre = NeuronGroup(3, "r : 1", name="pre_rule")
    post = NeuronGroup(2, "delta : 1", name="post_rule")
    pre.r, post.delta = r, delta
    pulse = "int(abs(t - 0.5*ms) < 0.05*ms or abs(t - 0.8*ms) < 0.05*ms)"
    syn = Synapses(pre, post, rule.model.replace("learn", f"({pulse})"), method=rule.method,
                   namespace={"eta": 0.02, "decay": 0.0}, name="syn_rule")
    syn.connect()
    syn.w = w0[syn.j[:], syn.i[:]]
    Network(pre, post, syn).run(1.2 * ms)
    got = np.zeros((2, 3))
    got[syn.j[:], syn.i[:]] = syn.w[:]
    expected = rule.reference_update({"eta": 0.02}, w0, delta, r, n_pulses=2)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(expected - w0, 2 * 0.02 * np.outer(delta, r))


# -- Brian2 runs through the framework --------------------------------------------------------------------
def test_scenario_inverts_and_matches_exact_trajectory(registry, tmp_path):
    from spikelearn.results import RunResult

    outcome = _run(registry, tmp_path, "dynamic_inversion.toml")
    failed = [c["name"] for c in outcome.claims if not c["passed"]]
    assert not failed, failed
    m = outcome.metrics
    assert m["transpose_residual"] < 1e-2 and m["random_residual"] < 1e-2
    # Euler at dt = tau/100 against the matrix exponential
    assert m["transpose_max_trajectory_error"] < 1e-2 and m["random_max_trajectory_error"] < 1e-2
    # recompute the closed form here from the saved arrays and the recorded final state
    res = RunResult(outcome.path)
    W, e, B = res.array("W"), res.array("e"), res.array("B_transpose")
    d = res.state("transpose_dtilde")["dtilde"][:, -1]
    np.testing.assert_allclose(d, np.linalg.lstsq(W, e, rcond=None)[0], atol=5e-3)
    np.testing.assert_allclose(B, -W.T)


def test_scenario_refuses_unstabilised_random_feedback(registry, tmp_path):
    with pytest.raises(BuildError, match=r"feedback 'random' is unstable.*stabilise = true"):
        _run(registry, tmp_path, "dynamic_inversion.toml", ["task.parameters.stabilise=false"])


def test_scenario_stopped_early_fails_inversion_claim(registry, tmp_path):
    outcome = _run(registry, tmp_path, "dynamic_inversion.toml", ['duration="50*ms"'])
    passed = {c["name"]: c["passed"] for c in outcome.claims}
    assert not passed["transpose_inverts"] and not passed["random_inverts"]
    assert passed["transpose_stable"] and passed["random_stable"]


@pytest.mark.long
def test_spiking_scenario_claims(registry, tmp_path):
    outcome = _run(registry, tmp_path, "dynamic_inversion_spiking.toml")
    failed = [c["name"] for c in outcome.claims if not c["passed"]]
    assert not failed, failed
    assert outcome.metrics["transpose_max_event_probability_per_step"] < 0.5


@pytest.mark.long
@pytest.mark.standalone
def test_scenario_same_on_runtime_and_cpp(registry, tmp_path):
    from spikelearn.results import RunResult

    finals = []
    for device in ("runtime", "cpp"):
        outcome = _run(registry, tmp_path / device, "dynamic_inversion.toml", [f'device="{device}"'])
        res = RunResult(outcome.path)
        finals.append(np.concatenate([res.state(f"{n}_dtilde")["dtilde"][:, -1] for n in ("transpose", "random")]))
    np.testing.assert_allclose(finals[0], finals[1], rtol=1e-9, atol=1e-12)
