"""The network description: everything a scenario and its task build, as data.

A validated scenario becomes a `NetworkDescription` (its populations and connections); the task's
``prepare`` adds to it (`Population`, `Connection`, `Operation`, `Record`, initial values); the builder
(:mod:`spikelearn.build`) is the only place that turns it into Brian2 objects. Values are parsed: numbers,
Brian2 quantities, NumPy arrays, and Brian2 code strings (equations, conditions, expressions).
:func:`describe` prints a description (``spikelearn show``).
"""

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import BuildError

__all__ = ["Population", "Connection", "RuleUse", "Operation", "Record", "NetworkDescription", "describe"]

WHEN = ("start", "groups", "thresholds", "synapses", "resets", "end")


@dataclass
class Population:
    """A group of neurons. ``definition`` is its `Model` (a plugin or a ``[models.X]`` table of the
    scenario); ``params`` the parsed parameter values; ``initial`` values (Brian2 code, numbers,
    quantities or per-neuron arrays) are set in order after the model's own ``initial``; ``links`` make
    variables declared ``(linked)`` in the equations refer to another population's variable (a third
    element, an index array, says which of its neurons each neuron reads: Brian2's ``linked_var(...,
    index=...)``)."""

    name: str
    model: str
    size: int
    params: dict
    definition: object = None
    initial: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)  # variable -> (population, its variable[, index]): linked_var
    order: int | None = None  # order within each schedule slot (None: Brian2's default, 0)
    origin: str = ""


@dataclass
class Connection:
    """Synapses from ``source`` to ``target``.

    Either a connect rule (``connect``: ``"all"``, ``"one_to_one"`` or a Brian2 condition; ``p``) or
    explicit index arrays ``i``, ``j``. ``weight`` is a number, a Brian2 expression or an array (one value
    per synapse, in the order of ``i``/``j``); None declares no weight variable (unless a rule needs one):
    the synapses are then what ``model`` says. ``model`` adds synapse equations to the weight and the rules'
    code (e.g. ``"w : 1 (constant)"``); ``effect`` is the ``on_pre`` effect on the target, ``summed`` a
    summed variable (``"I_post = w*r_pre"``), ``on_post`` code run on postsynaptic spikes, ``method``
    integrates clock-driven synapse equations. ``initial`` sets further synaptic variables after ``weight``.
    """

    name: str
    source: str
    target: str
    connect: str = "all"
    p: float = 1.0
    weight: object = 0.0
    delay: object = None
    effect: str | None = None
    summed: str | None = None
    rules: list = field(default_factory=list)
    i: object = None
    j: object = None
    model: str = ""
    on_post: str = ""
    method: str | None = None
    namespace: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    origin: str = ""


@dataclass
class RuleUse:
    """One plasticity rule on a connection, with its parsed parameters; ``key`` is its scenario key path."""

    name: str
    params: dict
    key: str
    definition: object = None  # the PlasticityRule


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
    when both are given). Spikes of only the first n neurons: ``indices = n``. ``when``/``order`` place a
    state recorder in the time step (None: Brian2's default, the end of the step)."""

    kind: str
    name: str
    source: str
    variables: tuple = ()
    indices: object = True
    dt: object = None
    when: str | None = None
    order: int | None = None
    origin: str = ""


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
            net.add(replace(pop, initial=dict(pop.initial)))
        for conn in scenario.connections.values():
            net.add(replace(conn, initial=dict(conn.initial)))
        from .units import parse_quantity

        record = scenario.record
        for pop in record["spikes"]:
            net.add(Record("spikes", pop, pop, origin="record.spikes"))
        for pop, spec in record["states"].items():
            net.add(Record("state", pop, pop, tuple(spec["variables"]), spec["indices"], parse_quantity(spec["dt"]),
                           origin=f"record.states.{pop}"))
        for conn, spec in record["weights"].items():
            dt = parse_quantity(spec["dt"]) if "dt" in spec else None
            net.add(Record("weights", conn, conn, ("w",), spec["indices"], dt, origin=f"record.weights.{conn}"))
        return net

    def names(self):
        return set(self.populations) | set(self.connections) | set(self.operations)

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


def describe(net, scenario=None, signals=None, phases=None):
    """The description as text: what ``spikelearn show`` prints."""
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
        out.append(f"    weight: {_value(c.weight)}" + (f", delay {c.delay}" if c.delay is not None and float(c.delay) > 0 else ""))
        if c.model.strip():
            out.append("    model:")
            out.append(_code(c.model, "      "))
        if c.effect:
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
                out.append(f"  spikes of {r.source}{subset}{origin}")
                continue
            if r.kind == "weights" and (not r.indices or r.dt is None):
                out.append(f"  final weights of {r.source}{origin}")
                continue
            idx = (f"first {r.indices}" if isinstance(r.indices, int) and not isinstance(r.indices, bool)
                   else "all" if r.indices is True else _value(list(r.indices)))
            every = f"every {r.dt}" if r.dt is not None else "every step"
            out.append(f"  {r.kind} of {r.source}: {', '.join(r.variables)} at indices {idx}, {every}{origin}")
    return "\n".join(out)
