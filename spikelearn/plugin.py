"""The contracts of the three kinds of plugins: neuron models, plasticity rules and tasks.

Each plugin is a small declarative class. The registry (:mod:`spikelearn.registry`) validates it when it
is loaded; the builder (:mod:`spikelearn.build`) turns it into Brian2 objects. Nothing here runs inside
the simulation loop: all dynamics are Brian2 code strings, so a scenario runs the same on every device.

A plasticity rule, in full::

    class AdditiveSTDP(PlasticityRule):
        name = "stdp_additive"
        description = "Pair-based additive STDP with hard bounds"
        reference = "Song, Miller & Abbott (2000) Nat. Neurosci. 3:919"
        parameters = {
            "tau_pre": Param("20*ms", "decay of the presynaptic trace"),
            "tau_post": Param("20*ms", "decay of the postsynaptic trace"),
            "A_pre": Param("0.01", "potentiation step, in units of wmax"),
            "depression_ratio": Param("1.05", "A_post = -depression_ratio * A_pre * tau_pre / tau_post"),
            "wmax": Param("0.01", "upper weight bound"),
        }
        model = '''dApre/dt = -Apre/tau_pre : 1 (event-driven)
                   dApost/dt = -Apost/tau_post : 1 (event-driven)'''
        on_pre = '''Apre += A_pre*wmax
                    w = clip(w + Apost, 0, wmax)'''
        on_post = '''Apost += -depression_ratio*A_pre*wmax*tau_pre/tau_post
                     w = clip(w + Apre, 0, wmax)'''

The framework declares the weight ``w : 1`` and adds the synaptic effect on the target (e.g.
``ge_post += w``); the rule only says how ``w`` changes.
"""

from dataclasses import dataclass, field

__all__ = [
    "Param",
    "NeuronVar",
    "PlasticityRule",
    "Model",
    "Task",
    "Claim",
    "TaskOutcome",
]


@dataclass(frozen=True)
class Param:
    """A declared parameter: its default and what it means.

    ``default`` is a number or a string Brian2 parses (``"20*ms"``); its units are the units the
    parameter must have. ``kind`` is ``"quantity"`` (default), ``"int"``, ``"bool"``, ``"str"``,
    ``"list"`` or ``"code"`` (a Brian2 expression passed through unevaluated, e.g. ``"rand()*wmax"``).
    ``choices`` restricts a ``str`` parameter. ``min`` and ``max`` bound a number (inclusive, in SI
    base units: ``Param("0.5", "a probability", min=0, max=1)``); ``positive=True`` asks for > 0. A
    quantity without declared bounds is bounded by its units: times and rates must be >= 0, time
    constants (``tau...``), periods, capacitances and resistances > 0. Every quantity must be finite.
    Bounds apply to values given as numbers or quantities, not to Brian2 expressions (``"rand()*wmax"``).
    """

    default: object
    doc: str
    kind: str = "quantity"
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    positive: bool = False


#: model kinds whose group is a NeuronGroup, which can hold the variables rules and tasks add
HOLDS_VARIABLES = ("neuron", "poisson")
HOLD_HINT = ("use a population of model 'poisson' (Poisson spikes in a NeuronGroup) or a neuron model for it, "
             "or a rule that keeps its traces on the synapses")


@dataclass(frozen=True)
class NeuronVar:
    """A variable a plasticity rule needs on the pre- or postsynaptic neurons.

    ``equation`` is one Brian2 equation line defining it (``"dr/dt = -r/tau_r : 1"``);
    ``on_spike`` is code appended to the neuron's reset (``"r += 1"``). The builder renames the variable
    per connection (``r`` becomes ``r_<connection>``), so two connections with different parameters onto
    the same population never share it; the rule refers to it as ``r_post`` / ``r_pre`` as usual. A
    population of a neuron model or of ``poisson`` inputs can hold it (`HOLDS_VARIABLES`). An equation
    linear in its own variable alone (``dr/dt = -r/tau_r``) is integrated exactly, whatever the neuron
    model's method: ``r`` decays by ``exp(-dt/tau_r)`` per step.
    """

    equation: str
    on_spike: str = ""


class PlasticityRule:
    """Base class of plasticity plugins (see the module docstring for a complete example).

    Attributes
    ----------
    name, description, reference : str
    parameters : dict[str, Param]
        Every name used in the code below that is not a variable. Unknown parameters in a scenario are
        errors; every declared parameter must appear in the code.
    model, on_pre, on_post : str
        Brian2 synapse code. ``w`` (the weight) is declared by the framework.
    pre_variables, post_variables : dict[str, NeuronVar]
        Neuron-side variables the rule reads as ``<name>_pre`` / ``<name>_post``.
    signals : tuple[str]
        Global signals read by name (``reward``, ``wake``, ``osc``, ...), supplied by the schedule or the
        task. The builder replaces each name by the Brian2 expression that provides it.
    method : str or None
        Integration method for clock-driven synapse equations.
    bounds : tuple or None
        The interval the rule keeps ``w`` in, each end a number, a declared parameter's name or None
        (unbounded): ``(0, "wmax")``, ``("wmin", "wmax")``, ``(None, None)``. The contract kit checks the
        weights stay inside it. Default None: ``(0, "wmax")`` when the rule declares ``wmax``, else not
        checked.
    """

    name = ""
    description = ""
    reference = ""
    parameters: dict = {}
    model = ""
    on_pre = ""
    on_post = ""
    pre_variables: dict = {}
    post_variables: dict = {}
    signals: tuple = ()
    method = None
    bounds = None

    def weight_bounds(self):
        """``(low, high)`` as declared by :attr:`bounds` (or inferred), ends as numbers, parameter names or
        None; None when the rule declares no bounds."""
        if self.bounds is not None:
            return tuple(self.bounds)
        return (0, "wmax") if "wmax" in self.parameters else None

    def reference_update(self, params, **inputs):
        """Optional pure-NumPy reference of the update, used by the contract checks.

        ``params`` maps parameter names to floats (SI units); ``inputs`` depend on the check
        (e.g. ``pre_times``, ``post_times``, ``w0``, ``dt``, ``duration``). Returns the final weights.
        """
        raise NotImplementedError(f"plasticity rule '{self.name}' has no NumPy reference")


class Model:
    """Base class of neuron models.

    ``kind`` selects the Brian2 group: ``"neuron"`` (a NeuronGroup from ``equations``), ``"poisson"``,
    ``"spike_generator"`` (explicit spike times). ``synaptic_effect`` is the default ``on_pre`` effect of
    a connection targeting this model (``"ge_post += w"``), ``initial`` the initial values (Brian2 code,
    parameters may be used), ``events`` custom events (name -> condition) besides the spike. Subclasses
    override :meth:`group` when the equations depend on the parameters.
    """

    name = ""
    description = ""
    reference = ""
    kind = "neuron"
    parameters: dict = {}
    equations = ""
    threshold = None
    reset = None
    refractory = False
    method = "euler"
    initial: dict = {}
    synaptic_effect = ""
    events: dict = {}

    @classmethod
    def from_code(cls, name, equations, threshold=None, reset=None, refractory=False, method="euler",
                  parameters=None, initial=None, synaptic_effect="", description="", reference="", events=None):
        """A neuron model from Brian2 code, without a class statement: what a scenario's ``[models.X]``
        table and a task's own populations use. ``parameters`` maps names to `Param`; ``events`` maps
        custom event names to their conditions (Brian2's ``events``)."""
        attrs = {"name": name, "kind": "neuron", "equations": equations, "threshold": threshold, "reset": reset,
                 "refractory": refractory, "method": method, "parameters": dict(parameters or {}),
                 "initial": dict(initial or {}), "synaptic_effect": synaptic_effect, "description": description,
                 "reference": reference, "events": dict(events or {})}
        return type(f"Model_{name}", (cls,), attrs)()

    def group(self, name, size, params, ctx):
        """What the builder creates for population ``name`` (``size`` neurons): a
        `spikelearn.network.GroupSpec` (data; the model never creates Brian2 objects).

        ``params`` holds every parameter of the population, parsed (numbers, quantities, strings, lists);
        ``ctx`` is the build context (``ctx.dt``, ``ctx.duration``, ``ctx.spike_inputs``, ...) or None
        when a group is made outside a scenario. The builder adds the equations and reset code of
        plasticity rules and tasks, and the global namespace. This default is the class attributes, with
        numbers and quantities of ``params`` as the namespace; override it when the equations depend on
        the parameters or the group runs code regularly.
        """
        from .network import GroupSpec

        return GroupSpec(equations=self.equations, threshold=self.threshold, reset=self.reset,
                         refractory=self.refractory, method=self.method, events=dict(self.events),
                         namespace=constants(params), initial=dict(self.initial))


def constants(params):
    """The parameters usable in Brian2 code: numbers and quantities (not strings, lists or flags)."""
    return {k: v for k, v in params.items() if not isinstance(v, (str, list, tuple, bool))}


@dataclass
class Claim:
    """A pass/fail statement of a task with the number behind it."""

    name: str
    statement: str
    value: object
    threshold: object
    passed: bool

    def as_dict(self):
        return {
            "name": self.name,
            "statement": self.statement,
            "value": self.value,
            "threshold": self.threshold,
            "passed": bool(self.passed),
        }


@dataclass
class TaskOutcome:
    """What a task's evaluation returns: metrics (name -> number or small list) and claims."""

    metrics: dict = field(default_factory=dict)
    claims: list = field(default_factory=list)


class Task:
    """Base class of tasks: inputs, readouts, metrics, claims and task figures.

    Hooks, all optional:

    - :meth:`prepare` (before any group exists): add populations, connections, operations and records to
      the network description ``ctx.net`` (:mod:`spikelearn.network`; a task never creates Brian2
      objects), TimedArrays and constants to ``ctx.namespace``, spike times for spike-generator
      populations to ``ctx.spike_inputs``, global signals to ``ctx.signals``, extra equations to
      ``ctx.extra_equations[population]``, arrays and per-neuron attributes to save with
      ``ctx.save_array``/``ctx.save_attributes``.
    - :meth:`evaluate` (after the run, from the run directory only): metrics and claims.
    - :meth:`figures` (after evaluate): task figures written to ``outdir``; returns their paths.
    """

    name = ""
    description = ""
    reference = ""
    parameters: dict = {}

    def prepare(self, ctx):
        pass

    def evaluate(self, result):
        return TaskOutcome()

    def figures(self, result, outdir):
        return []
