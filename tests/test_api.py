"""The Python API (`spikelearn.api`): what it returns agrees with the run directory's arrays (its
docstring examples run in tests/test_doctests.py)."""

import numpy as np
import pytest

from spikelearn import api
from spikelearn.errors import ScenarioError
from spikelearn.results import RunResult

RECORDING = '''
name = "api"
seed = 4
dt = "0.1*ms"
duration = "200*ms"
device = "runtime"
[populations.inp]
model = "poisson"
size = 20
parameters = { rate = "40*Hz" }
[populations.out]
model = "lif_cond"
size = 3
[connections.c]
source = "inp"
target = "out"
weight = "rand()*0.02"
plasticity = { rule = "stdp_additive", wmax = 0.02 }
[record]
spikes = ["inp", "out"]
states = { out = { variables = ["v", "ge"], indices = [0, 2], dt = "1*ms" } }
weights = { c = { dt = "10*ms", indices = 5 } }
'''


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    path = folder / "api.toml"
    path.write_text(RECORDING)
    return api.run(path, out=folder / "runs", set={"seed": 5}, figures=False)


def test_accessors_return_the_recorded_arrays(recorded):
    raw = RunResult(recorded.path)
    assert recorded.status == "complete" and recorded.scenario["seed"] == 5
    spikes = recorded.spikes("inp")
    i, t = raw.spikes("inp")
    assert np.array_equal(spikes.i, i) and np.array_equal(spikes.t, t) and spikes.size == 20
    # Neo trains for Elephant: every spike in exactly one train, that neuron's own
    trains = spikes.to_neo()
    assert sum(len(st) for st in trains) == len(spikes)
    for st in trains:
        n = st.annotations["neuron"]
        assert np.allclose(np.sort(t[i == n]), st.times.magnitude)
    states = recorded.states("out")
    st = raw.state("out")
    assert states["v"].dims == ("time", "neuron") and list(states["neuron"].values) == [0, 2]
    assert np.array_equal(states["v"].values, st["v"].T) and np.array_equal(states["time"].values, st["t"])
    assert states["v"].attrs["units"] == "volt" and states["ge"].attrs["units"] == "1"
    w = recorded.weights("c")
    raw_w = raw.weights("c")
    assert np.array_equal(w["w_final"].values, raw_w["w_final"])
    assert np.array_equal(w["pre"].values, raw_w["i"]) and np.array_equal(w["post"].values, raw_w["j"])
    assert w["w"].sizes["recorded"] == 5 and np.array_equal(w["w"].values, raw_w["w_trace"].T)


def test_elephant_on_loaded_spike_trains(recorded):
    from elephant.statistics import mean_firing_rate

    spikes = api.load(recorded.path).spikes("inp")
    rates = [float(mean_firing_rate(st).rescale("Hz")) for st in spikes.to_neo()]
    counts = np.bincount(spikes.i, minlength=20)
    assert np.allclose(rates, counts / recorded.t_stop)


def test_bad_override_raises_the_one_line_error(tmp_path):
    with pytest.raises(ScenarioError, match="unknown key"):
        api.run("song-stdp", set={"durration": "1*second"}, out=tmp_path)


def test_an_uncaught_user_error_is_not_called_a_brian_bug(tmp_path):
    """A script whose scenario has a weight in the wrong units: Python's traceback ending in the one-line
    error, not Brian2's "unexpected error ... bug in Brian 2" message."""
    import subprocess
    import sys

    bad = tmp_path / "bad.toml"
    bad.write_text(RECORDING.replace('weight = "rand()*0.02"', 'weight = "rnd()*0.02"'))
    script = f"import spikelearn; spikelearn.run({str(bad)!r}, out={str(tmp_path / 'runs')!r}, figures=False)"
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 1
    assert "bug in Brian" not in proc.stderr
    assert "spikelearn.errors" in proc.stderr.strip().splitlines()[-1]
