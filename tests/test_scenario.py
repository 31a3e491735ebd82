"""Scenario validation: every kind of bad input gets its specific one-line message naming the file and
the key path (and the allowed values for a choice)."""

import pytest
from conftest import TINY_SCENARIO as VALID

from spikelearn.errors import ScenarioError
from spikelearn.scenario import load_scenario, parse_override, to_toml


def test_valid_scenario_resolves_every_default(write_scenario, registry):
    sc = load_scenario(write_scenario(VALID), registry)
    plast = sc.data["connections"]["c"]["plasticity"]
    assert plast == {"rule": "stdp_additive", "tau_pre": "10*ms", "tau_post": "20*ms", "A_pre": "0.01",
                     "depression_ratio": "1.05", "wmax": "0.01"}
    assert sc.data["populations"]["out"]["parameters"]["v_t"] == "-54*mV"
    assert sc.data["connections"]["c"]["effect"] == "ge_post += w"  # the target model's default effect
    assert float(sc.connections["c"].rules[0].params["tau_pre"]) == pytest.approx(0.010)


def test_resolved_scenario_round_trips_through_toml(write_scenario, registry, tmp_path):
    sc = load_scenario(write_scenario(VALID), registry)
    again = load_scenario(write_scenario(to_toml(sc.data), name="again.toml"), registry)
    assert again.data == sc.data


# (replacement: (old text, new text) applied to VALID; expected key path; words the message must contain)
BAD = {
    "unknown_top_key": (("seed = 3", "seed = 3\nsede = 4"), "sede", ["unknown key", "allowed:"]),
    "unknown_key_did_you_mean": (('weight = 0.005', 'weigth = 0.005'), "connections.c.weigth", ["did you mean 'weight'"]),
    "wrong_type": (('size = 5', 'size = "five"'), "populations.inp.size", ["expected an integer"]),
    "negative_size": (('size = 5', 'size = -5'), "populations.inp.size", ["must be >= 1"]),
    "negative_duration": (('duration = "50*ms"', 'duration = "-50*ms"'), "duration", ["must be > 0"]),
    "zero_dt": (('dt = "0.1*ms"', 'dt = "0*ms"'), "dt", ["must be > 0"]),
    "wrong_units": (('tau_pre = "10*ms"', 'tau_pre = "10*mV"'), "connections.c.plasticity.tau_pre",
                    ["expected a time", "a voltage"]),
    "unparseable_unit": (('tau_pre = "10*ms"', 'tau_pre = "10*msec0nds"'), "connections.c.plasticity.tau_pre",
                         ["unknown unit"]),
    "not_a_quantity": (('tau_pre = "10*ms"', 'tau_pre = "__import__(1)"'), "connections.c.plasticity.tau_pre",
                       ["not a number with units"]),
    "missing_population": (('target = "out"', 'target = "outt"'), "connections.c.target",
                           ["no population named 'outt'", "did you mean 'out'"]),
    "unknown_model": (('model = "lif_cond"', 'model = "lif_con"'), "populations.out.model",
                      ["unknown model 'lif_con'", "lif_cond", "available:"]),
    "unknown_rule": (('rule = "stdp_additive"', 'rule = "stdp"'), "connections.c.plasticity.rule",
                     ["unknown plasticity rule 'stdp'", "available: ", "stdp_additive"]),
    "undeclared_parameter": (('tau_pre = "10*ms"', 'tau_pree = "10*ms"'), "connections.c.plasticity.tau_pree",
                             ["does not declare", "did you mean 'tau_pre'", "declared:"]),
    "bad_device": (('device = "runtime"', 'device = "gpu"'), "device", ["allowed: runtime, cpp, cuda"]),
    "bad_threads": (('device = "runtime"', 'device = "cpp"\n[device_options]\nthreads = "many"'),
                    "device_options.threads", ['expected an integer >= 0 or "auto"']),
    "duplicate_name": (('[connections.c]', '[connections.inp]'), "connections.inp", ["already used by a population"]),
    "missing_required": (('source = "inp"\n', ''), "connections.c.source", ["required key is missing"]),
    "record_unknown_population": (('spikes = ["inp", "out"]', 'spikes = ["inp", "ot"]'), "record.spikes",
                                  ["no population named 'ot'"]),
    "probability_out_of_range": (('weight = 0.005', 'weight = 0.005\np = 1.5'), "connections.c.p",
                                 ["must lie in [0.0, 1.0]"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_and_key(case, write_scenario, registry):
    (old, new), key, words = BAD[case]
    assert old in VALID
    path = write_scenario(VALID.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, registry)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: "), message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_malformed_toml(write_scenario, registry):
    path = write_scenario(VALID.replace('seed = 3', 'seed = = 3'))
    with pytest.raises(ScenarioError, match=r"malformed TOML: .*line 3"):
        load_scenario(path, registry)


@pytest.mark.parametrize("kind", ["missing", "directory", "huge", "not_utf8"])
def test_unusable_files(kind, tmp_path, registry):
    path = tmp_path / "s.toml"
    if kind == "directory":
        path.mkdir()
        expected = "is a directory"
    elif kind == "huge":
        path.write_text("# " + "x" * 2_000_000)
        expected = "scenario files are limited to"
    elif kind == "not_utf8":
        path.write_bytes(b"name = \"\xff\"")
        expected = "not UTF-8"
    else:
        expected = "file not found"
    with pytest.raises(ScenarioError, match=expected) as info:
        load_scenario(path, registry)
    assert str(info.value).startswith(str(path))


def test_unknown_builtin_name_lists_builtins(registry):
    with pytest.raises(ScenarioError, match=r"did you mean 'song-stdp'.*built-in scenarios: .*song-stdp"):
        load_scenario("song-stpd", registry)


def test_overrides_are_validated_like_the_file(write_scenario, registry):
    path = write_scenario(VALID)
    sc = load_scenario(path, registry, ['connections.c.plasticity.tau_pre="5*ms"', "seed=9"])
    assert float(sc.connections["c"].rules[0].params["tau_pre"]) == pytest.approx(0.005) and sc.seed == 9
    with pytest.raises(ScenarioError, match=r"connections\.c\.plasticity\.tau_pre: expected a time"):
        load_scenario(path, registry, ['connections.c.plasticity.tau_pre="5*Hz"'])
    with pytest.raises(ScenarioError, match=r"connections\.c\.plasticity\.tau_pr: .*did you mean 'tau_pre'"):
        load_scenario(path, registry, ['connections.c.plasticity.tau_pr="5*ms"'])
    with pytest.raises(ScenarioError, match="key.path=value"):
        load_scenario(path, registry, ["seed"])


def test_override_values_parse_as_toml_or_stay_strings():
    assert parse_override("a.b=0.9") == ("a.b", 0.9)
    assert parse_override('a="20*ms"') == ("a", "20*ms")
    assert parse_override("a=20*ms") == ("a", "20*ms")
    assert parse_override("a=[1, 2]") == ("a", [1, 2])


def test_signal_nobody_provides(write_scenario, registry, tmp_path):
    plugin = tmp_path / "gated.py"
    plugin.write_text(
        "from spikelearn.plugin import PlasticityRule, Param\n"
        "class Gated(PlasticityRule):\n"
        "    name = 'gated_test'\n"
        "    description = 'reads a reward signal'\n"
        "    parameters = {'eta': Param('0.1', 'rate')}\n"
        "    signals = ('reward',)\n"
        "    on_pre = 'w += eta*reward'\n"
    )
    from spikelearn.registry import Registry

    reg = Registry([plugin])
    path = write_scenario(VALID.replace('rule = "stdp_additive", tau_pre = "10*ms"', 'rule = "gated_test"'))
    with pytest.raises(ScenarioError, match=r"connections\.c\.plasticity\.rule: .*global signal 'reward', which nothing provides"):
        load_scenario(path, reg)
    # an oscillation schedule provides gates and `osc`, but still not `reward`
    with_phases = VALID.replace('rule = "stdp_additive", tau_pre = "10*ms"', 'rule = "gated_test"') + (
        '\n[phases]\nkind = "oscillation"\nnames = ["wake", "sleep"]\nperiod = "10*ms"\n')
    with pytest.raises(ScenarioError, match=r"provided: osc, sleep, wake"):
        load_scenario(write_scenario(with_phases), reg)


def test_resolved_scenario_has_no_empty_table_headers(registry):
    """``[populations]`` above ``[populations.inputs]`` was an empty header in every run's scenario.toml;
    the text still reads back as the same data."""
    import tomllib

    from spikelearn.scenario import load_scenario, to_toml

    sc = load_scenario("song-stdp", registry)
    text = to_toml(sc.data)
    assert tomllib.loads(text) == sc.data
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert "[populations]" not in headers and "[record.states]" not in headers
    assert "[populations.inputs]" in headers and "[record.weights.inputs_to_out]" in headers


def test_swapping_a_rule_with_set_drops_the_old_rules_parameters(registry):
    """``--set ...plasticity.rule=other`` starts the rule's table afresh, in any order of the overrides:
    the old rule's parameters (here stdp_additive's A_pre, depression_ratio, wmax) are not carried over."""
    sc = load_scenario("song-stdp", registry, ["connections.inputs_to_out.plasticity.lam=0.2",
                                                "connections.inputs_to_out.plasticity.rule=stdp_powerlaw"])
    table = sc.data["connections"]["inputs_to_out"]["plasticity"]
    assert table["rule"] == "stdp_powerlaw" and table["lam"] == 0.2
    assert not {"A_pre", "depression_ratio", "wmax"} & set(table)
    same = load_scenario("song-stdp", registry, ["connections.inputs_to_out.plasticity.rule=stdp_additive"])
    assert same.data["connections"]["inputs_to_out"]["plasticity"]["depression_ratio"] == 1.05  # not a swap
