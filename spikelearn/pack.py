"""Packed ensembles: K runs of one scenario (seeds, parameter values) simulated as copies in one network.

Each copy's network is described as for a run of its own (:func:`spikelearn.build.describe_network`: its
own seed, its own task arrays, its own rule parameters); :func:`merge` turns the K descriptions into one:

- every population holds K copies of its neurons, copy ``k`` at indices ``[k n, (k + 1) n)``; each
  neuron knows its copy (``pack_copy``) and its index within it (``pack_i``), and code that reads ``i``
  or ``N`` reads those instead;
- connections stay within a copy: explicit index arrays are offset per copy, ``connect = "all"`` and
  ``"one_to_one"`` (p = 1) become explicit arrays, other connect rules a condition that adds
  ``pack_copy_pre == pack_copy_post``;
- values that differ between copies become per-element values: arrays are concatenated, parameters of
  models and rules become constant per-neuron variables of the same name (in synapse code, variables of
  the target population), a TimedArray (a task's stimulus schedule, drawn from the copy's seed) becomes
  one table with the copies side by side, each call reading the copy's columns;
- shared variables that are schedules (written from time and constants: an oscillation, a phase) stay
  shared; one written from the neurons' state would mix the copies and is refused;
- records cover every copy; :func:`split` cuts the saved arrays back into each copy's files, with the
  copy's own indices, so that each copy is written as an ordinary run directory.

Random numbers (``rand()``, ``randn()``, Poisson inputs) are drawn per neuron and per synapse, so each
copy draws its own; they are not the numbers the copy's seed would draw on its own (a packed copy is a
sample of the same distribution as its separate run, not the same sample). Arrays a task draws from its
seed (``ctx.rng``) are exactly those of the separate run.

What cannot be packed is refused (`PackError`) naming what prevents it: a shared variable computed from
the neurons' or synapses' state, code reading the number of synapses ``N``, a namespace value that
differs between copies and is not a TimedArray, recorded synapse indices of a connection made with
p < 1, copies whose networks differ in structure.
"""

import re
from dataclasses import dataclass, field, replace

import numpy as np

from .errors import BuildError
from .network import Connection, GroupSpec, NetworkDescription, Population, Record, assignments

__all__ = ["PackError", "Layout", "merge", "split", "COPY", "INDEX"]

COPY = "pack_copy"  # per neuron: the copy it belongs to
INDEX = "pack_i"  # per neuron: its index within its copy


class PackError(BuildError):
    """The copies cannot be packed into one network; the message names what prevents it."""


@dataclass
class Layout:
    """Where each copy lies in the packed network."""

    copies: int
    sizes: dict  # population -> neurons per copy
    synapses: dict  # connection -> [synapses of each copy] (None where known only after connecting)
    spike_subsets: dict = field(default_factory=dict)  # spike record name -> first-n neurons of each copy


# --------------------------------------------------------------------------------------------------
# comparing and merging values


def _is_timed_array(value):
    from brian2 import TimedArray

    return isinstance(value, TimedArray)


def _same(a, b):
    """Whether two parsed values (numbers, quantities, arrays, strings, TimedArrays, functions) are equal."""
    if a is b:
        return True
    if _is_timed_array(a) or _is_timed_array(b):
        return (_is_timed_array(a) and _is_timed_array(b) and a.dt == b.dt and a.dim == b.dim
                and a.values.shape == b.values.shape and np.array_equal(a.values, b.values))
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    if callable(a) or callable(b):
        return False
    try:
        from brian2 import get_dimensions

        if get_dimensions(a) != get_dimensions(b):
            return False
        x, y = np.asarray(a), np.asarray(b)
        return x.shape == y.shape and bool(np.array_equal(x, y))
    except Exception:  # values that do not compare as arrays
        return False


def _all_same(values):
    return all(_same(values[0], v) for v in values[1:])


def _magnitudes(values):
    """``(float arrays, dimension)`` of a list of quantities or numbers of one dimension."""
    from brian2 import get_dimensions

    dims = {get_dimensions(v) for v in values}
    if len(dims) != 1:
        return None, None
    return [np.asarray(v, dtype=np.float64) if np.ndim(v) else np.float64(v) for v in values], dims.pop()


def _with_dim(array, dim):
    from brian2 import Quantity

    return array if dim.is_dimensionless else Quantity(array, dim=dim)


def _per_element(values, counts, what):
    """One value per element of the packed group from each copy's value (a scalar, or an array of the
    copy's ``counts[k]`` elements); raises `PackError` when they cannot be joined."""
    if any(isinstance(v, str) for v in values):
        values = [_constant(v, values, what) if isinstance(v, str) else v for v in values]
    mags, dim = _magnitudes(values)
    if mags is None:
        raise PackError(f"{what} has different units in different copies")
    parts = []
    for m, n in zip(mags, counts):
        if n is None:
            raise PackError(f"{what} differs between copies and its number of elements is known only after "
                            "connecting (a connection with p < 1 or a connect condition)")
        if np.ndim(m) == 0:
            parts.append(np.full(n, m))
        elif np.size(m) == n:
            parts.append(np.ravel(m))
        else:
            raise PackError(f"{what}: an array of {np.size(m)} values for {n} elements")
    return _with_dim(np.concatenate(parts), dim)


def _constant(code, values, what):
    """The value of Brian2 code made only of numbers and units (``"15*Hz"``); other code that differs
    between copies cannot be packed."""
    import brian2
    from brian2.units.fundamentalunits import Quantity
    from brian2.utils.stringtools import get_identifiers

    names = {n: getattr(brian2, n, None) for n in get_identifiers(code)}
    if all(isinstance(v, (Quantity, int, float)) for v in names.values()):
        try:
            return eval(code, {"__builtins__": {}}, names)  # numbers, units and operators only
        except Exception:  # not an expression of constants after all
            pass
    raise PackError(f"{what} is Brian2 code that differs between copies ({values[0]!r} vs "
                    f"{next(v for v in values if v != values[0])!r}); copies must share their code")


def _declaration(name, value):
    """The equation line of a constant per-element variable holding ``value``'s dimension."""
    from brian2 import get_dimensions
    from brian2.units.fundamentalunits import get_unit

    dim = get_dimensions(value)
    return f"{name} : {'1' if dim.is_dimensionless else repr(get_unit(dim))} (constant)"


# --------------------------------------------------------------------------------------------------
# code of the packed network


def _with_copy_index(code, tables, index):
    """Calls of per-copy TimedArrays read the copy's part: ``f(t)`` → ``f(t, index)`` for a 1-d table
    (``tables[f]`` None: a column per copy), ``f(t, k)`` → ``f(t, (k) + index*C)`` for a 2-d one of ``C``
    columns per copy (``tables[f] = C``)."""
    if not tables or not code:
        return code
    out, pos = [], 0
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(tables))) + r")\s*\(")
    for m in pattern.finditer(code):
        if m.start() < pos:
            continue
        depth, k, comma = 1, m.end(), None
        while k < len(code) and depth:
            ch = code[k]
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if ch == "," and depth == 1:
                comma = k
            k += 1
        columns = tables[m.group(1)]
        if columns is None:
            out.append(code[pos:k - 1] + f", {index})")
        elif comma is None:
            raise PackError(f"the 2-d TimedArray '{m.group(1)}' is called with one argument in: {code.strip()}")
        else:
            out.append(code[pos:comma + 1] + f" ({code[comma + 1:k - 1].strip()}) + {index}*{columns})")
        pos = k
    out.append(code[pos:])
    return "".join(out)


class _Code:
    """Rewrites Brian2 code of one population (``side`` None) or connection for the packed network."""

    def __init__(self, owner, layout, tables, source=None, target=None, source_is_generator=False):
        self.owner = owner
        self.tables = tables
        if source is None:
            n = layout.sizes[owner]
            self.words = {"i": INDEX, "N": str(n)}
            self.copy = COPY
        else:
            self.words = {"i": f"{INDEX}_pre", "j": f"{INDEX}_post", "N_pre": str(layout.sizes[source]),
                          "N_post": str(layout.sizes[target])}
            self.copy = f"{COPY}_post"
            self.source_is_generator = source_is_generator
        self.synapses = source is not None

    def __call__(self, code, what=""):
        if not isinstance(code, str) or not code.strip():
            return code
        from brian2.utils.stringtools import get_identifiers, word_substitute

        names = get_identifiers(code)
        if self.synapses and "N" in names:
            raise PackError(f"{what or self.owner}: the code reads N, the number of synapses of the whole "
                            "packed connection (not of one copy)")
        if self.synapses and self.source_is_generator and "i" in names:
            raise PackError(f"{what or self.owner}: the code reads the presynaptic index i of a spike "
                            "generator, which cannot hold its index within a copy")
        return _with_copy_index(word_substitute(code, self.words), self.tables, self.copy)


def _shared_variables(equations):
    """Shared variables the simulation may change (declared ``shared`` without ``constant``)."""
    from brian2 import Equations

    if not equations or not equations.strip():
        return []
    return [eq.varname for eq in Equations(equations).ordered
            if "shared" in eq.flags and "constant" not in eq.flags]


def _activity_dependent(equations, code_blocks):
    """The shared variables of a group whose values depend on its neurons' state: those written (by
    ``code_blocks``, or defined by their equation) from a per-neuron variable or from such a shared
    variable. The others are schedules (functions of time and constants), the same in every copy."""
    from brian2 import Equations
    from brian2.utils.stringtools import get_identifiers

    eqs = Equations(equations) if equations and equations.strip() else Equations("")
    shared = {eq.varname for eq in eqs.ordered if "shared" in eq.flags}
    per_neuron = set(eqs.names) - shared
    reads = {name: set() for name in _shared_variables(equations)}
    for eq in eqs.ordered:
        if eq.varname in reads and eq.expr is not None:
            reads[eq.varname] |= get_identifiers(str(eq.expr))
    for block in code_blocks:
        for variable, expression in assignments(block):
            if variable in reads:
                reads[variable] |= get_identifiers(expression)
    dependent = {v for v, names in reads.items() if names & per_neuron}
    while True:  # a schedule variable computed from a dependent one depends on the activity too
        more = {v for v, names in reads.items() if v not in dependent and names & dependent}
        if not more:
            return sorted(dependent)
        dependent |= more


# --------------------------------------------------------------------------------------------------
# the merge


def _check_structure(ctxs):
    nets = [c.net for c in ctxs]
    first = nets[0]
    for k, net in enumerate(nets[1:], 1):
        if net.order != first.order:
            raise PackError(f"copy {k} has other populations or connections than copy 0 "
                            f"({[n for _, n in net.order]} vs {[n for _, n in first.order]})")
        for name, pop in net.populations.items():
            if pop.size != first.populations[name].size or pop.model != first.populations[name].model:
                raise PackError(f"population '{name}': copy {k} has {pop.size} x {pop.model}, copy 0 "
                                f"{first.populations[name].size} x {first.populations[name].model}")
        if set(net.operations) != set(first.operations):
            raise PackError(f"copy {k} runs other operations than copy 0")
        if [(r.kind, r.name) for r in net.records] != [(r.kind, r.name) for r in first.records]:
            raise PackError(f"copy {k} records other things than copy 0")
    for attr in ("signals", "extra_reset", "extra_events"):
        values = [dict(getattr(c, attr)) for c in ctxs]
        if any(v != values[0] for v in values[1:]):
            raise PackError(f"the copies' {attr.replace('_', ' ')} differ: {values[0]} vs "
                            f"{next(v for v in values if v != values[0])}")


def _merged_namespace(ctxs, layout):
    """The global namespace: equal values kept, differing 1-d TimedArrays as 2-d ones (a column per copy);
    returns ``(namespace, names of the per-copy tables)``."""
    from brian2 import TimedArray, second

    namespace, tables = {}, {}
    for key, value in ctxs[0].namespace.items():
        values = [c.namespace.get(key) for c in ctxs]
        if _all_same(values):
            namespace[key] = value
            continue
        if not all(_is_timed_array(v) for v in values):
            raise PackError(f"the value '{key}' of the namespace differs between copies ({values[0]} vs "
                            f"{next(v for v in values if not _same(values[0], v))}); only arrays in time "
                            "(TimedArray) can differ per copy")
        shapes = {v.values.shape for v in values}
        if len(shapes) != 1 or len({v.dt for v in values}) != 1 or len({v.dim for v in values}) != 1:
            raise PackError(f"the TimedArray '{key}' differs between copies in its shape, time step or unit "
                            f"({sorted(shapes)}); per-copy TimedArrays need one shape, step and unit")
        one_d = values[0].values.ndim == 1
        table = np.stack([v.values for v in values], axis=1) if one_d else np.concatenate([v.values for v in values], 1)
        namespace[key] = TimedArray(_with_dim(table, values[0].dim), dt=values[0].dt * second, name=values[0].name)
        tables[key] = None if one_d else values[0].values.shape[1]
    return namespace, tables


class _PackedModel:
    """The model of a packed population: the merged `GroupSpec` of its copies."""

    def __init__(self, model, spec):
        self._model = model
        self._spec = spec
        self.kind = model.kind
        self.name = model.name

    def group(self, name, size, params, ctx):
        return self._spec

    def __getattr__(self, attr):  # equations, threshold, ... for `describe`
        return getattr(self._model, attr)


def _merge_spec(name, specs, layout, code):
    """One `GroupSpec` for the copies' specs of population ``name``."""
    first = specs[0]
    n, K = layout.sizes[name], layout.copies
    if first.spikes is not None:
        indices = np.concatenate([np.asarray(s.spikes[0], dtype=int) + k * n for k, s in enumerate(specs)])
        times = np.concatenate([np.asarray(s.spikes[1], dtype=np.float64) for s in specs])
        return GroupSpec(spikes=(indices, times))
    for attr in ("equations", "threshold", "reset", "method", "events"):
        values = [getattr(s, attr) for s in specs]
        if any(v != values[0] for v in values[1:]):
            raise PackError(f"population '{name}': its model's {attr} differ between copies")
    if not _all_same([s.refractory for s in specs]):
        raise PackError(f"population '{name}': its refractory period differs between copies")
    shared = set(_shared_variables(first.equations))
    namespace, constants = {}, {}
    for key in first.namespace:
        values = [s.namespace.get(key) for s in specs]
        if _all_same(values):
            namespace[key] = values[0]
        else:
            constants[key] = _per_element(values, [n] * K, f"population '{name}': parameter '{key}'")
    equations = "\n".join([code(first.equations), f"{COPY} : integer (constant)", f"{INDEX} : integer (constant)"]
                          + [_declaration(k, v) for k, v in constants.items()])
    initial = {COPY: np.repeat(np.arange(K), n), INDEX: np.tile(np.arange(n), K), **constants}
    for var in first.initial:
        values = [s.initial.get(var) for s in specs]
        if var in shared and not _all_same(values):
            raise PackError(f"population '{name}': the shared variable {var} starts at different values in "
                            "different copies")
        initial[var] = _merge_value(values, [n] * K, code, f"population '{name}': initial value of {var}")
    operations = [replace(op, code=code(op.code)) for op in first.operations]
    return GroupSpec(equations=equations, threshold=code(first.threshold), reset=code(first.reset),
                     refractory=code(first.refractory) if isinstance(first.refractory, str) else first.refractory,
                     method=first.method, events={e: code(c) for e, c in first.events.items()}, namespace=namespace,
                     initial=initial, operations=operations)


def _merge_value(values, counts, code, what):
    """A description value (initial value, weight, delay) of the packed network from the copies'."""
    if all(isinstance(v, str) for v in values) and _all_same(values):
        return code(values[0], what)
    if _all_same(values) and np.ndim(values[0]) == 0:
        return values[0]
    return _per_element(values, counts, what)


def _offset_links(name, pops, layout):
    links = {}
    for var, (source, source_var, *index) in pops[0].links.items():
        if index:
            n = layout.sizes[source]
            index = [np.concatenate([np.asarray(p.links[var][2], dtype=int) + k * n for k, p in enumerate(pops)])]
        links[var] = (source, source_var, *index)
    return links


def _explicit(conn, n_pre, n_post):
    """The (i, j) arrays of a connection with p = 1 that the description fixes, else None."""
    if conn.i is not None:
        i, j = np.broadcast_arrays(np.asarray(conn.i, dtype=int), np.asarray(conn.j, dtype=int))
        return i.ravel(), j.ravel()
    if conn.p < 1:
        return None
    if conn.connect == "all":  # Brian2's order: presynaptic-major
        return np.repeat(np.arange(n_pre), n_post), np.tile(np.arange(n_post), n_pre)
    if conn.connect == "one_to_one":
        m = min(n_pre, n_post)
        return np.arange(m), np.arange(m)
    return None


def _merge_connection(name, conns, layout, codes, generators):
    first = conns[0]
    n_pre, n_post = layout.sizes[first.source], layout.sizes[first.target]
    code = codes[name]
    for attr in ("connect", "p", "effect", "summed", "model", "on_post", "method", "on_event", "order", "orders"):
        values = [getattr(c, attr) for c in conns]
        if any(v != values[0] for v in values[1:]):
            raise PackError(f"connection '{name}': its {attr} differs between copies")
    pairs = [_explicit(c, n_pre, n_post) for c in conns]
    counts = [None if p is None else len(p[0]) for p in pairs]
    layout.synapses[name] = counts
    fields = {}
    if pairs[0] is not None:
        fields["i"] = np.concatenate([p[0] + k * n_pre for k, p in enumerate(pairs)])
        fields["j"] = np.concatenate([p[1] + k * n_post for k, p in enumerate(pairs)])
    else:
        if first.source in generators:
            raise PackError(f"connection '{name}': a connect rule with p < 1 or a condition from the spike "
                            f"generator '{first.source}' cannot be kept within copies")
        condition = {"all": "True", "one_to_one": f"{INDEX}_pre == {INDEX}_post"}.get(first.connect)
        condition = condition or code(first.connect, f"connections.{name}.connect")
        fields["connect"] = f"{COPY}_pre == {COPY}_post and ({condition})"
    for attr in ("weight", "delay"):
        values = [getattr(c, attr) for c in conns]
        fields[attr] = None if values[0] is None else _merge_value(values, counts, code, f"connection '{name}': {attr}")
    initial = {var: _merge_value([c.initial.get(var) for c in conns], counts, code,
                                 f"connection '{name}': initial value of {var}") for var in first.initial}
    namespace = {}
    for key in first.namespace:
        values = [c.namespace.get(key) for c in conns]
        if not _all_same(values):
            raise PackError(f"connection '{name}': the namespace value '{key}' differs between copies")
        namespace[key] = values[0]
    effect = ({k: code(v) for k, v in first.effect.items()} if isinstance(first.effect, dict) else code(first.effect))
    code_blocks = [first.on_post] + (list(first.effect.values()) if isinstance(first.effect, dict) else [first.effect])
    dependent = _activity_dependent(first.model, code_blocks)
    if dependent:
        raise PackError(f"connection '{name}': the shared variable(s) {', '.join(dependent)} depend on the synapses' "
                        "state: one value for the whole packed connection, which the copies would share")
    return replace(first, model=code(first.model), effect=effect, summed=code(first.summed),
                   on_post=code(first.on_post), namespace=namespace, initial=initial, **fields)


def _merge_record(rec, layout, copies):
    K = layout.copies
    if rec.kind == "spikes":
        if rec.indices is not True:
            layout.spike_subsets[rec.name] = int(rec.indices)
        return replace(rec, indices=True)
    if rec.indices is True or (rec.kind == "weights" and (not rec.indices or rec.dt is None)):
        return replace(rec)
    local = list(range(rec.indices)) if isinstance(rec.indices, int) and not isinstance(rec.indices, bool) \
        else [int(x) for x in rec.indices]
    counts = ([layout.sizes[rec.source]] * K if rec.source in layout.sizes else layout.synapses[rec.source])
    if any(c is None for c in counts):
        raise PackError(f"{rec.origin or rec.name}: the recorded synapse indices of connection '{rec.source}' "
                        "cannot be placed per copy before connecting (p < 1 or a connect condition)")
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return replace(rec, indices=[i + int(o) for o in offsets for i in local])


def merge(ctxs, plastic, pop_namespaces, ctx):
    """Fill ``ctx``, a new build context of the first copy's scenario, as the packed context of the
    copies' contexts ``ctxs`` (each described and its rules composed: ``plastic[k]`` the composed synapse
    code per connection, ``pop_namespaces[k]`` the rules' neuron-side parameters per population). Returns
    ``(ctx, plastic, pop_namespace, layout)`` for the builder."""
    _check_structure(ctxs)
    first = ctxs[0]
    K = len(ctxs)
    layout = Layout(K, {name: pop.size for name, pop in first.net.populations.items()}, {})
    namespace, tables = _merged_namespace(ctxs, layout)
    ctx.namespace = namespace
    ctx.signals = dict(first.signals)
    ctx.extra_events = first.extra_events
    if any(c.runtime_values != first.runtime_values for c in ctxs[1:]):
        raise PackError("run-time parameters differ between copies; pack them with runtime_parameters off")
    ctx.runtime_values = list(first.runtime_values)
    generators = set()
    codes = {}
    net = NetworkDescription()
    specs = {}
    for kind, name in first.net.order:
        if kind == "population":
            pops = [c.net.populations[name] for c in ctxs]
            specs[name] = [p.definition.group(name, p.size, p.params, c) for p, c in zip(pops, ctxs)]
            if specs[name][0].spikes is not None:
                generators.add(name)
            codes[name] = _Code(name, layout, tables)
        else:
            conn = first.net.connections[name]
            codes[name] = _Code(name, layout, tables, conn.source, conn.target, conn.source in generators)
    # neuron-side rule parameters: equal ones stay in the namespace, differing ones become variables
    pop_ns = {}
    for name in first.net.populations:
        pop_ns[name] = {}
        for key in pop_namespaces[0][name]:
            values = [ns[name][key] for ns in pop_namespaces]
            if _all_same(values):
                pop_ns[name][key] = values[0]
            else:
                pop_ns[name].setdefault("__per_neuron__", {})[key] = _per_element(
                    values, [layout.sizes[name]] * K, f"population '{name}': rule parameter '{key}'")
    extra_equations = {}
    for name in first.net.populations:
        lines = [first.extra_equations.get(name, [])] + [c.extra_equations.get(name, []) for c in ctxs[1:]]
        if any(x != lines[0] for x in lines[1:]):
            raise PackError(f"population '{name}': the equations rules and the task add differ between copies")
        extra_equations[name] = [codes[name](line) for line in lines[0]]
    merged_plastic = {}
    for cname in plastic[0]:
        conn = first.net.connections[cname]
        parts = [p[cname] for p in plastic]
        for attr in ("model", "on_pre", "on_post", "method"):
            if any(p[attr] != parts[0][attr] for p in parts[1:]):
                raise PackError(f"connection '{cname}': the code of its rules differs between copies")
        common, subst = {}, {}
        for key, value in parts[0]["namespace"].items():
            values = [p["namespace"][key] for p in parts]
            if _all_same(values):
                common[key] = value
                continue
            # a per-connection rule parameter: a variable of the target's neurons, read as ..._post
            var = f"pk_{cname}_{key}"
            per = _per_element(values, [layout.sizes[conn.target]] * K, f"connections.{cname}: parameter '{key}'")
            pop_ns[conn.target].setdefault("__per_neuron__", {})[var] = per
            subst[key] = f"{var}_post"
        from brian2.utils.stringtools import word_substitute

        code = codes[cname]
        merged_plastic[cname] = {**parts[0], "namespace": common,
                                 **{a: code(word_substitute(parts[0][a], subst) if subst else parts[0][a])
                                    for a in ("model", "on_pre", "on_post")}}
    for kind, name in first.net.order:
        if kind == "population":
            pops = [c.net.populations[name] for c in ctxs]
            spec0 = specs[name][0]
            writers = ([op.code for op in spec0.operations] + [spec0.reset or ""] + first.extra_reset.get(name, [])
                       + [op.code for op in first.net.operations.values() if op.target == name])
            dependent = _activity_dependent("\n".join([spec0.equations or ""] + first.extra_equations.get(name, [])),
                                            writers)
            if dependent:
                raise PackError(f"population '{name}': the shared variable(s) {', '.join(dependent)} depend on the "
                                "neurons' state: one value for the whole packed group, which the copies would share")
            shared = set(_shared_variables(spec0.equations))
            for var in pops[0].initial:
                if var in shared and not _all_same([p.initial.get(var) for p in pops]):
                    raise PackError(f"population '{name}': the shared variable {var} starts at different values in "
                                    "different copies")
            spec = _merge_spec(name, specs[name], layout, codes[name])
            per_neuron = pop_ns[name].pop("__per_neuron__", {})
            initial = dict(per_neuron)
            for var in pops[0].initial:
                initial[var] = _merge_value([p.initial.get(var) for p in pops], [layout.sizes[name]] * K,
                                            codes[name], f"population '{name}': initial value of {var}")
            extra_equations[name] += [_declaration(var, value) for var, value in per_neuron.items()]
            net.add(replace(pops[0], size=pops[0].size * K, definition=_PackedModel(pops[0].definition, spec),
                            initial=initial, links=_offset_links(name, pops, layout)))
        else:
            net.add(_merge_connection(name, [c.net.connections[name] for c in ctxs], layout, codes, generators))
    for op_name, op in first.net.operations.items():
        if any(c.net.operations[op_name].code != op.code for c in ctxs[1:]):
            raise PackError(f"operation '{op_name}': its code differs between copies")
        net.add(replace(op, code=codes[op.target](op.code, f"operation {op_name}")))
    for rec in first.net.records:
        net.add(_merge_record(rec, layout, ctxs))
    ctx.net = net
    ctx.extra_equations.update(extra_equations)
    ctx.extra_reset.update({pop: [codes[pop](line) for line in lines] for pop, lines in first.extra_reset.items()})
    return ctx, merged_plastic, pop_ns, layout


# --------------------------------------------------------------------------------------------------
# the recorded arrays of one copy


def split(files, layout, k):
    """The arrays of copy ``k`` from ``files`` (:func:`spikelearn.results.recorder_arrays` of the packed
    network): the same file names and arrays as a separate run of the copy would save."""
    out = {}
    for filename, (kind, source, arrays) in files.items():
        if kind == "spikes":
            n = layout.sizes[source]
            first_n = layout.spike_subsets.get(filename[len("spikes_"):-len(".npz")], n)
            i = arrays["i"].astype(np.int64)
            keep = (i // n == k) & (i % n < first_n)
            out[filename] = {**arrays, "i": (i[keep] - k * n).astype(np.int32), "t": arrays["t"][keep], "N": first_n}
        elif kind == "state":
            lo, hi = _element_range(layout, source, k, arrays)
            rows = (arrays["index"] >= lo) & (arrays["index"] < hi)
            out[filename] = {name: (a[rows] - lo if name == "index" else a[rows] if a.ndim == 2 else a)
                             for name, a in arrays.items()}
            out[filename]["t"] = arrays["t"]
        else:
            conn_pre = layout.sizes[source[0]]
            n_post = layout.sizes[source[1]]
            i = arrays["i"].astype(np.int64)
            mine = i // conn_pre == k
            first = int(np.argmax(mine)) if mine.any() else 0
            part = {"i": (i[mine] - k * conn_pre).astype(np.int32),
                    "j": (arrays["j"][mine].astype(np.int64) - k * n_post).astype(np.int32),
                    "w_initial": arrays["w_initial"][mine], "w_final": arrays["w_final"][mine],
                    "_unit_w": arrays["_unit_w"]}
            if "trace_index" in arrays:
                count = int(mine.sum())
                rows = (arrays["trace_index"] >= first) & (arrays["trace_index"] < first + count)
                part.update(t=arrays["t"], trace_index=arrays["trace_index"][rows] - first,
                            w_trace=arrays["w_trace"][rows])
            out[filename] = part
    return out


def _element_range(layout, source, k, arrays):
    if source in layout.sizes:
        n = layout.sizes[source]
        return k * n, (k + 1) * n
    counts = layout.synapses[source]
    offsets = np.concatenate([[0], np.cumsum(counts)])
    return int(offsets[k]), int(offsets[k + 1])
