"""Scenario → Brian2 network.

Order of work (each step sees the previous ones through the `BuildContext`):

1. the phase schedule adds its gate signals (:mod:`spikelearn.schedule`);
2. the task's ``prepare`` adds TimedArrays, spike times, signals and extra equations;
3. each plasticity rule's neuron-side variables are renamed per connection (``r`` → ``r_<conn>``) and
   added to the pre/post populations, with the rule parameters they use;
4. populations are created by their models; connections become Synapses whose code is the rule's code
   with neuron variables and global signals substituted, plus the synaptic effect;
5. monitors for spikes, states and weights; the task's ``build`` adds its own objects.

Nothing here runs during the simulation: everything is Brian2 code.
"""

import logging

import numpy as np

from .errors import BuildError
from .schedule import install_phases

__all__ = ["BuildContext", "build_network", "Recorder"]

logger = logging.getLogger(__name__)


class Recorder:
    """A monitor whose data the run directory saves: ``kind`` is 'spikes', 'state' or 'weights'."""

    def __init__(self, kind, name, monitor, **meta):
        self.kind = kind
        self.name = name
        self.monitor = monitor
        self.meta = meta


class BuildContext:
    """What the builder, the schedule and the task share while a network is assembled."""

    def __init__(self, scenario, registry):
        self.scenario = scenario
        self.registry = registry
        self.namespace = {}
        self.signals = {}
        self.spike_inputs = {}
        self.extra_equations = {name: [] for name in scenario.populations}
        self.extra_reset = {name: [] for name in scenario.populations}
        self.groups = {}
        self.synapses = {}
        self.objects = []
        self.recorders = []
        self.arrays = {}
        self.attributes = {}
        self.rng = np.random.default_rng(scenario.seed)
        self.params = dict(scenario.task_params)
        self.dt = scenario.dt
        self.duration = scenario.duration

    # -- for tasks ---------------------------------------------------------------------------------
    def add(self, *objects):
        """Add Brian2 objects (groups, synapses, monitors, ...) to the network."""
        self.objects.extend(objects)
        return objects[0] if len(objects) == 1 else objects

    def signal_expr(self, name):
        """The Brian2 expression of a global signal (a phase gate, ``osc``, a task signal)."""
        try:
            return self.signals[name]
        except KeyError:
            raise BuildError(f"no global signal '{name}'; available: {', '.join(sorted(self.signals)) or 'none'}") from None

    def record_spikes(self, name, group):
        from brian2 import SpikeMonitor

        mon = SpikeMonitor(group, name=f"spikes_{name}")
        self.recorders.append(Recorder("spikes", name, mon, size=len(group)))
        self.objects.append(mon)
        return mon

    def record_state(self, name, source, variables, indices=True, dt=None):
        from brian2 import StateMonitor

        kwargs = {"dt": dt} if dt is not None else {}
        mon = StateMonitor(source, variables, record=indices, name=f"state_{name}", **kwargs)
        self.recorders.append(Recorder("state", name, mon, variables=list(variables)))
        self.objects.append(mon)
        return mon

    def save_array(self, name, array):
        """Save a constant array (e.g. the stimuli used) in the run directory as ``data/array_<name>.npy``."""
        self.arrays[name] = np.asarray(array)

    def save_attributes(self, population, **attributes):
        """Per-neuron attributes (e.g. ``preferred``) for sorting rasters and tuning analyses."""
        self.attributes.setdefault(population, {}).update({k: np.asarray(v) for k, v in attributes.items()})


def _substitute(code, substitutions):
    from brian2.utils.stringtools import word_substitute

    return word_substitute(code, substitutions) if code else code


def _quantity_ns(params):
    """Parameters usable in Brian2 code (numbers and quantities; not strings or lists)."""
    return {k: v for k, v in params.items() if not isinstance(v, (str, list, bool))}


def build_network(scenario, registry, task=None):
    """Build the Brian2 network of ``scenario``; return ``(network, ctx)``.

    Must be called after the device is selected (:mod:`spikelearn.devices`).
    """
    from brian2 import Network, Synapses

    ctx = BuildContext(scenario, registry)
    install_phases(scenario.phases, scenario.duration, ctx.namespace, ctx.signals)
    if task is not None:
        task.prepare(ctx)

    # neuron-side variables of plasticity rules, renamed per connection
    pop_ns = {name: {} for name in scenario.populations}
    rule_subst = {}
    for cname, conn in scenario.connections.items():
        if not conn.rule:
            continue
        rule = registry.get("plasticity", conn.rule)
        subst = {}
        for side, pop in (("pre", conn.source), ("post", conn.target)):
            variables = getattr(rule, f"{side}_variables")
            if not variables:
                continue
            renames = {v: f"{v}_{cname}" for v in variables}
            renames.update({p: f"{p}_{cname}" for p in rule.parameters})
            for vname, var in variables.items():
                ctx.extra_equations[pop].append(_substitute(var.equation, renames))
                if var.on_spike:
                    ctx.extra_reset[pop].append(_substitute(var.on_spike, renames))
                subst[f"{vname}_{side}"] = f"{vname}_{cname}_{side}"
            for pname, value in _quantity_ns(conn.rule_params).items():
                pop_ns[pop][f"{pname}_{cname}"] = value
        for signal in rule.signals:
            subst[signal] = f"({ctx.signal_expr(signal)})"
        rule_subst[cname] = subst

    for pname, pop in scenario.populations.items():
        model = registry.get("models", pop.model)
        extra_eq = "\n".join(ctx.extra_equations[pname])
        extra_reset = "\n".join(ctx.extra_reset[pname])
        if (extra_eq.strip() or extra_reset.strip()) and model.kind != "neuron":
            raise BuildError(
                f"population '{pname}' (model '{pop.model}') cannot hold the extra variables: {extra_eq or extra_reset}"
            )
        params = {**ctx.namespace, **_quantity_ns(pop.params), **pop_ns[pname]}
        if model.kind != "neuron":
            params = {**params, **{k: v for k, v in pop.params.items() if k not in params}}
        group = model.create(pname, pop.size, params, extra_eq, extra_reset, ctx)
        ctx.groups[pname] = group
        ctx.objects.append(group)

    for cname, conn in scenario.connections.items():
        rule = registry.get("plasticity", conn.rule) if conn.rule else None
        subst = rule_subst.get(cname, {})
        model = "w : 1\n" + (_substitute(rule.model, subst) if rule else "")
        on_pre = conn.effect or ""
        if rule and rule.on_pre.strip():
            on_pre += "\n" + _substitute(rule.on_pre, subst)
        on_post = _substitute(rule.on_post, subst) if rule else ""
        if conn.summed:
            model += "\n" + _summed_line(conn, ctx)
        recorded = cname in scenario.record["weights"]
        if recorded:  # initial weights kept per synapse: standalone devices cannot read them before the run
            model += "\nw_initial : 1 (constant)"
        namespace = {**ctx.namespace, **_quantity_ns(conn.rule_params)}
        kwargs = {}
        if on_pre.strip():
            kwargs["on_pre"] = on_pre
        if on_post.strip():
            kwargs["on_post"] = on_post
        if rule and rule.method:
            kwargs["method"] = rule.method
        syn = Synapses(ctx.groups[conn.source], ctx.groups[conn.target], model, namespace=namespace,
                       name=cname, **kwargs)
        if conn.connect == "all":
            syn.connect(p=conn.p) if conn.p < 1 else syn.connect()
        elif conn.connect == "one_to_one":
            syn.connect(j="i", p=conn.p) if conn.p < 1 else syn.connect(j="i")
        else:
            syn.connect(condition=conn.connect, p=conn.p)
        syn.w = conn.weight
        if recorded:
            syn.w_initial = "w"
        if float(conn.delay) > 0 and on_pre.strip():
            syn.delay = conn.delay
        ctx.synapses[cname] = syn
        ctx.objects.append(syn)

    _add_recorders(scenario, ctx)
    if task is not None:
        task.build(ctx)
    return Network(*ctx.objects), ctx


def _summed_line(conn, ctx):
    target_expr, _, expr = conn.summed.partition("=")
    target_expr = target_expr.strip()
    var = target_expr[:-5] if target_expr.endswith("_post") else target_expr
    group = ctx.groups[conn.target]
    if var not in group.variables:
        raise BuildError(f"connection '{conn.name}': summed target '{var}' is not a variable of population '{conn.target}'")
    unit = group.variables[var].dim
    from brian2.units.fundamentalunits import get_unit

    unit_str = "1" if unit.is_dimensionless else repr(get_unit(unit))
    return f"{var}_post = {expr.strip()} : {unit_str} (summed)"


def _add_recorders(scenario, ctx):
    from brian2 import StateMonitor

    from .units import parse_quantity

    record = scenario.record
    for pop in record["spikes"]:
        ctx.record_spikes(pop, ctx.groups[pop])
    for pop, spec in record["states"].items():
        group = ctx.groups[pop]
        for var in spec["variables"]:
            if var not in group.variables:
                raise BuildError(
                    f"record.states.{pop}.variables: '{var}' is not a variable of population '{pop}'; "
                    f"variables: {', '.join(sorted(v for v in group.variables if not v.startswith('_')))}"
                )
        ctx.record_state(pop, group, spec["variables"], spec["indices"], parse_quantity(spec["dt"]))
    for conn, spec in record["weights"].items():
        syn = ctx.synapses[conn]
        trace = None
        if spec["indices"] and "dt" in spec:
            indices = spec["indices"]
            if isinstance(indices, int):
                indices = list(range(indices))
            trace = StateMonitor(syn, "w", record=indices, dt=parse_quantity(spec["dt"]), name=f"wtrace_{conn}")
            ctx.objects.append(trace)
        ctx.recorders.append(Recorder("weights", conn, trace, synapses=syn))
