"""In-loop NaN/Inf/runaway detection (spikelearn.guard): the run stops early, names the variable, the
population or connection, the neuron or synapse index and the time, and keeps what was recorded.

The expected stopping time and neuron are worked out independently by iterating the same forward-Euler
recurrence in NumPy."""

import json

import numpy as np
import pytest

from spikelearn.errors import SimulationError
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

# tau_m < 0: v runs away from E_l exponentially; the threshold is out of reach. Neuron 2 gets one input
# spike at 5 ms (with tau_m < 0 a negative ge kick pushes v further up), so it crosses the guard's limit
# (1 V) first.
RUNAWAY = '''
name = "runaway"
dt = "0.1*ms"
duration = "200*ms"
device = "{device}"
[populations.inp]
model = "spike_generator"
size = 3
parameters = {{ indices = [2], times = ["5*ms"] }}
[populations.out]
model = "lif_unstable"
size = 3
parameters = {{ tau_m = "-10*ms", v_t = "1000*volt" }}
[connections.c]
source = "inp"
target = "out"
connect = "one_to_one"
weight = -0.5
[record]
spikes = ["inp", "out"]
states = {{ out = {{ variables = ["v"], indices = 3, dt = "0.1*ms" }} }}
[guard]
enabled = {enabled}
limit = 1.0
every = "1*ms"
'''


# lif_cond with its time constant allowed below zero (declared bounds replace the unit-implied tau > 0)
UNSTABLE = """
from spikelearn.models.lif import LIFConductance
from spikelearn.plugin import Param


class UnstableLIF(LIFConductance):
    name = "lif_unstable"
    description = "lif_cond whose tau_m may be negative (v runs away): for testing the guard"
    parameters = {**LIFConductance.parameters,
                  "tau_m": Param("10*ms", "membrane time constant; < 0 makes v run away", min=float("-inf"))}
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from spikelearn.registry import default_registry

    path = tmp_path_factory.mktemp("unstable") / "unstable_lif.py"
    path.write_text(UNSTABLE)
    return default_registry((str(path),))


def expected_runaway_stop():
    """Iterate Brian2's schedule for lif_cond in NumPy: euler update of (v, ge); the synaptic effect at
    the 5 ms step; the guard (every 10 steps, after the update) sees the new v. Returns the stopping
    time, the first neuron over the limit, and v at the start of each step up to the stopping one."""
    dt, tau_m, tau_e, E_l, E_e, v_r = 1e-4, -10e-3, 5e-3, -74e-3, 0.0, -60e-3
    v = np.full(3, v_r)
    ge = np.zeros(3)
    trace = []
    for n in range(2000):
        trace.append(v)
        v, ge = v + dt * ((ge * (E_e - v) + E_l - v) / tau_m), ge + dt * (-ge / tau_e)
        if n == 50:
            ge = ge + np.array([0.0, 0.0, -0.5])
        if n % 10 == 0 and (np.abs(v) > 1.0).any():
            return n * dt, int(np.flatnonzero(np.abs(v) > 1.0)[0]), np.array(trace).T
    raise AssertionError("no runaway in the reference")


def _run(write_scenario, registry, tmp_path, text):
    return run_scenario(load_scenario(write_scenario(text), registry), registry, out_root=tmp_path,
                        progress=False, figures=False)


def _check_stopped(tmp_path, name, excinfo):
    runs = list((tmp_path / name).iterdir())
    assert len(runs) == 1 and runs[0].name.endswith(".incomplete"), runs
    status = json.loads((runs[0] / "status.json").read_text())
    assert status["status"] == "stopped"
    assert status["reason"] in str(excinfo.value)
    return RunResult(runs[0])


def test_runaway_stops_the_run_naming_variable_population_neuron_and_time(device, write_scenario, registry,
                                                                           tmp_path):
    t_stop, neuron, v_ref = expected_runaway_stop()
    assert neuron == 2 and 0.005 < t_stop < 0.2  # the reference itself: the kicked neuron, well before the end
    with pytest.raises(SimulationError) as excinfo:
        _run(write_scenario, registry, tmp_path, RUNAWAY.format(device=device, enabled="true"))
    message = str(excinfo.value)
    assert (f"state variable 'v' of neuron {neuron} of population 'out' ran away to" in message), message
    assert f"at t = {t_stop * 1e3:.6g} ms" in message and "(limit 1)" in message
    result = _check_stopped(tmp_path, "runaway", excinfo)
    # results up to the stop are kept: the state monitor holds every step up to the stopping one
    v = result.state("out")["v"]
    assert v.shape == v_ref.shape, (v.shape, v_ref.shape)
    np.testing.assert_allclose(v, v_ref, rtol=1e-9)
    i, t = result.spikes("inp")
    assert list(i) == [2] and t[0] == pytest.approx(0.005)
    assert not (result.path / "metrics.json").exists()


def test_without_the_guard_the_same_run_completes_with_runaway_values(write_scenario, registry, tmp_path):
    """Negative control: the guard is what stops the run."""
    outcome = _run(write_scenario, registry, tmp_path, RUNAWAY.format(device="runtime", enabled="false"))
    v = RunResult(outcome.path).state("out")["v"]
    assert v.shape[1] == 2000
    assert not np.all(np.abs(v[:, -1]) < 1.0)  # it did run away


NAN_WEIGHT = '''
name = "nanweight"
dt = "0.1*ms"
duration = "50*ms"
device = "{device}"
[populations.inp]
model = "poisson"
size = 3
parameters = {{ rate = "50*Hz" }}
[populations.out]
model = "lif_cond"
size = 3
[connections.c]
source = "inp"
target = "out"
weight = "0.01*sqrt(1.5 - i)"
[record]
spikes = ["inp", "out"]
'''


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")
@pytest.mark.parametrize("dev", ["runtime", pytest.param("cpp", marks=pytest.mark.long)])
def test_nan_weight_is_caught_at_the_first_check_naming_the_synapse(dev, write_scenario, registry, tmp_path):
    with pytest.raises(SimulationError) as excinfo:
        _run(write_scenario, registry, tmp_path, NAN_WEIGHT.format(device=dev))
    message = str(excinfo.value)
    # synapses of connect = "all" are ordered by source, then target: the first NaN is 2 -> 0
    assert "state variable 'w' of synapse 2 -> 0 of connection 'c' became NaN at t = 0 ms" in message, message
    result = _check_stopped(tmp_path, "nanweight", excinfo)
    assert result.spikes("inp")[1].size == 0 or result.spikes("inp")[1].max() <= 1e-4


@pytest.mark.long
def test_runaway_on_the_cython_target(write_scenario, registry, tmp_path):
    """The guard's Cython implementation (runtime with device_options.target = "cython")."""
    t_stop, neuron, v_ref = expected_runaway_stop()
    text = RUNAWAY.format(device="runtime", enabled="true") + '[device_options]\ntarget = "cython"\n'
    with pytest.raises(SimulationError) as excinfo:
        _run(write_scenario, registry, tmp_path, text)
    assert f"neuron {neuron} of population 'out' ran away" in str(excinfo.value)
    assert f"at t = {t_stop * 1e3:.6g} ms" in str(excinfo.value)
    v = _check_stopped(tmp_path, "runaway", excinfo).state("out")["v"]
    np.testing.assert_allclose(v, v_ref, rtol=1e-9)


def test_after_run_check_reads_recorded_states_and_weights_not_a_tasks_attributes(tmp_path):
    """Where the in-loop guard cannot run (cuda), the saved arrays are checked after the run: NaN in a
    recorded state or weight is found; NaN on purpose in a task's attributes (the preferred stimulus of
    untuned neurons, as poisson-sampling saves it) is not an error."""
    from spikelearn.guard import check_saved_arrays

    np.savez(tmp_path / "attributes_ring.npz", preferred=np.array([0.0, 90.0, np.nan]))
    np.savez(tmp_path / "spikes_ring.npz", i=np.array([0, 1]), t=np.array([0.1, 0.2]))
    np.savez(tmp_path / "state_ring.npz", v=np.ones((3, 4)))
    np.savez(tmp_path / "weights_c.npz", w_initial=np.ones(5), w_final=np.ones(5))
    assert check_saved_arrays(tmp_path) is None
    np.savez(tmp_path / "weights_c.npz", w_initial=np.ones(5), w_final=np.array([1, 1, np.inf, 1, 1]))
    assert check_saved_arrays(tmp_path) == ("weights_c.npz", "w_final")
    np.savez(tmp_path / "state_ring.npz", v=np.array([[1.0, np.nan]]))
    assert check_saved_arrays(tmp_path) == ("state_ring.npz", "v")


def test_what_is_checked_how_often():
    """Populations every `every`, a connection's variables that the run changes every `every_connections`,
    a static weight once (the check's clock steps over the whole run)."""
    from brian2 import NeuronGroup, Synapses, ms, second

    from spikelearn.guard import Guard

    g = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", threshold="v > 1", reset="v = 0", name="g")
    static = Synapses(g, g, "w : 1", on_pre="v_post += w", name="static")
    plastic = Synapses(g, g, "w : 1\ndA/dt = -A/(20*ms) : 1 (event-driven)", on_pre="A += 0.01\nw = clip(w + A, 0, 1)",
                       name="plastic")
    decaying = Synapses(g, g, "dw/dt = -w/(100*ms) : 1 (clock-driven)", name="decaying")
    guard = Guard(10 * ms, 1e12, 2 * second, every_connections=1 * second)
    guard.install([g, static, plastic, decaying])
    every = {(owner, var): e for _, owner, var, e in guard.table}
    assert every == {("g", "v"): 0.01, ("static", "w"): None, ("plastic", "w"): 1.0, ("decaying", "w"): 1.0}
