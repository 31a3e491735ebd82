"""The phase schedule: gates and the oscillation, as Brian2 code, integrate to the analytic values on
runtime and cpp. A rule whose weight integrates a gate (dw/dt = gate/second) measures the time spent in
each phase; the oscillation ``osc`` integrates to half the elapsed time over whole periods."""

import numpy as np
import pytest

from spikelearn.registry import Registry
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import parse_scenario
from spikelearn.schedule import phase_intervals

RULES = '''
from spikelearn.plugin import PlasticityRule

class TimeIn{Name}(PlasticityRule):
    name = "time_in_{name}"
    description = "w integrates the {name} signal"
    signals = ("{name}",)
    model = "dw/dt = {name}/second : 1 (clock-driven)"
'''


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    path = tmp_path_factory.mktemp("rules") / "gates.py"
    path.write_text("".join(RULES.format(name=n, Name=n.capitalize()) for n in ("wake", "sleep", "osc", "a", "b")))
    return Registry([path])


def integrate(registry, phases, signals, device, tmp_path, duration="95*ms"):
    data = {
        "name": "gates", "dt": "0.1*ms", "duration": duration, "device": device, "phases": phases,
        "populations": {"src": {"model": "spike_generator", "size": 1}, "dst": {"model": "spike_generator", "size": 1}},
        "connections": {f"c_{s}": {"source": "src", "target": "dst", "weight": 0.0, "plasticity": {"rule": f"time_in_{s}"}}
                        for s in signals},
        "record": {"spikes": [], "weights": {f"c_{s}": {} for s in signals}},
    }
    sc = parse_scenario(data, "<gates>", registry)
    result = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False).path)
    return sc, {s: float(result.weights(f"c_{s}")["w_final"][0]) for s in signals}


def time_in(intervals, name):
    return sum(b - a for n, a, b in intervals if n == name)


def test_oscillation_gates_and_osc(device, registry, tmp_path):
    phases = {"kind": "oscillation", "names": ["wake", "sleep"], "period": "20*ms", "duty": 0.3, "offset": "5*ms"}
    sc, got = integrate(registry, phases, ["wake", "sleep", "osc"], device, tmp_path)
    intervals = phase_intervals(sc.phases, sc.duration)
    # worked by hand: cycles start at 5, 25, 45, 65, 85 ms with 6 ms of wake each; before 5 ms the run is in
    # the sleep part of the previous cycle -> wake 5 x 6 ms = 30 ms, sleep 95 - 30 = 65 ms
    assert time_in(intervals, "wake") == pytest.approx(0.030)
    assert got["wake"] == pytest.approx(0.030, abs=2e-4)
    assert got["sleep"] == pytest.approx(0.065, abs=2e-4)
    # integral of (1 - cos(2 pi (t - 5 ms)/20 ms))/2 over [0, 95 ms]
    t = np.arange(0, 0.095, 1e-4)
    expected = np.sum((1 - np.cos(2 * np.pi * (t - 0.005) / 0.020)) / 2) * 1e-4
    assert got["osc"] == pytest.approx(expected, rel=1e-6)


def test_blocks_and_intervals(registry, tmp_path):
    blocks = {"kind": "blocks", "names": ["a", "b"], "durations": ["3*ms", "7*ms"], "resolution": "1*ms"}
    sc, got = integrate(registry, blocks, ["a", "b"], "runtime", tmp_path)
    # 95 ms = 9 full 10 ms cycles (27 ms of a) + 3 ms of a + 2 ms of b
    assert got["a"] == pytest.approx(0.030, abs=2e-4) and got["b"] == pytest.approx(0.065, abs=2e-4)
    intervals = {"kind": "intervals", "names": ["a", "b"], "intervals": [["a", "10*ms", "20*ms"], ["b", "50*ms", "90*ms"]]}
    _, got = integrate(registry, intervals, ["a", "b"], "runtime", tmp_path)
    assert got["a"] == pytest.approx(0.010, abs=2e-4) and got["b"] == pytest.approx(0.040, abs=2e-4)


def test_long_block_schedule_keeps_its_boundaries():
    """Blocks of 100 ms + 10 ms over 20 000 cycles: every 10-ms slot is in the right block. Summing the
    boundaries in floating point drifted them by more than the old 1e-12-s tolerance after ~3 700 cycles
    and moved whole nudged blocks by one slot (nudged-train-mnist collapsed there)."""
    from brian2 import second

    from spikelearn.schedule import install_phases

    phases = {"kind": "blocks", "names": ["free", "nudged"], "durations": [0.1 * second, 0.01 * second],
              "resolution": 0.01 * second}
    duration = 20000 * 0.11 + 0.11
    namespace, signals = {}, {}
    install_phases(phases, duration, namespace, signals)
    gate = np.asarray(namespace["sl_phase_nudged"].values)
    np.testing.assert_array_equal(gate, (np.arange(gate.size) % 11 == 10).astype(float))
    spans = phase_intervals(phases, duration, limit=None)
    starts = np.array([a for name, a, b in spans if name == "nudged"])
    np.testing.assert_allclose(starts, 0.1 + 0.11 * np.arange(starts.size), rtol=0, atol=1e-9)
