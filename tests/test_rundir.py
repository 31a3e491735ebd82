"""Run directories: complete runs are renamed atomically, interrupted runs are kept and marked
incomplete with what was recorded, failed runs are marked failed, and nothing is ever overwritten."""

import json
import os
import signal
import threading

import numpy as np
import pytest

from spikelearn.errors import RunInterrupted, ScenarioError
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

LONG_RUNTIME = '''
name = "slow"
duration = "200*second"
device = "runtime"
[populations.inp]
model = "poisson"
size = 100
parameters = { rate = "20*Hz", method = "bernoulli" }
'''


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_recorded_data_marked_incomplete(signum, write_scenario, registry, tmp_path):
    sc = load_scenario(write_scenario(LONG_RUNTIME), registry)
    timer = threading.Timer(4.0, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        with pytest.raises(RunInterrupted, match="marked incomplete"):
            run_scenario(sc, registry, out_root=tmp_path, progress=False)
    finally:
        timer.cancel()
    runs = list((tmp_path / "slow").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith(".incomplete"), runs
    result = RunResult(runs[0])
    assert result.status["status"] == "incomplete"
    i, t = result.spikes("inp")
    assert len(t) > 0, "what was recorded before the interrupt is kept"
    assert t.max() < 200.0
    assert not (runs[0] / "metrics.json").exists()


def test_runs_are_never_overwritten(write_scenario, registry, tmp_path):
    path = write_scenario(LONG_RUNTIME.replace("200*second", "20*ms"))
    sc = load_scenario(path, registry)
    first = run_scenario(sc, registry, out_root=tmp_path, progress=False).path
    before = {p.name: p.read_bytes() for p in (first / "data").iterdir()}
    second = run_scenario(sc, registry, out_root=tmp_path, progress=False).path
    assert first != second and first.parent == second.parent
    assert {p.name: p.read_bytes() for p in (first / "data").iterdir()} == before
    for p in (first, second):
        assert json.loads((p / "status.json").read_text())["status"] == "complete"
        assert not p.name.startswith(".")


def test_refused_network_leaves_no_run_directory_and_earlier_runs_untouched(write_scenario, registry, tmp_path):
    # a failure after the run directory exists is marked failed: tests/reliability/test_rel_faults.py
    good = load_scenario(write_scenario(LONG_RUNTIME.replace("200*second", "20*ms")), registry)
    done = run_scenario(good, registry, out_root=tmp_path, progress=False).path
    bad = load_scenario(write_scenario(LONG_RUNTIME.replace("200*second", "20*ms") +
                                       '[record]\nstates = { inp = { variables = ["vv"] } }\n'), registry)
    with pytest.raises(ScenarioError, match=r"record\.states\.inp\.variables: 'vv' is not a variable of population 'inp'"):
        run_scenario(bad, registry, out_root=tmp_path, progress=False)
    assert sorted(p.name for p in (tmp_path / "slow").iterdir()) == [done.name]


def test_run_directory_contents(write_scenario, registry, tmp_path):
    sc = load_scenario(write_scenario(LONG_RUNTIME.replace("200*second", "50*ms")), registry)
    path = run_scenario(sc, registry, out_root=tmp_path, progress=False).path
    for name in ("scenario.toml", "provenance.json", "status.json", "metrics.json", "log.txt", "data"):
        assert (path / name).exists(), name
    prov = json.loads((path / "provenance.json").read_text())
    assert prov["seed"] == 1 and prov["device"] == "runtime" and "brian2" in prov["versions"]
    metrics = json.loads((path / "metrics.json").read_text())
    assert metrics == {"scenario": "slow", "metrics": {}, "claims": []}
    # the resolved scenario repeats the run: same scenario data when loaded again
    again = load_scenario(path / "scenario.toml", registry)
    assert again.data == sc.data


def test_unwritable_output_is_reported_before_the_run(write_scenario, registry, tmp_path):
    from spikelearn.errors import SpikelearnError

    sc = load_scenario(write_scenario(LONG_RUNTIME.replace("200*second", "5*ms")), registry)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SpikelearnError, match="cannot write to"):
        run_scenario(sc, registry, out_root=blocker, progress=False)


def test_same_seed_same_spikes_on_runtime(write_scenario, registry, tmp_path):
    sc = load_scenario(write_scenario(LONG_RUNTIME.replace("200*second", "100*ms")), registry)
    a = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False).path).spikes("inp")
    b = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False).path).spikes("inp")
    c = RunResult(run_scenario(sc.with_overrides(["seed=2"], registry), registry, out_root=tmp_path,
                               progress=False).path).spikes("inp")
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert len(a[1]) != len(c[1]) or not np.array_equal(a[1], c[1])


def test_non_finite_numbers_are_written_as_null(tmp_path):
    """A diverged run's NaN metrics must not make metrics.json invalid (strict) JSON."""
    from spikelearn.results import write_json_atomic

    path = tmp_path / "m.json"
    write_json_atomic(path, {"a": float("nan"), "b": [np.float64("inf"), 1.5]})
    assert json.loads(path.read_text(), parse_constant=lambda c: pytest.fail(f"non-strict JSON: {c}")) == {
        "a": None, "b": [None, 1.5]}
