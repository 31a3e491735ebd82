"""Reward-modulated Hebbian rule (``reward_hebbian``) and the reward-coding task.

- the rule's one-step update on hand-set r, C, R equals the formula worked out by hand;
- the rule in Brian2 (runtime; cpp marked long) equals its NumPy reference over many steps with
  time-varying rates, reward and gate;
- the task's in-loop readout and reward equal the formulas on the recorded states;
- with the noise switched off the whole circuit (runtime) follows the NumPy reference of the task step by
  step, including the shuffled-reward delay line; runtime and cpp agree (long);
- the claims (long: full scenarios, 2000 training blocks, ~3-5 min each on cpp): estimation lowers the
  refitted decoder error by >= 40 %, discrimination raises held-out accuracy by >= 0.1 and the discriminability
  gain at the category boundaries is >= 1.25 x that at pi/2, 3pi/2; the controls (plasticity off, shuffled
  reward) change the error by < 10 % (accuracy by < 0.1) and fail the allocation check.
"""

from pathlib import Path

import numpy as np
import pytest
import bredenberg_circuit  # tests/oracles (on sys.path: tests/conftest.py)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
def _rule():
    from spikelearn.plasticity import reward_hebbian

    return reward_hebbian


def _run(registry, tmp_path, scenario, overrides=(), device=None):
    from spikelearn.results import RunResult
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(SCENARIOS / scenario, registry, overrides=list(overrides))
    out = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False, device=device, figures=False)
    return out, RunResult(out.path)


def _full_run_claims(registry, tmp_path, scenario, control=None):
    """A full-length scenario run (the control's when given): its outcome and its claims by name."""
    overrides = [f'task.parameters.control="{control}"'] if control else []
    out, _ = _run(registry, tmp_path, scenario, overrides)
    return out, {c["name"]: c for c in out.claims}


# a tiny estimation circuit: 5 units, blocks of 2 s (1 s gated off), 4 test angles x 2 before/after
TINY = ['populations.rates.size=5', 'task.parameters.n_train=3', 'task.parameters.n_test_angles=4',
        'task.parameters.n_repeats=2', 'task.parameters.t_block="2*second"', 'task.parameters.t_settle="1*second"',
        'task.parameters.record_dt="20*ms"', 'duration="38*second"', 'task.parameters.eta_d="1*Hz"']
for _c in ("rec", "inp", "b"):
    TINY += [f'connections.{_c}.plasticity.eta="2*Hz"', f'connections.{_c}.plasticity.tau_c="0.5*second"',
             f'connections.{_c}.plasticity.tau_r="0.5*second"', f'connections.{_c}.plasticity.lam=0.1']


# -- the rule ------------------------------------------------------------------------------------------
def test_one_step_equals_hand_formula():
    mod = _rule()
    rule = mod.RewardHebbian()
    params = {"eta": 0.5, "lam": 0.2, "tau_c": 2.0, "tau_r": 4.0, "baseline": 1.0}
    w0 = np.array([[0.3, -0.1]])
    C0 = np.array([[0.5, 0.25]])
    # r_post = 2, r_pre = (1, 0.5): hebb = (2, 1); R - Rbar = -1 - 0.5 = -1.5; dt = 0.1
    w, C, Rbar = rule.reference_update(params, w0, C0, 0.5, r_pre=[1.0, 0.5], r_post=[2.0], reward=-1.0,
                                       learn=1.0, dt=0.1)
    # w = w0 + 0.1*0.5*(-1.5*(hebb - C0) - 0.2*w0)
    expected_w = [0.3 + 0.05 * (-1.5 * (2 - 0.5) - 0.06), -0.1 + 0.05 * (-1.5 * (1 - 0.25) + 0.02)]
    np.testing.assert_allclose(w, [expected_w], rtol=1e-12)
    np.testing.assert_allclose(C, [[0.5 + 0.05 * 1.5, 0.25 + 0.05 * 0.75]], rtol=1e-12)
    assert Rbar == pytest.approx(0.5 + 0.025 * (-1.5))
    # gate closed: only the running averages move
    w_off, _, _ = rule.reference_update(params, w0, C0, 0.5, [1.0, 0.5], [2.0], -1.0, 0.0, 0.1)
    np.testing.assert_array_equal(w_off, w0)
    # no baseline: the raw reward multiplies
    w_nb, _, _ = rule.reference_update({**params, "baseline": 0.0}, w0, C0, 0.5, [1.0, 0.5], [2.0], -1.0, 1.0, 0.1)
    assert w_nb[0, 0] == pytest.approx(0.3 + 0.05 * (-1.0 * 1.5 - 0.06))


def test_variant_reads_another_signal():
    mod = _rule()
    cls = mod.make_reward_hebbian("novelty_hebbian", signal="novelty", gate="awake")
    assert cls.signals == ("novelty", "awake")
    assert "novelty" in cls.model and "reward" not in cls.model
    with pytest.raises(ValueError, match="signal"):
        mod.make_reward_hebbian("x", signal="not valid")


def _brian_rule_run(device_name, tmp_path, n_steps=200, seed=0):
    """The rule's Brian2 code on a 2 -> 3 connection driven by TimedArrays; returns (w, C, Rbar), inputs."""
    from brian2 import (NeuronGroup, Synapses, TimedArray, defaultclock, device, ms, prefs, run, set_device,
                        start_scope)
    from brian2.devices.device import reset_device
    from brian2.utils.stringtools import word_substitute

    mod = _rule()
    rule = mod.RewardHebbian()
    rng = np.random.default_rng(seed)
    dt = 1e-3
    r_pre = rng.uniform(0.1, 2.0, size=(n_steps, 2))
    r_post = rng.uniform(0.1, 2.0, size=(n_steps, 3))
    reward = rng.normal(-1.0, 0.5, size=n_steps)
    learn = (rng.uniform(size=n_steps) > 0.3).astype(float)
    params = {"eta": 3.0, "lam": 0.5, "tau_c": 0.02, "tau_r": 0.05, "baseline": 1.0}
    w0 = rng.normal(0, 0.1, size=(3, 2))
    if device_name == "cpp":
        set_device("cpp_standalone", directory=str(tmp_path / "cpp"), build_on_run=True)
    else:
        prefs.codegen.target = "numpy"
    try:
        start_scope()
        defaultclock.dt = dt * 1000 * ms
        ns = {"pre_r": TimedArray(r_pre, dt=dt * 1000 * ms), "post_r": TimedArray(r_post, dt=dt * 1000 * ms),
              "rew": TimedArray(reward, dt=dt * 1000 * ms), "gate": TimedArray(learn, dt=dt * 1000 * ms)}
        from brian2 import Hz, second

        ns.update(eta=params["eta"] * Hz, lam=params["lam"], tau_c=params["tau_c"] * second,
                  tau_r=params["tau_r"] * second, baseline=params["baseline"])
        pre = NeuronGroup(2, "r : 1", namespace=ns)
        pre.run_regularly("r = pre_r(t, i)", when="start")
        post = NeuronGroup(3, "r : 1", namespace=ns)
        post.run_regularly("r = post_r(t, i)", when="start")
        model = word_substitute(rule.model, {"reward": "rew(t)", "learn": "gate(t)"})  # declares dw/dt
        syn = Synapses(pre, post, model, method=rule.method, namespace=ns)
        syn.connect()
        syn.w = w0.T.ravel()  # connect() creates synapses pre-major: (i, j) -> 3*i + j
        run(n_steps * dt * 1000 * ms)
        W = np.zeros((3, 2))
        C = np.zeros((3, 2))
        W[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = np.asarray(syn.w[:])
        C[np.asarray(syn.j[:]), np.asarray(syn.i[:])] = np.asarray(syn.C[:])
        Rbar = np.array(syn.Rbar[:], dtype=float, copy=True)
    finally:
        if device_name == "cpp":
            reset_device()
            device.reinit()
            device.activate()
    ref = rule.reference_update(params, w0, np.zeros((3, 2)), 0.0, r_pre, r_post, reward, learn, dt, n_steps)
    return (W, C, Rbar), ref, w0


def test_rule_in_brian2_runtime_equals_reference(tmp_path):
    (W, C, Rbar), (w_ref, C_ref, Rbar_ref), w0 = _brian_rule_run("runtime", tmp_path)
    np.testing.assert_allclose(W, w_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(C, C_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(Rbar, Rbar_ref, rtol=1e-9)
    # the test can fail: the weights moved well beyond the tolerance
    assert np.max(np.abs(w_ref - w0)) > 1e-2


@pytest.mark.long
@pytest.mark.standalone
def test_rule_in_brian2_cpp_equals_reference(tmp_path):
    (W, C, Rbar), (w_ref, C_ref, Rbar_ref), _ = _brian_rule_run("cpp", tmp_path)
    np.testing.assert_allclose(W, w_ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(C, C_ref, rtol=1e-9, atol=1e-12)


# -- the task --------------------------------------------------------------------------------------------
def test_reference_formulas():

    assert bredenberg_circuit.finv(np.array([1.0]))[0] == pytest.approx(1.0 + np.log(1 - np.exp(-30.0)) / 30)
    # finv inverts the sharp softplus
    x = np.array([-0.05, 0.01, 0.5, 2.0])
    np.testing.assert_allclose(bredenberg_circuit.finv(np.log1p(np.exp(30 * x)) / 30), x, rtol=1e-9, atol=1e-12)
    D = np.array([[0.5, 0.0], [0.0, 1.0]])
    assert bredenberg_circuit.reward("estimation", np.array([1.0, 0.5]), D, np.pi / 2) == pytest.approx(-(0.5 ** 2 + 0.5 ** 2))
    z = 100 * 0.01
    assert bredenberg_circuit.reward("discrimination", np.array([0.01]), np.array([[1.0]]), 1.0) == pytest.approx(
        np.log(1 / (1 + np.exp(-z))))
    assert bredenberg_circuit.reward("discrimination", np.array([0.01]), np.array([[1.0]]), 4.0) == pytest.approx(
        np.log(1 - 1 / (1 + np.exp(-z))))


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow in the in-loop sigmoid (runtime: numpy)
@pytest.mark.parametrize("objective", ["estimation", "discrimination"])
def test_in_loop_readout_and_reward_equal_formulas(registry, tmp_path, objective):
    over = TINY + [f'task.parameters.objective="{objective}"']
    _, res = _run(registry, tmp_path, "reward_estimation.toml", over, device="runtime")
    r = np.asarray(res.state("rates")["r"])          # (N, n_t)
    st = res.state("readout")
    y = np.asarray(st["y"])                          # (n_out, n_t)
    t = np.asarray(st["t"])
    R = np.asarray(res.state("reward")["R"])[0]
    # monitors record at the start of a step: the sample at t holds the state computed in the step t - dt
    # (the sample at t = 0 holds the initial values and is left out)
    keep = t > 1e-9
    r, y, t, R = r[:, keep], y[:, keep], t[keep], R[keep]
    theta = res.array("theta")[np.floor((t - 0.02) / 2.0 + 1e-9).astype(int)]
    D0 = res.array("D_initial")                      # (N, n_out)
    before = t - 0.02 < 16.0 - 1e-9                  # test blocks before training: the readout is fixed
    np.testing.assert_allclose(y[:, before], D0.T @ r[:, before], rtol=1e-10, atol=1e-12)
    if objective == "estimation":
        expected = -((np.cos(theta) - y[0]) ** 2 + (np.sin(theta) - y[1]) ** 2)
    else:
        tgt = (theta < np.pi).astype(float)
        z = 100 * y[0]
        # t log sigmoid(z) + (1 - t) log(1 - sigmoid(z)), with y kept within [1e-4, 1 - 1e-4]
        expected = -(tgt * np.logaddexp(0, -z) + (1 - tgt) * np.logaddexp(0, z))
        expected = np.maximum(expected, np.log(1e-4))
    np.testing.assert_allclose(R, expected, rtol=1e-9, atol=1e-9)
    assert np.ptp(R) > 1e-3  # the reward actually varies


def test_ratios_without_discriminability_are_nan():
    # rates pinned at a clip give zero discriminability: the gains are NaN (claims fail), not an error
    from spikelearn.tasks.bredenberg2020.task import _ratio

    assert _ratio(2.0, 4.0) == 0.5
    assert np.isnan(_ratio(1.0, 0.0)) and np.isnan(_ratio(np.nan, 1.0)) and np.isnan(_ratio(1.0, np.inf))


def _reference_of_run(res, shuffle=False, plastic=True, baseline=0.0):

    N = len(res.array("D_initial"))

    def matrix(conn, key, n_pre):
        wt = res.weights(conn)
        M = np.zeros((N, n_pre))
        M[wt["j"], wt["i"]] = wt[key]
        return M

    W0, W_in0 = matrix("rec", "w_initial", N), matrix("inp", "w_initial", 12)
    assert np.ptp(W0) > 0 and np.ptp(W_in0) > 0  # random, not all-equal initial weights
    init = dict(W=W0, W_in=W_in0, b=np.zeros(N), D=res.array("D_initial").T, r=np.full(N, 0.1))
    params = dict(N=N, sigma=0.0, gain=1.0, eta=2.0, eta_d=1.0, lam=0.1, lam_in=0.1, lam_b=0.1, tau_c=0.5,
                  tau_r=0.5, t_block=2.0, t_settle=1.0, baseline=baseline)
    out = bredenberg_circuit.simulate("estimation", res.array("theta"), res.array("learn"), np.random.default_rng(0), params,
                       plastic=plastic, shuffle_reward=shuffle, record_every=0.02, init=init)
    return out, matrix("rec", "w_final", N), matrix("inp", "w_final", 12), W0, W_in0


@pytest.mark.parametrize("control,baseline", [("none", 0.0), ("none", 1.0), ("shuffled", 0.0), ("off", 0.0)])
def test_noiseless_circuit_follows_numpy_reference(registry, tmp_path, control, baseline):
    over = TINY + ['populations.rates.parameters.sigma=0.0', f'task.parameters.control="{control}"']
    over += [f'connections.{c}.plasticity.baseline={baseline}' for c in ("rec", "inp", "b")]
    _, res = _run(registry, tmp_path, "reward_estimation.toml", over, device="runtime")
    out, W, W_in, W0, W_in0 = _reference_of_run(res, shuffle=control == "shuffled", plastic=control != "off",
                                                baseline=baseline)
    np.testing.assert_allclose(W, out["W"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(W_in, out["W_in"], rtol=1e-6, atol=1e-9)
    if control == "off":
        np.testing.assert_array_equal(W, W0)
        np.testing.assert_array_equal(W_in, W_in0)
    else:
        assert np.max(np.abs(W_in - W_in0)) > 1e-4  # learning happened (the comparison can fail)


@pytest.mark.long
@pytest.mark.standalone
def test_runtime_and_cpp_agree_without_noise(registry, tmp_path):
    over = TINY + ['populations.rates.parameters.sigma=0.0']
    _, a = _run(registry, tmp_path / "rt", "reward_estimation.toml", over, device="runtime")
    _, b = _run(registry, tmp_path / "cpp", "reward_estimation.toml", over, device="cpp")
    for conn in ("rec", "inp"):
        np.testing.assert_allclose(a.weights(conn)["w_final"], b.weights(conn)["w_final"], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(a.state("rates")["r"], b.state("rates")["r"], rtol=1e-8, atol=1e-12)


# -- claims and controls (full scenarios, minutes on cpp) ---------------------------------------------------
@pytest.mark.long
@pytest.mark.standalone
@pytest.mark.parametrize("control", ["off", "shuffled"])
def test_estimation_controls_do_not_learn(registry, tmp_path, control):
    out, claims = _full_run_claims(registry, tmp_path, "reward_estimation.toml", control)
    assert claims[f"control_{control}_error"]["passed"], claims
    assert -out.metrics["error_change"] < 0.4  # the learning claim's check fails for the control
    assert abs(out.metrics["error_change"]) < 0.1


@pytest.mark.long
@pytest.mark.standalone
def test_estimation_learns_an_efficient_code(registry, tmp_path):
    out, claims = _full_run_claims(registry, tmp_path, "reward_estimation.toml")
    assert claims["error_drop"]["passed"], claims["error_drop"]
    assert out.metrics["error_change"] <= -0.4


@pytest.mark.long
@pytest.mark.standalone
@pytest.mark.parametrize("control", ["off", "shuffled"])
def test_discrimination_controls_do_not_learn(registry, tmp_path, control):
    out, claims = _full_run_claims(registry, tmp_path, "reward_discrimination.toml", control)
    assert claims[f"control_{control}_accuracy"]["passed"], claims
    assert claims[f"control_{control}_allocation"]["passed"], claims
    assert out.metrics["accuracy_change"] < 0.1  # the learning claim's check fails for the control


@pytest.mark.long
@pytest.mark.standalone
def test_discrimination_learns_and_allocates_at_the_boundaries(registry, tmp_path):
    out, claims = _full_run_claims(registry, tmp_path, "reward_discrimination.toml")
    assert claims["accuracy_gain"]["passed"], claims["accuracy_gain"]
    assert claims["allocation_boundaries"]["passed"], claims["allocation_boundaries"]
