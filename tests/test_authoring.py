"""Authoring plasticity plugins: the contract kit, the scaffold, composition, and a rule written from the
guide alone (triplet STDP) checked against its published frequency dependence."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from spikelearn.errors import ScenarioError
from spikelearn.registry import Registry
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scaffold import write_plugin_package
from spikelearn.scenario import parse_scenario

ROOT = Path(__file__).resolve().parents[1]
TRIPLET = ROOT / "examples" / "triplet_stdp.py"


def test_builtin_rule_passes_the_kit(plasticity_kit):
    results = plasticity_kit.assert_passes("stdp_additive", devices=["runtime"])
    names = {r.name for r in results}
    assert {"matches its NumPy reference", "finite and bounded under Poisson input", "deterministic for a seed"} <= names


def test_kit_catches_a_rule_that_breaks_its_bounds(plasticity_kit, tmp_path):
    # negative control: a rule whose on_post ignores wmax must fail the bounds check
    path = tmp_path / "unbounded.py"
    path.write_text(
        "from spikelearn.plugin import Param, PlasticityRule\n"
        "class Unbounded(PlasticityRule):\n"
        "    name = 'unbounded'\n"
        "    description = 'potentiation without an upper bound'\n"
        "    parameters = {'eta': Param('0.01', 'step'), 'wmax': Param('0.01', 'claimed bound')}\n"
        "    on_pre = 'w = clip(w, 0, wmax)'\n"
        "    on_post = 'w += eta'\n"
    )
    results = plasticity_kit.check_rule("unbounded", plugin_files=[path], devices=["runtime"])
    bounds = next(r for r in results if r.name == "finite and bounded under Poisson input")
    assert not bounds.passed and "bounds [0, 0.01]" in bounds.detail


@pytest.mark.parametrize("on_post, passes", [("w = clip(w - eta, w_floor, w_ceil)", True), ("w = clip(w - eta, 0, w_ceil)", False)])
def test_kit_checks_declared_bounds_whatever_their_names(plasticity_kit, tmp_path, on_post, passes):
    """A rule bounded by parameters not called wmax declares them (``bounds``); a rule that then leaves
    them fails (here: depression without the floor drives weights below w_floor)."""
    path = tmp_path / "named_bounds.py"
    path.write_text(
        "from spikelearn.plugin import Param, PlasticityRule\n"
        "class NamedBounds(PlasticityRule):\n"
        "    name = 'named_bounds'\n"
        "    description = 'depression on every postsynaptic spike'\n"
        "    parameters = {'eta': Param('0.002', 'step'), 'w_floor': Param('0.001', 'lower bound'),\n"
        "                  'w_ceil': Param('0.01', 'upper bound')}\n"
        "    bounds = ('w_floor', 'w_ceil')\n"
        "    on_pre = 'w = clip(w, w_floor, w_ceil)'\n"
        f"    on_post = '{on_post}'\n"
    )
    results = plasticity_kit.check_rule("named_bounds", plugin_files=[path], devices=["runtime"])
    bounds = next(r for r in results if r.name == "finite and bounded under Poisson input")
    assert bounds.passed == passes and "bounds [0.001, 0.01]" in bounds.detail, bounds.detail


def test_bounds_must_name_declared_parameters(tmp_path):
    from spikelearn.errors import PluginError

    path = tmp_path / "bad_bounds.py"
    path.write_text(
        "from spikelearn.plugin import Param, PlasticityRule\n"
        "class BadBounds(PlasticityRule):\n"
        "    name = 'bad_bounds'\n"
        "    description = 'x'\n"
        "    parameters = {'wmax': Param('0.01', 'upper bound')}\n"
        "    bounds = (0, 'w_max')\n"
        "    on_pre = 'w = clip(w, 0, wmax)'\n"
    )
    with pytest.raises(PluginError, match=r"bounds \(0, 'w_max'\) must be"):
        Registry().add_file(str(path))


def test_kit_catches_a_reference_mismatch(plasticity_kit, tmp_path):
    source = TRIPLET.read_text().replace("w = min(max(w - o1 * params[\"A2_minus\"]", "w = min(max(w - 2 * o1 * params[\"A2_minus\"]")
    path = tmp_path / "wrong_reference.py"
    path.write_text(source)
    results = plasticity_kit.check_rule("triplet_stdp", plugin_files=[path], devices=["runtime"])
    ref = next(r for r in results if r.name == "matches its NumPy reference")
    assert not ref.passed


def pairing_protocol(freqs_hz, deltas_ms, n_pairs=60):
    """Spike times of one synapse per (frequency, Δt): pre at k/f, post at k/f + Δt."""
    pre_i, pre_t, post_i, post_t, labels = [], [], [], [], []
    for f in freqs_hz:
        for d in deltas_ms:
            k = len(labels)
            base = 0.2 + np.arange(n_pairs) / f
            pre_i += [k] * n_pairs
            pre_t += list(base)
            post_i += [k] * n_pairs
            post_t += list(base + d / 1000)
            labels.append((f, d))
    return (np.array(pre_i), np.round(pre_t, 4)), (np.array(post_i), np.round(post_t, 4)), labels


FREQS = [0.1, 1.0, 10.0, 20.0, 40.0, 50.0]


@pytest.mark.standalone
def test_triplet_rule_reproduces_frequency_dependence(tmp_path):
    registry = Registry([TRIPLET])
    pre, post, labels = pairing_protocol(FREQS, [10.0, -10.0])
    n = len(labels)
    duration = max(post[1]) + 0.5
    data = {
        "name": "triplet-frequency", "dt": "0.1*ms", "duration": f"{duration}*second", "device": "cpp",
        "populations": {"pre": {"model": "spike_generator", "size": n}, "post": {"model": "spike_generator", "size": n}},
        "connections": {"c": {"source": "pre", "target": "post", "connect": "one_to_one", "weight": 0.5,
                              "plasticity": {"rule": "triplet_stdp", "wmax": 5.0}}},
        "record": {"spikes": [], "weights": {"c": {}}},
    }
    sc = parse_scenario(data, "<triplet protocol>", registry)
    w = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False,
                               spike_inputs={"pre": pre, "post": post}).path).weights("c")
    dw = dict(zip(labels, w["w_final"][np.argsort(w["i"])] - 0.5))
    # an independent event-by-event computation of the same model
    rule = registry.get("plasticity", "triplet_stdp")
    params = dict(tau_plus=0.0168, tau_minus=0.0337, tau_y=0.125, A2_plus=5e-10, A3_plus=6.2e-3, A2_minus=7e-3, wmax=5.0)
    for k, label in enumerate(labels):
        ref = rule.reference_update(params, pre[1][pre[0] == k], post[1][post[0] == k], 0.5) - 0.5
        assert dw[label] == pytest.approx(ref, rel=1e-6, abs=1e-9), label
    # the published property (Sjöström et al. 2001 data as fitted by the minimal model):
    assert dw[(0.1, -10.0)] < -0.2, "post-before-pre depresses at low frequency (60 x A2_minus e^(-10/33.7) = -0.31)"
    assert abs(dw[(0.1, 10.0)]) < 0.02, "pre-before-post does almost nothing at low frequency"
    plus = [dw[(f, 10.0)] for f in FREQS]
    assert all(b > a for a, b in zip(plus, plus[1:])), f"pre-before-post potentiation grows with frequency: {plus}"
    assert dw[(50.0, 10.0)] > 0.3, "and dominates at high frequency"
    assert dw[(50.0, -10.0)] > 0, "at 50 Hz even post-before-pre pairs potentiate (triplet term dominates)"


def test_composition_combines_distinct_rules(tmp_path, plasticity_kit):
    registry = Registry([TRIPLET])
    pre, post, _ = pairing_protocol([20.0], [10.0], n_pairs=5)
    data = {
        "name": "composed", "dt": "0.1*ms", "duration": "1*second", "device": "runtime",
        "populations": {"pre": {"model": "spike_generator", "size": 1}, "post": {"model": "spike_generator", "size": 1}},
        "connections": {"c": {"source": "pre", "target": "post", "connect": "one_to_one", "weight": 0.5,
                              "plasticity": [{"rule": "triplet_stdp"},
                                             {"rule": "stdp_additive", "wmax": 1.0, "A_pre": 0.01}]}},
        "record": {"spikes": [], "weights": {"c": {}}},
    }
    sc = parse_scenario(data, "<composed>", registry)
    w = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False,
                               spike_inputs={"pre": pre, "post": post}).path).weights("c")
    params_t = dict(tau_plus=0.0168, tau_minus=0.0337, tau_y=0.125, A2_plus=5e-10, A3_plus=6.2e-3, A2_minus=7e-3, wmax=1.0)
    params_a = dict(tau_pre=0.02, tau_post=0.02, A_pre=0.01, depression_ratio=1.05, wmax=1.0)
    dw_t = registry.get("plasticity", "triplet_stdp").reference_update(params_t, pre[1], post[1], 0.5) - 0.5
    dw_a = registry.get("plasticity", "stdp_additive").reference_update(params_a, pre[1], post[1], 0.5) - 0.5
    # no clipping happens here, so the composed change is the sum of the two rules' changes
    assert w["w_final"][0] - 0.5 == pytest.approx(dw_t + dw_a, rel=1e-6)


def test_composition_refuses_a_clash(tmp_path):
    registry = Registry([TRIPLET])
    clash = TRIPLET.read_text().replace('name = "triplet_stdp"', 'name = "triplet_copy"').replace("class TripletSTDP", "class TripletCopy")
    copy_path = tmp_path / "copy.py"
    copy_path.write_text(clash)
    registry.add_file(copy_path)
    data = {
        "name": "clash", "duration": "10*ms", "device": "runtime",
        "populations": {"pre": {"model": "spike_generator", "size": 1}, "post": {"model": "spike_generator", "size": 1}},
        "connections": {"c": {"source": "pre", "target": "post", "plasticity": [{"rule": "triplet_stdp"}, {"rule": "triplet_copy"}]}},
    }
    sc = parse_scenario(data, "<clash>", registry)
    with pytest.raises(ScenarioError, match=r"plasticity\[1\]: rules 'triplet_stdp' and 'triplet_copy' both declare the variable 'o1'"):
        run_scenario(sc, registry, out_root=tmp_path, progress=False)


def test_new_plugin_package_installs_and_runs_through_the_cli(tmp_path):
    pkg = write_plugin_package("soft_rule", tmp_path)
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(pkg)],
                   check=True, capture_output=True, text=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    exe = [sys.executable, "-m", "spikelearn.cli"]
    listing = subprocess.run(exe + ["list", "plasticity"], env=env, capture_output=True, text=True, check=True)
    assert "soft_rule" in listing.stdout
    scenario = pkg / "scenarios" / "soft_rule_demo.toml"
    run = subprocess.run(exe + ["run", str(scenario), "--set", 'duration="500*ms"', "--out", str(tmp_path / "runs"),
                                "--no-progress"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "run directory:" in run.stdout
    # the package's own test file uses the kit through the pytest11 plugin
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
                           env=env, capture_output=True, text=True, cwd=tmp_path)
    assert tests.returncode == 0, tests.stdout + tests.stderr


def test_new_plugin_never_overwrites(tmp_path):
    from spikelearn.errors import SpikelearnError

    write_plugin_package("once", tmp_path)
    with pytest.raises(SpikelearnError, match="already exists"):
        write_plugin_package("once", tmp_path)
    with pytest.raises(SpikelearnError, match="lower-case Python identifier"):
        write_plugin_package("Bad-Name", tmp_path)


def test_check_plugin_cli_on_a_file(capsys):
    from spikelearn.cli import main

    assert main(["check-plugin", str(TRIPLET), "--device", "runtime"]) == 0
    out = capsys.readouterr().out
    assert "[PASS] matches its NumPy reference" in out and "passes every check" in out


def test_the_guides_example_rule_works(tmp_path):
    """The 15-line rule of docs/authoring.md, taken from the guide itself, loads, builds and learns."""
    guide = (ROOT / "docs" / "authoring.md").read_text()
    block = guide.split("```python")[2].split("```")[0]
    assert "class RewardedHebb" in block
    path = tmp_path / "rewarded_hebb.py"
    path.write_text(block)
    registry = Registry([path])
    data = {
        "name": "guide", "duration": "300*ms", "device": "runtime",
        "populations": {"pre": {"model": "spike_train", "size": 1}, "post": {"model": "spike_train", "size": 1}},
        "connections": {"c": {"source": "pre", "target": "post", "connect": "one_to_one", "weight": 0.5,
                              "plasticity": {"rule": "rewarded_hebb"}}},
        "phases": {"kind": "intervals", "names": ["reward"], "intervals": [["reward", "0*ms", "150*ms"]]},
        "record": {"spikes": [], "weights": {"c": {}}},
    }
    sc = parse_scenario(data, "<guide>", registry)
    spikes = {"pre": (np.array([0, 0]), np.array([0.1, 0.2])), "post": (np.array([0, 0]), np.array([0.105, 0.205]))}
    w = RunResult(run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False,
                               spike_inputs=spikes).path).weights("c")
    # decay over 0.3 s at 0.1 Hz, plus one rewarded pairing (at 100/105 ms; the one at 200 ms is unrewarded)
    expected = 0.5 * np.exp(-0.1 * 0.3) + 1e-3 * np.exp(-5 / 20) * np.exp(-0.1 * (0.3 - 0.105))
    assert w["w_final"][0] == pytest.approx(expected, rel=1e-3)
