"""Property-based tests (hypothesis): scenario files made by mutating valid ones (built-in scenarios and a
small network) are either valid or rejected with one of the defined one-line errors, never an uncaught
exception; mutated small networks that validate also *run* (runtime, a few ms) to a run directory or a
defined error.

The default suite tries a few examples; ``-m long`` tries many more."""

import copy
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spikelearn.cli import main
from spikelearn.errors import SpikelearnError
from spikelearn.runner import run_scenario
from spikelearn.scenario import builtin_scenarios, load_scenario, to_toml

SMALL = '''
name = "small"
seed = 2
dt = "0.1*ms"
duration = "10*ms"
device = "runtime"

[populations.inp]
model = "poisson"
size = 6
parameters = { rate = "200*Hz" }

[populations.out]
model = "lif_cond"
size = 3

[connections.c]
source = "inp"
target = "out"
weight = "rand()*0.02"
plasticity = { rule = "stdp_additive", tau_pre = "10*ms" }

[record]
spikes = ["inp", "out"]
states = { out = { variables = ["v"], indices = 2, dt = "1*ms" } }
weights = { c = { dt = "1*ms", indices = 3 } }
'''

ODD_VALUES = st.one_of(
    st.integers(min_value=-3, max_value=3), st.sampled_from([10**12, 2**63, -(2**40)]),
    st.sampled_from([0.0, -1.5, 0.5, 1e308, math.inf, -math.inf, math.nan]),
    st.booleans(),
    st.sampled_from(["", "10*ms", "-1*ms", "0*ms", "1*volt", "20*Hz", "1e400*ms", "abc", "10*msec", "rand()",
                     "i != j", "ge_post += w", "v_post += w*mV", "x_post = 1", "1/0", "sqrt(-1)", "nan*mV",
                     "__import__('os')", "10*ms*ms", "(", "runtime", "cpp", "euler", "poisson", "lif_cond",
                     "stdp_additive", "inp", "out", "c", "v", "w"]),
    st.text(max_size=8),
    st.lists(st.sampled_from([0, 1, -1, "a", "10*ms", 2.5]), max_size=3),
    st.dictionaries(st.sampled_from(["x", "rule", "model", "size", "dt", "variables"]),
                    st.sampled_from([1, "10*ms", "poisson", ["v"], {}]), max_size=2),
)


def _paths(node, prefix=()):
    """Every key path into nested tables (lists are leaves)."""
    out = []
    if isinstance(node, dict):
        for k, v in node.items():
            out.append(prefix + (k,))
            out.extend(_paths(v, prefix + (k,)))
    return out


def _tables(node, prefix=()):
    out = [prefix] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_tables(v, prefix + (k,)))
    return out


def _get(data, path):
    for k in path:
        data = data[k]
    return data


@st.composite
def mutated(draw, base):
    """A scenario dict with 1-3 mutations: delete a key, replace a value, add a key, misspell a key."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        op = draw(st.sampled_from(["delete", "replace", "replace", "add", "misspell"]))
        if op in ("delete", "replace", "misspell") and paths:
            path = draw(st.sampled_from(paths))
            parent = _get(data, path[:-1])
            if op == "delete":
                del parent[path[-1]]
            elif op == "replace":
                parent[path[-1]] = draw(ODD_VALUES)
            else:
                key = path[-1]
                cut = draw(st.integers(0, max(len(key) - 1, 0)))
                parent[key[:cut] + key[cut + 1:] or "k"] = parent.pop(key)
        else:
            table = _get(data, draw(st.sampled_from(_tables(data))))
            table[draw(st.sampled_from(["extra", "sized", "modle", "rate", "tau_pre", "phases", "guard"]))] = \
                draw(ODD_VALUES)
    return data


@st.composite
def mangled_text(draw, text):
    """TOML text with a line dropped, truncated, or a few characters inserted."""
    lines = text.splitlines()
    op = draw(st.sampled_from(["drop_line", "truncate", "insert"]))
    if op == "drop_line":
        k = draw(st.integers(0, len(lines) - 1))
        return "\n".join(lines[:k] + lines[k + 1:])
    if op == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    k = draw(st.integers(0, len(text)))
    return text[:k] + draw(st.sampled_from(['"', "[", "]", "=", "\n[x]\n", "{", "\\", "\x00", "é", "#"])) + text[k:]


def _bases():
    import tomllib

    out = {"small": tomllib.loads(SMALL)}
    for name, path in builtin_scenarios().items():
        out[name] = tomllib.loads(path.read_text())
    return out


BASES = _bases()


def _check_validate(path, capsys):
    try:
        code = main(["validate", str(path)])
    except SystemExit as ex:  # argparse only; never for a scenario
        pytest.fail(f"SystemExit {ex.code}")
    out, err = capsys.readouterr()
    errors = [ln for ln in err.splitlines() if ln.startswith("spikelearn: error:")]
    assert "Traceback" not in err
    if code == 0:
        assert not errors and "valid scenario" in out
    else:
        assert code == 1, code
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("spikelearn: warning:")]
        assert len(lines) == 1 and len(errors) == 1, err
        assert str(path) in errors[0], errors[0]


def _validate_property(tmp_path_factory, capsys, data):
    name = data.draw(st.sampled_from(sorted(BASES)))
    if data.draw(st.booleans()):
        text = to_toml(data.draw(mutated(BASES[name])))
    else:
        text = data.draw(mangled_text(to_toml(BASES[name])))
    path = tmp_path_factory.mktemp("prop") / f"{name}.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _check_validate(path, capsys)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_scenarios_validate_or_fail_with_one_line(tmp_path_factory, capsys, data):
    _validate_property(tmp_path_factory, capsys, data)


@pytest.mark.long
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_scenarios_validate_or_fail_with_one_line_many(tmp_path_factory, capsys, data):
    _validate_property(tmp_path_factory, capsys, data)


# values that keep the small network small (so that a run takes a moment) but are otherwise arbitrary
RUN_MUTATIONS = {
    ("connections", "c", "weight"): st.sampled_from([0, -0.01, 1e6, "rand()*0.05", "i*0.001 + j", "1/0",
                                                     "sqrt(-1.0)", "foo*2", "w", "(", "0.01*(i != j)"]),
    ("connections", "c", "connect"): st.sampled_from(["all", "one_to_one", "i != j", "j > i", "k > 1", "rand()",
                                                      "i +", "True", "bogus"]),
    ("connections", "c", "p"): st.sampled_from([0.0, 0.3, 1.0]),
    ("connections", "c", "delay"): st.sampled_from(["0*ms", "1*ms", "0.05*ms", "rand()*ms"]),
    ("connections", "c", "effect"): st.sampled_from(["ge_post += w", "v_post += w*mV", "x_post += 1", "ge_post = ",
                                                     "v_post += w", "ge_post += w\nv_post = v_post"]),
    ("populations", "inp", "parameters", "rate"): st.sampled_from(["0*Hz", "1000*Hz", "-5*Hz", "i*Hz",
                                                                   "rand()*Hz", "t*Hz/ms", "1e9*Hz"]),
    ("populations", "out", "parameters", "tau_m"): st.sampled_from(["10*ms", "0.01*ms", "-1*ms", "1e9*ms"]),
    ("populations", "out", "parameters", "v_t"): st.sampled_from(["-54*mV", "-100*mV", "1*volt"]),
    ("connections", "c", "plasticity", "wmax"): st.sampled_from([0.0, -1.0, 1e30, 0.01]),
    ("connections", "c", "plasticity", "tau_pre"): st.sampled_from(["10*ms", "0.001*ms", "-10*ms"]),
    ("record", "states", "out", "variables"): st.sampled_from([["v"], ["v", "ge"], ["nope"], []]),
    ("record", "states", "out", "indices"): st.sampled_from([0, 2, [0, 2], [5], 100]),
    ("record", "weights", "c", "indices"): st.sampled_from([0, 3, [0, 17], [100], 1000]),
    ("dt",): st.sampled_from(["0.1*ms", "1*ms", "0.01*ms", "5*ms"]),
    ("guard", "limit"): st.sampled_from([1e12, 1e-3, 1.0]),
}


def _run_property(tmp_path_factory, registry, data):
    import tomllib

    scenario = tomllib.loads(SMALL)
    for path in data.draw(st.lists(st.sampled_from(sorted(RUN_MUTATIONS)), min_size=1, max_size=3, unique=True)):
        node = scenario
        for k in path[:-1]:
            node = node.setdefault(k, {})
        node[path[-1]] = data.draw(RUN_MUTATIONS[path])
    root = tmp_path_factory.mktemp("runs")
    file = root / "small.toml"
    file.write_text(to_toml(scenario))
    try:
        sc = load_scenario(file, registry)
        outcome = run_scenario(sc, registry, out_root=root / "out", progress=False, figures=False)
    except SpikelearnError as ex:
        assert "\n" not in str(ex).strip(), str(ex)
        return
    assert outcome.path.is_dir() and (outcome.path / "status.json").exists()


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_small_networks_run_or_fail_with_a_defined_error(tmp_path_factory, registry, data):
    _run_property(tmp_path_factory, registry, data)


@pytest.mark.long
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_small_networks_run_or_fail_with_a_defined_error_many(tmp_path_factory, registry, data):
    _run_property(tmp_path_factory, registry, data)
