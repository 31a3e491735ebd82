"""Scenario files: parse (``tomllib``), apply ``--set`` overrides, validate, resolve defaults.

Validation happens before any Brian2 object exists. Every error is a `ScenarioError` naming the file and
the dotted key path (``connections.inputs_to_out.plasticity.tau_pre``) and, for a choice, the allowed
values. Unknown keys are errors, with a did-you-mean suggestion.

The result is a `Scenario`: the resolved data (every default filled in, a plain dict that round-trips
through :func:`to_toml`) plus the parsed parameter values the builder uses.
"""

import copy
import difflib
import logging
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import ScenarioError
from .network import Connection, Population, RuleUse
from .plugin import HOLD_HINT, HOLDS_VARIABLES, Param
from .units import UnitParseError, dimension_name, parse_quantity, same_dimensions

__all__ = [
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "resolve_scenario_path",
    "builtin_scenarios",
    "apply_overrides",
    "set_key",
    "parse_override",
    "to_toml",
    "DEVICES",
    "MAX_SCENARIO_BYTES",
]

logger = logging.getLogger(__name__)

DEVICES = ("runtime", "cpp", "cuda")
RUNTIME_TARGETS = ("numpy", "cython")
PHASE_KINDS = ("oscillation", "blocks", "intervals")
MAX_SCENARIO_BYTES = 1_000_000
MAX_SEED = 2**32 - 1

TOP_KEYS = {
    "name", "description", "seed", "dt", "duration", "device", "device_options", "populations",
    "connections", "phases", "record", "task", "sweep", "guard", "models", "claims",
}
MODEL_KEYS = {"description", "equations", "threshold", "reset", "refractory", "method", "parameters", "initial",
              "synaptic_effect"}
POPULATION_KEYS = {"model", "size", "parameters"}
CONNECTION_KEYS = {"source", "target", "connect", "p", "weight", "delay", "effect", "summed", "plasticity"}
DEVICE_OPTION_KEYS = {"target", "compute_capability", "gpu_id", "threads", "runtime_parameters"}
DEVICE_OPTIONS_OF = {"runtime": ("target",), "cpp": ("threads",), "cuda": ("compute_capability", "gpu_id")}
PHASE_KEYS = {"kind", "names", "period", "duty", "offset", "durations", "intervals", "resolution"}
RECORD_KEYS = {"spikes", "states", "weights"}
STATE_RECORD_KEYS = {"variables", "indices", "dt", "start", "stop"}
SPIKE_RECORD_KEYS = {"indices", "start", "stop"}
WEIGHT_RECORD_KEYS = {"dt", "indices"}
TASK_KEYS = {"name", "parameters"}
GUARD_KEYS = {"enabled", "every", "every_connections", "limit"}
SWEEP_KEYS = {"grid", "seeds", "pack"}


# --------------------------------------------------------------------------------------------------
# the typed result


@dataclass
class Scenario:
    """A validated scenario. ``data`` is the resolved dict (written to the run directory)."""

    source: str
    data: dict
    name: str
    seed: int
    dt: object
    duration: object
    device: str
    device_options: dict
    models: dict = field(default_factory=dict)  # the scenario's [models.X] tables, as Model instances
    populations: dict = field(default_factory=dict)
    connections: dict = field(default_factory=dict)
    phases: dict | None = None
    record: dict = field(default_factory=dict)
    task: str | None = None
    task_params: dict = field(default_factory=dict)
    sweep: dict | None = None  # {"grid": {key: [values]}, "seeds": n, "pack": copies per network}
    guard: dict = field(default_factory=dict)  # {"enabled", "every", "every_connections", "limit"} (spikelearn.guard)
    warnings: list = field(default_factory=list)  # e.g. a dt too large for a time constant

    def with_overrides(self, overrides, registry):
        """A new scenario with ``--set`` style overrides (``["a.b=1", ...]``) applied and validated."""
        data = apply_overrides(self.data, overrides, self.source)
        return parse_scenario(data, self.source, registry)


# --------------------------------------------------------------------------------------------------
# locating and reading files


def builtin_scenarios():
    """Map of built-in scenario names (``song-stdp``) to their files."""
    root = resources.files("spikelearn.scenarios")
    found = {}
    for entry in root.iterdir():
        if entry.name.endswith(".toml"):
            found[entry.name[:-5].replace("_", "-")] = Path(str(entry))
    return dict(sorted(found.items()))


def resolve_scenario_path(name_or_path):
    """A path to a scenario file given a path or a built-in name (``song-stdp`` or ``song_stdp``)."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or os.sep in str(name_or_path) or path.exists():
        return path
    key = str(name_or_path).replace("_", "-")
    builtin = builtin_scenarios()
    if key in builtin:
        return builtin[key]
    hint = _did_you_mean(key, builtin)
    raise ScenarioError(
        name_or_path, None,
        f"no such scenario file or built-in scenario{hint}; built-in scenarios: {', '.join(builtin)}",
    )


def _read_toml(path):
    path = Path(path)
    if not path.exists():
        raise ScenarioError(path, None, "file not found")
    if path.is_dir():
        raise ScenarioError(path, None, "is a directory, expected a .toml scenario file")
    try:
        size = path.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError(
                path, None, f"file is {size} bytes; scenario files are limited to {MAX_SCENARIO_BYTES} bytes"
            )
        raw = path.read_bytes()
    except PermissionError as ex:
        raise ScenarioError(path, None, f"cannot read file: {ex.strerror}") from ex
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as ex:
        raise ScenarioError(path, None, f"not UTF-8 text ({ex.reason} at byte {ex.start})") from ex
    except tomllib.TOMLDecodeError as ex:
        raise ScenarioError(path, None, f"malformed TOML: {ex}") from ex


def load_scenario(name_or_path, registry, overrides=()):
    """Read, override and validate a scenario file (or built-in name)."""
    path = resolve_scenario_path(name_or_path)
    data = _read_toml(path)
    if "name" not in data:
        data["name"] = path.stem.replace("_", "-")
    data = apply_overrides(data, overrides, path)
    return parse_scenario(data, path, registry)


# --------------------------------------------------------------------------------------------------
# overrides


def parse_override(text, source="--set"):
    """Split ``key.path=value``; the value is read as a TOML value (``0.9``, ``"20*ms"``, ``[1, 2]``)
    and, when it is not valid TOML, kept as a string (so ``--set dt=0.05*ms`` works unquoted)."""
    if "=" not in text:
        raise ScenarioError(source, text, "an override must look like key.path=value")
    key, _, value = text.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError(source, text, "an override must look like key.path=value")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    return key, parsed


def apply_overrides(data, overrides, source):
    """A copy of ``data`` with each ``key.path=value`` override set (tables are created as needed).

    An override that swaps a plasticity rule (``connections.c.plasticity.rule=other``) starts that rule's
    table afresh: the parameters the file gave the old rule are dropped, and the other overrides, set
    after every rule swap, give the new rule's."""
    data = copy.deepcopy(data)
    parsed = [parse_override(text, f"{source} (--set)") for text in overrides]
    swaps = [(k, v) for k, v in parsed if _is_rule_key(k)]
    for key, value in swaps + [(k, v) for k, v in parsed if not _is_rule_key(k)]:
        if (key, value) in swaps:
            table = _get_key(data, key.rpartition(".")[0])
            if isinstance(table, dict) and table.get("rule") not in (None, value):
                table.clear()
        set_key(data, key, value, f"{source} (--set)")
    return data


def _is_rule_key(key):
    return re.fullmatch(r"connections\.[^.]+\.plasticity(\[\d+\])?\.rule", key) is not None


def _get_key(data, key):
    """The value at ``key`` (``a.b[1].c``), or None where the path does not exist."""
    node = data
    for part in key.replace("[", ".").replace("]", "").split("."):
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def set_key(data, key, value, source):
    """Set ``key`` (``a.b.c``; ``a.b[1].c`` indexes a list, as in error messages) in nested tables,
    creating missing tables; a value in the way is a `ScenarioError` of ``source``."""
    parts = key.replace("[", ".").replace("]", "").split(".")
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, (dict, list)):
            raise ScenarioError(source, ".".join(parts[: depth + 1]), f"is a value, not a table; cannot set {key}")
        node = child
    node[parts[-1]] = value


# --------------------------------------------------------------------------------------------------
# validation helpers


def _did_you_mean(word, options):
    close = difflib.get_close_matches(str(word), list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Checker:
    """Validation helpers bound to one source file."""

    def __init__(self, source):
        self.source = str(source)

    def error(self, key, message):
        return ScenarioError(self.source, key, message)

    def table(self, data, key, allowed, required=()):
        if not isinstance(data, dict):
            raise self.error(key, f"expected a table, got {_type_name(data)}")
        for name in data:
            if name not in allowed:
                where = f"{key}.{name}" if key else name
                raise self.error(
                    where,
                    f"unknown key{_did_you_mean(name, allowed)}; allowed: {', '.join(sorted(allowed))}",
                )
        for name in required:
            if name not in data:
                where = f"{key}.{name}" if key else name
                raise self.error(where, "required key is missing")
        return data

    def string(self, value, key, choices=None):
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_type_name(value)}")
        if choices is not None and value not in choices:
            raise self.error(
                key, f"'{value}' is not allowed{_did_you_mean(value, choices)}; allowed: {', '.join(choices)}"
            )
        return value

    def integer(self, value, key, minimum=None):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, found: {value}")
        return value

    def number(self, value, key, low=None, high=None):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.error(key, f"expected a number, got {_type_name(value)}")
        if not math.isfinite(value):
            raise self.error(key, f"must be finite, found: {value}")
        if low is not None and value < low or high is not None and value > high:
            raise self.error(key, f"must lie in [{low}, {high}], found: {value}")
        return float(value)

    def quantity(self, value, key, like, positive=False, nonnegative=False):
        """Parse a quantity and check it has the dimensions of ``like`` (a parsed default)."""
        try:
            q = parse_quantity(value)
        except UnitParseError as ex:
            raise self.error(key, str(ex)) from ex
        if not same_dimensions(q, like):
            raise self.error(key, f"expected {dimension_name(like)}, got {value!r} ({dimension_name(q)})")
        magnitude = float(q / _unit_of(like)) if _unit_of(like) is not None else float(q)
        if not math.isfinite(magnitude):
            raise self.error(key, f"must be finite, found: {value!r}")
        if positive and magnitude <= 0:
            raise self.error(key, f"must be > 0, found: {value!r}")
        if nonnegative and magnitude < 0:
            raise self.error(key, f"must be >= 0, found: {value!r}")
        return q

    def string_list(self, value, key):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"expected a list of strings, got {value!r}")
        return value


def _type_name(value):
    return {
        str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def _unit_of(q):
    from brian2.units.fundamentalunits import DIMENSIONLESS, Quantity

    if isinstance(q, Quantity) and q.dim is not DIMENSIONLESS:
        return Quantity(1.0, dim=q.dim)
    return None


def parse_params(check, given, declared, key, what):
    """Validate ``given`` against the ``declared`` parameters of a plugin; return (resolved raw values,
    parsed values). Unknown names are errors (with a suggestion); missing ones take the default."""
    if not isinstance(given, dict):
        raise check.error(key, f"expected a table, got {_type_name(given)}")
    for name in given:
        if name not in declared:
            allowed = ", ".join(sorted(declared)) or "none"
            raise check.error(
                f"{key}.{name}",
                f"{what} does not declare this parameter{_did_you_mean(name, declared)}; declared: {allowed}",
            )
    raw, parsed = {}, {}
    for name, param in declared.items():
        value = given.get(name, param.default)
        raw[name] = value
        parsed[name] = parse_param_value(check, value, param, f"{key}.{name}")
    return raw, parsed


def parse_param_value(check, value, param: Param, key):
    """Parse one parameter value according to its declaration (units, kind, range)."""
    kind = param.kind
    if kind == "quantity":
        like = parse_quantity(param.default)
        q = check.quantity(value, key, like)
        _check_range(check, q, param, key, value)
        return q
    if kind == "int":
        n = check.integer(value, key)
        _check_range(check, n, param, key, value)
        return n
    if kind == "bool":
        if not isinstance(value, bool):
            raise check.error(key, f"expected true or false, got {value!r}")
        return value
    if kind == "str":
        return check.string(value, key, list(param.choices) if param.choices else None)
    if kind == "code":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise check.error(key, f"expected a Brian2 expression or a number, got {_type_name(value)}")
        _check_constant_units(check, value, param, key)
        return value
    if kind == "list":
        if not isinstance(value, list):
            raise check.error(key, f"expected a list, got {_type_name(value)}")
        return value
    raise check.error(key, f"parameter declared with unknown kind '{kind}'")


def _check_constant_units(check, value, param, key):
    """A code parameter given as a plain quantity (no variables) must have the units of its default, be
    finite and lie in its range."""
    try:
        like = parse_quantity(param.default)
        q = parse_quantity(value)
    except (UnitParseError, TypeError):
        return  # an expression of t, i, ...: Brian2 checks its units when it builds the network
    if not same_dimensions(q, like):
        raise check.error(key, f"expected {dimension_name(like)}, got {value!r} ({dimension_name(q)})")
    if not math.isfinite(float(q)):
        raise check.error(key, f"must be finite, found: {value!r}")
    _check_range(check, q, param, key, value)


#: bounds implied by a quantity's units when its parameter declares none: (name, minimum, strictly)
_UNIT_BOUNDS = {"second": ("a time", 0.0, False), "hertz": ("a rate", 0.0, False),
                "farad": ("a capacitance", 0.0, True), "ohm": ("a resistance", 0.0, True)}


def _check_range(check, value, param, key, given):
    """``value`` (parsed) against the declared ``min``/``max``/``positive`` of ``param``, or, without
    them, against the bounds its units imply (time constants ``tau...`` and periods strictly > 0)."""
    from brian2 import farad, hertz, ohm, second

    x = float(value)
    low, high, strict, what = param.min, param.max, param.positive, ""
    if low is None and high is None and not strict:
        for name, unit in (("second", second), ("hertz", hertz), ("farad", farad), ("ohm", ohm)):
            if same_dimensions(value, unit):
                what, low, strict = _UNIT_BOUNDS[name]
                last = key.rsplit(".", 1)[-1].lower()
                strict = strict or (name == "second" and (last.startswith("tau") or "period" in last))
                break
    if strict:
        low = 0.0 if low is None else low
    if low is not None and (x < low or (strict and x <= low)):
        allowed = f"{'(' if strict else '['}{low:g}, {'inf' if high is None else f'{high:g}'}]"
        raise check.error(key, f"must be {'>' if strict else '>='} {low:g}{f' ({what})' if what else ''}, "
                               f"found: {given!r}; allowed: {allowed.replace('inf]', 'inf)')} (SI units)")
    if high is not None and x > high:
        raise check.error(key, f"must be <= {high:g}, found: {given!r}; allowed: "
                               f"[{'-inf' if low is None else f'{low:g}'}, {high:g}] (SI units)")


# --------------------------------------------------------------------------------------------------
# the validator


def _threads(check, value):
    """``device_options.threads``: a number of OpenMP threads (0: none, one thread) or ``"auto"``."""
    if value == "auto":
        return value
    if isinstance(value, str):
        raise check.error("device_options.threads", f"expected an integer >= 0 or \"auto\", found: {value!r}")
    return check.integer(value, "device_options.threads", minimum=0)


def parse_scenario(data, source, registry):
    """Validate a scenario dict and return a `Scenario` with every default filled in."""
    check = _Checker(source)
    data = copy.deepcopy(data)
    check.table(data, "", TOP_KEYS)
    resolved = {}

    resolved["name"] = check.string(data.get("name", Path(str(source)).stem.replace("_", "-")), "name")
    if not resolved["name"] or any(c in resolved["name"] for c in "/\\") or resolved["name"].startswith("."):
        raise check.error("name", f"must be a non-empty name without '/' and not starting with '.', found: {resolved['name']!r}")
    resolved["description"] = check.string(data.get("description", ""), "description")
    resolved["seed"] = check.integer(data.get("seed", 1), "seed", minimum=0)
    if resolved["seed"] > MAX_SEED:  # NumPy's and Brian2's seeds are 32-bit
        raise check.error("seed", f"must be <= {MAX_SEED}, found: {resolved['seed']}; allowed: [0, {MAX_SEED}]")
    resolved["device"] = check.string(data.get("device", "cpp"), "device", DEVICES)
    time_like = parse_quantity("1*second")
    dt = check.quantity(data.get("dt", "0.1*ms"), "dt", time_like, positive=True)
    duration = check.quantity(data.get("duration", "1*second"), "duration", time_like, positive=True)
    if float(duration) < float(dt):
        raise check.error("duration", f"must be at least one time step (dt = {data.get('dt', '0.1*ms')})")
    resolved["dt"] = data.get("dt", "0.1*ms")
    resolved["duration"] = data.get("duration", "1*second")

    options = check.table(data.get("device_options", {}), "device_options", DEVICE_OPTION_KEYS)
    device_options = {
        "target": check.string(options.get("target", "numpy"), "device_options.target", RUNTIME_TARGETS),
        "compute_capability": check.number(
            options.get("compute_capability", 9.0), "device_options.compute_capability", 3.0, 12.0
        ),
        "gpu_id": check.integer(options.get("gpu_id", 0), "device_options.gpu_id", minimum=0),
        "threads": _threads(check, options.get("threads", 0)),
    }
    # the resolved scenario lists the options of its own device (a cpp run shows no numpy target)
    resolved["device_options"] = {k: device_options[k] for k in DEVICE_OPTIONS_OF[resolved["device"]]}
    resolved["guard"] = guard = _parse_guard(check, data.get("guard", {}), dt, resolved["dt"])

    models = {}
    if "models" in data:
        mdata = check.table(data["models"], "models", set(data["models"]) if isinstance(data["models"], dict) else set())
        for mname, spec in mdata.items():
            models[mname] = _inline_model(check, registry, mname, spec)
        resolved["models"] = data["models"]

    populations = {}
    resolved["populations"] = {}
    pops = data.get("populations", {})
    check.table(pops, "populations", set(pops) if isinstance(pops, dict) else set())
    for pname, pdata in pops.items():
        key = f"populations.{pname}"
        _check_identifier(check, pname, key)
        check.table(pdata, key, POPULATION_KEYS, required=("model", "size"))
        model_name = check.string(pdata["model"], f"{key}.model")
        model = models[model_name] if model_name in models else registry.lookup("models", model_name, source,
                                                                                    f"{key}.model")
        size = check.integer(pdata["size"], f"{key}.size", minimum=1)
        raw, parsed = parse_params(check, pdata.get("parameters", {}), model.parameters,
                                   f"{key}.parameters", f"model '{model_name}'")
        populations[pname] = Population(pname, model_name, size, parsed, definition=model, origin=key)
        resolved["populations"][pname] = {"model": model_name, "size": size, "parameters": raw}

    connections = {}
    resolved["connections"] = {}
    conns = data.get("connections", {})
    check.table(conns, "connections", set(conns) if isinstance(conns, dict) else set())
    for cname, cdata in conns.items():
        key = f"connections.{cname}"
        _check_identifier(check, cname, key)
        if cname in populations:
            raise check.error(key, f"the name '{cname}' is already used by a population; names must be unique")
        check.table(cdata, key, CONNECTION_KEYS, required=("source", "target"))
        endpoints = {}
        for end in ("source", "target"):
            pop = check.string(cdata[end], f"{key}.{end}")
            if pop not in populations:
                raise check.error(
                    f"{key}.{end}",
                    f"no population named '{pop}'{_did_you_mean(pop, populations)}; populations: "
                    f"{', '.join(populations) or 'none'}",
                )
            endpoints[end] = pop
        connect = check.string(cdata.get("connect", "all"), f"{key}.connect")
        p = check.number(cdata.get("p", 1.0), f"{key}.p", 0.0, 1.0)
        weight = cdata.get("weight", 0.0)
        if isinstance(weight, bool) or not isinstance(weight, (str, int, float)):
            raise check.error(f"{key}.weight", f"expected a number or a Brian2 expression, got {_type_name(weight)}")
        delay = check.quantity(cdata.get("delay", "0*ms"), f"{key}.delay", time_like, nonnegative=True)
        effect = cdata.get("effect")
        summed = cdata.get("summed")
        if effect is not None:
            check.string(effect, f"{key}.effect")
        if summed is not None:
            check.string(summed, f"{key}.summed")
            if "=" not in summed:
                raise check.error(f"{key}.summed", f"expected 'target_post = expression', found: {summed!r}")
        if effect is not None and summed is not None:
            raise check.error(f"{key}.summed", "give either 'effect' (on_pre code) or 'summed', not both")
        if effect is None and summed is None:
            target_model = populations[endpoints["target"]].definition
            effect = target_model.synaptic_effect or None
        rules, rules_raw = _parse_plasticity(check, registry, cdata.get("plasticity"), f"{key}.plasticity", source)
        connections[cname] = Connection(
            cname, endpoints["source"], endpoints["target"], connect, p, weight, delay, effect, summed, rules,
            origin=key,
        )
        entry = {"source": endpoints["source"], "target": endpoints["target"], "connect": connect, "p": p,
                 "weight": weight, "delay": cdata.get("delay", "0*ms")}
        if effect is not None:
            entry["effect"] = effect
        if summed is not None:
            entry["summed"] = summed
        if rules_raw:
            entry["plasticity"] = rules_raw[0] if isinstance(cdata["plasticity"], dict) else rules_raw
        resolved["connections"][cname] = entry

    runtime = check.string_list(options.get("runtime_parameters", []), "device_options.runtime_parameters")
    if runtime:
        device_options["runtime_parameters"] = _check_runtime_parameters(check, runtime, connections)
        resolved["device_options"]["runtime_parameters"] = device_options["runtime_parameters"]

    phases = None
    if "phases" in data:
        phases = _parse_phases(check, data["phases"], duration)
        resolved["phases"] = data["phases"]

    record = _parse_record(check, data.get("record", {}), populations, connections, duration)
    resolved["record"] = {k: v for k, v in record.items() if k != "spike_limits"}
    if isinstance(data.get("record", {}).get("spikes"), dict):  # the per-population table, as written
        resolved["record"]["spikes"] = {pop: dict(record["spike_limits"].get(pop, {})) for pop in record["spikes"]}

    if "claims" in data:
        from .claims import parse_claims

        resolved["claims"] = parse_claims(check, data["claims"], populations, connections, record, duration)

    task_name, task_params = None, {}
    if "task" in data:
        tdata = check.table(data["task"], "task", TASK_KEYS, required=("name",))
        task_name = check.string(tdata["name"], "task.name")
        task = registry.lookup("tasks", task_name, source, "task.name")
        raw, task_params = parse_params(check, tdata.get("parameters", {}), task.parameters,
                                        "task.parameters", f"task '{task_name}'")
        resolved["task"] = {"name": task_name, "parameters": raw}

    _check_plugin_requirements(check, registry, populations, connections, phases, task_name)

    sweep = None
    if "sweep" in data:
        sdata = check.table(data["sweep"], "sweep", SWEEP_KEYS)
        grid = sdata.get("grid", {})
        check.table(grid, "sweep.grid", set(grid) if isinstance(grid, dict) else set())
        for gkey, values in grid.items():
            if not isinstance(values, list) or not values:
                raise check.error(f"sweep.grid.{gkey}", f"expected a non-empty list of values, got {values!r}")
        sweep = {"grid": grid, "seeds": check.integer(sdata.get("seeds", 1), "sweep.seeds", minimum=1),
                 "pack": check.integer(sdata.get("pack", 1), "sweep.pack", minimum=1)}
        resolved["sweep"] = sweep

    warnings = _stability_warnings(registry, populations, connections, dt, resolved)

    if not populations and task_name is None:
        raise check.error("populations", "a scenario needs at least one population (or a task that builds the "
                                         "network); found none")
    return Scenario(
        warnings=warnings, source=str(source), data=resolved, name=resolved["name"], seed=resolved["seed"], dt=dt,
        duration=duration, device=resolved["device"], device_options=device_options,
        models=models, populations=populations, connections=connections, phases=phases, record=record,
        task=task_name, task_params=task_params, sweep=sweep, guard=guard,
    )


# explicit integrators are unstable on dx/dt = -x/tau when dt/tau exceeds (real-axis stability bound)
STABILITY_LIMIT = {"euler": 2.0, "heun": 2.0, "rk2": 2.0, "milstein": 2.0, "rk4": 2.785}


def _stability_warnings(registry, populations, connections, dt, resolved):
    """Time constants (``tau*`` parameters) that an explicit integrator cannot integrate stably at this dt:
    one message each, with the numbers. Exact and exponential-Euler integration are stable at any dt."""
    out = []

    def check(key, raw, tau, method):
        limit = STABILITY_LIMIT.get(method)
        if limit is None or float(tau) <= 0:
            return
        ratio = float(dt) / float(tau)
        if ratio > limit:
            out.append(f"{key} = {raw!r} with dt = {resolved['dt']!r}: dt/tau = {ratio:.3g} > {limit:g}, "
                       f"so '{method}' integration of a decay with this time constant is unstable "
                       f"(values will blow up); use dt < {float(tau) * limit * 1e3:.4g} ms")

    def taus(params):
        for name, value in params.items():
            if name.startswith("tau") and _is_time(value):
                yield name, value

    for pname, pop in populations.items():
        model = pop.definition
        for name, tau in taus(pop.params):
            key = f"populations.{pname}.parameters.{name}"
            check(key, resolved["populations"][pname]["parameters"][name], tau, getattr(model, "method", None))
    for cname, conn in connections.items():
        host = populations[conn.target].definition
        for use in conn.rules:
            rule = registry.get("plasticity", use.name)
            neuron_side = rule.pre_variables or rule.post_variables
            method = rule.method or (getattr(host, "method", None) if neuron_side else None)
            for name, tau in taus(use.params):
                check(f"{use.key}.{name}", str(tau), tau, method)
    return out


def _inline_model(check, registry, name, spec):
    """A ``[models.NAME]`` table as a `Model`: Brian2 equations, threshold, reset, refractory, method,
    constant ``parameters`` (numbers or quantities; defaults a population may override) and ``initial``
    values. Equations are parsed here; their units are checked against the parameters by the pre-run
    network check (``spikelearn validate``), as for a plugin model."""
    from brian2 import Equations

    from .plugin import Model

    key = f"models.{name}"
    _check_identifier(check, name, key)
    check.table(spec, key, MODEL_KEYS, required=("equations",))
    if name in registry.available("models"):
        raise check.error(key, f"'{name}' is already a plugin model ({registry.origin('models', name)}); "
                               "give the scenario's model another name")
    equations = check.string(spec["equations"], f"{key}.equations")
    try:
        names = Equations(equations).names
    except Exception as ex:  # Brian2's parse errors have several types
        raise check.error(f"{key}.equations", f"the equations do not parse: {str(ex).splitlines()[0]}") from None
    code = {f: check.string(spec[f], f"{key}.{f}") for f in ("threshold", "reset") if f in spec}
    refractory = spec.get("refractory", False)
    if not (refractory is False or isinstance(refractory, str)):
        raise check.error(f"{key}.refractory", f"expected false, a time ('2*ms') or a Brian2 condition, got {refractory!r}")
    from brian2.stateupdaters.base import StateUpdateMethod

    method = check.string(spec.get("method", "euler"), f"{key}.method", tuple(StateUpdateMethod.stateupdaters))
    parameters = {}
    given = check.table(spec.get("parameters", {}), f"{key}.parameters",
                        set(spec.get("parameters", {})) if isinstance(spec.get("parameters"), dict) else set())
    for pname, value in given.items():
        pkey = f"{key}.parameters.{pname}"
        _check_identifier(check, pname, pkey)
        if pname in names:
            raise check.error(pkey, f"'{pname}' is a variable of the equations; a parameter needs another name")
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise check.error(pkey, f"expected a number or a quantity ('281*pF'), got {_type_name(value)}")
        try:
            parse_quantity(value)
        except UnitParseError as ex:
            raise check.error(pkey, f"{ex}; a parameter is a constant: expressions of t or i belong in the "
                                    "equations") from None
        parameters[pname] = Param(value, "given in the scenario's [models] table")
    initial = check.table(spec.get("initial", {}), f"{key}.initial",
                          set(names) if isinstance(spec.get("initial", {}), dict) else set())
    for var, value in initial.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise check.error(f"{key}.initial.{var}", f"expected a number or Brian2 code, got {_type_name(value)}")
    return Model.from_code(name, equations, refractory=refractory, method=method, parameters=parameters,
                           initial=initial, description=check.string(spec.get("description", ""), f"{key}.description"),
                           synaptic_effect=check.string(spec.get("synaptic_effect", ""), f"{key}.synaptic_effect"),
                           reference="defined in the scenario", **code)


def _is_time(value):
    from brian2.units.fundamentalunits import Quantity, get_dimensions

    return isinstance(value, Quantity) and get_dimensions(value) == get_dimensions(parse_quantity("1*second"))


def _parse_guard(check, gdata, dt, dt_raw):
    """``[guard]``: the in-loop NaN/Inf/runaway check (:mod:`spikelearn.guard`)."""
    from .guard import DEFAULT_EVERY, DEFAULT_EVERY_CONNECTIONS, DEFAULT_LIMIT

    check.table(gdata, "guard", GUARD_KEYS)
    enabled = gdata.get("enabled", True)
    if not isinstance(enabled, bool):
        raise check.error("guard.enabled", f"expected true or false, got {enabled!r}")
    # default: every 10 ms of simulated time, or every step when dt is longer
    every = gdata.get("every", DEFAULT_EVERY if float(dt) <= float(parse_quantity(DEFAULT_EVERY)) else dt_raw)
    q = check.quantity(every, "guard.every", parse_quantity("1*second"), positive=True)
    if float(q) < float(dt) * (1 - 1e-9):
        raise check.error("guard.every", f"must be at least one time step (dt), found: {every!r}")
    default_c = DEFAULT_EVERY_CONNECTIONS if float(parse_quantity(DEFAULT_EVERY_CONNECTIONS)) >= float(q) else every
    every_c = gdata.get("every_connections", default_c)
    qc = check.quantity(every_c, "guard.every_connections", parse_quantity("1*second"), positive=True)
    if float(qc) < float(q) * (1 - 1e-9):
        raise check.error("guard.every_connections", f"must be at least guard.every ({every}), found: {every_c!r}")
    limit = check.number(gdata.get("limit", DEFAULT_LIMIT), "guard.limit", 0.0)
    if limit <= 0:
        raise check.error("guard.limit", f"must be > 0, found: {limit}")
    return {"enabled": enabled, "every": every, "every_connections": every_c, "limit": limit}


def _parse_plasticity(check, registry, pl, key, source):
    """``plasticity`` is one table ``{rule = ..., params...}`` or a list of them (rules composed on one
    connection). Returns the `RuleUse` list and the resolved raw tables."""
    if pl is None:
        return [], []
    tables = [(pl, key)] if isinstance(pl, dict) else None
    if isinstance(pl, list):
        tables = [(t, f"{key}[{k}]") for k, t in enumerate(pl)]
    if tables is None:
        raise check.error(key, f"expected a table (or a list of tables), got {_type_name(pl)}")
    uses, raws = [], []
    for table, tkey in tables:
        if not isinstance(table, dict):
            raise check.error(tkey, f"expected a table, got {_type_name(table)}")
        if "rule" not in table:
            raise check.error(f"{tkey}.rule", "required key is missing")
        name = check.string(table["rule"], f"{tkey}.rule")
        rule = registry.lookup("plasticity", name, source, f"{tkey}.rule")
        given = {k: v for k, v in table.items() if k != "rule"}
        raw, parsed = parse_params(check, given, rule.parameters, tkey, f"plasticity rule '{name}'")
        uses.append(RuleUse(name, parsed, tkey, definition=rule))
        raws.append({"rule": name, **raw})
    names = [u.name for u in uses]
    if len(set(names)) != len(names):
        raise check.error(key, f"the same rule is listed twice: {names}")
    return uses, raws


def runtime_parameter_keys(connections):
    """Scenario keys that can be given at run time: the numeric parameters of plasticity rules."""
    return [f"{use.key}.{name}" for conn in connections.values() for use in conn.rules
            for name, value in use.params.items() if not isinstance(value, (str, list, bool))]


def _check_runtime_parameters(check, keys, connections):
    """``device_options.runtime_parameters``: numeric plasticity parameters whose values are given when
    the compiled program starts (Brian2's ``run_args``) instead of being compiled in, so that runs which
    differ only in them share one standalone build. Returns the keys, checked and de-duplicated."""
    allowed = runtime_parameter_keys(connections)
    for key in keys:
        if key not in allowed:
            raise check.error("device_options.runtime_parameters",
                              f"'{key}' is not a numeric plasticity parameter{_did_you_mean(key, allowed)}; "
                              f"allowed: {', '.join(allowed) or 'none (no plastic connection)'}")
    return sorted(set(keys))


def _check_identifier(check, name, key):
    if not name.isidentifier() or name.startswith("_"):
        raise check.error(key, f"'{name}' is not a valid name (letters, digits and '_', not starting with '_' or a digit)")


def _parse_phases(check, pdata, duration):
    check.table(pdata, "phases", PHASE_KEYS, required=("kind", "names"))
    kind = check.string(pdata["kind"], "phases.kind", PHASE_KINDS)
    names = check.string_list(pdata["names"], "phases.names")
    if not names:
        raise check.error("phases.names", "needs at least one phase name")
    for n in names:
        if not n.isidentifier():
            raise check.error("phases.names", f"'{n}' is not a valid signal name")
    if len(set(names)) != len(names):
        raise check.error("phases.names", f"duplicate phase names in {names}")
    time_like = parse_quantity("1*second")
    out = {"kind": kind, "names": names}
    if kind == "oscillation":
        if len(names) > 2:
            raise check.error("phases.names", "an oscillation alternates two phases (or one gate); use kind = \"blocks\" for more")
        out["period"] = check.quantity(pdata.get("period", "100*ms"), "phases.period", time_like, positive=True)
        out["duty"] = check.number(pdata.get("duty", 0.5), "phases.duty", 0.0, 1.0)
        out["offset"] = check.quantity(pdata.get("offset", "0*ms"), "phases.offset", time_like)
    elif kind == "blocks":
        if "durations" not in pdata:
            raise check.error("phases.durations", "required key is missing for kind = \"blocks\"")
        durs = pdata["durations"]
        if not isinstance(durs, list) or len(durs) != len(names):
            raise check.error("phases.durations", f"expected a list of {len(names)} durations (one per name), got {durs!r}")
        out["durations"] = [
            check.quantity(d, f"phases.durations[{k}]", time_like, positive=True) for k, d in enumerate(durs)
        ]
    else:
        if "intervals" not in pdata:
            raise check.error("phases.intervals", "required key is missing for kind = \"intervals\"")
        ivs = pdata["intervals"]
        if not isinstance(ivs, list):
            raise check.error("phases.intervals", f"expected a list of [name, start, stop], got {ivs!r}")
        parsed = []
        for k, iv in enumerate(ivs):
            key = f"phases.intervals[{k}]"
            if not isinstance(iv, list) or len(iv) != 3:
                raise check.error(key, f"expected [name, start, stop], got {iv!r}")
            check.string(iv[0], key, names)
            start = check.quantity(iv[1], key, time_like, nonnegative=True)
            stop = check.quantity(iv[2], key, time_like, nonnegative=True)
            if float(stop) <= float(start):
                raise check.error(key, f"stop must be after start, found: {iv!r}")
            parsed.append((iv[0], start, stop))
        out["intervals"] = parsed
    if kind != "oscillation":
        out["resolution"] = check.quantity(pdata.get("resolution", "1*ms"), "phases.resolution", time_like, positive=True)
    return out


def _parse_record(check, rdata, populations, connections, duration):
    check.table(rdata, "record", RECORD_KEYS)
    spikes = rdata.get("spikes", list(populations))
    limits = {}
    if isinstance(spikes, dict):  # per population: a subset of neurons and/or a time window
        check.table(spikes, "record.spikes", set(populations) | set(spikes))
        limits = {pop: _spike_limits(check, spec, f"record.spikes.{pop}", populations.get(pop), duration)
                  for pop, spec in spikes.items()}
        spikes = list(spikes)
    check.string_list(spikes, "record.spikes")
    for pop in spikes:
        if pop not in populations:
            raise check.error("record.spikes", f"no population named '{pop}'{_did_you_mean(pop, populations)}")
    states = {}
    sdata = rdata.get("states", {})
    check.table(sdata, "record.states", set(populations) | set(sdata if isinstance(sdata, dict) else {}))
    time_like = parse_quantity("1*second")
    for pop, spec in sdata.items():
        key = f"record.states.{pop}"
        if pop not in populations:
            raise check.error(key, f"no population named '{pop}'{_did_you_mean(pop, populations)}")
        check.table(spec, key, STATE_RECORD_KEYS, required=("variables",))
        variables = check.string_list(spec["variables"], f"{key}.variables")
        indices = _indices(check, spec.get("indices", 10), f"{key}.indices", populations[pop].size)
        rec_dt = spec.get("dt", "1*ms")
        check.quantity(rec_dt, f"{key}.dt", time_like, positive=True)
        states[pop] = {"variables": variables, "indices": indices, "dt": rec_dt}
        for limit in ("start", "stop"):
            if limit in spec:
                check.quantity(spec[limit], f"{key}.{limit}", time_like)
                states[pop][limit] = spec[limit]
        if ("start" in spec or "stop" in spec) and indices != list(range(len(indices))):
            raise check.error(f"{key}.indices", "a recording with start/stop takes indices = true or a count n "
                                                "(neurons 0..n-1), not a list")
    weights = {}
    wdata = rdata.get("weights", {})
    check.table(wdata, "record.weights", set(wdata if isinstance(wdata, dict) else {}))
    for conn, spec in wdata.items():
        key = f"record.weights.{conn}"
        if conn not in connections:
            raise check.error(key, f"no connection named '{conn}'{_did_you_mean(conn, connections)}")
        check.table(spec, key, WEIGHT_RECORD_KEYS)
        entry = {"indices": _indices(check, spec.get("indices", 0), f"{key}.indices", None)}
        if "dt" in spec:
            check.quantity(spec["dt"], f"{key}.dt", time_like, positive=True)
            entry["dt"] = spec["dt"]
        weights[conn] = entry
    return {"spikes": spikes, "spike_limits": {p: v for p, v in limits.items() if v}, "states": states,
            "weights": weights}


def _spike_limits(check, spec, key, pop, duration):
    """``{indices, start, stop}`` of a ``[record.spikes]`` entry (only the keys given): the first
    ``indices`` neurons, the time window ``[start, stop)``."""
    if pop is None:
        raise check.error(key, "no such population")
    check.table(spec, key, SPIKE_RECORD_KEYS)
    out = {}
    if "indices" in spec:
        n = spec["indices"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise check.error(f"{key}.indices", f"expected a count >= 1 (the first n neurons), got {n!r}")
        out["indices"] = min(n, pop.size)
    time_like = parse_quantity("1*second")
    bounds = {}
    for end in ("start", "stop"):
        if end in spec:
            bounds[end] = float(check.quantity(spec[end], f"{key}.{end}", time_like))
            if not 0 <= bounds[end] <= float(duration):
                raise check.error(f"{key}.{end}", f"must lie within the run, [0, {float(duration):g}] s, "
                                                  f"found: {spec[end]!r}")
            out[end] = spec[end]
    if bounds.get("start", 0.0) >= bounds.get("stop", float(duration)):
        raise check.error(key, f"the window is empty: start {bounds.get('start', 0.0):g} s >= stop "
                               f"{bounds.get('stop', float(duration)):g} s")
    if bounds and pop.definition.kind not in HOLDS_VARIABLES:
        raise check.error(key, f"a time window needs a population that can hold a variable (model kinds "
                               f"{', '.join(HOLDS_VARIABLES)}); '{pop.definition.name}' is a {pop.definition.kind} "
                               "group, whose spikes are given in advance: record all of them")
    return out


def _indices(check, value, key, size):
    """A count (the first ``value`` indices, capped at the size) or an explicit list of indices."""
    if isinstance(value, bool):
        raise check.error(key, f"expected a count or a list of indices, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise check.error(key, f"must be >= 0, found: {value}")
        return list(range(min(value, size))) if size is not None else value
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        bad = [v for v in value if v < 0 or (size is not None and v >= size)]
        if bad:
            raise check.error(key, f"indices out of range [0, {size}): {bad}")
        return value
    raise check.error(key, f"expected a count or a list of indices, got {value!r}")


def _check_plugin_requirements(check, registry, populations, connections, phases, task_name):
    """Global signals a rule reads must be provided by the phases or by the task."""
    available = set(phases["names"]) if phases else set()
    if phases and phases["kind"] == "oscillation":
        available |= {"osc"}
    task = registry.lookup("tasks", task_name, check.source, "task.name") if task_name else None
    task_signals = set(getattr(task, "provides_signals", ()))
    for cname, conn in connections.items():
        for use in conn.rules:
            rule = registry.lookup("plasticity", use.name, check.source, f"{use.key}.rule")
            for signal in rule.signals:
                if signal not in available and signal not in task_signals:
                    offered = ", ".join(sorted(available | task_signals)) or "none"
                    raise check.error(
                        f"{use.key}.rule",
                        f"rule '{use.name}' reads the global signal '{signal}', which nothing provides "
                        f"(provided: {offered}); add a [phases] table or a task that provides it",
                    )
            for side, pop in (("pre", conn.source), ("post", conn.target)):
                needs = getattr(rule, f"{side}_variables")
                model = populations[pop].definition
                if needs and model.kind not in HOLDS_VARIABLES:
                    raise check.error(
                        f"{use.key}.rule",
                        f"rule '{use.name}' needs {side}synaptic neuron variables ({', '.join(needs)}) but "
                        f"population '{pop}' (model '{model.name}', a {model.kind} group) cannot hold them; {HOLD_HINT}",
                    )


# --------------------------------------------------------------------------------------------------
# writing


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key):
    return key if key.replace("_", "a").replace("-", "a").isalnum() else _toml_value(key)


def to_toml(data, _prefix=""):
    """Serialise a resolved scenario dict (scalars, lists, nested tables) as TOML."""
    lines = []
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    out = "\n".join(lines)
    for key, value in tables:
        name = f"{_prefix}{_toml_key(key)}"
        body = to_toml(value, name + ".")
        if value and all(isinstance(v, dict) for v in value.values()):
            out += body  # only subtables: their headers define this table (no empty "[name]" header)
        else:
            out += f"\n\n[{name}]\n" + body if body.strip() else f"\n\n[{name}]"
    return out.strip() + "\n" if not _prefix else out
