"""Discovery of models, plasticity rules and tasks.

Built-in and outside plugins register the same way, through the entry-point groups
``spikelearn.models``, ``spikelearn.plasticity`` and ``spikelearn.tasks``; a single file is added with
``--plugin path.py``. Every plugin is validated when it is loaded (:func:`validate_plugin`). A plugin that
fails to load or validate is reported by name (a warning, and listed in ``Registry.broken``) and is not
available; a duplicate name is an error naming both sources; an unknown name lists the available ones.
"""

import importlib.util
import inspect
import logging
import sys
import warnings
from functools import lru_cache
from importlib.metadata import entry_points
from pathlib import Path

from .errors import PluginError, ScenarioError
from .builtin import BUILTIN_PLUGINS
from .plugin import Model, NeuronVar, Param, PlasticityRule, Task

__all__ = ["Registry", "default_registry", "validate_plugin", "KINDS", "ENTRY_POINT_GROUPS"]

logger = logging.getLogger(__name__)

KINDS = ("models", "plasticity", "tasks")
ENTRY_POINT_GROUPS = {kind: f"spikelearn.{kind}" for kind in KINDS}
BASES = {"models": Model, "plasticity": PlasticityRule, "tasks": Task}
SINGULAR = {"models": "model", "plasticity": "plasticity rule", "tasks": "task"}
PARAM_KINDS = ("quantity", "int", "bool", "str", "list", "code")
# names the framework defines in every synapse/neuron namespace; a rule's parameter must not take them
RESERVED = {"w", "t", "dt", "i", "j", "N", "xi", "lastspike", "not_refractory", "delay", "N_incoming",
            "N_outgoing", "t_in_timesteps", "rand", "randn", "clip", "exp", "log", "sqrt", "abs", "int"}


def _code_identifiers(*codes):
    from brian2.utils.stringtools import get_identifiers

    found = set()
    for code in codes:
        if code:
            found |= get_identifiers(code)
    return found


def validate_plugin(kind, plugin):
    """Check a plugin's declaration; raise `PluginError` naming it and the problem."""
    label = f"{SINGULAR[kind]} '{getattr(plugin, 'name', '?')}'"
    if not isinstance(plugin.name, str) or not plugin.name.isidentifier():
        raise PluginError(f"{SINGULAR[kind]} {plugin!r} has no valid `name` (a Python identifier)", plugin)
    if not plugin.description:
        raise PluginError(f"{label}: missing `description`", plugin)
    if not isinstance(plugin.parameters, dict):
        raise PluginError(f"{label}: `parameters` must be a dict of name -> Param", plugin)
    from .units import UnitParseError, parse_quantity

    for pname, param in plugin.parameters.items():
        if not isinstance(param, Param):
            raise PluginError(f"{label}: parameter '{pname}' must be declared as Param(default, doc)", plugin)
        if param.kind not in PARAM_KINDS:
            raise PluginError(f"{label}: parameter '{pname}' has kind '{param.kind}'; allowed: {', '.join(PARAM_KINDS)}", plugin)
        if param.kind == "quantity":
            try:
                parse_quantity(param.default)
            except UnitParseError as ex:
                raise PluginError(f"{label}: default of parameter '{pname}': {ex}", plugin) from ex
    if kind == "plasticity":
        _validate_rule(plugin, label)
    elif kind == "models":
        _validate_model(plugin, label)
    elif hasattr(plugin, "build"):
        raise PluginError(f"{label}: defines build(), which spikelearn no longer calls (tasks describe their "
                          "network as data): add populations, connections and records to ctx.net in prepare() "
                          "(docs/network.md)", plugin)


def _validate_rule(rule, label):
    from brian2 import Equations
    from brian2.equations.equations import EquationError

    for side in ("pre_variables", "post_variables"):
        for vname, var in getattr(rule, side).items():
            if not isinstance(var, NeuronVar):
                raise PluginError(f"{label}: {side}['{vname}'] must be a NeuronVar(equation, on_spike)", rule)
    try:
        eqs = Equations(rule.model) if rule.model.strip() else Equations("")
        for side in ("pre_variables", "post_variables"):
            for vname, var in getattr(rule, side).items():
                veq = Equations(var.equation)
                if vname not in veq.names:
                    raise PluginError(f"{label}: {side}['{vname}'] equation does not define '{vname}'", rule)
    except (EquationError, SyntaxError, ValueError, TypeError) as ex:
        raise PluginError(f"{label}: equations do not parse: {ex}", rule) from ex
    clash = (set(rule.parameters) & (set(eqs.names) | RESERVED))
    if clash:
        raise PluginError(f"{label}: parameter name(s) {sorted(clash)} clash with variables or reserved names", rule)
    clash = set(rule.signals) & (set(rule.parameters) | set(eqs.names))
    if clash:
        raise PluginError(f"{label}: signal name(s) {sorted(clash)} clash with parameters or variables", rule)
    used = _code_identifiers(
        rule.model, rule.on_pre, rule.on_post,
        *(v.equation for v in rule.pre_variables.values()), *(v.on_spike for v in rule.pre_variables.values()),
        *(v.equation for v in rule.post_variables.values()), *(v.on_spike for v in rule.post_variables.values()),
    )
    unused = sorted(set(rule.parameters) - used)
    if unused:
        raise PluginError(f"{label}: declared parameter(s) {unused} are not used in its code", rule)
    bounds = rule.weight_bounds()
    if bounds is not None:
        if len(bounds) != 2 or any(not (b is None or isinstance(b, (int, float)) or b in rule.parameters)
                                   for b in bounds):
            raise PluginError(f"{label}: bounds {rule.bounds!r} must be (low, high), each a number, None or the "
                              f"name of a declared parameter ({', '.join(rule.parameters) or 'none declared'})", rule)
    unused = sorted(set(rule.signals) - used)
    if unused:
        raise PluginError(f"{label}: declared signal(s) {unused} are not used in its code", rule)


def _validate_model(model, label):
    if model.kind not in ("neuron", "poisson", "spike_generator"):
        raise PluginError(f"{label}: kind '{model.kind}' is not one of neuron, poisson, spike_generator", model)
    if hasattr(model, "create"):
        raise PluginError(f"{label}: defines create(), which spikelearn no longer calls (models describe their "
                          "group as data): override group() and return a spikelearn.network.GroupSpec "
                          "(docs/plugins.md)", model)
    if model.kind == "neuron" and type(model).group is Model.group:
        from brian2 import Equations
        from brian2.equations.equations import EquationError

        try:
            Equations(model.equations)
        except (EquationError, SyntaxError, ValueError, TypeError) as ex:
            raise PluginError(f"{label}: equations do not parse: {ex}", model) from ex


def _load(value):
    """The object ``module:attribute`` names."""
    module, _, attr = value.partition(":")
    return getattr(importlib.import_module(module), attr)


class Registry:
    """The plugins available to one command: the built-in table (:mod:`spikelearn.builtin`), entry points
    of installed packages, plugin files."""

    def __init__(self, plugin_files=()):
        self._plugins = {kind: {} for kind in KINDS}
        self._origin = {kind: {} for kind in KINDS}
        self.broken = {kind: {} for kind in KINDS}
        self.duplicates = []
        for kind in KINDS:
            self._discover(kind)
        for path in plugin_files:
            self.add_file(path)

    # -- discovery ---------------------------------------------------------------------------------
    def _discover(self, kind):
        """The built-in table first, then the entry points of installed packages."""
        found = [(name, value, f"built-in '{name}' ({value})", lambda value=value: _load(value))
                 for name, value in BUILTIN_PLUGINS[kind].items()]
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUPS[kind]), key=lambda e: e.name):
            origin = f"entry point '{ep.name}' ({ep.value}"
            origin += f", from {ep.dist.name})" if getattr(ep, "dist", None) else ")"
            found.append((ep.name, ep.value, origin, ep.load))
        for name, value, origin, load in found:
            try:
                obj = load()
                self._add(kind, obj, origin, expected_name=name)
            except PluginError as ex:
                if "already registered" in str(ex):
                    self.duplicates.append(str(ex))
                    warnings.warn(str(ex), stacklevel=2)
                else:
                    self._broken(kind, name, str(ex))
            except Exception as ex:  # a plugin's import may fail in any way; report it by name
                self._broken(kind, name, f"cannot be loaded from {value}: {type(ex).__name__}: {ex}")

    def _broken(self, kind, name, message):
        self.broken[kind][name] = message
        warnings.warn(f"broken {SINGULAR[kind]} '{name}': {message}", stacklevel=3)

    def _add(self, kind, obj, origin, expected_name=None):
        if not (inspect.isclass(obj) and issubclass(obj, BASES[kind])):
            raise PluginError(f"{origin} is not a {BASES[kind].__name__} subclass")
        plugin = obj()
        validate_plugin(kind, plugin)
        if expected_name is not None and plugin.name != expected_name:
            raise PluginError(
                f"{SINGULAR[kind]} registered as '{expected_name}' calls itself '{plugin.name}'; the names must match",
                plugin,
            )
        if plugin.name in self._plugins[kind]:
            raise PluginError(
                f"{SINGULAR[kind]} '{plugin.name}' is already registered by {self._origin[kind][plugin.name]}; "
                f"duplicate from {origin}",
                plugin,
            )
        self._plugins[kind][plugin.name] = plugin
        self._origin[kind][plugin.name] = origin
        return plugin

    def add_file(self, path):
        """Register every plugin class defined in a single Python file; return their names."""
        path = Path(path)
        if path.is_dir():
            raise PluginError(f"plugin file {path}: is a directory; expected a Python file (.py)")
        if not path.is_file():
            raise PluginError(f"plugin file {path}: not found")
        if path.suffix != ".py":
            raise PluginError(f"plugin file {path}: not a Python file; expected a .py file defining Model, "
                              "PlasticityRule or Task subclasses")
        module_name = f"spikelearn_plugin_file_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        try:
            sys.modules[module_name] = module
            spec.loader.exec_module(module)
        except Exception as ex:  # user code: report any failure with the file name
            sys.modules.pop(module_name, None)
            raise PluginError(f"plugin file {path}: cannot be imported: {type(ex).__name__}: {ex}") from ex
        added = []
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ != module_name:
                continue
            for kind, base in BASES.items():
                if issubclass(obj, base) and obj is not base:
                    added.append(self._add(kind, obj, f"file {path}").name)
        if not added:
            raise PluginError(f"plugin file {path}: defines no Model, PlasticityRule or Task subclass")
        return added

    # -- lookup ------------------------------------------------------------------------------------
    def available(self, kind):
        """Name -> plugin instance for one kind, sorted by name."""
        return dict(sorted(self._plugins[kind].items()))

    def origin(self, kind, name):
        return self._origin[kind][name]

    def get(self, kind, name):
        """The plugin called ``name``; `PluginError` listing the available ones if there is none."""
        try:
            return self._plugins[kind][name]
        except KeyError:
            raise PluginError(self._unknown_message(kind, name)) from None

    def lookup(self, kind, name, source, key):
        """Like `get`, but the error is a `ScenarioError` naming the scenario file and key."""
        try:
            return self._plugins[kind][name]
        except KeyError:
            raise ScenarioError(source, key, self._unknown_message(kind, name)) from None

    def _unknown_message(self, kind, name):
        if name in self.broken[kind]:
            return f"{SINGULAR[kind]} '{name}' is installed but broken: {self.broken[kind][name]}"
        import difflib

        names = list(self._plugins[kind])
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"unknown {SINGULAR[kind]} '{name}'{hint}; available: {', '.join(sorted(names)) or 'none'}"


@lru_cache(maxsize=None)
def _cached(plugin_files):
    return Registry(plugin_files)


def default_registry(plugin_files=(), refresh=False):
    """The registry for these plugin files, cached per process; ``refresh=True`` rediscovers."""
    key = tuple(str(Path(p).resolve()) for p in plugin_files)
    if refresh:
        _cached.cache_clear()
    return _cached(key)
