"""Linear Hawkes (Poisson) neuron with Poisson-like internal variability of its recurrent input.

Discrete time, step ``dt`` (Zhang, Wu, Josić & Doiron 2023; the authors' ``simHawkesNet.m``). A
spike in step n reaches ``x_rec`` (the filtered recurrent input: ``x_rec <- exp(-dt/tau_syn)*x_rec +
u_in``, ``u_in`` the summed weights of the step's presynaptic spikes, in expected extra spikes) in the
same step and raises the spike probability from step n+1 on. The per-step recurrent probability is
``p_rec``; a neuron spikes with probability ``p_fwd + p_rec + rate_bkg*dt`` (a negative value gives no
spike, so at most one spike per step). Two orderings of the internal variability (``ordering``):

- ``"filter_then_noise"`` (the default; the authors' newest code, commit ce3dffc of 2021-10-06): the input
  is filtered first, ``p_rec = x_rec*dt/tau_syn + sqrt(fano*[x_rec*dt/tau_syn]_+)*N(0, 1)``: the noise is on the
  per-step probability and is not carried over to the next step;
- ``"noise_before_filter"`` (their first version, 85a3904 of 2021-02-05, kept as the named variant the
  negative controls use): the arriving input receives it, ``u_in <- u_in + sqrt(fano*[u_in]_+)*N(0, 1)``,
  before the filter; ``p_rec = x_rec*dt/tau_syn``.

``tref`` is an absolute refractory period (default 2 ms, the newest code's; the first version had none).
The newest rule is defined together with ``dt = 0.1 ms``: its per-step noise is rectified by the spike draw,
so rates depend on ``dt`` (``docs/papers/zhang2023-authors-code.md`` §6). The
feedforward input (``feedforward``) is either the frozen per-neuron rate ``rate_fwd`` (``"rate"``:
``p_fwd = rate_fwd*dt``, the authors' ``bSample_ufwd = 0``) or Bernoulli spikes at that rate filtered like
the recurrent input (``"spikes"``: ``x_fwd <- exp(-dt/tau_syn)*x_fwd + spike``, ``p_fwd = x_fwd*dt/tau_syn``,
their ``bSample_ufwd = 1``). ``z_int`` accumulates ``p_rec`` (the sample z of the recurrent input, noisy in
the newest ordering as in the authors' code), so that the recurrent-input population vector of any time
window is a difference of two recorded values.

The variability rule and the filters run as Brian2 code (``run_regularly`` in the ``after_synapses``
slot of every step). ``rate_fwd`` (the frozen feedforward rate), ``preferred`` (the preferred stimulus,
degrees; 0 for inhibitory neurons), ``is_exc`` and ``copy`` (which network copy a neuron belongs to) are
per-neuron constants set by the task.
"""

from spikelearn.network import GroupSpec, Operation
from spikelearn.plugin import Model, Param, constants

__all__ = ["PoissonHawkes", "VARIABILITY_CODE", "ORDERINGS"]

#: The internal variability and the filter of each ordering, run after the synapses in every step.
VARIABILITY_CODE = {
    "filter_then_noise": """
x_rec = exp(-dt/tau_syn)*x_rec + u_in
u_in = 0
p_rec = x_rec*dt/tau_syn
p_rec = p_rec + sqrt(fano*clip(p_rec, 0, inf))*randn()
z_int = z_int + p_rec
""",
    "noise_before_filter": """
u_in = u_in + sqrt(fano*clip(u_in, 0, inf))*randn()
x_rec = exp(-dt/tau_syn)*x_rec + u_in
u_in = 0
p_rec = x_rec*dt/tau_syn
z_int = z_int + p_rec
""",
}
ORDERINGS = tuple(VARIABILITY_CODE)
FEEDFORWARD_SPIKES = "x_fwd = exp(-dt/tau_syn)*x_fwd + int(rand() < rate_fwd*dt)\n"


class PoissonHawkes(Model):
    name = "poisson_hawkes"
    description = "Linear Hawkes (Poisson) neuron; recurrent input with Poisson-like internal variability"
    reference = "Zhang, Wu, Josic & Doiron (2023) Nat. Commun. 14:7074"
    kind = "neuron"
    parameters = {
        "tau_syn": Param("2*ms", "decay time constant of the filtered inputs x_rec (and x_fwd)"),
        "fano": Param("1.0", "Fano factor F of the internal variability, sqrt(F*u_+)*N(0,1)", min=0),
        "rate_bkg": Param("0*Hz", "background rate added to every neuron"),
        "ordering": Param("filter_then_noise", "where the internal variability enters: 'filter_then_noise' (the "
                          "authors' newest code: on the filtered per-step probability) or 'noise_before_filter' "
                          "(their first version: on the arriving input)", kind="str", choices=ORDERINGS),
        "tref": Param("2*ms", "absolute refractory period (the authors' newest code: 2 ms; first version: none)"),
        "feedforward": Param("rate", "'rate': the frozen rate rate_fwd (bSample_ufwd = 0); 'spikes': Bernoulli spikes "
                             "at that rate, filtered like the recurrent input (bSample_ufwd = 1)", kind="str",
                             choices=("rate", "spikes")),
    }
    threshold = "rand() < p_fwd + p_rec + rate_bkg*dt"
    reset = None
    method = "euler"
    initial = {}
    synaptic_effect = "u_in_post += w"

    def group(self, name, size, params, ctx):
        """The neurons plus the variability/filter block (run regularly, after synapses)."""
        spikes = params.get("feedforward", "rate") == "spikes"
        equations = "\n".join([
            "rate_fwd : Hz (constant)", "u_in : 1", "x_rec : 1", "p_rec : 1", "z_int : 1",
            "x_fwd : 1\np_fwd = x_fwd*dt/tau_syn : 1" if spikes else "p_fwd = rate_fwd*dt : 1",
            "rate = (p_fwd + p_rec)/dt + rate_bkg : Hz",
            "preferred : 1 (constant)", "is_exc : 1 (constant)", "copy : integer (constant)"])
        code = (FEEDFORWARD_SPIKES if spikes else "") + VARIABILITY_CODE[params.get("ordering", ORDERINGS[0])]
        tref = params.get("tref")
        refractory = tref if tref is not None and float(tref) > 0 else False
        return GroupSpec(equations=equations, threshold=self.threshold, refractory=refractory, method=self.method,
                         namespace=constants(params),
                         operations=[Operation(f"{name}_variability", "", code, when="after_synapses")])
