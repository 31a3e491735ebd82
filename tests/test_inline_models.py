"""Neuron models written in the scenario file (``[models.X]``): validated like plugin models, shown by
``spikelearn show``, and a model written inline runs bitwise like the same model as a plugin class."""

import sys
from pathlib import Path

import pytest

from spikelearn.cli import main
from spikelearn.errors import ScenarioError
from spikelearn.runner import check_network, run_scenario
from spikelearn.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))

from test_rel_repro import assert_bitwise_equal  # noqa: E402

LIF = {
    "name": "inline", "duration": "20*ms", "device": "runtime",
    "models": {"leaky": {"equations": "dv/dt = (E_l - v + I)/tau : volt\nI : volt", "threshold": "v > v_t",
                         "reset": "v = E_l", "parameters": {"E_l": "-70*mV", "tau": "10*ms", "v_t": "-50*mV"},
                         "initial": {"v": "E_l", "I": "25*mV"}}},
    "populations": {"n": {"model": "leaky", "size": 2, "parameters": {"tau": "5*ms"}}},
}


def test_inline_adex_is_bitwise_identical_to_the_plugin_model(registry, tmp_path):
    inline = load_scenario(ROOT / "examples" / "adex_inline.toml", registry, ['duration="200*ms"'])
    plugin = load_scenario(ROOT / "examples" / "adex_adaptation.toml", registry, ['duration="200*ms"'])
    a = run_scenario(inline, registry, out_root=tmp_path, progress=False, figures=False).path
    b = run_scenario(plugin, registry, out_root=tmp_path, progress=False, figures=False).path
    assert_bitwise_equal(a, b)


def test_inline_model_parameters_are_overridable_and_shown(registry, tmp_path, capsys):
    sc = parse_scenario(LIF, "<inline>", registry)
    assert float(sc.populations["n"].params["tau"]) == pytest.approx(5e-3)
    path = tmp_path / "inline.toml"
    from spikelearn.scenario import to_toml

    path.write_text(to_toml(sc.data))
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "n: 2 x leaky (neuron)" in out and "dv/dt = (E_l - v + I)/tau : volt" in out and "tau = 5. ms" in out


@pytest.mark.parametrize("change, key, message", [
    (("equations", "dv/dt = (E_l - v : volt"), "models.leaky.equations", "do not parse"),
    (("parameters", {"tau": "10*msec0nd"}), "models.leaky.parameters.tau", ""),
    (("parameters", {"I0": "0.1*i*mV"}), "models.leaky.parameters.I0", "belong in the equations"),
    (("parameters", {"v": "1*mV"}), "models.leaky.parameters.v", "is a variable of the equations"),
    (("initial", {"w": "0"}), "models.leaky.initial.w", "unknown key"),
    (("method", "rk9"), "models.leaky.method", "allowed"),
    (("colour", "red"), "models.leaky.colour", "unknown key"),
])
def test_bad_inline_models_are_refused_naming_the_key(registry, change, key, message):
    data = {**LIF, "models": {"leaky": {**LIF["models"]["leaky"], change[0]: change[1]}}}
    with pytest.raises(ScenarioError, match=key.replace(".", r"\.") + ".*" + message):
        parse_scenario(data, "<inline>", registry)


def test_inline_model_may_not_shadow_a_plugin_model(registry):
    data = {**LIF, "models": {"adex": LIF["models"]["leaky"]}}
    with pytest.raises(ScenarioError, match=r"models\.adex: 'adex' is already a plugin model"):
        parse_scenario(data, "<inline>", registry)


def test_unit_errors_of_inline_equations_are_found_before_the_run(registry):
    """The equations parse, but v_t is a time: the pre-run network check (validate) names the model."""
    data = {**LIF, "models": {"leaky": {**LIF["models"]["leaky"],
                                        "parameters": {"E_l": "-70*mV", "tau": "10*ms", "v_t": "5*ms"}}}}
    sc = parse_scenario(data, "<inline>", registry)
    with pytest.raises(ScenarioError, match=r"<inline>: models\.leaky: .*different units"):
        check_network(sc, registry)
