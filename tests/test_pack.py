"""Packed ensembles (`spikelearn.pack`): K runs of one scenario simulated as copies in one network, each
written as an ordinary run directory.

- a deterministic scenario (dynamic inversion: its only randomness is the task's arrays, drawn from each
  copy's seed) gives, packed, exactly the metrics of its separate runs;
- copies never influence each other: a copy with silent inputs stays silent and keeps its weights while
  its neighbours fire and learn;
- stochastic scenarios (song-stdp, reward-estimation): a packed copy draws other random numbers than its
  separate run, so the claims' statistics are compared as distributions over seeds (Mann-Whitney U,
  two-sided, alpha = 0.01, fixed before the first run; 10 seeds each);
- what cannot be packed is refused naming the reason.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikelearn.cuda import find_nvcc
from spikelearn.pack import PackError, _activity_dependent, _with_copy_index
from spikelearn.results import RunResult
from spikelearn.runner import check_packable, run_packed, run_scenario
from spikelearn.scenario import builtin_scenarios, load_scenario, resolve_scenario_path

REWARD_SHORT = ['populations.rates.size=5', 'task.parameters.n_trials=1', 'task.parameters.t_trial="20*second"',
                'task.parameters.t_hold="5*second"', 'task.parameters.t_transient="2*second"',
                'task.parameters.t_test_settle="1*second"', 'task.parameters.n_test_angles=4',
                'task.parameters.n_repeats=2', 'duration="100*second"', 'device="runtime"',
                'device_options.target="numpy"']
ALPHA = 0.01
SEEDS = range(1, 11)


def _separate(name, sets, seeds, registry, root):
    return [run_scenario(load_scenario(name, registry, sets + [f"seed={s}"]), registry, out_root=root,
                         progress=False, figures=False) for s in seeds]


def _packed(name, sets, seeds, registry, root):
    return run_packed([load_scenario(name, registry, sets + [f"seed={s}"]) for s in seeds], registry, out_root=root,
                      progress=False, figures=False)


def test_packed_copies_of_a_deterministic_scenario_equal_its_separate_runs(registry, tmp_path):
    packed = _packed("dynamic-inversion", [], (1, 2, 3), registry, tmp_path / "packed")
    separate = _separate("dynamic-inversion", [], (1, 2, 3), registry, tmp_path / "separate")
    for k, (p, s) in enumerate(zip(packed, separate)):
        assert json.loads((p.path / "status.json").read_text())["status"] == "complete"
        prov = json.loads((p.path / "provenance.json").read_text())
        assert prov["seed"] == k + 1 and prov["packed"]["index"] == k and len(prov["packed"]["runs"]) == 3
        assert sorted(f.name for f in (p.path / "data").iterdir()) == sorted(f.name for f in (s.path / "data").iterdir())
        for name, value in s.metrics.items():
            assert np.allclose(p.metrics[name], value, rtol=1e-9, atol=1e-12), (k, name, p.metrics[name], value)
        assert [c["passed"] for c in p.claims] == [c["passed"] for c in s.claims]


def test_a_copy_never_influences_another(registry, tmp_path):
    rates = ("15*Hz", "0*Hz", "15*Hz")
    scenarios = [load_scenario("song-stdp", registry, ['device="runtime"', 'duration="1*second"',
                                                       f'populations.inputs.parameters.rate="{r}"']) for r in rates]
    outcomes = run_packed(scenarios, registry, out_root=tmp_path, progress=False, figures=False)
    results = [RunResult(o.path) for o in outcomes]
    silent = results[1]
    assert len(silent.spikes("inputs")[1]) == 0 and len(silent.spikes("out")[1]) == 0
    w = silent.weights("inputs_to_out")
    assert np.array_equal(w["w_final"], w["w_initial"]) and len(w["w_final"]) == 1000
    for firing in (results[0], results[2]):
        assert len(firing.spikes("inputs")[1]) > 10000 and len(firing.spikes("out")[1]) > 10
        w = firing.weights("inputs_to_out")
        assert not np.array_equal(w["w_final"], w["w_initial"])
        i, _ = firing.spikes("inputs")
        assert i.max() < 1000 and firing.spike_count_size("inputs") == 1000


def _mann_whitney(a, b):
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


@pytest.mark.parametrize("name, sets, metrics", [
    ("song-stdp", ['device="runtime"', 'duration="1*second"'], ("output_rate_overall_hz", "mean_weight_over_wmax")),
    ("reward-estimation", REWARD_SHORT, ("readout_error_before", "readout_error_after", "mean_rate_after")),
])
def test_packed_copies_are_distributed_like_separate_runs(name, sets, metrics, registry, tmp_path):
    packed = _packed(name, sets, SEEDS, registry, tmp_path / "packed")
    separate = _separate(name, sets, SEEDS, registry, tmp_path / "separate")
    for metric in metrics:
        a = [o.metrics[metric] for o in packed]
        b = [o.metrics[metric] for o in separate]
        assert np.std(a) > 0, f"{metric}: packed copies are identical ({a[0]}): they must draw their own numbers"
        assert _mann_whitney(a, b) >= ALPHA, f"{metric}: packed {sorted(a)} vs separate {sorted(b)}"


def test_the_same_packed_seeds_repeat_exactly(registry, tmp_path):
    sets = ['device="runtime"', 'duration="0.3*second"']
    first = _packed("song-stdp", sets, (1, 2), registry, tmp_path / "a")
    again = _packed("song-stdp", sets, (1, 2), registry, tmp_path / "b")
    for x, y in zip(first, again):
        assert np.array_equal(RunResult(x.path).spikes("out")[1], RunResult(y.path).spikes("out")[1])


def test_what_cannot_be_packed_is_refused_with_the_reason(registry):
    balanced = [load_scenario("balanced-stdp", registry, [f"seed={s}"]) for s in (1, 2)]
    with pytest.raises(PackError, match=r"record.weights.ee: .*p < 1"):
        check_packable(balanced, registry)
    song = [load_scenario("song-stdp", registry, [f"seed={s}"]) for s in (1, 2)]
    check_packable(song, registry)  # packs


def test_a_shared_variable_from_the_neurons_state_is_refused_a_schedule_is_not(write_scenario, registry):
    text = '''
    name = "shared"
    dt = "0.1*ms"
    duration = "10*ms"
    device = "runtime"

    [models.unit]
    equations = """
    dv/dt = (drive - v)/(10*ms) : 1
    drive : 1 (shared)
    """

    [populations.p]
    model = "unit"
    size = 3
    '''
    ok = load_scenario(str(write_scenario(text)), registry)
    assert _activity_dependent("v : 1\ndrive : 1 (shared)", ["drive = sin(2*pi*t/(10*ms))"]) == []
    assert _activity_dependent("v : 1\ndrive : 1 (shared)\ng : 1 (shared)",
                               ["drive = v", "g = 2*drive"]) == ["drive", "g"]
    check_packable([ok, ok.with_overrides(["seed=2"], registry)], registry)
    mean = text.replace('drive : 1 (shared)', 'drive = v : 1 (shared)')
    bad = load_scenario(str(write_scenario(mean)), registry)
    with pytest.raises(PackError, match=r"population 'p': the shared variable\(s\) drive depend on the neurons' state"):
        check_packable([bad, bad.with_overrides(["seed=2"], registry)], registry)


def test_calls_of_per_copy_tables_read_the_copys_columns():
    tables = {"stim": None, "grid": 4}
    assert _with_copy_index("x = stim(t) + 1", tables, "pack_copy") == "x = stim(t, pack_copy) + 1"
    assert (_with_copy_index("y = grid(t - (1*ms), i)*stim(t)", tables, "pack_copy_post")
            == "y = grid(t - (1*ms), (i) + pack_copy_post*4)*stim(t, pack_copy_post)")
    assert _with_copy_index("z = stimulus(t)", tables, "c") == "z = stimulus(t)"


def test_the_command_line_packs_runs_and_sweeps(tmp_path):
    cli = [sys.executable, "-m", "spikelearn.cli"]
    sets = ["--set", 'duration="0.2*second"', "--set", 'device="runtime"']
    other = tmp_path / "other.toml"
    other.write_text(resolve_scenario_path("song-stdp").read_text().replace("seed = 1", "seed = 7"))
    assert "seed = 7" in other.read_text()
    done = subprocess.run(cli + ["run", "song-stdp", *sets, "--pack-with", str(other), "--out", str(tmp_path / "runs"),
                                 "--no-progress"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs = sorted((tmp_path / "runs" / "song-stdp").iterdir())
    assert len(runs) == 2 and sorted(json.loads((r / "provenance.json").read_text())["seed"] for r in runs) == [1, 7]
    swept = subprocess.run(cli + ["sweep", "song-stdp", *sets, "--seeds", "3", "--pack", "2", "--workers", "1",
                                  "--out", str(tmp_path / "sweeps"), "--no-progress"], capture_output=True, text=True)
    assert swept.returncode == 0, swept.stderr
    table = next((tmp_path / "sweeps" / "song-stdp").glob("sweep-*/table.csv")).read_text().splitlines()
    assert len(table) == 4 and all(",complete," in row for row in table[1:])
    refused = subprocess.run(cli + ["sweep", "balanced-stdp", "--seeds", "2", "--pack", "2", "--out",
                                    str(tmp_path / "sweeps")], capture_output=True, text=True)
    assert refused.returncode == 1
    assert "cannot be packed: record.weights.ee:" in refused.stderr.strip().splitlines()[-1]


GENERATE_PACKED = """
import sys
from spikelearn.registry import default_registry
from spikelearn.scenario import load_scenario
from spikelearn.devices import DeviceSession
from spikelearn.build import build_network
reg = default_registry()
name, copies, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
scs = [load_scenario(name, reg, ['device="cuda"', f"seed={s}"]) for s in range(1, copies + 1)]
task = reg.get("tasks", scs[0].task) if scs[0].task else None
with DeviceSession(scs[0], build_dir=out):
    from brian2 import defaultclock, device, seed
    defaultclock.dt = scs[0].dt
    seed(scs[0].seed)
    net, ctx = build_network(scs[0], reg, task, copies=scs)
    net.run(scs[0].duration)
    device.build(directory=out, compile=False, run=False, with_output=False)
"""
needs_nvcc = pytest.mark.skipif(find_nvcc() is None, reason="nvcc (CUDA toolkit) not found: cannot compile for cuda")


@pytest.mark.cuda_build
@needs_nvcc
@pytest.mark.parametrize("name, copies", [("song-stdp", 4), ("reward-estimation", 2)])
def test_a_packed_network_generates_cuda_code(name, copies, tmp_path):
    """Song (explicit per-copy arrays) and the reward circuit (per-copy TimedArrays read at the copy's
    column) generate a cuda project (no compile: seconds)."""
    script = tmp_path / "generate.py"
    script.write_text(GENERATE_PACKED)
    out = tmp_path / "project"
    proc = subprocess.run([sys.executable, str(script), name, str(copies), str(out)], capture_output=True, text=True,
                          timeout=1800, env={**os.environ, "SPIKELEARN_CACHE": str(tmp_path / "cache")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "makefile").is_file() and (out / "objects.cu").is_file()


@pytest.mark.cuda_build
@pytest.mark.long
@needs_nvcc
def test_a_packed_network_compiles_for_cuda(registry, tmp_path):
    scenarios = [load_scenario("song-stdp", registry, ['device="cuda"', f"seed={s}"]) for s in (1, 2, 3, 4)]
    outcomes = run_packed(scenarios, registry, out_root=tmp_path / "runs", progress=False, figures=False,
                          build_only=True)
    assert len(outcomes) == 4 and all(o.build_only and o.path.name.endswith(".build-only") for o in outcomes)
    build_dir = Path(json.loads((outcomes[0].path / "provenance.json").read_text())["device_build_dir"])
    assert "packed4" in build_dir.name and (build_dir / "main").is_file()


def test_validate_says_when_a_scenario_that_asks_for_packing_cannot_be_packed():
    done = subprocess.run([sys.executable, "-m", "spikelearn.cli", "validate", "balanced-stdp", "--set", "sweep.pack=2"],
                          capture_output=True, text=True)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("spikelearn: error: ") and line.endswith(
        "balanced_stdp.toml: cannot be packed: record.weights.ee: the recorded synapse indices of connection 'ee' "
        "cannot be placed per copy before connecting (p < 1 or a connect condition)")


REFUSED = {"balanced-stdp": "record.weights.ee", "balanced-stdp-1e8": "record.weights.ee"}


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_every_builtin_scenario_packs_or_is_refused_with_its_reason(name, registry):
    """Merging two seeds' descriptions of the scenario's short form (no Brian2 group is made; the task
    prepares each copy); `docs/sweeps.md` lists the refused ones. Every packable scenario's short form also
    ran packed (K = 2) to completion on 2026-12-06."""
    from spikelearn.reproduce import load_manifest

    short = load_manifest()["scenarios"][name]["short"].get("set", [])
    copies = [load_scenario(name, registry, list(short) + [f"seed={s}"]) for s in (1, 2)]
    if name in REFUSED:
        with pytest.raises(PackError, match=REFUSED[name]):
            check_packable(copies, registry)
    else:
        check_packable(copies, registry)


def test_a_rule_parameter_that_differs_per_copy_is_a_value_per_target_neuron(registry):
    from brian2 import defaultclock

    from spikelearn.build import build_network
    from spikelearn.devices import DeviceSession

    scenarios = [load_scenario("song-stdp", registry, ['device="runtime"', "populations.inputs.size=100",
                                                       f"connections.inputs_to_out.plasticity.depression_ratio={r}"])
                 for r in (0.9, 1.05, 1.2)]
    with DeviceSession(scenarios[0]):
        defaultclock.dt = scenarios[0].dt
        net, ctx = build_network(scenarios[0], registry, None, copies=scenarios)
        out, syn = ctx.groups["out"], ctx.synapses["inputs_to_out"]
        assert np.allclose(out.pk_inputs_to_out_depression_ratio[:], [0.9, 1.05, 1.2])
        code = " ".join(pathway.code for pathway in syn._pathways)
        assert "pk_inputs_to_out_depression_ratio_post" in code and "depression_ratio " not in code
        assert np.array_equal(syn.i[:] // 100, syn.j[:]) and len(syn) == 300  # within copies only
        del net
