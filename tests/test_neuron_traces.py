"""Neuron-side variables of plasticity rules (`NeuronVar`): held by Poisson inputs as well as neurons,
refused with a hint on spike generators, and integrated exactly (``exp(-dt/tau)`` per step) even in a
neuron model integrated with Euler's method."""

import numpy as np
import pytest

from spikelearn.errors import ScenarioError
from spikelearn.registry import default_registry
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

RULE = '''
from spikelearn.plugin import NeuronVar, Param, PlasticityRule

class TraceRule(PlasticityRule):
    name = "trace_rule"
    description = "pair STDP with its traces on the neurons"
    parameters = {"tau_x": Param("10*ms", "presynaptic trace"), "tau_y": Param("20*ms", "postsynaptic trace"),
                  "eta": Param("0.001", "step"), "wmax": Param("0.01", "bound")}
    pre_variables = {"x": NeuronVar("dx/dt = -x/tau_x : 1", on_spike="x += 1")}
    post_variables = {"y": NeuronVar("dy/dt = -y/tau_y : 1", on_spike="y += 1")}
    on_pre = "w = clip(w - eta*y_post, 0, wmax)"
    on_post = "w = clip(w + eta*x_pre, 0, wmax)"
'''

SCENARIO = '''
name = "traces"
seed = 2
dt = "0.1*ms"
duration = "200*ms"
device = "runtime"
device_options = {{ target = "numpy" }}

[populations.inp]
model = "{input_model}"
size = 100
parameters = {input_params}

[populations.out]
model = "lif_cond"
size = 1

[connections.c]
source = "inp"
target = "out"
weight = 0.02
plasticity = {{ rule = "trace_rule" }}

[record]
spikes = ["inp", "out"]
states = {{ inp = {{ variables = ["x_c"], indices = 3, dt = "0.1*ms" }}, out = {{ variables = ["y_c", "v"], indices = 1, dt = "0.1*ms" }} }}
'''


@pytest.fixture
def rule_registry(tmp_path):
    path = tmp_path / "trace_rule.py"
    path.write_text(RULE)
    return default_registry([path]), path


def _load(text, registry, tmp_path):
    path = tmp_path / "traces.toml"
    path.write_text(text)
    return load_scenario(path, registry)


def _decay_ratios(trace, jumps_at):
    """x(t + dt) / x(t) over the steps without a spike."""
    ratio = trace[:, 1:] / np.where(trace[:, :-1] == 0, np.nan, trace[:, :-1])
    return ratio[~jumps_at[:, 1:] & np.isfinite(ratio)]


def test_poisson_inputs_hold_presynaptic_traces_and_every_trace_decays_exactly(rule_registry, tmp_path):
    registry, _ = rule_registry
    text = SCENARIO.format(input_model="poisson", input_params='{ rate = "100*Hz" }')
    scenario = _load(text, registry, tmp_path)
    outcome = run_scenario(scenario, registry, out_root=tmp_path / "runs", progress=False, figures=False)
    run = RunResult(outcome.path)
    x = run.state("inp")["x_c"]
    y = run.state("out")["y_c"]
    assert x.max() >= 1 and y.max() >= 1, "both traces saw spikes"
    # between spikes each trace decays by exactly exp(-dt/tau) per step (Euler: 1 - dt/tau, off by 5e-5)
    for trace, tau in ((x, 10e-3), (y, 20e-3)):
        jumps = np.zeros(trace.shape, bool)
        jumps[:, 1:] = np.diff(trace, axis=1) > 0
        ratios = _decay_ratios(trace, jumps)
        assert ratios.size > 100
        np.testing.assert_allclose(ratios, np.exp(-1e-4 / tau), rtol=1e-12, atol=0)
    # the membrane equation is still the model's (Euler): v moved
    assert np.ptp(run.state("out")["v"]) > 0


def test_spike_generators_cannot_hold_them_and_the_error_says_what_can(rule_registry, tmp_path):
    registry, _ = rule_registry
    text = SCENARIO.format(input_model="spike_generator", input_params='{ indices = [0], times = ["1*ms"] }')
    with pytest.raises(ScenarioError) as info:
        _load(text, registry, tmp_path)
    message = str(info.value)
    assert "population 'inp' (model 'spike_generator', a spike_generator group) cannot hold them" in message
    assert "use a population of model 'poisson'" in message


def test_exact_updates_leave_coupled_equations_to_the_group():
    from spikelearn.build import _exact_updates

    kept, code = _exact_updates("dv/dt = (ge*(E - v))/tau_m : volt\nge : 1",
                                "dr/dt = -r/tau_r : 1\ndz/dt = (v/mV - z)/tau_r : 1\ndq/dt = -q/tau_r + xi/sqrt(ms) : 1",
                                {})
    assert "r : 1" in kept.splitlines() and "r*exp(-dt/tau_r)" in code
    assert "dz/dt" in kept and "dq/dt" in kept  # reads v; noise


def test_a_rule_with_neuron_side_traces_matches_its_exact_reference_in_the_kit(plasticity_kit, tmp_path):
    """The contract kit's pair check against the closed-form reference: with Euler-integrated traces a
    10-ms trace was off by (1 - dt/tau)^n vs exp(-n dt/tau); now the rule passes it."""
    path = tmp_path / "trace_rule_ref.py"
    path.write_text(RULE.replace('name = "trace_rule"', 'name = "trace_rule_ref"') + '''
    def reference_update(self, params, pre_times, post_times, w0, **_):
        import numpy as np
        tau_x, tau_y = float(params["tau_x"]), float(params["tau_y"])
        eta, wmax = float(params["eta"]), float(params["wmax"])
        w, x, y, last = float(w0), 0.0, 0.0, 0.0
        for t, kind in sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times]):
            x *= np.exp(-(t - last) / tau_x)
            y *= np.exp(-(t - last) / tau_y)
            last = t
            if kind == 0:
                w = min(max(w - eta * y, 0.0), wmax)
                x += 1
            else:
                w = min(max(w + eta * x, 0.0), wmax)
                y += 1
        return w
''')
    results = plasticity_kit.check_rule("trace_rule_ref", plugin_files=[path], devices=["runtime"])
    reference = next(r for r in results if r.name == "matches its NumPy reference")
    assert reference.passed and not reference.skipped, reference.detail
