"""The network description: everything a scenario and its task build, as data.

A validated scenario becomes a `NetworkDescription` (its populations and connections); the task's
``prepare`` adds to it (`Population`, `Connection`, `Operation`, `Record`, initial values); the builder
(:mod:`spikelearn.build`) is the only place that turns it into Brian2 objects. Values are parsed: numbers,
Brian2 quantities, NumPy arrays, and Brian2 code strings (equations, conditions, expressions).
:func:`describe` prints a description (``spikelearn show``).
"""

import re
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import BuildError

__all__ = ["Population", "GroupSpec", "Connection", "RuleUse", "Operation", "Record", "NetworkDescription", "describe",
           "expected_synapses"]

WHEN = ("start", "groups", "thresholds", "synapses", "resets", "end")


@dataclass
class Population:
    """A group of neurons. ``definition`` is its `Model` (a plugin or a ``[models.X]`` table of the
    scenario); ``params`` the parsed parameter values; ``initial`` values (Brian2 code, numbers,
    quantities or per-neuron arrays) are set in order after the model's own ``initial``; ``links`` make
    variables declared ``(linked)`` in the equations refer to another population's variable (a third
    element, an index array, says which of its neurons each neuron reads: Brian2's ``linked_var(...,
    index=...)``). ``dt`` gives the population its own time step (None: the scenario's ``dt``); only
    models that create a plain NeuronGroup take one."""

    name: str
    model: str
    size: int
    params: dict
    definition: object = None
    initial: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)  # variable -> (population, its variable[, index]): linked_var
    order: int | None = None  # order within each schedule slot (None: Brian2's default, 0)
    dt: object = None
    origin: str = ""


@dataclass
class GroupSpec:
    """What a neuron model makes of one population (`Model.group`); the builder creates the Brian2 group.

    ``equations``, ``threshold``, ``reset``, ``refractory``, ``method``, ``events`` as Brian2's
    ``NeuronGroup`` takes them; ``namespace`` the values its code reads; ``initial`` values set in order
    once the group exists (Brian2 code, numbers, quantities or arrays); ``operations`` code the group runs
    regularly (`Operation` with ``target`` empty and ``order`` relative to the population's order).
    ``spikes = (indices, times in seconds)`` makes a spike generator instead (no equations).
    """

    equations: str = ""
    threshold: str | None = None
    reset: str | None = None
    refractory: object = False
    method: str = "euler"
    events: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    operations: list = field(default_factory=list)
    spikes: tuple | None = None


@dataclass
class Connection:
    """Synapses from ``source`` to ``target``.

    Either a connect rule (``connect``: ``"all"``, ``"one_to_one"`` or a Brian2 condition; ``p``) or
    explicit index arrays ``i``, ``j``. ``weight`` is a number, a Brian2 expression or an array (one value
    per synapse, in the order of ``i``/``j``); None declares no weight variable (unless a rule needs one):
    the synapses are then what ``model`` says. ``model`` adds synapse equations to the weight and the rules'
    code (e.g. ``"w : 1 (constant)"``); ``effect`` is the ``on_pre`` effect on the target, ``summed`` a
    summed variable (``"I_post = w*r_pre"``), ``on_post`` code run on postsynaptic spikes, ``method``
    integrates clock-driven synapse equations. Several presynaptic pathways: ``effect`` maps pathway
    names to code and ``on_event`` maps them to the source's events (``{"ppos": "pos"}``; default: the
    spike). ``initial`` sets further synaptic variables after ``weight``.
    ``dt`` gives the synapses their own time step (None: the scenario's ``dt``): their state updater and
    summed variables then run only on its ticks.
    ``order`` places the synapses in each schedule slot (None: Brian2's default); ``orders`` places parts
    of them: ``"state_updater"`` (applied only when there is one), ``"summed"`` (every summed-variable
    updater; Brian2's default is the target population's order - 1), ``"pre"``, ``"post"`` (the pathways).
    """

    name: str
    source: str
    target: str
    connect: str = "all"
    p: float = 1.0
    weight: object = 0.0
    delay: object = None
    effect: str | dict | None = None
    summed: str | None = None
    rules: list = field(default_factory=list)
    i: object = None
    j: object = None
    model: str = ""
    on_post: str = ""
    method: str | None = None
    on_event: dict = field(default_factory=dict)
    namespace: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    order: int | None = None
    orders: dict = field(default_factory=dict)
    dt: object = None
    origin: str = ""


@dataclass
class RuleUse:
    """One plasticity rule on a connection, with its parsed parameters; ``key`` is its scenario key path.
    ``signals`` gives, for this use only, the Brian2 expression of a signal the rule reads (e.g. a gate
    kept per postsynaptic neuron, ``"gate_post"``); the others come from the global signals."""

    name: str
    params: dict
    key: str
    definition: object = None  # the PlasticityRule
    signals: dict = field(default_factory=dict)  # signal the rule reads -> Brian2 expression on this connection


@dataclass
class Operation:
    """Brian2 code run on a population or connection (``target``) every ``dt`` (None: every time step)
    at slot ``when`` of the time step (see `WHEN`)."""

    name: str
    target: str
    code: str
    dt: object = None
    when: str = "start"
    order: int = 0
    origin: str = ""


@dataclass
class Record:
    """A recorder the run directory saves: ``kind`` is ``"spikes"`` (of population ``source``),
    ``"state"`` (``variables`` of ``source`` at ``indices``, every ``dt``; None: every step) or
    ``"weights"`` (the final weights of connection ``source``, and their trace at ``indices`` every ``dt``
    when both are given). Spikes of only the first n neurons: ``indices = n``; only in the time window
    ``[start, stop)`` (quantities; None: the run's start or end): ``start``/``stop``; a state recording in a
    window records neurons 0..n-1 (``indices`` True or n) through an event of each sample, saved as a state
    recording (a Brian2 state monitor records from the start of the run). ``when``/``order`` place a
    state or weight-trace recorder in the time step (None: Brian2's default, the start of the step). ``event`` records a
    custom event of the population instead of its spikes (saved as spikes under ``name``)."""

    kind: str
    name: str
    source: str
    variables: tuple = ()
    indices: object = True
    dt: object = None
    when: str | None = None
    order: int | None = None
    event: str = "spike"
    origin: str = ""
    start: object = None
    stop: object = None


@dataclass
class NetworkDescription:
    """Populations, connections, operations and records, in the order they are built."""

    populations: dict = field(default_factory=dict)
    connections: dict = field(default_factory=dict)
    operations: dict = field(default_factory=dict)
    records: list = field(default_factory=list)
    order: list = field(default_factory=list)  # (kind, name) of populations and connections, as added

    @classmethod
    def of_scenario(cls, scenario):
        """The scenario's populations and connections (copies: a task's additions leave the scenario as
        it was)."""
        net = cls()
        for pop in scenario.populations.values():
            net.add(replace(pop, initial=dict(pop.initial), links=dict(pop.links)))
        for conn in scenario.connections.values():
            net.add(replace(conn, initial=dict(conn.initial), orders=dict(conn.orders), namespace=dict(conn.namespace)))
        from .units import parse_quantity

        record = scenario.record
        for pop in record["spikes"]:
            limit = record["spike_limits"].get(pop, {})
            start, stop = (parse_quantity(limit[k]) if limit.get(k) is not None else None for k in ("start", "stop"))
            net.add(Record("spikes", pop, pop, indices=limit.get("indices") or True, start=start, stop=stop,
                           origin=f"record.spikes.{pop}" if limit else "record.spikes"))
        for pop, spec in record["states"].items():
            start, stop = (parse_quantity(spec[k]) if spec.get(k) is not None else None for k in ("start", "stop"))
            windowed = start is not None or stop is not None
            net.add(Record("state", pop, pop, tuple(spec["variables"]),
                           len(spec["indices"]) if windowed else spec["indices"], parse_quantity(spec["dt"]),
                           origin=f"record.states.{pop}", start=start, stop=stop))
        for conn, spec in record["weights"].items():
            dt = parse_quantity(spec["dt"]) if "dt" in spec else None
            net.add(Record("weights", conn, conn, ("w",), spec["indices"], dt, origin=f"record.weights.{conn}"))
        return net

    def names(self):
        return set(self.populations) | set(self.connections) | set(self.operations)

    def expected_synapses(self):
        """The number of synapses all connections will have (`expected_synapses`)."""
        return sum(expected_synapses(c, self.populations) for c in self.connections.values())

    def add(self, item):
        """Add a population, connection, operation or record; populations and connections are built in
        the order they are added, so a connection's populations must be added first."""
        if isinstance(item, Record):
            if item.source not in self.populations and item.source not in self.connections:
                raise BuildError(f"record '{item.name}': no population or connection '{item.source}'")
            self.records.append(item)
            return item
        if item.name in self.names():
            raise BuildError(f"the name '{item.name}' ({item.origin or 'added'}) is already used in the network; "
                             "names must be unique")
        if isinstance(item, Population):
            self.populations[item.name] = item
            self.order.append(("population", item.name))
        elif isinstance(item, Connection):
            for end in (item.source, item.target):
                if end not in self.populations:
                    raise BuildError(f"connection '{item.name}' ({item.origin}): no population '{end}'; "
                                     f"populations: {', '.join(self.populations) or 'none'}")
            if (item.i is None) != (item.j is None):
                raise BuildError(f"connection '{item.name}': give both index arrays i and j, or neither")
            self.connections[item.name] = item
            self.order.append(("connection", item.name))
        elif isinstance(item, Operation):
            if item.target not in self.populations and item.target not in self.connections:
                raise BuildError(f"operation '{item.name}': no population or connection '{item.target}'")
            if item.when not in WHEN:
                raise BuildError(f"operation '{item.name}': slot '{item.when}' is not one of {', '.join(WHEN)}")
            self.operations[item.name] = item
        else:
            raise TypeError(f"cannot add {type(item).__name__} to a network description")
        return item


def expected_synapses(conn, populations):
    """The number of synapses of the `Connection` ``conn`` (``populations``: `Population` by name): exact
    for index arrays, ``p`` times the pairs of ``"one_to_one"`` or of all pairs otherwise (for a condition,
    the expectation of an upper bound)."""
    if conn.i is not None:
        return len(np.atleast_1d(conn.i))
    n_pre, n_post = populations[conn.source].size, populations[conn.target].size
    return float(conn.p) * (min(n_pre, n_post) if conn.connect == "one_to_one" else n_pre * n_post)


# --------------------------------------------------------------------------------------------------
# printing


def _value(v):
    if hasattr(v, "dim") and np.ndim(v) == 0:  # a Brian2 quantity
        return str(v)
    if isinstance(v, np.ndarray):
        if v.size == 0:
            return "[] (empty array)"
        if v.dtype.kind in "biuf":
            return f"array of {v.size} ({v.dtype}), range [{v.min():.4g}, {v.max():.4g}]"
        return f"array of {v.size} ({v.dtype})"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"list of {len(v)}"
    return str(v)


def _code(text, indent):
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return "\n".join(indent + ln for ln in lines)


def describe(net, scenario=None, signals=None, phases=None, extra_equations=None):
    """The description as text: what ``spikelearn show`` prints; ``extra_equations`` are lines a task adds
    to populations' equations."""
    out = []
    if scenario is not None:
        task = f", task {scenario.task}" if scenario.task else ""
        out.append(f"scenario {scenario.name} ({scenario.source})")
        out.append(f"  seed {scenario.seed}, dt {scenario.data['dt']}, duration {scenario.data['duration']}, "
                   f"device {scenario.device}{task}")
    out.append(f"\npopulations ({len(net.populations)}):")
    for pop in net.populations.values():
        m = pop.definition
        origin = f"  [{pop.origin}]" if pop.origin else ""
        order = f", order {pop.order}" if pop.order is not None else ""
        order += f", dt {pop.dt}" if pop.dt is not None else ""
        out.append(f"  {pop.name}: {pop.size} x {pop.model} ({getattr(m, 'kind', 'neuron')}{order}){origin}")
        for var, (source, source_var, *index) in pop.links.items():
            at = f" at indices {_value(np.asarray(index[0]))}" if index else ""
            out.append(f"    {var} linked to {source}.{source_var}{at}")
        if m is not None and getattr(m, "equations", "").strip():
            out.append("    equations:")
            out.append(_code(m.equations, "      "))
            for attr in ("threshold", "reset", "refractory"):
                value = getattr(m, attr, None)
                if value:
                    out.append(f"    {attr}: {' ; '.join(ln.strip() for ln in str(value).strip().splitlines())}")
        if extra_equations and extra_equations.get(pop.name):
            out.append("    added by the task:")
            out.append(_code("\n".join(extra_equations[pop.name]), "      "))
        if pop.params:
            out.append("    parameters: " + ", ".join(f"{k} = {_value(v)}" for k, v in sorted(pop.params.items())))
        for var, value in pop.initial.items():
            out.append(f"    {var} = {_value(value)}")
    out.append(f"\nconnections ({len(net.connections)}):")
    for c in net.connections.values():
        origin = f"  [{c.origin}]" if c.origin else ""
        if c.i is not None:
            how = f"{len(np.asarray(c.i))} synapses (explicit indices)"
        else:
            how = f"connect {c.connect}" + (f", p = {c.p}" if c.p < 1 else "")
        out.append(f"  {c.name}: {c.source} -> {c.target}, {how}{origin}")
        weight = "none declared" if c.weight is None else _value(c.weight)
        out.append(f"    weight: {weight}" + (f", delay {c.delay}" if c.delay is not None and float(c.delay) > 0 else ""))
        schedule = ([f"order {c.order}"] if c.order is not None else []) + [f"{k} order {v}" for k, v in c.orders.items()]
        schedule += [f"dt {c.dt}"] if c.dt is not None else []
        if c.method or schedule:
            out.append("    " + ", ".join(([f"method {c.method}"] if c.method else []) + schedule))
        if c.model.strip():
            out.append("    model:")
            out.append(_code(c.model, "      "))
        if isinstance(c.effect, dict):
            for pathway, code in c.effect.items():
                event = c.on_event.get(pathway, "spike")
                out.append(f"    on_pre {pathway} (on {event}): {code}")
        elif c.effect:
            out.append(f"    on_pre: {c.effect}")
        if c.on_post:
            out.append(f"    on_post: {c.on_post}")
        if c.summed:
            out.append(f"    summed: {c.summed}")
        for var, value in c.initial.items():
            out.append(f"    {var} = {_value(value)}")
        for use in c.rules:
            rule = use.definition
            params = ", ".join(f"{k} = {_value(v)}" for k, v in sorted(use.params.items()))
            out.append(f"    plasticity {use.name}: {params}")
            if rule is not None and rule.signals:
                out.append(f"      reads signals: {', '.join(rule.signals)}")
            for name, expr in use.signals.items():
                out.append(f"      signal {name} here = {expr}")
    if net.operations:
        out.append(f"\noperations ({len(net.operations)}):")
        for op in net.operations.values():
            every = f"every {op.dt}" if op.dt is not None else "every step"
            out.append(f"  {op.name}: on {op.target}, {every}, slot {op.when}" + (f"  [{op.origin}]" if op.origin else ""))
            out.append(_code(op.code, "    "))
    if signals:
        out.append(f"\nglobal signals ({len(signals)}):")
        for name, expr in sorted(signals.items()):
            out.append(f"  {name} = {expr}")
    if phases:
        out.append("\nphases: " + ", ".join(f"{k} = {v}" for k, v in phases.items()))
    if net.records:
        out.append(f"\nrecords ({len(net.records)}):")
        for r in net.records:
            origin = f"  [{r.origin}]" if r.origin else ""
            if r.kind == "spikes":
                subset = "" if r.indices is True else f" (first {r.indices})"
                what = "spikes" if r.event == "spike" else f"events '{r.event}'"
                out.append(f"  {what} of {r.source}{subset}, saved as {r.name}{origin}")
                continue
            if r.kind == "weights" and (not r.indices or r.dt is None):
                out.append(f"  final weights of {r.source}{origin}")
                continue
            idx = (f"first {r.indices}" if isinstance(r.indices, int) and not isinstance(r.indices, bool)
                   else "all" if r.indices is True else _value(list(r.indices)))
            every = f"every {r.dt}" if r.dt is not None else "every step"
            out.append(f"  {r.kind} of {r.source}: {', '.join(r.variables)} at indices {idx}, {every}{origin}")
    return "\n".join(out)


_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:[-+*/]?=)(?!=)\s*(.+)$")


def assignments(code):
    """``(variable, expression)`` of every assignment (``=``, ``+=``, ...) in a block of Brian2 code, one
    statement per line or separated by ``;``."""
    for statement in re.split(r"[\n;]", code or ""):
        m = _ASSIGNMENT.match(statement)
        if m:
            yield m.group(1), m.group(2)
