"""Brian2-expression parameters of the spiking neuron models (``lif_cur``, ``lif_cond_ei``, ``adex``,
``izhikevich``).

A parameter of kind ``"code"`` is a Brian2 expression rather than one number: an injected current
``I = "(0.2 + 0.1*i)*nA"`` gives each neuron its own current (an f-I curve in one population), and
``I = "0.5*nA*int(t > 100*ms)"`` a current step. The builder passes only numbers and quantities to
``Model.create``; the expressions are read from the scenario's parsed population.
"""

from spikelearn.plugin import Model

__all__ = ["ExpressionModel"]


class ExpressionModel(Model):
    """A NeuronGroup model with expression parameters.

    ``subexpressions`` maps a ``code`` parameter to its unit: it becomes ``name = <code> : unit
    (constant over dt)``, evaluated every time step (it may use ``t`` and ``i``). ``per_neuron`` maps a
    ``code`` parameter to its unit: it becomes the per-neuron constant ``name : unit (constant)``, set
    once from the code before ``initial`` is applied (it may use ``i`` and ``rand()``).
    """

    subexpressions: dict = {}
    per_neuron: dict = {}

    def code_values(self, name, params, ctx):
        """The Brian2 code of each expression parameter of population ``name``."""
        scenario = getattr(ctx, "scenario", None)
        given = scenario.populations[name].params if scenario is not None and name in scenario.populations else {}
        values = {}
        for pname in (*self.subexpressions, *self.per_neuron):
            value = given.get(pname, params.get(pname, self.parameters[pname].default))
            values[pname] = value if isinstance(value, str) else repr(float(value))
        return values

    def create(self, name, size, params, extra_equations, extra_reset, ctx):
        from brian2 import NeuronGroup

        code = self.code_values(name, params, ctx)
        lines = [self.equations]
        lines += [f"{p} = {code[p]} : {unit} (constant over dt)" for p, unit in self.subexpressions.items()]
        lines += [f"{p} : {unit} (constant)" for p, unit in self.per_neuron.items()]
        namespace = {k: v for k, v in params.items() if k not in code}
        reset = "\n".join(s for s in (self.reset or "", extra_reset) if s.strip()) or None
        group = NeuronGroup(size, "\n".join(lines) + "\n" + extra_equations, threshold=self.threshold,
                            reset=reset, refractory=self.refractory, method=self.method,
                            namespace=namespace, name=name)
        for pname in self.per_neuron:
            setattr(group, pname, code[pname])
        for var, expr in self.initial.items():
            setattr(group, var, expr)
        return group
