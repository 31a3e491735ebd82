"""spikelearn sweep: a grid x seeds on Dask gives the same table as running the points one by one,
resumes without recomputing, and survives a worker killed mid-sweep (every point present exactly once)."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from spikelearn.errors import ScenarioError
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario, parse_scenario
from spikelearn.sweep import parse_grid, plan_sweep, run_sweep

SCENARIO = '''
name = "sweep-song"
duration = "1*second"
device = "runtime"
[populations.inputs]
model = "poisson"
size = 200
parameters = { rate = "15*Hz" }
[populations.out]
model = "lif_cond"
size = 1
[connections.inputs_to_out]
source = "inputs"
target = "out"
weight = "rand()*0.05"
plasticity = { rule = "stdp_additive", wmax = 0.05 }
[record]
spikes = ["out"]
weights = { inputs_to_out = {} }
[task]
name = "song_stdp"
parameters = { rate_window = "1*second", rate_low = "0*Hz", rate_high = "1000*Hz" }
'''


def read_table(sweep_dir):
    with open(sweep_dir / "table.csv") as f:
        return list(csv.DictReader(f))


def test_grid_values_are_validated_before_anything_runs(write_scenario, registry):
    base = load_scenario(write_scenario(SCENARIO), registry)
    key, values = parse_grid("connections.inputs_to_out.plasticity.tau_pre=10*ms,20*mV")
    with pytest.raises(ScenarioError, match=r"connections\.inputs_to_out\.plasticity\.tau_pre: expected a time"):
        plan_sweep(base, {key: values}, 1, registry)
    assert parse_grid("a=[1, 2],[3, 4]") == ("a", [[1, 2], [3, 4]])


def test_local_cluster_sweep_matches_one_by_one_and_resumes(write_scenario, registry, tmp_path):
    base = load_scenario(write_scenario(SCENARIO), registry)
    grid = dict([parse_grid("populations.inputs.parameters.rate=10*Hz,30*Hz")])
    sweep_dir = run_sweep(base, grid, 2, registry, out_root=tmp_path, workers=2, progress=False, echo=lambda m: None)
    rows = read_table(sweep_dir)
    assert len(rows) == 4 and all(r["status"] == "complete" for r in rows)
    for point, row in zip(plan_sweep(base, grid, 2, registry), rows):
        sc = parse_scenario(point.data, "<point>", registry)
        alone = run_scenario(sc, registry, out_root=tmp_path / "alone", progress=False, figures=False)
        assert float(row["metric:output_rate_overall_hz"]) == pytest.approx(alone.metrics["output_rate_overall_hz"])
        assert float(row["metric:mean_weight_over_wmax"]) == pytest.approx(alone.metrics["mean_weight_over_wmax"])
    # higher input rates drive the output harder: the table carries the science, not just the plumbing
    rate = {(r["param:populations.inputs.parameters.rate"], r["seed"]): float(r["metric:output_rate_overall_hz"]) for r in rows}
    assert rate[("30*Hz", "1")] > rate[("10*Hz", "1")]
    assert list((sweep_dir / "figures").glob("*.png"))
    # resume: nothing is recomputed
    before = {p.name: p.stat().st_mtime for p in (sweep_dir / "points").iterdir()}
    messages = []
    run_sweep(base, grid, 2, registry, out_root=tmp_path, workers=2, progress=False, echo=messages.append)
    assert "4 already done" in messages[0]
    assert {p.name: p.stat().st_mtime for p in (sweep_dir / "points").iterdir()} == before


def test_failed_point_is_recorded_and_the_sweep_goes_on(write_scenario, registry, tmp_path):
    base = load_scenario(write_scenario(SCENARIO + '\n'), registry)
    # a state variable that does not exist makes those points fail at build time
    grid = {"record.states": [{}, {"out": {"variables": ["nope"]}}]}
    sweep_dir = run_sweep(base, grid, 1, registry, out_root=tmp_path, workers=1, progress=False, echo=lambda m: None)
    rows = read_table(sweep_dir)
    assert sorted(r["status"] for r in rows) == ["complete", "failed"]
    failed = next(r for r in rows if r["status"] == "failed")
    assert "'nope' is not a variable of population 'out'" in failed["error"]


def _spawn(args, **kw):
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, **kw)


def test_remote_scheduler_survives_a_killed_worker(write_scenario, tmp_path):
    dask = str(Path(sys.executable).with_name("dask"))
    sched_file = tmp_path / "scheduler.json"
    procs = [_spawn([dask, "scheduler", "--scheduler-file", str(sched_file), "--port", "0", "--no-dashboard"])]
    try:
        for _ in range(100):
            if sched_file.exists():
                break
            time.sleep(0.3)
        import json

        address = json.loads(sched_file.read_text())["address"]
        workers = [_spawn([dask, "worker", "--scheduler-file", str(sched_file), "--nthreads", "1", "--no-nanny",
                           "--no-dashboard"]) for _ in range(2)]
        procs += workers
        scenario = write_scenario(SCENARIO.replace('duration = "1*second"', 'duration = "3*second"'))
        cmd = [sys.executable, "-m", "spikelearn.cli", "sweep", str(scenario), "--grid",
               "populations.inputs.parameters.rate=10*Hz,20*Hz,30*Hz", "--seeds", "2", "--scheduler", address,
               "--out", str(tmp_path / "runs"), "--no-progress"]
        sweep = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # kill one worker once the first point has come back
        deadline = time.time() + 300
        while time.time() < deadline and not list((tmp_path / "runs").glob("*/sweep-*/points/*")):
            time.sleep(0.5)
        os.killpg(workers[0].pid, signal.SIGKILL)
        out, err = sweep.communicate(timeout=600)
        assert sweep.returncode == 0, err
        sweep_dir = next((tmp_path / "runs").glob("*/sweep-*"))
        rows = read_table(sweep_dir)
        assert len(rows) == 6 and len({r["point"] for r in rows}) == 6
        assert all(r["status"] == "complete" for r in rows), rows
        assert len(list((sweep_dir / "points").iterdir())) == 6
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _weights(outcome):
    import numpy as np

    return dict(np.load(outcome.path / "data" / "weights_c.npz"))


def _spikes(outcome):
    import numpy as np

    return dict(np.load(outcome.path / "data" / "spikes_out.npz"))


@pytest.mark.standalone
def test_runtime_parameters_reuse_the_cpp_build_and_match_compiled_values(deterministic_network, registry, tmp_path):
    import json

    import numpy as np

    base = load_scenario(deterministic_network("cpp"), registry)
    key = "connections.c.plasticity.depression_ratio"
    at_run = [f'device_options.runtime_parameters=["{key}"]']

    def run(overrides):
        sc = base.with_overrides(overrides, registry)
        outcome = run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False)
        build = Path(json.loads((outcome.path / "provenance.json").read_text())["device_build_dir"])
        return outcome, build

    def objects(build):  # compiled code; main.o may differ within one process (Brian2 clock state)
        return {p.name: p.stat().st_mtime_ns for p in build.rglob("*.o") if p.name != "main.o"}

    compiled, _ = run([])
    given, build = run(at_run)
    before = objects(build)
    weaker, build_weaker = run(at_run + [f"{key}=0.5"])
    # a new value does not change the program: same build directory, no code object recompiled
    assert build_weaker == build and len(before) > 10 and objects(build) == before
    # the value read at run time gives the run with the value compiled in (to rounding: Brian2 folds
    # compiled-in constants, so the last bit of a product can differ)
    assert all(np.array_equal(_spikes(compiled)[k], _spikes(given)[k]) for k in ("i", "t"))
    np.testing.assert_allclose(_weights(given)["w_final"], _weights(compiled)["w_final"], rtol=1e-12, atol=1e-15)
    # and the new value is really used: less depression leaves stronger weights
    assert _weights(weaker)["w_final"].mean() > _weights(given)["w_final"].mean() + 1e-4


def test_runtime_parameters_are_validated_and_set_by_sweeps(write_scenario, registry):
    base = load_scenario(write_scenario(SCENARIO), registry)
    with pytest.raises(ScenarioError, match=r"device_options\.runtime_parameters: 'connections\.inputs_to_out\."
                                            r"plasticity\.wmx' is not a numeric plasticity parameter \(did you mean "
                                            r"'connections\.inputs_to_out\.plasticity\.wmax'\?\); allowed: "):
        base.with_overrides(['device_options.runtime_parameters=["connections.inputs_to_out.plasticity.wmx"]'],
                            registry)
    grid = dict([parse_grid("connections.inputs_to_out.plasticity.depression_ratio=0.9,1.05"),
                 parse_grid("populations.inputs.parameters.rate=10*Hz,20*Hz")])
    points = plan_sweep(base, grid, 1, registry)
    # the rule parameter is given at run time, the population parameter (compiled in) is not
    assert {tuple(p.data["device_options"]["runtime_parameters"]) for p in points} == {
        ("connections.inputs_to_out.plasticity.depression_ratio",)}
