"""Values that make no sense are refused before anything is built: declared and unit-implied parameter
ranges, NaN/inf, an empty scenario, seeds beyond 32 bits, plugin files that are not Python, and code
strings Brian2 would refuse at build time (checked by ``validate`` and by ``run`` before the run
directory exists)."""

import pytest

from conftest import TINY_SCENARIO
from spikelearn.cli import main


def _one_error_line(capsys):
    err = [ln for ln in capsys.readouterr().err.strip().splitlines() if not ln.startswith("scenario '")]
    assert len(err) == 1 and err[0].startswith("spikelearn: error: "), err
    return err[0]


@pytest.mark.parametrize("override, message", [
    ('populations.inp.parameters.rate="-15*Hz"', "populations.inp.parameters.rate: must be >= 0 (a rate), found: '-15*Hz'; allowed: [0, inf)"),
    ('connections.c.plasticity.tau_pre="0*ms"', "connections.c.plasticity.tau_pre: must be > 0 (a time)"),
    ('populations.out.parameters.tau_m="-10*ms"', "populations.out.parameters.tau_m: must be > 0"),
    ("connections.c.plasticity.wmax=0", "connections.c.plasticity.wmax: must be > 0, found: 0; allowed: (0, inf)"),
    ("connections.c.plasticity.A_pre=-0.1", "connections.c.plasticity.A_pre: must be >= 0"),
    ('populations.inp.parameters.rate="1e999*Hz"', "must be finite"),
    ("connections.c.plasticity.wmax=nan", "must be finite"),
    ("seed=4294967296", "seed: must be <= 4294967295, found: 4294967296; allowed: [0, 4294967295]"),
])
def test_values_out_of_range_are_refused(write_scenario, capsys, tmp_path, override, message):
    path = write_scenario(TINY_SCENARIO)
    assert main(["run", str(path), "--set", override, "--out", str(tmp_path / "runs"), "--no-progress"]) == 1
    assert message in _one_error_line(capsys)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("status.json"))


def test_an_empty_scenario_is_refused(write_scenario, capsys):
    assert main(["validate", str(write_scenario(""))]) == 1
    assert "populations: a scenario needs at least one population" in _one_error_line(capsys)


@pytest.mark.parametrize("content, suffix, message", [
    ("# not python", ".md", "not a Python file"),
    ("x = (", ".py", "cannot be imported: SyntaxError"),
    (None, "", "is a directory"),
])
def test_plugin_files_that_cannot_be_plugins_are_one_line(write_scenario, capsys, tmp_path, content, suffix, message):
    if content is None:
        plugin = tmp_path / "plugins"
        plugin.mkdir()
    else:
        plugin = tmp_path / f"plugin{suffix}"
        plugin.write_text(content)
    assert main(["validate", str(write_scenario(TINY_SCENARIO)), "--plugin", str(plugin)]) == 1
    assert message in _one_error_line(capsys)


@pytest.mark.parametrize("override, key, message", [
    ('connections.c.connect="i !== j"', "connections.c.connect", ""),
    ('connections.c.weight="rnd()*0.01"', "connections.c.weight", "rnd"),
    ('connections.c.weight="0.01*mV"', "connections.c.weight", "does not have the expected unit"),
    ('connections.c.effect="gi_post += w"', "connections.c.effect", "gi_post"),
    ('record.states={out={variables=["vv"]}}', "record.states.out.variables", "vv"),
])
def test_code_brian2_would_refuse_is_caught_by_validate_and_before_a_run(write_scenario, capsys, tmp_path,
                                                                        override, key, message):
    path = write_scenario(TINY_SCENARIO)
    assert main(["validate", str(path), "--set", override]) == 1
    line = _one_error_line(capsys)
    assert f"{key}:" in line and message in line
    assert main(["run", str(path), "--set", override, "--out", str(tmp_path / "runs"), "--no-progress"]) == 1
    capsys.readouterr()
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("status.json")), \
        "a run directory was left behind"


def test_a_run_that_cannot_fit_is_refused_with_its_estimate(write_scenario, capsys, tmp_path):
    """Recording every step of 1000 neurons for 10^5 s needs ~1.5 TB: refused before anything is built,
    naming the largest part and --force (it used to start and fill the memory)."""
    path = write_scenario(TINY_SCENARIO)
    args = ["run", str(path), "--set", 'duration="100000*second"', "--set", "populations.out.size=1000",
            "--set", 'record.states={out={variables=["v"], indices=1000, dt="0.1*ms"}}', "--out", str(tmp_path)]
    assert main(args) == 1
    line = _one_error_line(capsys)
    assert "the run needs about" in line and "state recording of out" in line and "--force" in line
    assert not any(tmp_path.rglob("status.json"))


def test_the_memory_estimate_counts_what_is_recorded(registry):
    from spikelearn.runner import estimate_memory
    from spikelearn.scenario import load_scenario

    sc = load_scenario("song-stdp", registry)
    total, parts = estimate_memory(sc)
    parts = dict(parts)
    assert parts["state recording of out"] == 8 * 2 * 1 * 100_000  # v and ge of one neuron, 1 ms for 100 s
    assert parts["weight trace of inputs_to_out"] == 8 * 50 * 100  # 50 synapses, once a second
    assert parts["connection inputs_to_out"] == 80 * 1000
    assert total == sum(parts.values())
