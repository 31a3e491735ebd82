"""Brian2-expression parameters of the spiking neuron models (``lif_cur``, ``lif_cond_ei``, ``adex``,
``izhikevich``).

A parameter of kind ``"code"`` is a Brian2 expression rather than one number: an injected current
``I = "(0.2 + 0.1*i)*nA"`` gives each neuron its own current (an f-I curve in one population), and
``I = "0.5*nA*int(t > 100*ms)"`` a current step.
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

    def code_values(self, params):
        """The Brian2 code of each expression parameter, from the population's parsed ``params``."""
        code = {}
        for pname in (*self.subexpressions, *self.per_neuron):
            value = params.get(pname, self.parameters[pname].default)
            code[pname] = value if isinstance(value, str) else repr(float(value))
        return code

    def group(self, name, size, params, ctx):
        code = self.code_values(params)
        lines = [self.equations]
        lines += [f"{p} = {code[p]} : {unit} (constant over dt)" for p, unit in self.subexpressions.items()]
        lines += [f"{p} : {unit} (constant)" for p, unit in self.per_neuron.items()]
        spec = super().group(name, size, params, ctx)
        spec.equations = "\n".join(lines)
        spec.namespace = {k: v for k, v in spec.namespace.items() if k not in code}
        spec.initial = {**{p: code[p] for p in self.per_neuron}, **spec.initial}
        return spec
