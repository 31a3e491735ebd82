"""Faults during a run: a full disk (simulated: a write fails with ENOSPC part-way), a compile failure on
cpp, a build directory left half-written by a killed compile. Interrupts (Ctrl-C, SIGTERM) and an
unwritable output directory are tested in tests/test_rundir.py."""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spikelearn.cli import main
from spikelearn.devices import BACKENDS, BUILDING_MARKER
from spikelearn.scenario import load_scenario

SMALL = '''
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
spikes = ["inp", "out"]
states = {{ out = {{ variables = ["v"], indices = 2, dt = "1*ms" }} }}
weights = {{ c = {{ dt = "5*ms", indices = 4 }} }}
'''


def _scenario(tmp_path, name, device="runtime", duration="30*ms"):
    path = tmp_path / f"{name}.toml"
    path.write_text(SMALL.format(name=name, device=device, duration=duration))
    return path


def _one_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("spikelearn: warning")
             and not ln.startswith("scenario '") and not ln.startswith("run directory:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("spikelearn: error: ") and "Traceback" not in err
    return lines[0]


def _nothing_looks_complete(run_root):
    """No run directory with a final name, no temporary file left, every data file whole."""
    runs = [p for p in run_root.iterdir() if not p.name.startswith(".write-test")]
    assert len(runs) == 1 and runs[0].name.endswith(".incomplete"), runs
    run = runs[0]
    leftovers = [p for p in run.rglob("*") if ".tmp" in p.name]
    assert not leftovers, leftovers
    for f in (run / "data").glob("*.npz"):
        with np.load(f) as z:  # a truncated file under its final name would fail here
            [z[k] for k in z.files]
    assert not (run / "metrics.json").exists()
    return run


def _disk_fills_after(monkeypatch, n_ok, target):
    """The (n_ok+1)-th call of ``target`` (numpy.savez or Path.write_text) writes half and fails ENOSPC."""
    calls = {"n": 0}
    real = getattr(*target)

    def fill(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= n_ok:
            return real(*args, **kwargs)
        dest = Path(args[0])
        with open(dest, "wb") as f:
            f.write(b"PK\x03\x04 half a file")
        raise OSError(errno.ENOSPC, "No space left on device", str(dest))

    monkeypatch.setattr(*target, fill)
    return calls


def test_disk_full_while_saving_data_leaves_no_file_looking_complete(tmp_path, capsys, monkeypatch):
    path = _scenario(tmp_path, "diskfull")
    calls = _disk_fills_after(monkeypatch, 1, (np, "savez"))
    code = main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"])
    line = _one_line(capsys.readouterr().err)
    assert code == 1 and calls["n"] == 2
    assert "No space left on device" in line and "marked incomplete" in line
    run = _nothing_looks_complete(tmp_path / "runs" / "diskfull")
    assert len(list((run / "data").glob("*.npz"))) == 1  # the one written before the disk filled up
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "failed" and "No space left" in status["reason"]


def test_disk_full_while_writing_metrics(tmp_path, capsys, monkeypatch):
    path = _scenario(tmp_path, "metricsfull")
    real = Path.write_text

    def fill(self, text, *args, **kwargs):
        if self.name == ".metrics.json.tmp":
            real(self, text[: len(text) // 2])
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fill)
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 1
    assert "No space left on device" in _one_line(capsys.readouterr().err)
    run = _nothing_looks_complete(tmp_path / "runs" / "metricsfull")
    assert json.loads((run / "status.json").read_text())["status"] == "failed"


def test_disk_full_even_for_status_json_still_marks_the_directory(tmp_path, capsys, monkeypatch):
    """When not even status.json can be written, the directory's name still says incomplete."""
    path = _scenario(tmp_path, "allfull")
    real = Path.write_text
    state = {"full": False}

    def fill(self, text, *args, **kwargs):
        if self.name == ".metrics.json.tmp":
            state["full"] = True
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, text, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", fill)
    assert main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"]) == 1
    capsys.readouterr()
    run = _nothing_looks_complete(tmp_path / "runs" / "allfull")
    assert json.loads((run / "status.json").read_text())["status"] == "evaluating"  # the last one written (the simulation had ended)


@pytest.fixture
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKELEARN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.long
def test_cpp_compile_failure_shows_first_error_and_generated_file(tmp_path, capfd, monkeypatch, own_cache):
    import spikelearn.guard

    monkeypatch.setattr(spikelearn.guard, "CPP_CODE", spikelearn.guard.CPP_CODE.replace(
        "return 0.0;", "return 0.0 this_is_not_cpp;"))
    path = _scenario(tmp_path, "badcpp", device="cpp")
    code = main(["run", str(path), "--out", str(tmp_path / "runs"), "--no-progress"])
    out, err = capfd.readouterr()
    line = _one_line(err)
    assert code == 1
    assert "cpp build failed:" in line and "error:" in line and "this_is_not_cpp" in line, line
    assert "try --device runtime" in line and "compile.log" in line
    generated = line.split("generated file: ")[1].split(" (full compiler output")[0]
    assert Path(generated).is_file() and "this_is_not_cpp" in Path(generated).read_text()
    assert len(err.splitlines()) < 10, "not pages of compiler output"
    runs = list((tmp_path / "runs" / "badcpp").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith(".incomplete")


def _cli(args, cache, check=True, **kwargs):
    """``spikelearn ARGS`` in a new process (as a user runs it) with its own build cache."""
    env = {**os.environ, "SPIKELEARN_CACHE": str(cache), "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([sys.executable, "-m", "spikelearn.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs)
    if not check:
        return proc
    out, err = proc.communicate()
    return proc.returncode, out, err


def _final_run(root, name, exclude=()):
    runs = [p for p in (root / name).iterdir() if not p.name.startswith(".") and p not in exclude
            and not p.name.endswith(".incomplete")]
    assert len(runs) == 1, runs
    return runs[0]


def _same_data(a, b):
    names = sorted(p.name for p in (a / "data").glob("*.npz"))
    assert names and names == sorted(p.name for p in (b / "data").glob("*.npz"))
    for name in names:
        x, y = np.load(a / "data" / name), np.load(b / "data" / name)
        assert sorted(x.files) == sorted(y.files)
        for k in x.files:
            assert np.array_equal(x[k], y[k]), (name, k)


@pytest.mark.long
def test_half_written_build_directory_is_detected_and_rebuilt(tmp_path, registry, own_cache):
    path = _scenario(tmp_path, "cachebreak", device="cpp")
    runs = tmp_path / "runs"
    args = ["run", str(path), "--out", str(runs), "--no-progress"]
    code, out, err = _cli(args, own_cache)
    assert code == 0, err
    first = _final_run(runs, "cachebreak")
    build = BACKENDS["cpp"].build_directory(load_scenario(path, registry))
    assert build.is_dir() and not (build / BUILDING_MARKER).exists()

    # what a compile killed half-way leaves: a truncated object file, newer than its source. Control: without
    # the marker, make takes it as up to date and the link fails
    largest = max(build.rglob("*.o"), key=lambda p: p.stat().st_size)
    with open(largest, "r+b") as f:
        f.truncate(100)
    code, out, err = _cli(args, own_cache)
    assert code == 1 and "cpp build failed" in err, err
    # the failed build left its marker: the next run rebuilds from scratch and repeats the first exactly
    assert (build / BUILDING_MARKER).exists()
    code, out, err = _cli(args, own_cache)
    assert code == 0, err
    again = _final_run(runs, "cachebreak", exclude=(first,))
    _same_data(first, again)
    assert "rebuilding it from scratch" in (again / "log.txt").read_text()
    assert not (build / BUILDING_MARKER).exists()

    # a compile really killed (SIGKILL to make and the compilers) part-way through
    shutil.rmtree(build)
    proc = _cli(args, own_cache, check=False)
    deadline = time.time() + 500
    while time.time() < deadline and proc.poll() is None:
        if len(list((build / "code_objects").glob("*.o"))) >= 3:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the build finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert (build / BUILDING_MARKER).exists()
    code, out, err = _cli(args, own_cache)
    assert code == 0, err
    third = _final_run(runs, "cachebreak", exclude=(first, again))
    _same_data(first, third)
    assert "rebuilding it from scratch" in (third / "log.txt").read_text()


@pytest.mark.long
def test_killed_compile_marker_alone_triggers_a_rebuild(tmp_path, registry, own_cache):
    """A compile killed before anything was compiled (marker present, directory otherwise empty-ish)."""
    from spikelearn.runner import run_scenario

    path = _scenario(tmp_path, "killedcompile", device="cpp")
    sc = load_scenario(path, registry)
    build = BACKENDS["cpp"].build_directory(sc)
    build.mkdir(parents=True)
    (build / BUILDING_MARKER).write_text("")
    (build / "main").write_bytes(b"\x7fELF truncated")  # a binary that would not run
    outcome = run_scenario(sc, registry, out_root=tmp_path / "runs", progress=False, figures=False)
    assert outcome.path.is_dir() and not outcome.path.name.endswith(".incomplete")
    assert "rebuilding it from scratch" in (outcome.path / "log.txt").read_text()


def test_a_task_that_cannot_evaluate_the_run_keeps_the_data(tmp_path, registry, monkeypatch):
    """A task's evaluation failing (e.g. a run too short for its analysis) is one line; the data stay."""
    from spikelearn.errors import SpikelearnError
    from spikelearn.runner import run_scenario

    task = registry.get("tasks", "song_stdp")

    def broken(result):
        raise ValueError("need at least 10 s of data")

    monkeypatch.setattr(task, "evaluate", broken)
    text = SMALL.format(name="evalfail", device="runtime", duration="20*ms").replace(
        "[record]", '[task]\nname = "song_stdp"\nparameters = { connection = "c" }\n[record]')
    path = tmp_path / "evalfail.toml"
    path.write_text(text)
    with pytest.raises(SpikelearnError) as excinfo:
        run_scenario(load_scenario(path, registry), registry, out_root=tmp_path / "runs", progress=False,
                     figures=False)
    message = str(excinfo.value)
    assert "\n" not in message
    assert "task 'song_stdp' could not evaluate the run: ValueError: need at least 10 s of data" in message
    run = _nothing_looks_complete(tmp_path / "runs" / "evalfail")
    assert {p.name for p in (run / "data").glob("*.npz")} == {"spikes_inp.npz", "spikes_out.npz",
                                                              "state_out.npz", "weights_c.npz"}
    assert json.loads((run / "status.json").read_text())["status"] == "failed"


@pytest.mark.parametrize("log, first, generated", [
    # g++ (cpp): pages of output, the first error line names the generated file
    ("g++ -c objects.cpp -o objects.o\nIn file included from code_objects/c_pre_codeobject.cpp:3:\n"
     "code_objects/c_pre_codeobject.cpp:40:20: error: expected ';' before 'x'\n   40 |  x\n" + "noise\n" * 500 +
     "code_objects/c_pre_codeobject.cpp:41:1: error: second error\nmake: *** [makefile:29: x.o] Error 1\n",
     "code_objects/c_pre_codeobject.cpp:40:20: error: expected ';' before 'x'", "code_objects/c_pre_codeobject.cpp"),
    # nvcc (cuda)
    ("nvcc -c code_objects/out_stateupdater_codeobject.cu\ncode_objects/out_stateupdater_codeobject.cu(57): "
     "error: identifier \"foo\" is undefined\n1 error detected\n",
     "code_objects/out_stateupdater_codeobject.cu(57): error: identifier \"foo\" is undefined",
     "code_objects/out_stateupdater_codeobject.cu"),
])
def test_compile_error_message_is_the_first_error_and_the_generated_file(tmp_path, log, first, generated):
    from spikelearn.devices import COMPILE_LOG

    (tmp_path / COMPILE_LOG).write_text(log)
    message = BACKENDS["cpp"].compile_error(tmp_path)
    assert "\n" not in message and len(message) < 500
    assert f"build failed: {first}" in message
    assert f"generated file: {tmp_path / generated}" in message
    assert "second error" not in message and "noise" not in message
    assert message.endswith("try --device runtime")
