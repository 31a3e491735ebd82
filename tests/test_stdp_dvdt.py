"""The 2015 rule ``stdp_dvdt`` (ΔW = eta * dV_post/dt at presynaptic spikes), its neuron
``sigmoid_poisson``, the task ``stdp_window_dvdt`` and the independent NumPy simulation behind the
thresholds of ``stdp-window-dvdt`` (tests/oracles/dvdt_window.py, bench/bengio2017_dvdt_reference.py).

- the rule reads the drift of the postsynaptic Langevin equation at the state the step of the
  presynaptic spike ends in: against Euler's recursion by hand (no noise), and against the recorded V
  (with noise);
- the control rule ``stdp_pre_voltage`` reads V;
- the window analysis on a hand-made case and against the oracle's own binning;
- the oracle's sanity (stationary SD, the sign structure, its control);
- Brian2 against the oracle bin by bin (500 trials; tolerance fixed from the oracle's seeds before any
  Brian2 run: bench/results/bengio2017-dvdt-reference.json).
"""

import json
from pathlib import Path

import numpy as np
import pytest

import dvdt_window as oracle
from spikelearn.plasticity.stdp_gradient import DvdtSTDP
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario
from spikelearn.tasks.bengio2017.stdp_window import StdpWindowDvdt, lobe_statistics, paired_window

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "bench" / "results" / "bengio2017-dvdt-reference.json").read_text())

PROBE = '''
name = "dvdt-probe"
seed = 4
dt = "0.1*ms"
duration = "{duration}"
device = "{device}"

[populations.pre]
model = "spike_generator"
size = 3
parameters = {{ indices = [0, 1, 2, 0], times = {times} }}

[populations.post]
model = "sigmoid_poisson"
size = 2
parameters = {{ tau_m = "10*ms", sigma = {sigma}, rate_max = "0*Hz", I_ext = "{current}" }}

[connections.c]
source = "pre"
target = "post"
connect = "all"
weight = 0.0
effect = ""
plasticity = {{ rule = "{rule}", eta = {eta} }}

[record]
weights = {{ c = {{}} }}
{extra}
'''


def _probe(tmp_path, registry, device="runtime", sigma=0.0, current="2.0", rule="stdp_dvdt", eta='"1*ms"',
           times='["5*ms", "12*ms", "30*ms", "31*ms"]', duration="40*ms", extra=""):
    path = tmp_path / "probe.toml"
    path.write_text(PROBE.format(device=device, sigma=sigma, current=current, rule=rule, eta=eta, times=times,
                                 duration=duration, extra=extra))
    outcome = run_scenario(load_scenario(path, registry), registry, out_root=tmp_path / "runs", progress=False)
    return RunResult(outcome.path)


def _euler_V(current, n, dt=1e-4, tau=0.01):
    """V after n noise-free Euler steps from V = 0 with a constant current."""
    return current * (1 - (1 - dt / tau) ** n)


def test_dvdt_read_at_a_pre_spike_is_the_drift_by_hand(device, registry, tmp_path):
    res = _probe(tmp_path, registry, device=device)
    w = res.weights("c")
    dw = {(int(i), int(j)): float(b - a) for i, j, a, b in zip(w["i"], w["j"], w["w_initial"], w["w_final"])}
    # a spike at step k reads (I - V_{k+1})/tau: V after that step's update, I = 2
    drift = {k: (2.0 - _euler_V(2.0, k + 1)) / 0.01 for k in (50, 120, 300, 310)}
    # by hand for the first: 0.99**51 = exp(-51*0.0100503) = 0.598956, so 2*0.598956/0.01 = 119.79 /s, times eta = 1 ms
    assert drift[50] == pytest.approx(2 * 0.99 ** 51 / 0.01, rel=1e-12)
    assert drift[50] * 1e-3 == pytest.approx(0.11979, abs=1e-5)
    for j in (0, 1):
        assert dw[(0, j)] == pytest.approx(1e-3 * (drift[50] + drift[310]), rel=1e-9)
        assert dw[(1, j)] == pytest.approx(1e-3 * drift[120], rel=1e-9)
        assert dw[(2, j)] == pytest.approx(1e-3 * drift[300], rel=1e-9)
    ref = DvdtSTDP().reference_update({"eta": 1e-3}, [[drift[50], drift[310]], [drift[120]], [drift[300]]])
    np.testing.assert_allclose(ref, [dw[(0, 0)], dw[(1, 0)], dw[(2, 0)]], rtol=1e-9)


def test_dvdt_read_with_noise_is_the_drift_of_the_recorded_state(registry, tmp_path):
    # the state recorder samples at the start of each step, i.e. the state the previous step ended in: a
    # spike at step k (12 ms: k = 120) reads the drift of the state sampled at k + 1
    res = _probe(tmp_path, registry, sigma=0.5, current="1.0",
                 extra='states = { post = { variables = ["V", "dvdt"], indices = [0, 1], dt = "0.1*ms" } }')
    st = res.state("post")
    t, V, dvdt = np.asarray(st["t"]), np.asarray(st["V"]), np.asarray(st["dvdt"])
    assert V.shape[0] == 2
    np.testing.assert_allclose(dvdt[:, 1:], (1.0 - V[:, 1:]) / 0.01, rtol=1e-9, atol=1e-9)
    k = int(np.argmin(np.abs(t - 0.012))) + 1
    w = res.weights("c")
    for j in (0, 1):
        got = float((w["w_final"] - w["w_initial"])[(w["i"] == 1) & (w["j"] == j)][0])
        assert got == pytest.approx(1e-3 * (1.0 - V[j, k]) / 0.01, rel=1e-9)
    # the noise is in V, not in the drift: a finite difference over one step is far from it
    fd = np.diff(V, axis=1) / 1e-4
    assert np.std(fd - dvdt[:, :-1]) > 100  # noise SD 0.5*sqrt(2/(10 ms * 0.1 ms)) = 707 /s


def test_control_rule_reads_V(registry, tmp_path):
    res = _probe(tmp_path, registry, rule="stdp_pre_voltage", eta="0.01")
    w = res.weights("c")
    got = float((w["w_final"] - w["w_initial"])[(w["i"] == 1) & (w["j"] == 0)][0])
    assert got == pytest.approx(0.01 * _euler_V(2.0, 121), rel=1e-9)


# -- the window analysis -------------------------------------------------------------------------------
def test_paired_window_by_hand():
    t_pre = np.array([0.100, 0.110])
    dw = np.array([[1.0, 3.0], [-2.0, 5.0]])  # (offsets, trials)
    post_trial = np.array([0, 1, 1])
    post_time = np.array([0.104, 0.1001, 0.1225])
    c, m, se, n = paired_window(dw, post_trial, post_time, t_pre, 0.002, 0.02, 2)
    at = {round(float(x) * 1e3): (float(v), int(k)) for x, v, k in zip(c, m, n) if k}
    # trial 0: dt = +4 ms (dw 1), -6 ms (dw -2); trial 1: +0.1 ms -> bin 0 (3), -9.9 ms -> bin -10 (5),
    # +22.5 ms: beyond the lag, +12.5 ms -> bin 12 (5)
    assert at == {4: (1.0, 1), -6: (-2.0, 1), 0: (3.0, 1), -10: (5.0, 1), 12: (5.0, 1)}
    assert np.isnan(se).all()  # no bin is filled by two blocks


def test_paired_window_agrees_with_the_oracles_binning():
    s = {"n_trials": 300}
    dw, pj, pt, tp = oracle.simulate(7, s)
    a = paired_window(dw, pj, pt, tp, 2e-3, 60e-3, 20)
    b = oracle.bin_window(dw, pj, pt, tp, s)
    for x, y in zip(a, b):
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)
    st = lobe_statistics(a[0], a[1])
    assert (st["width_plus"], st["width_minus"], st["area_ratio"]) == pytest.approx(oracle.lobe_widths(b[0], b[1]))


def test_lobe_statistics_of_a_one_signed_window_is_nan():
    c = np.arange(-5, 6) * 1e-3
    st = lobe_statistics(c, np.exp(-np.abs(c) / 3e-3))  # positive on both sides: no depression
    assert np.isnan(st["width_minus"]) and np.isnan(st["area_ratio"]) and st["width_plus"] > 0


# -- the oracle itself ---------------------------------------------------------------------------------------
def test_oracle_stationary_sd_and_no_current_no_window():
    s = {"amplitude": 0.0, "rate_max": 0.0, "n_trials": 4000, "duration": 0.2}
    dw, *_ = oracle.simulate(3, s)
    # the drift at a pre spike is -V/tau; V is an OU process of SD sigma = 0.3
    v = -dw / s.get("eta", oracle.SETTINGS["eta"]) * oracle.SETTINGS["tau_m"]
    assert np.std(v) == pytest.approx(0.3, rel=0.03)
    assert abs(np.mean(v)) < 0.01


def test_oracle_sign_structure_and_its_control():
    f = oracle.summary(11, {"n_trials": 1000})
    c, m = f["centers"], f["mean"]
    assert np.all(m[(c > 0) & (c <= 0.010)] > 0) and np.all(m[(c < 0) & (c >= -0.030)] < 0)
    ctrl = oracle.summary(11, {"n_trials": 1000}, read="V")
    c = ctrl["centers"]
    assert np.all(ctrl["mean"][(c >= -0.030) & (c <= 0.010)] > 0)  # S_pre*V_post: positive on both sides


# -- Brian2 against the oracle, bin by bin ------------------------------------------------------------------
def test_brian2_window_matches_the_oracle_bin_by_bin(registry, tmp_path):
    sc = load_scenario("stdp-window-dvdt", registry, [
        'device="runtime"', 'device_options.target="numpy"', "populations.post.size=500",
        "populations.post_slow.size=500"])
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False, figures=False)
    res = RunResult(outcome.path)
    centers, mean, *_ = StdpWindowDvdt().windows(res)["pre_to_post"]
    eta = 1e-3
    ref = np.mean([oracle.summary(s, {"n_trials": 500})["mean"] for s in range(1, 6)], 0) / oracle.SETTINGS["eta"]
    got = mean / eta
    nrms = np.sqrt(np.mean((got - ref) ** 2)) / np.max(np.abs(ref))
    print(f"nrms {nrms:.4f}")
    assert nrms <= REFERENCE["thresholds"]["nrms_500_trials"], nrms
