"""Sweeps report failure: points that did not complete are listed and make the sweep exit 1, their
status comes from their run's own ``status.json``, bad options are one-line errors, run-time parameters
work on the runtime device, and a signal to the sweep stops the running points, kept incomplete."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from spikelearn.cli import main

SMALL = '''
name = "sw"
seed = 2
dt = "0.1*ms"
duration = "{duration}"
device = "runtime"
[populations.inp]
model = "poisson"
size = 20
parameters = {{ rate = "30*Hz" }}
[populations.out]
model = "lif_cond"
size = 2
[connections.c]
source = "inp"
target = "out"
weight = "rand()*0.02"
plasticity = {{ rule = "stdp_additive", wmax = 0.02 }}
[record]
spikes = ["inp", "out"]
weights = {{ c = {{}} }}
'''


@pytest.fixture
def small(tmp_path):
    def make(duration="100*ms"):
        path = tmp_path / "sw.toml"
        path.write_text(SMALL.format(duration=duration))
        return path
    return make


def test_run_time_parameters_work_on_runtime_with_the_same_result(small, tmp_path, capsys, monkeypatch):
    """``device_options.runtime_parameters`` on runtime failed ("Cannot write to synaptic variable
    'tau_pre_rt'"); there the values are used directly, bitwise as without the option."""
    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])
    path = small()
    key = "connections.c.plasticity.tau_pre"
    for out, extra in (("a", []), ("b", ["--set", f'device_options.runtime_parameters=["{key}"]'])):
        assert main(["run", str(path), "--out", str(tmp_path / out), "--no-progress", *extra]) == 0
    capsys.readouterr()
    weights = [np.load(next((tmp_path / out / "sw").glob("*/data/weights_c.npz")))["w_final"] for out in "ab"]
    assert weights[0].tobytes() == weights[1].tobytes()


def test_a_sweep_with_a_failed_point_lists_it_and_exits_1(small, tmp_path, capsys):
    """A point stopped by the guard (limit 1e-9): status ``stopped`` from its status.json, its run kept
    under failed/, listed on the terminal, exit 1 (it exited 0 and said nothing)."""
    code = main(["sweep", str(small()), "--grid", "guard.limit=1e12,1e-9", "--workers", "1", "--out",
                 str(tmp_path / "runs"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "1 sweep point(s) did not complete" in err and "guard.limit=1e-09" in err and "stopped" in err
    sweep_dir = next((tmp_path / "runs" / "sw").glob("sweep-*"))
    record = json.loads(next((sweep_dir / "failed").glob("*.json")).read_text())
    assert record["status"] == "stopped" and "ran away" in record["error"]
    kept = next((sweep_dir / "failed").glob("*.incomplete"))
    assert json.loads((kept / "status.json").read_text())["status"] == "stopped"
    assert len(list((sweep_dir / "points").iterdir())) == 1


@pytest.mark.parametrize("option", [["--workers", "0"], ["--seeds", "0"], ["--seeds", "-2"]])
def test_bad_counts_are_one_line_errors(small, tmp_path, capsys, option):
    assert main(["sweep", str(small()), "--seeds", "2", *option, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{option[0]}: {option[1]}; allowed: a whole number >= 1" in err


def test_an_unreachable_scheduler_is_one_line(small, tmp_path, capsys):
    t0 = time.monotonic()
    code = main(["sweep", str(small()), "--seeds", "2", "--scheduler", "tcp://127.0.0.1:9",
                 "--out", str(tmp_path), "--no-progress"])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("spikelearn: error")]
    assert code == 1 and len(err) == 1 and "cannot reach a Dask scheduler at 'tcp://127.0.0.1:9'" in err[0]
    assert time.monotonic() - t0 < 40


def test_sigterm_to_the_sweep_stops_its_points_and_keeps_them_incomplete(small, tmp_path):
    import psutil

    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "spikelearn.cli", "sweep", str(small("1000*second")), "--seeds", "2",
                             "--workers", "2", "--out", str(tmp_path / "runs"), "--no-progress"],
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 90
    running = []
    while time.monotonic() < deadline and not running:
        time.sleep(1)
        running = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "spikelearn.cli" in c.cmdline() and "run" in c.cmdline()]
    assert running, "no point started"
    # simulating: a runtime run spends its first seconds of CPU importing Brian2 and building
    while time.monotonic() < deadline + 60 and min(c.cpu_times().user for c in running) < 8:
        time.sleep(1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "sweep interrupted by SIGTERM" in err and "2 sweep point(s) did not complete" in err
    sweep_dir = next((tmp_path / "runs" / "sw").glob("sweep-*"))
    # the points that were running are kept incomplete; a point Dask had not started yet is not run
    kept = sorted((sweep_dir / "failed").glob("*.incomplete"))
    records = [json.loads(p.read_text()) for p in sorted((sweep_dir / "failed").glob("*.json"))]
    assert len(records) == 2 and {r["status"] for r in records} <= {"incomplete", "not run"}
    assert len(kept) == sum(r["status"] == "incomplete" for r in records) >= 1
    for run in kept:
        status = json.loads((run / "status.json").read_text())
        assert status["status"] == "incomplete" and 0 < status["t_end"] < 1000
    assert not list((sweep_dir / "points").iterdir())
