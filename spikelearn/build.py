"""Network description → Brian2 network: the only place that creates Brian2 objects.

Order of work (each step sees the previous ones through the `BuildContext`):

1. the scenario's populations, connections and records become a `~spikelearn.network.NetworkDescription`
   (``ctx.net``); the phase schedule adds its gate signals (:mod:`spikelearn.schedule`);
2. the task's ``prepare`` adds populations, connections, operations and records to the description,
   and TimedArrays, spike times, signals and extra equations to the context;
3. each connection's plasticity rules are composed: neuron-side variables renamed per connection
   (``r`` → ``r_<conn>``) and added to the pre/post populations, global signals substituted;
4. populations (their models' `~spikelearn.network.GroupSpec`) and connections are created in the order
   they were described, then operations (``run_regularly``), then monitors.

Nothing here runs during the simulation: everything is Brian2 code.
"""

import logging
from collections import defaultdict
from contextlib import contextmanager

import numpy as np

from .devices import active_backend
from .errors import BuildError
from .network import NetworkDescription
from .plugin import HOLD_HINT, HOLDS_VARIABLES, constants
from .schedule import install_phases

__all__ = ["BuildContext", "build_network", "describe_network", "create_group", "Recorder", "KeyedBuildError", "at_key"]

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
        self.net = NetworkDescription.of_scenario(scenario)
        self.extra_equations = defaultdict(list)  # population -> equation lines from rules and the task
        self.extra_reset = defaultdict(list)
        self.extra_events = defaultdict(dict)  # population -> {custom event: condition} (windowed spike records)
        self.groups = {}
        self.pending_links = []  # (population, variable) linked to a population not built yet
        self.synapses = {}
        self.objects = []
        self.recorders = []
        self.arrays = {}
        self.attributes = {}
        self.rng = np.random.default_rng(scenario.seed)
        self.params = dict(scenario.task_params)
        self.dt = scenario.dt
        self.duration = scenario.duration
        self.runtime_values = []  # (population or connection, variable, value): see `_runtime_declaration`
        self.run_args = {}  # Brian2 run_args of the standalone program (cpp)
        self.layout = None  # where each copy lies, in a packed network (`spikelearn.pack.Layout`)
        self.copies = []  # each copy's own context, in a packed network

    # -- for tasks ---------------------------------------------------------------------------------
    def signal_expr(self, name):
        """The Brian2 expression of a global signal (a phase gate, ``osc``, a task signal)."""
        try:
            return self.signals[name]
        except KeyError:
            raise BuildError(f"no global signal '{name}'; available: {', '.join(sorted(self.signals)) or 'none'}") from None

    def record_spikes(self, name, group, event="spike", window=None):
        """Record the spikes (or custom ``event``) of ``group``; ``window`` ``(start, stop)`` in seconds is
        saved with them (the event then fires only in that window)."""
        from brian2 import EventMonitor, SpikeMonitor

        if event == "spike":
            mon = SpikeMonitor(group, name=f"spikes_{name}")
        else:  # right after the event's check (Brian2 takes that place from a group, not from a subgroup)
            thresholder = getattr(group, "source", group).thresholder[event]
            mon = EventMonitor(group, event, when=thresholder.when, order=thresholder.order + 1,
                               name=f"events_{name}")
        self.recorders.append(Recorder("spikes", name, mon, size=len(group), window=window))
        self.objects.append(mon)
        return mon

    def record_state(self, name, source, variables, indices=True, dt=None, when=None, order=None):
        from brian2 import StateMonitor

        kwargs = {k: v for k, v in (("dt", dt), ("when", when), ("order", order)) if v is not None}
        mon = StateMonitor(source, variables, record=indices, name=f"state_{name}", **kwargs)
        self.recorders.append(Recorder("state", name, mon, variables=list(variables)))
        self.objects.append(mon)
        return mon

    def record_state_at_event(self, name, group, variables, event, size):
        """Record ``variables`` of ``group`` whenever its ``event`` fires (for neurons 0..size-1 at once): a state
        recording limited to a time window, saved as a state recording."""
        from brian2 import EventMonitor

        thresholder = group.thresholder[event]
        mon = EventMonitor(group, event, variables=variables, when=thresholder.when, order=thresholder.order + 1,
                           name=f"state_{name}")
        self.recorders.append(Recorder("state", name, mon, variables=list(variables), size=size))
        self.objects.append(mon)
        return mon

    def save_array(self, name, array):
        """Save a constant array (e.g. the stimuli used) in the run directory as ``data/array_<name>.npy``."""
        self.arrays[name] = np.asarray(array)

    def save_attributes(self, population, **attributes):
        """Per-neuron attributes (e.g. ``preferred``) for sorting rasters and tuning analyses; a circular
        stimulus also saves its period as ``preferred_period`` (e.g. 360 for degrees of direction)."""
        self.attributes.setdefault(population, {}).update({k: np.asarray(v) for k, v in attributes.items()})


def _substitute(code, substitutions):
    from brian2.utils.stringtools import word_substitute

    return word_substitute(code, substitutions) if code else code


def build_network(scenario, registry, task=None, spike_inputs=None, copies=None):
    """Build the Brian2 network of ``scenario``; return ``(network, ctx)``.

    Must be called after the device is selected (:mod:`spikelearn.devices`; its backend says how run-time
    parameters get their values). ``spike_inputs`` maps spike-time populations to ``(indices, times_s)``.
    ``copies`` (scenarios of one structure: seeds, parameter values) builds them packed into one network
    (:mod:`spikelearn.pack`); ``ctx.layout`` then says where each copy lies and ``ctx.copies`` holds each
    copy's own context (its task arrays and attributes).
    """
    from brian2 import Network

    via_run_args = active_backend().takes_run_args and scenario.device_options.get("runtime_parameters")
    if via_run_args:  # values read from the command line before anything else in main() uses them
        from brian2 import device

        device.apply_run_args()
    if copies is None:
        ctx = describe_network(scenario, registry, task, spike_inputs)
        pop_ns, plastic = _compose_all(ctx)
    else:
        from .pack import merge

        ctxs = [describe_network(s, registry, task, spike_inputs) for s in copies]
        composed = [_compose_all(c) for c in ctxs]
        ctx, plastic, pop_ns, layout = merge(ctxs, [p for _, p in composed], [ns for ns, _ in composed],
                                             BuildContext(scenario, registry))
        ctx.layout, ctx.copies = layout, ctxs
    net = ctx.net
    _windowed_record_events(ctx)
    for kind, name in net.order:
        if kind == "population":
            _build_population(net.populations[name], ctx, pop_ns[name], via_run_args)
        else:
            _build_connection(net.connections[name], ctx, plastic.get(name), via_run_args)
    if ctx.pending_links:
        waiting, var = ctx.pending_links[0]
        raise BuildError(f"population '{waiting.name}': variable '{var}' is linked to "
                         f"'{waiting.links[var][0]}', which is not a population")
    for op in net.operations.values():
        _build_operation(op, ctx)
    _add_recorders(ctx)
    return Network(*ctx.objects), ctx


def _compose_all(ctx):
    """The neuron-side parameters of rules per population and the composed code of each plastic
    connection (neuron-side variables renamed per connection)."""
    pop_ns = {name: {} for name in ctx.net.populations}
    plastic = {cname: _compose_rules(cname, conn, ctx, pop_ns) for cname, conn in ctx.net.connections.items()
               if conn.rules}
    return pop_ns, plastic


def describe_network(scenario, registry, task=None, spike_inputs=None):
    """The network description of ``scenario`` with what its task adds (its ``prepare``), and the global
    signals and namespace the build will use; no Brian2 group exists yet. Returns the `BuildContext`
    (``ctx.net`` is the `NetworkDescription`)."""
    ctx = BuildContext(scenario, registry)
    ctx.spike_inputs.update(spike_inputs or {})
    install_phases(scenario.phases, scenario.duration, ctx.namespace, ctx.signals)
    if task is not None:
        task.prepare(ctx)
    return ctx


#: the time of a population's last spike, kept for spike recordings limited to a time window
LAST_SPIKE = "t_spiked"


def _windowed_record_events(ctx):
    """Recordings limited to ``[start, stop)`` record a custom event of their population. For spikes, the event
    fires with a spike inside the window: the reset stores the spike's time in `LAST_SPIKE`, and the event,
    checked after the resets, compares it with the time. For states, it fires for the recorded neurons at each
    sample time inside the window. Nothing outside the window is stored."""
    for rec in ctx.net.records:
        if rec.kind != "spikes" or (rec.start is None and rec.stop is None):
            continue
        pop = rec.source
        if not ctx.extra_events[pop]:  # the population's first windowed record
            ctx.extra_equations[pop].append(f"{LAST_SPIKE} : second")
            ctx.extra_reset[pop].append(f"{LAST_SPIKE} = t")
        start = 0.0 if rec.start is None else float(rec.start)
        stop = float(ctx.scenario.duration) if rec.stop is None else float(rec.stop)
        rec.event = f"rec_{rec.name}"
        ctx.extra_events[pop][rec.event] = f"{LAST_SPIKE} == t and t >= {start!r}*second and t < {stop!r}*second"
    for rec in ctx.net.records:  # a state recording in a time window: an event of every neuron at each sample
        if rec.kind != "state" or (rec.start is None and rec.stop is None):
            continue
        first_n = rec.indices is not True and isinstance(rec.indices, int)
        if rec.source not in ctx.net.populations or not (rec.indices is True or first_n):
            raise BuildError(f"{rec.origin}: a state recording with start/stop records a population's neurons "
                             f"0..n-1 (indices = true or a count n); '{rec.source}' is not a population or indices "
                             f"is a list")
        start = 0.0 if rec.start is None else float(rec.start)
        stop = float(ctx.scenario.duration) if rec.stop is None else float(rec.stop)
        every = float(ctx.scenario.dt if rec.dt is None else rec.dt)
        rec.event = f"rec_{rec.name}"
        ctx.extra_events[rec.source][rec.event] = (
            f"t >= {start!r}*second and t < {stop!r}*second and "
            f"((t - {start!r}*second + 0.5*dt) % ({every!r}*second)) < dt" + (f" and i < {rec.indices}" if first_n else ""))


def _build_population(pop, ctx, rule_ns, via_run_args):
    extra_eq = "\n".join(ctx.extra_equations[pop.name])
    extra_reset = "\n".join(ctx.extra_reset[pop.name])
    events = ctx.extra_events.get(pop.name, {})
    model_key = f"models.{pop.model}" if pop.model in ctx.scenario.models else (pop.origin or f"populations.{pop.name}")
    with at_key(model_key):
        group = create_group(pop.definition, pop.name, pop.size, pop.params, ctx, rule_ns, extra_eq, extra_reset,
                             pop.order, pop.dt, events)
    if events:
        windowed_states = {rec.event: rec for rec in ctx.net.records if rec.kind == "state" and rec.source == pop.name
                           and (rec.start is not None or rec.stop is not None)}
        if LAST_SPIKE in group.variables:
            setattr(group, LAST_SPIKE, "-1*second")  # no spike yet (t_spiked == t must not hold at t = 0)
        for event in events:  # spikes: after the reset has stored this step's; states: where the record says
            rec = windowed_states.get(event)
            if rec is None:
                group.set_event_schedule(event, when="after_resets")
            else:
                group.set_event_schedule(event, when=rec.when or "start", order=rec.order or 0)
    ctx.groups[pop.name] = group
    for var, (source, *_) in pop.links.items():
        if source in ctx.groups:
            _link(ctx, pop, var)
        else:  # a population added later (e.g. by the task): linked once it exists
            ctx.pending_links.append((pop, var))
    for var, value in pop.initial.items():
        with at_key(f"{pop.origin or pop.name}: initial value of {var}"):
            setattr(group, var, value)
    _set_runtime_values(ctx, pop.name, group, via_run_args)
    ready = [pl for pl in ctx.pending_links if pl[0].links[pl[1]][0] == pop.name]
    ctx.pending_links = [pl for pl in ctx.pending_links if pl[0].links[pl[1]][0] != pop.name]
    for waiting, var in ready:
        _link(ctx, waiting, var)
    ctx.objects.append(group)


def _link(ctx, pop, var):
    """Make ``var`` of population ``pop`` a linked variable (its ``links`` entry)."""
    from brian2 import linked_var

    source, source_var, *index = pop.links[var]
    with at_key(f"{pop.origin or pop.name}: link of {var}"):
        kwargs = {"index": np.asarray(index[0], dtype=int)} if index else {}
        setattr(ctx.groups[pop.name], var, linked_var(ctx.groups[source], source_var, **kwargs))


def create_group(model, name, size, params, ctx=None, namespace=None, extra_equations="", extra_reset="",
                 order=None, dt=None, extra_events=None):
    """The Brian2 group of ``size`` neurons of ``model`` (its `Model.group` spec) with parsed ``params``:
    a NeuronGroup, or a SpikeGeneratorGroup for a spike generator. Its namespace is the global one
    (``ctx.namespace``), the model's, then ``namespace`` (rule parameters); ``extra_equations`` and
    ``extra_reset`` are what plasticity rules and the task add (only a ``neuron`` model can hold them);
    ``order`` places the group and its regular operations in each schedule slot; ``dt`` gives the group
    its own time step (None: the default clock); ``extra_events`` adds custom events (name -> condition)."""
    from brian2 import NeuronGroup, SpikeGeneratorGroup, second

    if (extra_equations.strip() or extra_reset.strip()) and model.kind not in HOLDS_VARIABLES:
        raise BuildError(f"population '{name}' (model '{model.name}', a {model.kind} group) cannot hold the extra "
                         f"variables: {extra_equations or extra_reset}; {HOLD_HINT}")
    spec = model.group(name, size, params, ctx)
    order = 0 if order is None else order
    if spec.spikes is not None:
        indices, times = spec.spikes
        return SpikeGeneratorGroup(size, indices, np.asarray(times) * second, order=order, name=name)
    ns = {**(ctx.namespace if ctx is not None else {}), **spec.namespace, **(namespace or {})}
    reset = _join_code([spec.reset or "", extra_reset]) or None
    events = {**dict(spec.events or {}), **(extra_events or {})}
    kwargs = {"events": events} if events else {}
    if dt is not None:
        kwargs["dt"] = dt
    extra_equations, exact_updates = _exact_updates(spec.equations, extra_equations, ns)
    group = NeuronGroup(size, _join_code([spec.equations, extra_equations]) or "", threshold=spec.threshold,
                        reset=reset, refractory=spec.refractory, method=spec.method, namespace=ns, order=order,
                        name=name, **kwargs)
    for var, value in spec.initial.items():
        setattr(group, var, value)
    for op in spec.operations:
        kw = {"dt": op.dt} if op.dt is not None else {}
        group.run_regularly(op.code, when=op.when, order=order + op.order, name=op.name, **kw)
    if exact_updates:
        # in the state update's slot: once per step of the group's clock, like the equations they replace
        group.run_regularly(exact_updates, when="groups", order=order, name=f"{name}_exact_traces")
    return group


def _exact_updates(model_equations, extra_equations, namespace):
    """Split from ``extra_equations`` (what rules and tasks add to a group) the differential equations that
    are linear in their own variable alone (``dx/dt = -x/tau``, ``dr/dt = (a - r)/tau`` with ``a`` and
    ``tau`` constants): ``(declarations, code)``, where each such equation becomes a plain variable
    declaration and ``code`` is its exact one-step update (Brian2's ``exact`` integrator). The group's own
    method (often ``euler`` for a nonlinear neuron model, applied to every equation of the group) then
    integrates only the model's equations; a trace decays by exactly ``exp(-dt/tau)`` per step. Equations
    that read other variables of the group, time, noise or functions stay in the group."""
    from brian2 import Equations
    from brian2.equations.equations import DIFFERENTIAL_EQUATION
    from brian2.stateupdaters.base import StateUpdateMethod, UnsupportedEquationsException
    from brian2.units.fundamentalunits import get_unit_for_display

    if not extra_equations.strip():
        return extra_equations, ""
    extras = Equations(extra_equations)
    group_names = set(Equations(model_equations or "").names) | set(extras.names) | {"t", "dt", "i", "N"}
    kept, code = [], []
    for line in extra_equations.splitlines():  # one equation per line (a rule's or the task's)
        parsed = Equations(line) if line.strip() and not line.strip().startswith("#") else None
        eq = parsed.ordered[0] if parsed is not None and len(parsed) == 1 else None
        update = None
        if eq is not None and eq.type == DIFFERENTIAL_EQUATION and not eq.flags and not eq.stochastic_variables:
            others = eq.expr.identifiers - {eq.varname}
            if not others & group_names and not any(callable(namespace.get(n)) for n in others):
                try:
                    update = StateUpdateMethod.apply_stateupdater(parsed, {}, method="exact")
                except (UnsupportedEquationsException, KeyError, ValueError):
                    update = None
        if update is None:
            kept.append(line)
        else:
            kept.append(f"{eq.varname} : {get_unit_for_display(eq.dim)}")
            code.append(update)
    return "\n".join(kept), "\n".join(code)


def _build_connection(conn, ctx, code, via_run_args):
    from brian2 import Synapses

    cname = conn.name
    code = code or {"model": "", "on_pre": "", "on_post": "", "namespace": {}, "method": None}
    model = _join_code([conn.model, code["model"]])
    if conn.weight is not None or conn.rules:
        model = _with_weight(model)
    if isinstance(conn.effect, dict):  # several pathways, each on one event of the source
        if code["on_pre"].strip():
            raise BuildError(f"connection '{cname}': plasticity rules need a single on_pre pathway; "
                             f"the connection has {', '.join(conn.effect)}")
        on_pre = dict(conn.effect)
    else:
        on_pre = _join_code([conn.effect or "", code["on_pre"]])
    on_post = _join_code([conn.on_post, code["on_post"]])
    if conn.summed:
        model += "\n" + _summed_line(conn, ctx)
    recorded = any(r.kind == "weights" and r.source == cname for r in ctx.net.records)
    if recorded:  # initial weights kept per synapse: standalone devices cannot read them before the run
        model += "\nw_initial : 1 (constant)"
    namespace = {**ctx.namespace, **code["namespace"], **conn.namespace}
    kwargs = {"on_event": dict(conn.on_event)} if conn.on_event else {}
    if on_pre if isinstance(on_pre, dict) else on_pre.strip():
        kwargs["on_pre"] = on_pre
    if on_post.strip():
        kwargs["on_post"] = on_post
    if conn.order is not None:
        kwargs["order"] = conn.order
    if conn.dt is not None:
        kwargs["dt"] = conn.dt
    if code["method"] or conn.method:
        if code["method"] and conn.method and code["method"] != conn.method:
            raise BuildError(f"connection '{cname}': its rules ask for the method '{code['method']}', "
                             f"the connection for '{conn.method}'")
        kwargs["method"] = code["method"] or conn.method
    where = conn.origin if conn.origin.startswith("connections.") else f"connections.{cname}"
    with at_key(f"{where}.{'plasticity' if conn.rules else 'effect'}"):
        syn = Synapses(ctx.groups[conn.source], ctx.groups[conn.target], model, namespace=namespace,
                       name=cname, **kwargs)
    _set_runtime_values(ctx, cname, syn, via_run_args)
    with at_key(f"{where}.connect"):
        if conn.i is not None:
            i, j = np.broadcast_arrays(np.asarray(conn.i, dtype=int), np.asarray(conn.j, dtype=int))
            syn.connect(i=i.ravel(), j=j.ravel())
        elif conn.connect == "all":
            syn.connect(p=conn.p) if conn.p < 1 else syn.connect()
        elif conn.connect == "one_to_one":
            syn.connect(j="i", p=conn.p) if conn.p < 1 else syn.connect(j="i")
        else:
            syn.connect(condition=conn.connect, p=conn.p)
    if conn.weight is not None:
        with at_key(f"{where}.weight"):
            syn.w = conn.weight
    for var, value in conn.initial.items():
        with at_key(f"{where}: initial value of {var}"):
            setattr(syn, var, value)
    _set_orders(syn, conn.orders, where)
    if recorded:
        syn.w_initial = "w"
    if conn.delay is not None and float(conn.delay) > 0 and "on_pre" in kwargs:
        syn.delay = conn.delay
    ctx.synapses[cname] = syn
    ctx.objects.append(syn)


def _set_orders(syn, orders, where):
    parts = {"state_updater": [syn.state_updater] if syn.state_updater is not None else [],
             "summed": list(syn.summed_updaters.values()),
             "pre": [pw for pw in syn._pathways if pw.prepost == "pre"],
             "post": [pw for pw in syn._pathways if pw.prepost == "post"]}
    for part, order in orders.items():
        if part not in parts:
            raise BuildError(f"{where}: orders: unknown part '{part}'; allowed: {', '.join(parts)}")
        for obj in parts[part]:
            obj.order = order


def _build_operation(op, ctx):
    owner = ctx.groups.get(op.target) or ctx.synapses[op.target]
    kwargs = {"dt": op.dt} if op.dt is not None else {}
    with at_key(f"{op.origin or 'operation'} {op.name}"):
        ctx.objects.append(owner.run_regularly(op.code, when=op.when, order=op.order, name=op.name, **kwargs))


class KeyedBuildError(BuildError):
    """Brian2 refused the code of one scenario key while the network was built; ``key`` names it."""

    def __init__(self, key, message):
        self.key = key
        super().__init__(f"{key}: {message}")


@contextmanager
def at_key(key):
    """Brian2 errors raised inside become a `KeyedBuildError` naming the scenario ``key`` whose code
    Brian2 refused (the traceback stays chained for the log)."""
    from .errors import SpikelearnError

    try:
        yield
    except (SpikelearnError, KeyboardInterrupt):
        raise
    except Exception as ex:
        raise KeyedBuildError(key, brian_message(ex)) from ex


def brian_message(ex):
    """One line from a (chained) Brian2 exception: the object it names and the innermost error."""
    import re

    chain, seen = [], set()
    while ex is not None and id(ex) not in seen:
        seen.add(id(ex))
        chain.append(ex)
        ex = ex.__cause__ or ex.__context__
    obj = next((m.group(1) for e in chain if (m := re.search(r"object named '([^']+)'", str(e)))), None)
    inner = chain[-1]
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    text = " ".join(lines[:3]) if lines else type(inner).__name__
    if len(text) > 300:
        text = text[:297] + "..."
    where = f"object '{obj}': " if obj else ""
    return f"{where}{type(inner).__name__}: {text}"


def _compose_rules(cname, conn, ctx, pop_ns):
    """The synapse code of a connection's rules, composed in order.

    Neuron-side variables are renamed per connection and added to the populations; global signals are
    substituted (or, where the rule use gives one, its own expression of the signal, `RuleUse.signals`).
    Several rules combine when their variables are distinct (their updates of ``w`` then add up, applied
    one after the other); a variable declared by two rules, or a parameter both declare with different
    values, is refused with a message naming the clash.
    """
    from brian2 import Equations

    models, on_pre, on_post, namespace, methods = [], [], [], {}, set()
    owner_of_var, owner_of_param, values = {}, {}, {}
    # run-time parameters spare a standalone program its recompilation; the runtime device compiles
    # nothing, and Brian2 refuses to assign its constant shared variables: values go in the namespace
    runtime = set(ctx.scenario.device_options.get("runtime_parameters", ())) if active_backend().standalone else set()
    for use in conn.rules:
        rule = ctx.registry.get("plasticity", use.name)
        declared = set(Equations(rule.model).names) if rule.model.strip() else set()
        for side in ("pre", "post"):
            declared |= {f"{v}_{side}" for v in getattr(rule, f"{side}_variables")}
        for var in sorted(declared):
            if var in owner_of_var:
                raise BuildError(
                    f"{use.key}: rules '{owner_of_var[var]}' and '{use.name}' both declare the variable '{var}' "
                    f"on connection '{cname}'; composed rules need distinct variable names"
                )
            owner_of_var[var] = use.name
        params = constants(use.params)
        at_run = {p for p in params if f"{use.key}.{p}" in runtime}
        for pname, value in params.items():
            if pname in values and not _same_value(values[pname], value):
                raise BuildError(
                    f"{use.key}.{pname}: rules '{owner_of_param[pname]}' and '{use.name}' both use the parameter "
                    f"'{pname}' with different values ({values[pname]} vs {value}) on connection '{cname}'"
                )
            if pname in owner_of_param:
                continue
            values[pname] = value
            owner_of_param[pname] = use.name
            if pname in at_run:  # renamed: Brian2 reserves the suffixes _pre/_post (e.g. tau_post)
                models.append(_runtime_declaration(ctx, cname, f"{pname}_rt", value))
            else:
                namespace[pname] = value
        subst = {p: f"{p}_rt" for p in at_run}
        for side, pop in (("pre", conn.source), ("post", conn.target)):
            variables = getattr(rule, f"{side}_variables")
            if not variables:
                continue
            renames = {v: f"{v}_{cname}" for v in variables}
            renames.update({p: f"{p}_{cname}" for p in rule.parameters})
            for vname, var in variables.items():
                # Equations.substitute also renames the derivative (dy/dt), which word substitution cannot
                used = {k: v for k, v in renames.items() if k in Equations(var.equation).identifiers | {vname}}
                ctx.extra_equations[pop].append(str(Equations(var.equation).substitute(**used)))
                if var.on_spike:
                    ctx.extra_reset[pop].append(_substitute(var.on_spike, renames))
                subst[f"{vname}_{side}"] = f"{vname}_{cname}_{side}"
            for pname, value in params.items():
                name = f"{pname}_{cname}"
                if pname not in at_run:
                    pop_ns[pop][name] = value
                elif (pop, name) not in {(owner, var) for owner, var, _ in ctx.runtime_values}:
                    ctx.extra_equations[pop].append(_runtime_declaration(ctx, pop, name, value))
        unread = set(use.signals) - set(rule.signals)
        if unread:
            raise BuildError(f"{use.key}: rule '{use.name}' reads no signal {', '.join(sorted(unread))} "
                             f"(it reads: {', '.join(rule.signals) or 'none'})")
        for signal in rule.signals:
            subst[signal] = f"({use.signals[signal] if signal in use.signals else ctx.signal_expr(signal)})"
        models.append(_substitute(rule.model, subst))
        on_pre.append(_substitute(rule.on_pre, subst))
        on_post.append(_substitute(rule.on_post, subst))
        if rule.method:
            methods.add(rule.method)
    if len(methods) > 1:
        raise BuildError(f"connections.{cname}: composed rules ask for different integration methods {sorted(methods)}")
    return {"model": _join_code(models), "on_pre": _join_code(on_pre), "on_post": _join_code(on_post),
            "namespace": namespace, "method": methods.pop() if methods else None}


def _runtime_declaration(ctx, owner, name, value):
    """Declare a run-time parameter as a constant shared variable of its group (its value is set when
    the program starts, not compiled in) and remember the value; returns the equation line."""
    from brian2 import get_dimensions
    from brian2.units.fundamentalunits import get_unit

    ctx.runtime_values.append((owner, name, value))
    dim = get_dimensions(value)
    unit = "1" if dim.is_dimensionless else repr(get_unit(dim))
    return f"{name} : {unit} (shared, constant)"


def _set_runtime_values(ctx, owner, group, via_run_args):
    """Give ``owner``'s run-time parameters their values: as run_args of the standalone program, or
    assigned directly (runtime, cuda) right after the group exists, before anything reads them."""
    for name, var, value in ctx.runtime_values:
        if name != owner:
            continue
        if via_run_args:
            ctx.run_args[getattr(group, var)] = value
        else:
            setattr(group, var, value)


def _with_weight(model):
    """Synapse equations with the weight ``w`` declared (as ``w : 1`` unless a rule defines it)."""
    from brian2 import Equations

    if model.strip() and "w" in Equations(model).names:
        return model
    return "w : 1\n" + model


def _join_code(parts):
    return "\n".join(p for p in parts if p and p.strip())


def _same_value(a, b):
    try:
        return bool(a == b)
    except Exception:  # comparing quantities of different dimensions raises
        return False


def _known_synapse_count(net, name):
    """Number of synapses of a connection when it follows from the description alone (index arrays,
    p = 1 patterns)."""
    conn = net.connections[name]
    if conn.i is not None:
        return len(conn.i)
    if conn.p < 1:
        return None
    n_pre, n_post = net.populations[conn.source].size, net.populations[conn.target].size
    if conn.connect == "all":
        return n_pre * n_post
    if conn.connect == "one_to_one":
        return min(n_pre, n_post)
    return None


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


def _add_recorders(ctx):
    from brian2 import BrianLogger, StateMonitor

    for rec in ctx.net.records:
        if rec.kind == "spikes":
            group = ctx.groups[rec.source]
            events = getattr(group, "events", None)
            if rec.event == "spike" and isinstance(events, dict) and "spike" not in events:
                raise BuildError(f"{rec.origin}: population '{rec.source}' does not spike (its model has no "
                                 "threshold); record its state (record.states) instead")
            window = None
            if rec.start is not None or rec.stop is not None:
                window = (0.0 if rec.start is None else float(rec.start),
                          float(ctx.scenario.duration) if rec.stop is None else float(rec.stop))
            ctx.record_spikes(rec.name, group if rec.indices is True else group[:rec.indices], rec.event, window)
        elif rec.kind == "state":
            what = "population" if rec.source in ctx.groups else "connection"
            group = ctx.groups[rec.source] if rec.source in ctx.groups else ctx.synapses[rec.source]
            for var in rec.variables:
                if var not in group.variables:
                    raise BuildError(
                        f"{rec.origin}.variables: '{var}' is not a variable of {what} '{rec.source}'; "
                        f"variables: {', '.join(sorted(v for v in group.variables if not v.startswith('_')))}"
                    )
            if rec.start is not None or rec.stop is not None:
                size = len(group) if rec.indices is True else min(rec.indices, len(group))
                ctx.record_state_at_event(rec.name, group, list(rec.variables), rec.event, size)
                continue
            with at_key(f"{rec.origin}.indices"):
                ctx.record_state(rec.name, group, list(rec.variables), rec.indices, rec.dt, rec.when, rec.order)
        else:
            syn = ctx.synapses[rec.source]
            trace = None
            if rec.indices and rec.dt is not None:
                indices = list(range(rec.indices)) if isinstance(rec.indices, int) else rec.indices
                n_syn = _known_synapse_count(ctx.net, rec.source)
                if n_syn is not None and indices and max(indices) >= n_syn:
                    raise BuildError(f"{rec.origin}.indices: connection '{rec.source}' has {n_syn} synapses; "
                                     f"indices must lie in [0, {n_syn})")
                # Brian2 cannot check synapse indices before a standalone run; checked above where knowable
                BrianLogger.suppress_name("cannot_check_statemonitor_indices")
                with at_key(f"{rec.origin}.indices"):  # on runtime Brian2 checks them against the synapses made
                    placed = {k: v for k, v in (("when", rec.when), ("order", rec.order)) if v is not None}
                    trace = StateMonitor(syn, "w", record=indices, dt=rec.dt, name=f"wtrace_{rec.name}", **placed)
                ctx.objects.append(trace)
            ctx.recorders.append(Recorder("weights", rec.name, trace, synapses=syn))
