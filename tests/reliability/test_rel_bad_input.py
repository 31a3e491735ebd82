"""Every kind of bad input the issue lists, through the command line: one line on stderr naming the file,
the key and what is allowed, exit status 1, no traceback (and, for a dt too large for a time constant,
a warning with the numbers)."""

import os
from pathlib import Path

import pytest
from conftest import TINY_SCENARIO as VALID

from spikelearn.cli import main
from spikelearn.scenario import MAX_SCENARIO_BYTES


NEEDS_NEURON_VAR = '''
from spikelearn.plugin import NeuronVar, Param, PlasticityRule

class NeedsRate(PlasticityRule):
    name = "needs_rate"
    description = "reads a postsynaptic rate trace"
    reference = "test"
    parameters = {"tau_r": Param("20*ms", "rate trace time constant"), "eta": Param("0.01", "rate")}
    post_variables = {"r": NeuronVar("dr/dt = -r/tau_r : 1", "r += 1")}
    on_pre = "w += eta*r_post"
'''

# case: (replacement (old, new) applied to VALID, key path in the message, words the message must hold)
CASES = {
    "malformed_toml": (('size = 5', 'size = = 5'), None, ["malformed TOML", "line"]),
    "duplicate_toml_key": (('size = 5', 'size = 5\nsize = 6'), None, ["malformed TOML"]),
    "unknown_section": (('[record]', '[recrod]'), "recrod", ["unknown key", "did you mean 'record'", "allowed:"]),
    "unknown_key": (('weight = 0.005', 'wieght = 0.005'), "connections.c.wieght", ["did you mean 'weight'"]),
    "wrong_type_size": (('size = 5', 'size = "5"'), "populations.inp.size", ["expected an integer, got a string"]),
    "wrong_type_table": (('seed = 3', 'seed = 3\nguard = 3'), "guard", ["expected a table, got an integer"]),
    "wrong_type_seed": (('seed = 3', 'seed = 3.5'), "seed", ["expected an integer"]),
    "wrong_units": (('tau_pre = "10*ms"', 'tau_pre = "10*mV"'), "connections.c.plasticity.tau_pre",
                    ["expected a time", "voltage"]),
    "wrong_units_rate": (('rate = "20*Hz"', 'rate = "20*ms"'), "populations.inp.parameters.rate", ["expected"]),
    "unparseable_unit": (('duration = "50*ms"', 'duration = "50*milisecond"'), "duration", ["unknown unit"]),
    "unitless_time": (('duration = "50*ms"', 'duration = "50"'), "duration", ["expected a time"]),
    "negative_size": (('size = 2', 'size = -2'), "populations.out.size", ["must be >= 1"]),
    "zero_size": (('size = 2', 'size = 0'), "populations.out.size", ["must be >= 1"]),
    "negative_duration": (('duration = "50*ms"', 'duration = "-50*ms"'), "duration", ["must be > 0"]),
    "negative_dt": (('dt = "0.1*ms"', 'dt = "-0.1*ms"'), "dt", ["must be > 0"]),
    "duration_below_dt": (('duration = "50*ms"', 'duration = "0.01*ms"'), "duration", ["at least one time step"]),
    "missing_population": (('target = "out"', 'target = "output"'), "connections.c.target",
                           ["no population named 'output'", "did you mean 'out'", "populations: inp, out"]),
    "undeclared_parameter": (('tau_pre = "10*ms"', 'tau_minus = "10*ms"'), "connections.c.plasticity.tau_minus",
                             ["does not declare this parameter", "declared:", "tau_pre"]),
    "undeclared_model_parameter": (('rate = "20*Hz"', 'rates = "20*Hz"'), "populations.inp.parameters.rates",
                                   ["does not declare", "did you mean 'rate'"]),
    "signal_nobody_provides": (('rule = "stdp_additive", tau_pre = "10*ms"', 'rule = "stdp_gradient_rate"'),
                               "connections.c.plasticity.rule",
                               ["reads the global signal 'nudged'", "nothing provides", "add a [phases] table"]),
    "neuron_variable_nobody_provides": (('rule = "stdp_additive", tau_pre = "10*ms"', 'rule = "needs_rate"'),
                                        "connections.c.plasticity.rule",
                                        ["needs postsynaptic neuron variables (r)", "population 'inp'",
                                         "a spike_generator group) cannot hold them",
                                         "use a population of model 'poisson'"]),
    "duplicate_names": (('[connections.c]', '[connections.out]'), "connections.out",
                        ["already used by a population", "unique"]),
    "duplicate_phase_names": (('[record]', '[phases]\nkind = "blocks"\nnames = ["a", "a"]\n'
                               'durations = ["1*ms", "1*ms"]\n\n[record]'), "phases.names", ["duplicate phase names"]),
    "bad_choice": (('device = "runtime"', 'device = "gpu"'), "device", ["allowed: runtime, cpp, cuda"]),
    "guard_bad_limit": (('[record]', '[guard]\nlimit = -1.0\n\n[record]'), "guard.limit", ["must"]),
    "model_brian2_refuses": (('[populations.out]\nmodel = "lif_cond"',
                              '[models.unit]\nequations = """\ndv/dt = -v/(10*ms) : 1\nge : 1\nm = v : 1 (shared)\n"""\n'
                              'synaptic_effect = "ge_post += w"\n\n[populations.out]\nmodel = "unit"'), "models.unit",
                             ["SyntaxError", "Shared subexpression 'm' refers to non-shared variable 'v'"]),
}


def _only_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("spikelearn: error: ")
    return lines[0]


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_is_one_line_naming_file_and_key(case, tmp_path, capsys, registry):
    (old, new), key, words = CASES[case]
    assert old in VALID, old
    text = VALID.replace(old, new)
    args = []
    if case == "neuron_variable_nobody_provides":
        # the rule's post variable must live on the target; a spike generator cannot hold it
        text = text.replace('source = "inp"\ntarget = "out"', 'source = "out"\ntarget = "inp"')
        text = text.replace('model = "poisson"\nsize = 5\nparameters = { rate = "20*Hz" }',
                            'model = "spike_generator"\nsize = 5\nparameters = { indices = [0], times = ["1*ms"] }')
        plugin = tmp_path / "needs_rate.py"
        plugin.write_text(NEEDS_NEURON_VAR)
        args = ["--plugin", str(plugin)]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    code = main(["validate", str(path), *args])
    line = _only_line(capsys.readouterr().err)
    assert code == 1
    assert str(path) in line
    if key is not None:
        assert f": {key}: " in line, line
    for word in words:
        assert word in line, (word, line)


def test_dt_too_large_for_a_time_constant_warns_with_the_numbers(tmp_path, capsys):
    path = tmp_path / "coarse.toml"
    path.write_text(VALID.replace('dt = "0.1*ms"', 'dt = "2.5*ms"').replace('size = 2', 'size = 2\nparameters = { tau_e = "1*ms" }'))
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    warnings = [ln for ln in err.splitlines() if "warning" in ln]
    # tau_e = 1 ms: dt/tau = 2.5 > 2 (forward Euler's bound); tau_m = 10 ms is fine (0.25)
    assert len(warnings) == 1, err
    line = warnings[0]
    assert str(path) in line and "populations.out.parameters.tau_e = '1*ms'" in line
    assert "dt/tau = 2.5 > 2" in line and "'euler'" in line and "use dt < 2 ms" in line


def test_dt_within_the_stability_bound_gives_no_warning(tmp_path, capsys):
    path = tmp_path / "fine.toml"
    path.write_text(VALID.replace('dt = "0.1*ms"', 'dt = "1.9*ms"').replace('size = 2', 'size = 2\nparameters = { tau_e = "1*ms" }'))
    assert main(["validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_scenario_file_missing(tmp_path, capsys):
    path = tmp_path / "nope.toml"
    assert main(["validate", str(path)]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and "file not found" in line


def test_unknown_builtin_name_suggests(capsys):
    assert main(["validate", "song-stpd"]) == 1
    line = _only_line(capsys.readouterr().err)
    assert "did you mean 'song-stdp'" in line and "built-in scenarios:" in line


def test_scenario_file_is_a_directory(tmp_path, capsys):
    path = tmp_path / "dir.toml"
    path.mkdir()
    assert main(["validate", str(path)]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and "is a directory" in line


def test_scenario_file_unreadable(tmp_path, capsys, monkeypatch):
    path = tmp_path / "secret.toml"
    path.write_text(VALID)
    if os.geteuid() != 0:
        path.chmod(0)
    else:  # root reads anything: make the read fail the way it fails for a user
        real = Path.read_bytes

        def denied(self):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", denied)
    assert main(["validate", str(path)]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and "cannot read file: Permission denied" in line


def test_scenario_file_huge(tmp_path, capsys):
    path = tmp_path / "huge.toml"
    path.write_text(VALID + "\n# " + "x" * MAX_SCENARIO_BYTES + "\n")
    assert main(["validate", str(path)]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and f"limited to {MAX_SCENARIO_BYTES} bytes" in line


def test_scenario_file_binary(tmp_path, capsys):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00name = 1")
    assert main(["validate", str(path)]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and "not UTF-8" in line


@pytest.mark.parametrize("override, key, word", [
    ("duration=-1*second", "duration", "must be > 0"),
    ("populations.out.size=big", "populations.out.size", "expected an integer"),
    ("connections.c.plasticity.tau_pre=10*mV", "connections.c.plasticity.tau_pre", "expected a time"),
    ("nokey", "nokey", "key.path=value"),
    ("seed.x=1", "seed", "is a value, not a table"),
])
def test_bad_override_is_one_line(override, key, word, tmp_path, capsys):
    path = tmp_path / "ok.toml"
    path.write_text(VALID)
    assert main(["validate", str(path), "--set", override]) == 1
    line = _only_line(capsys.readouterr().err)
    assert str(path) in line and key in line and word in line, line
