"""Reproducibility: the same scenario, seed and device give bitwise identical spikes, states and weights
(runtime and cpp), for every built-in scenario (durations shortened), and ``spikelearn run
RUN_DIR/scenario.toml`` repeats a run exactly."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikelearn.cli import main
from spikelearn.errors import SpikelearnError
from spikelearn.scenario import builtin_scenarios, load_scenario
from spikelearn.runner import run_scenario

SMALL = '''
name = "repro"
seed = 11
dt = "0.1*ms"
duration = "100*ms"
device = "{device}"
[populations.inp]
model = "poisson"
size = 20
parameters = {{ rate = "20*Hz + i*5*Hz" }}
[populations.out]
model = "lif_cond"
size = 3
[connections.c]
source = "inp"
target = "out"
weight = "rand()*0.02"
plasticity = {{ rule = "stdp_additive", wmax = 0.02 }}
[record]
spikes = ["inp", "out"]
states = {{ out = {{ variables = ["v", "ge"], indices = 3, dt = "0.1*ms" }} }}
weights = {{ c = {{ dt = "10*ms", indices = 10 }} }}
'''


def data_files(run):
    """Every recorded array of a run directory: {file: {array name: array}}."""
    out = {}
    for f in sorted((Path(run) / "data").iterdir()):
        if f.suffix == ".npz":
            with np.load(f) as z:
                out[f.name] = {k: z[k] for k in z.files}
        elif f.suffix == ".npy":
            out[f.name] = {"": np.load(f)}
    return out


def assert_bitwise_equal(run_a, run_b):
    a, b = data_files(run_a), data_files(run_b)
    assert sorted(a) == sorted(b)
    assert a, "nothing recorded"
    for name in a:
        assert sorted(a[name]) == sorted(b[name]), name
        for key in a[name]:
            x, y = a[name][key], b[name][key]
            assert x.dtype == y.dtype and x.shape == y.shape, (name, key)
            assert x.tobytes() == y.tobytes(), f"{name}:{key} differs"


@pytest.mark.parametrize("dev", ["runtime", pytest.param("cpp", marks=pytest.mark.long)])
def test_same_seed_same_device_is_bitwise_identical_and_rerun_from_run_dir(dev, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])  # figures are not compared
    path = tmp_path / "repro.toml"
    path.write_text(SMALL.format(device=dev))
    out = tmp_path / "runs"
    assert main(["run", str(path), "--out", str(out), "--no-progress"]) == 0
    first = next(p for p in (out / "repro").iterdir() if not p.name.startswith("."))
    # the run directory's resolved scenario repeats the run exactly
    assert main(["run", str(first / "scenario.toml"), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    runs = sorted(p for p in (out / "repro").iterdir() if not p.name.startswith("."))
    assert len(runs) == 2
    assert_bitwise_equal(*runs)
    assert (runs[0] / "scenario.toml").read_text() == (runs[1] / "scenario.toml").read_text()
    # negative control: another seed gives other spikes
    assert main(["run", str(path), "--out", str(out), "--no-progress", "--seed", "12"]) == 0
    third = next(p for p in (out / "repro").iterdir() if p not in runs and not p.name.startswith("."))
    with pytest.raises(AssertionError):
        assert_bitwise_equal(runs[0], third)


# built-in scenarios shortened for the bounded test (a duration, and the task parameters that set how
# long its schedule is); the data are compared, whether or not the task's claims hold on so short a run
_BALANCED = ['duration="100*ms"', "populations.E.size=200", "populations.I.size=50", "connections.ee.p=0.5",
             "connections.ei.p=0.5", "connections.ie.p=0.5", "connections.ii.p=0.5",
             'task.parameters.window="50*ms"', 'task.parameters.bin="10*ms"']
_ADVERSARIAL = ["task.parameters.epochs=1", "task.parameters.max_train=40", "task.parameters.max_test=40",
                "task.parameters.n_novel=20", "task.parameters.snapshots=2"]
SHORT = {
    "adversarial-digits": _ADVERSARIAL + ['duration="0.4*second"'],
    "adversarial-mnist": _ADVERSARIAL + ['duration="0.4*second"'],
    "adversarial-moving-digits": _ADVERSARIAL + ["task.parameters.frames=2", 'duration="0.8*second"'],
    "balanced-stdp": _BALANCED,
    "balanced-stdp-1e8": _BALANCED,
    "dendritic-posterior": ['duration="100*ms"'],
    "dendritic-prior": ['duration="100*ms"'],
    "dendritic-prior-T50": ['duration="100*ms"'],
    "dendritic-swissroll": ['duration="100*ms"'],
    "dendritic-swissroll-posterior": ['duration="100*ms"', "populations.main.size=20", "populations.fast.size=20",
                                      "populations.wrong_sign.size=20", "populations.additive.size=20"],
    "dendritic-digits": ['duration="100*ms"', "populations.deep.size=20", "populations.shallow.size=20",
                         "populations.langevin.size=20"],
    "dynamic-inversion": ['duration="100*ms"'],
    "dynamic-inversion-mnist": ['duration="10.065*second"', "task.parameters.epochs=1",
                                "task.parameters.examples_per_epoch=2", "task.parameters.hidden=16"],
    "dynamic-inversion-mnist-1000": ['duration="10.065*second"', "task.parameters.epochs=1",
                                     "task.parameters.examples_per_epoch=2", "task.parameters.hidden=16"],
    "dynamic-inversion-regression": ['duration="20.06*second"'],
    "dynamic-inversion-regression-spiking": ['duration="30.018*second"'],
    "dynamic-inversion-spiking": ['duration="100*ms"'],
    "nudged-gradient": ['duration="500*ms"', "task.parameters.n_samples=1"],
    "nudged-gradient-mnist": ['duration="220*ms"', "task.parameters.n_samples=1", "task.parameters.n_hidden=20"],
    # the training schedule is epochs x 1797 digits + 1 periods of 250 ms whatever the split: one epoch
    "nudged-train": ['duration="449.75*second"', "task.parameters.epochs=1"],
    "nudged-train-mnist": ["task.parameters.n_hidden=20", "task.parameters.n_train_per_class=5",
                           "task.parameters.n_test_per_class=5", "task.parameters.epochs=1", 'duration="11.11*second"'],
    "poisson-sampling": ['duration="300*ms"', 'task.parameters.discard="0.1*second"'],
    "poisson-sampling-prior-match": ['duration="300*ms"', 'task.parameters.discard="0.1*second"'],
    "poisson-sampling-coupled": ['duration="300*ms"', 'task.parameters.discard="0.1*second"'],
    "poisson-sampling-input": ['duration="300*ms"', 'task.parameters.discard="0.1*second"'],
    "reward-discrimination": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-discrimination-k10": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-estimation": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "reward-estimation-prior-change": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.n_trials_shift=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="180*second"'],
    "reward-estimation-k10": ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                          'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                          'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                          'task.parameters.n_repeats=2', 'duration="100*second"'],
    "song-stdp": ['duration="500*ms"'],
    "stdp-window-gradient": ['duration="1*second"', 'task.parameters.max_offset="10*ms"',
                             'task.parameters.offset_step="5*ms"', "task.parameters.n_pairings=2",
                             'task.parameters.period="100*ms"', 'task.parameters.first_post="50*ms"',
                             "populations.pre.size=5"],
    "stdp-window-dvdt": ["populations.post.size=200", "populations.post_slow.size=200"],
    "stdp-window-ou": ['duration="500*ms"'],
}
# 450 s of simulated time is cpp work (about a minute); on runtime it would take hours
TOO_SLOW_ON_RUNTIME = {"nudged-train"}


def _run_shortened(name, device, registry, out):
    """One shortened run; the data are saved before the task evaluates them, so a task that cannot
    evaluate a shortened run still leaves complete data to compare."""
    sc = load_scenario(name, registry, SHORT[name] + [f'device="{device}"'])
    try:
        return run_scenario(sc, registry, out_root=out, progress=False, figures=False).path
    except SpikelearnError as ex:
        if "could not evaluate the run" not in str(ex):
            raise
        runs = sorted((out / sc.name).iterdir(), key=os.path.getmtime)  # the data were saved: compare them
        return runs[-1]


def test_every_builtin_scenario_is_listed_for_reproducibility():
    assert sorted(SHORT) == sorted(builtin_scenarios())


@pytest.mark.long
@pytest.mark.parametrize("name", sorted(SHORT))
def test_builtin_scenario_reproduces_bitwise(name, device, registry, tmp_path):
    if device == "runtime" and name in TOO_SLOW_ON_RUNTIME:
        pytest.skip(f"{name}: its shortest schedule (450 s simulated) is too slow on runtime; tested on cpp")
    first = _run_shortened(name, device, registry, tmp_path / "a")
    second = _run_shortened(name, device, registry, tmp_path / "b")
    assert_bitwise_equal(first, second)


@pytest.mark.long
def test_rerun_from_run_dir_in_a_new_process_is_identical(tmp_path):
    """A new Python process (another hash seed, fresh imports) repeats a run from its scenario.toml."""
    path = tmp_path / "repro.toml"
    path.write_text(SMALL.format(device="cpp"))
    out = tmp_path / "runs"
    exe = [sys.executable, "-m", "spikelearn.cli"]
    env = {**os.environ, "PYTHONHASHSEED": "1"}
    subprocess.run(exe + ["run", str(path), "--out", str(out), "--no-progress"], check=True, env=env,
                   capture_output=True)
    first = next(p for p in (out / "repro").iterdir() if not p.name.startswith("."))
    env["PYTHONHASHSEED"] = "2"
    subprocess.run(exe + ["run", str(first / "scenario.toml"), "--out", str(out), "--no-progress"], check=True,
                   env=env, capture_output=True)
    runs = sorted(p for p in (out / "repro").iterdir() if not p.name.startswith("."))
    assert len(runs) == 2
    assert_bitwise_equal(*runs)


def test_rerun_from_run_dir_reloads_the_plugin_files(tmp_path, capsys, monkeypatch):
    """A run that used ``--plugin FILE`` repeats from ``RUN_DIR/scenario.toml`` without naming it again."""
    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])
    plugin = Path(__file__).resolve().parents[2] / "examples" / "triplet_stdp.py"
    path = tmp_path / "triplet.toml"
    path.write_text(SMALL.format(device="runtime").replace('name = "repro"', 'name = "triplet"').replace(
        'rule = "stdp_additive", wmax = 0.02', 'rule = "triplet_stdp", wmax = 0.02'))
    out = tmp_path / "runs"
    assert main(["run", str(path), "--plugin", str(plugin), "--out", str(out), "--no-progress"]) == 0
    first = next(p for p in (out / "triplet").iterdir() if not p.name.startswith("."))
    assert main(["run", str(first / "scenario.toml"), "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    runs = sorted(p for p in (out / "triplet").iterdir() if not p.name.startswith("."))
    assert len(runs) == 2
    assert_bitwise_equal(*runs)
