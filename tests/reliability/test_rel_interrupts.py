"""Interrupts: a run stopped early is never marked complete, on every device.

Ctrl-C in the terminal (SIGINT to the whole process group) and SIGTERM to the spikelearn process alone
while the cpp program runs; Ctrl-C during the cpp compile; analysis of an incomplete run (its recorded
end, not the planned duration); temporary directories left by killed runs (``spikelearn clean``).
Interrupts of a runtime network are also tested in tests/test_rundir.py."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from spikelearn.cli import main
from spikelearn.devices import BACKENDS
from spikelearn.errors import RunInterrupted
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

SCENARIO = '''
name = "{name}"
seed = 4
dt = "0.1*ms"
duration = "{duration}"
device = "{device}"
[populations.inp]
model = "poisson"
size = 8
parameters = {{ rate = "100*Hz" }}
[populations.out]
model = "lif_cond"
size = 2
[connections.c]
source = "inp"
target = "out"
weight = "rand()*0.02"
plasticity = {{ rule = "stdp_additive" }}
[record]
spikes = ["inp"]
weights = {{ c = {{ dt = "1*second", indices = 2 }} }}
'''


def _scenario(tmp_path, name, device="runtime", duration="50*ms"):
    path = tmp_path / f"{name}.toml"
    path.write_text(SCENARIO.format(name=name, device=device, duration=duration))
    return path


def _spikelearn(args, cache=None):
    """``spikelearn ARGS`` in a new process group (as a terminal starts it); ``cache``: its own build cache."""
    env = {**os.environ, "MPLBACKEND": "Agg", **({"SPIKELEARN_CACHE": str(cache)} if cache else {})}
    return subprocess.Popen([sys.executable, "-m", "spikelearn.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for(condition, proc, timeout, what):
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"spikelearn ended before {what}: {proc.communicate()}"
        assert time.time() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def _stopped_within(proc, seconds):
    """Exit status and stderr of ``proc``, which must end within ``seconds`` (killed otherwise)."""
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"spikelearn did not stop within {seconds} s of the signal")
    return proc.returncode, err


def _one_error_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith(("scenario '", "run directory:"))
             and not ln.startswith("spikelearn: warning") and " s sim [" not in ln]  # the progress bar
    assert len(lines) == 1 and lines[0].startswith("spikelearn: error: ") and "Traceback" not in err, err
    return lines[0]


def _the_incomplete_run(root):
    runs = [p for p in root.iterdir() if not p.name.startswith(".")]
    assert len(runs) == 1 and runs[0].name.endswith(".incomplete"), runs
    assert not (runs[0] / "metrics.json").exists(), "an interrupted run is not evaluated"
    return runs[0], json.loads((runs[0] / "status.json").read_text())


@pytest.fixture(scope="module")
def cpp_long(tmp_path_factory, registry):
    """A cpp scenario of 1e5 s (minutes of simulation) and its build directory (compiled once)."""
    path = _scenario(tmp_path_factory.mktemp("cpp_long"), "long", device="cpp", duration="100000*second")
    return path, BACKENDS["cpp"].build_directory(load_scenario(path, registry))


@pytest.mark.standalone
@pytest.mark.parametrize("how", ["ctrl-c to the process group", "SIGTERM to spikelearn alone"])
def test_signal_while_the_cpp_program_runs_keeps_an_incomplete_run(how, cpp_long, tmp_path):
    path, build = cpp_long
    runs = tmp_path / "runs"
    (build / "progress.txt").unlink(missing_ok=True)  # an earlier run's
    proc = _spikelearn(["run", str(path), "--out", str(runs)])  # with progress: progress.txt
    # the program writes progress.txt every 0.5 s of wall time once it simulates
    _wait_for(lambda: (build / "progress.txt").exists(), proc, 300, "running cpp program")
    time.sleep(1.0)
    sent = time.time()
    if how == "ctrl-c to the process group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGTERM)
    code, err = _stopped_within(proc, 20)
    line = _one_error_line(err)
    assert code == 1 and time.time() - sent < 10
    run, status = _the_incomplete_run(runs / "long")
    signame = "SIGINT" if how.startswith("ctrl-c") else "SIGTERM"
    assert f"{signame} received: the cpp program stopped at t = " in line and "marked incomplete" in line, line
    assert status["status"] == "incomplete" and "stopped at t = " in status["reason"]
    assert 0 < status["t_end"] < 100000
    # what the program recorded up to the stop is kept, and analysis uses the time it reached
    _, t = RunResult(run).spikes("inp")
    assert t.size and t.max() <= status["t_end"] and t.max() > status["t_end"] - 1
    assert RunResult(run).duration == status["t_end"]


@pytest.mark.standalone
def test_ctrl_c_during_the_cpp_compile_says_interrupted(tmp_path):
    path = _scenario(tmp_path, "compiling", device="cpp")
    cache, runs = tmp_path / "cache", tmp_path / "runs"
    proc = _spikelearn(["run", str(path), "--out", str(runs), "--no-progress"], cache)
    _wait_for(lambda: any((cache / "build" / "cpp").glob("*/code_objects/*.o")), proc, 300, "compiled object file")
    os.killpg(proc.pid, signal.SIGINT)
    code, err = _stopped_within(proc, 60)
    line = _one_error_line(err)
    assert code == 1
    assert "the cpp build was stopped by SIGINT" in line and "build failed" not in line and "--device" not in line
    run, status = _the_incomplete_run(runs / "compiling")
    assert status["status"] == "incomplete" and status["t_end"] == 0.0


def test_runtime_interrupt_records_the_time_reached(tmp_path, registry):
    sc = load_scenario(_scenario(tmp_path, "slow", duration="300*second"), registry)
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(RunInterrupted, match="stopped at t = "):
            run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False)
    finally:
        timer.cancel()
    run, status = _the_incomplete_run(tmp_path / "runs" / "slow")
    assert 0 < status["t_end"] < 300
    _, t = RunResult(run).spikes("inp")
    assert t.max() <= status["t_end"] and RunResult(run).duration == status["t_end"]


def test_an_interrupted_packed_run_marks_every_copy_incomplete(tmp_path, registry):
    from spikelearn.runner import run_packed

    path = _scenario(tmp_path, "slowpack", duration="300*second")
    copies = [load_scenario(path, registry, [f"seed={s}"]) for s in (1, 2, 3)]
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        with pytest.raises(RunInterrupted, match="stopped at t = "):
            run_packed(copies, registry, out_root=tmp_path / "runs", progress=False)
    finally:
        timer.cancel()
    runs = sorted((tmp_path / "runs" / "slowpack").iterdir())
    assert len(runs) == 3 and all(r.name.endswith(".incomplete") for r in runs), runs
    for run in runs:
        status = json.loads((run / "status.json").read_text())
        assert status["status"] == "incomplete" and 0 < status["t_end"] < 300
        assert not (run / "metrics.json").exists(), "an interrupted run is not evaluated"
        i, t = RunResult(run).spikes("inp")
        assert len(t) and t.max() <= status["t_end"] and i.max() < RunResult(run).spike_count_size("inp")


@pytest.fixture
def interrupted_run(tmp_path, registry):
    """An incomplete run directory as an interrupt leaves it: 50 ms recorded of a long plan."""
    outcome = run_scenario(load_scenario(_scenario(tmp_path, "cut"), registry), registry,
                           out_root=tmp_path / "runs", progress=False, figures=False)
    run = outcome.path.rename(outcome.path.with_name(outcome.path.name + ".incomplete"))
    (run / "metrics.json").unlink()

    def plan(duration, t_end=0.05):
        text = (run / "scenario.toml").read_text()
        (run / "scenario.toml").write_text(re.sub(r'(?m)^duration = ".*"$', f'duration = "{duration}"', text))
        status = {"status": "incomplete", "reason": "SIGINT received"}
        if t_end is not None:
            status["t_end"] = t_end
        (run / "status.json").write_text(json.dumps(status))
        return run

    return plan


@pytest.mark.parametrize("t_end", [0.05, None], ids=["recorded end", "no end recorded: last recorded time"])
def test_analysis_of_an_incomplete_run_uses_its_recorded_end(interrupted_run, tmp_path, capsys, t_end):
    from spikelearn.analysis import _io
    from spikelearn.analysis.compare import activity_summary

    run = interrupted_run("1000*second", t_end)
    result = RunResult(run)
    end = 0.05 if t_end is not None else result.last_recorded_time()
    assert 0.04 < end <= 0.05
    assert result.duration == end and _io.run_duration(result) == end
    i, t = result.spikes("inp")
    assert activity_summary(result)["inp"]["mean rate (Hz)"] == pytest.approx(np.count_nonzero(t < end) / (8 * end))
    # a plan of 1e9 s (planned-duration bins would need hundreds of GiB)
    run = interrupted_run("1e9*second", t_end)
    assert main(["inspect", str(run), "--out", str(tmp_path / "inspect")]) == 0
    assert "MemoryError" not in capsys.readouterr().err
    assert "simulated up to 0.05 s" in (tmp_path / "inspect" / "report.html").read_text() or t_end is None


def test_inspect_window_past_the_recorded_end_is_one_line(interrupted_run, capsys):
    run = interrupted_run("1000*second")
    assert main(["inspect", str(run), "--window", "0.5:2"]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == (f"spikelearn: error: {run}: --window: 0.5:2 s reaches past the run's recorded end, t = 0.05 s "
                    "(incomplete; planned 1000 s); allowed: a window within 0:0.05")
    assert main(["inspect", str(run), "--window", "0.01:0.04", "--out", str(run / "w")]) == 0


def test_temporary_directories_of_killed_runs_are_reported_and_cleaned(tmp_path, capsys):
    runs = tmp_path / "runs"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale, live, legacy = runs / "tiny" / ".20260101-000000-aaaaaa.tmp", runs / "x" / ".20260101-000000-bbbbbb.tmp", \
        runs / "x" / ".20250101-000000-cccccc.tmp"
    for path, status in ((stale, {"status": "running", "pid": dead.pid, "host": os.uname().nodename}),
                         (live, {"status": "running", "pid": os.getpid(), "host": os.uname().nodename}),
                         (legacy, {"status": "running"})):
        (path / "data").mkdir(parents=True)
        (path / "status.json").write_text(json.dumps(status))
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    path = _scenario(tmp_path, "tiny")
    assert main(["run", str(path), "--out", str(runs), "--no-progress"]) == 0
    err = capsys.readouterr().err
    note = next(ln for ln in err.splitlines() if ln.startswith("note:"))
    assert "2 temporary run directories of killed runs" in note and f"`spikelearn clean {runs}`" in note
    assert f"{stale} (2.0 h old, process {dead.pid} is gone)" in note and str(legacy) in note
    assert str(live) not in note

    assert main(["clean", str(runs)]) == 0
    out = capsys.readouterr().out
    assert f"removing {stale}" in out and f"removing {legacy}" in out and str(live) not in out
    assert not stale.exists() and not legacy.exists() and live.is_dir()
    assert [p.name for p in (runs / "tiny").iterdir() if not p.name.startswith(".")]  # the finished run stays
    assert main(["clean", str(tmp_path / "nowhere")]) == 1
    assert _one_error_line(capsys.readouterr().err).startswith(f"spikelearn: error: {tmp_path / 'nowhere'}: RUNS_DIR:")


def test_a_task_evaluates_over_the_whole_simulated_time_not_up_to_the_last_spike(write_scenario, registry, tmp_path,
                                                                                   monkeypatch):
    """While the task evaluates, ``RunResult.duration`` is the simulated time, even when the last recorded
    event is much earlier (here: an output neuron that never fires)."""
    from spikelearn.results import RunResult
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    seen = []
    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])
    real = RunResult.__init__

    def spy(self, path):
        real(self, path)
        seen.append(self.duration)

    monkeypatch.setattr(RunResult, "__init__", spy)
    path = write_scenario(TINY_SILENT)
    run_scenario(load_scenario(path, registry), registry, out_root=tmp_path, progress=False, figures=False)
    assert seen and all(d == pytest.approx(0.2) for d in seen), seen


TINY_SILENT = '''
name = "silent"
dt = "0.1*ms"
duration = "200*ms"
device = "runtime"
[populations.inp]
model = "poisson"
size = 5
parameters = { rate = "10*Hz" }
[populations.out]
model = "lif_cond"
size = 1
[connections.c]
source = "inp"
target = "out"
weight = 0.0
plasticity = { rule = "stdp_additive", wmax = 0.01 }
[record]
spikes = ["inp", "out"]
weights = { c = {} }
[task]
name = "song_stdp"
parameters = { connection = "c", output = "out", input = "inp", rate_window = "100*ms" }
'''
