"""The additive STDP rule on hand-placed spike pairs equals the analytic pair rule, on every device.

Pair k: presynaptic neuron k spikes at 100 ms, postsynaptic neuron k at 100 ms + Δt_k (one-to-one
synapses, so each synapse sees exactly one pair). For Δt > 0 the weight grows by
A_pre*wmax*exp(-Δt/tau_pre); for Δt < 0 it shrinks by depression_ratio*A_pre*wmax*tau_pre/tau_post*
exp(Δt/tau_post). The numbers below are worked out from those formulas, independently of Brian2.
"""

import numpy as np
import pytest

from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

DELTAS_MS = [-40.0, -20.0, -5.0, -0.5, 0.5, 5.0, 20.0, 40.0]
TAU_PRE, TAU_POST, A_PRE, RATIO, WMAX, W0 = 0.020, 0.030, 0.01, 1.05, 0.01, 0.005


def pair_scenario(write_scenario, device):
    n = len(DELTAS_MS)
    pre_times = ", ".join(['"100*ms"'] * n)
    post_times = ", ".join(f'"{100 + d}*ms"' for d in DELTAS_MS)
    idx = ", ".join(str(k) for k in range(n))
    return write_scenario(f'''
        name = "pairs"
        dt = "0.1*ms"
        duration = "300*ms"
        device = "{device}"
        [populations.pre]
        model = "spike_generator"
        size = {n}
        parameters = {{ indices = [{idx}], times = [{pre_times}] }}
        [populations.post]
        model = "spike_generator"
        size = {n}
        parameters = {{ indices = [{idx}], times = [{post_times}] }}
        [connections.c]
        source = "pre"
        target = "post"
        connect = "one_to_one"
        weight = {W0}
        plasticity = {{ rule = "stdp_additive", tau_pre = "20*ms", tau_post = "30*ms", A_pre = {A_PRE}, depression_ratio = {RATIO}, wmax = {WMAX} }}
        [record]
        weights = {{ c = {{}} }}
    ''')


def analytic_dw(dt_ms):
    dt = dt_ms / 1000
    if dt > 0:
        return A_PRE * WMAX * np.exp(-dt / TAU_PRE)
    return -RATIO * A_PRE * WMAX * TAU_PRE / TAU_POST * np.exp(dt / TAU_POST)


def test_worked_numbers():
    # Δt = +20 ms: 1e-4 * e^-1 ; Δt = -30 ms would be -1.05e-4 * (2/3) * e^-1
    assert analytic_dw(20.0) == pytest.approx(1e-4 * np.exp(-1))
    assert analytic_dw(-30.0) == pytest.approx(-1.05e-4 * (2 / 3) * np.exp(-1))


def test_pairs_match_analytic_rule(device, write_scenario, registry, tmp_path):
    sc = load_scenario(pair_scenario(write_scenario, device), registry)
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    w = RunResult(outcome.path).weights("c")
    order = np.argsort(w["i"])
    dw = w["w_final"][order] - w["w_initial"][order]
    assert np.allclose(w["w_initial"], W0)
    expected = np.array([analytic_dw(d) for d in DELTAS_MS])
    np.testing.assert_allclose(dw, expected, rtol=1e-9, atol=1e-15)


def test_numpy_reference_matches_analytic_rule(registry):
    rule = registry.get("plasticity", "stdp_additive")
    params = dict(tau_pre=TAU_PRE, tau_post=TAU_POST, A_pre=A_PRE, depression_ratio=RATIO, wmax=WMAX)
    for d in DELTAS_MS:
        w = rule.reference_update(params, pre_times=[0.1], post_times=[0.1 + d / 1000], w0=W0)
        assert w - W0 == pytest.approx(analytic_dw(d), rel=1e-12)
    # clipping: a large potentiation from w0 = wmax stays at wmax
    assert rule.reference_update(params, pre_times=[0.1], post_times=[0.1001], w0=WMAX) == WMAX


def test_bounds_hold_under_many_pairs(registry):
    rule = registry.get("plasticity", "stdp_additive")
    params = dict(tau_pre=TAU_PRE, tau_post=TAU_POST, A_pre=0.5, depression_ratio=RATIO, wmax=WMAX)
    rng = np.random.default_rng(0)
    pre, post = np.sort(rng.uniform(0, 1, 50)), np.sort(rng.uniform(0, 1, 50))
    w = rule.reference_update(params, pre_times=pre, post_times=post, w0=W0)
    assert 0.0 <= w <= WMAX


def test_neuron_traces_equal_per_synapse_traces_all_to_all(registry):
    """`stdp_additive_neuron_traces` keeps one trace per neuron for all its synapses: on all-to-all
    connections under random spike trains every synapse's final weight equals the rule's NumPy reference
    for that synapse's own pre and post trains, and equals ``stdp_additive``'s except on synapses whose
    pre and post neurons fired in the same time step (such a pair potentiates only in ``stdp_additive``)."""
    from spikelearn import testing

    rng = np.random.default_rng(4)
    n, duration_ms, dt = 12, 1000.0, 1e-4
    trains = {}
    for pop in ("pre", "post"):
        steps = [np.sort(rng.choice(np.arange(1, 9990), size=40, replace=False)) for _ in range(n)]
        trains[pop] = [s * dt for s in steps]
    inputs = {pop: (np.repeat(np.arange(n), [len(s) for s in trains[pop]]), np.concatenate(trains[pop]))
              for pop in trains}
    params = dict(tau_pre=0.02, tau_post=0.03, A_pre=0.01, depression_ratio=1.05, wmax=0.01)
    final = {}
    for name in ("stdp_additive", "stdp_additive_neuron_traces"):
        sc = testing._scenario(name, {"tau_pre": "20*ms", "tau_post": "30*ms"}, (n,), (n,), duration_ms, "runtime",
                               registry, connect="all")
        w = testing._run(sc, registry, inputs)
        rule = registry.get("plasticity", name)
        ref = np.array([rule.reference_update(params, trains["pre"][i], trains["post"][j], 0.005)
                        for i, j in zip(w["i"], w["j"])])
        np.testing.assert_allclose(w["w_final"], ref, rtol=1e-9, atol=1e-15)
        final[name] = (w["i"], w["j"], w["w_final"])
    (i, j, w_syn), (_, _, w_neuron) = final["stdp_additive"], final["stdp_additive_neuron_traces"]
    same_step = np.array([np.intersect1d(np.round(trains["pre"][a] / dt), np.round(trains["post"][b] / dt)).size > 0
                          for a, b in zip(i, j)])
    assert 0 < same_step.sum() < same_step.size
    np.testing.assert_allclose(w_neuron[~same_step], w_syn[~same_step], rtol=1e-9, atol=1e-15)
    assert np.all(np.abs(w_neuron[same_step] - w_syn[same_step]) > 1e-9)
