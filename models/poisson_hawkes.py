"""Linear Hawkes (Poisson) neuron with Poisson-like internal variability of its recurrent input.

Discrete time, step ``dt`` (Zhang, Wu, Josić & Doiron 2023; the authors' ``simHawkesNet.m``):

- the spike probability in a step is ``(rate_fwd + x_rec/tau_syn + rate_bkg)*dt`` (a negative value
  gives no spike, so at most one spike per step);
- the synaptic input arriving in a step, ``u_in`` (sum of the weights of the presynaptic spikes, in
  expected extra spikes), receives internal variability ``u_in <- u_in + sqrt(fano*[u_in]_+)*N(0, 1)``
  and is then filtered, ``x_rec <- exp(-dt/tau_syn)*x_rec + u_in``;
- ``z_int`` accumulates the recurrent drive ``x_rec/tau_syn`` over time, so that the recurrent-input
  population vector of any time window is a difference of two recorded values.

The variability rule and the filter run as Brian2 code (``run_regularly`` in the ``after_synapses``
slot of every step): a spike emitted in step n reaches ``x_rec`` in the same step and raises the spike
probability from step n+1 on, as in the reference code. ``rate_fwd`` (the frozen feedforward rate),
``preferred`` (the preferred stimulus, degrees; 0 for inhibitory neurons), ``is_exc`` and ``copy``
(which network copy a neuron belongs to) are per-neuron constants set by the task.
"""

from spikelearn.network import Operation
from spikelearn.plugin import Model, Param

__all__ = ["PoissonHawkes", "VARIABILITY_CODE"]

#: The internal-variability rule and synaptic filter, run after the synapses in every step.
VARIABILITY_CODE = """
u_in = u_in + sqrt(fano*clip(u_in, 0, inf))*randn()
x_rec = exp(-dt/tau_syn)*x_rec + u_in
u_in = 0
z_int = z_int + x_rec/tau_syn*dt
"""


class PoissonHawkes(Model):
    name = "poisson_hawkes"
    description = "Linear Hawkes (Poisson) neuron; recurrent input with Poisson-like internal variability"
    reference = "Zhang, Wu, Josic & Doiron (2023) Nat. Commun. 14:7074"
    kind = "neuron"
    parameters = {
        "tau_syn": Param("2*ms", "decay time constant of the filtered recurrent input x_rec"),
        "fano": Param("1.0", "Fano factor F of the internal variability u <- u + sqrt(F*u_+)*N(0,1)", min=0),
        "rate_bkg": Param("0*Hz", "background rate added to every neuron"),
    }
    equations = """
    rate_fwd : Hz (constant)
    u_in : 1
    x_rec : 1
    z_int : 1
    u_rec = x_rec/tau_syn : Hz
    rate = rate_fwd + u_rec + rate_bkg : Hz
    preferred : 1 (constant)
    is_exc : 1 (constant)
    copy : integer (constant)
    """
    threshold = "rand() < rate*dt"
    reset = None
    method = "euler"
    initial = {}
    synaptic_effect = "u_in_post += w"

    def group(self, name, size, params, ctx):
        """The neurons plus the variability/filter block (run regularly, after synapses)."""
        spec = super().group(name, size, params, ctx)
        spec.operations.append(Operation(f"{name}_variability", "", VARIABILITY_CODE, when="after_synapses"))
        return spec
