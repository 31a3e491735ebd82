"""runtime and cpp_standalone agree.

A network without random numbers (explicit input spikes → LIF with STDP) must give the same output
spikes and weights on both devices (exactly equal spike times; weights to floating-point tolerance).
Brian2 does not promise the same random streams on runtime and standalone, so for Poisson input the
test compares statistics: rates within 5 standard errors.
"""

import numpy as np
import pytest

from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

pytestmark = pytest.mark.standalone


def run(path, registry, out):
    sc = load_scenario(path, registry)
    return RunResult(run_scenario(sc, registry, out_root=out, progress=False).path)


def test_same_spikes_and_weights_on_runtime_and_cpp(deterministic_network, registry, tmp_path):
    a = run(deterministic_network("runtime"), registry, tmp_path)
    b = run(deterministic_network("cpp"), registry, tmp_path)
    (ia, ta), (ib, tb) = a.spikes("out"), b.spikes("out")
    assert len(ta) > 10, "the test network must spike"
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(ta, tb, rtol=0, atol=1e-12)
    wa, wb = a.weights("c"), b.weights("c")
    np.testing.assert_array_equal(wa["i"], wb["i"])
    np.testing.assert_allclose(wa["w_final"], wb["w_final"], rtol=1e-9, atol=1e-15)
    assert not np.allclose(wa["w_final"], wa["w_initial"]), "plasticity must have acted"


def test_poisson_rates_agree_statistically(write_scenario, registry, tmp_path):
    results = {}
    for device in ("runtime", "cpp"):
        path = write_scenario(f'''
            name = "rates"
            duration = "2*second"
            device = "{device}"
            [populations.inp]
            model = "poisson"
            size = 200
            parameters = {{ rate = "25*Hz" }}
        ''')
        _, t = run(path, registry, tmp_path).spikes("inp")
        results[device] = len(t)
    expected = 200 * 25 * 2.0
    for device, count in results.items():
        assert abs(count - expected) < 5 * np.sqrt(expected), (device, count)
