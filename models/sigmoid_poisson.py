r"""A noisy leaky potential with sigmoid-Poisson spiking: the postsynaptic neuron of Bengio et al. (2015).

``sigmoid_poisson``: a dimensionless potential ``V`` (in the units of the sigmoid's argument) integrates
its input current with time constant ``tau_m`` and receives white noise (a Langevin equation),

.. math:: dV = \underbrace{\frac{V_{rest} - V + I_{syn} + I_{ext}}{\tau_m}}_{\texttt{dvdt}}\,dt
          + \sigma\sqrt{2/\tau_m}\, dB ,

so that without input ``V`` is an Ornstein-Uhlenbeck process of stationary SD ``sigma`` around
``V_rest``. It spikes as an inhomogeneous Poisson process of rate
``rate_max / (1 + exp(-gain*(V - theta)))`` (per time step: ``rand() < rate*dt``); spikes do not reset
``V`` (they are read out of it). ``I_syn`` (synaptic input, ``+= w`` per presynaptic spike, decays with
``tau_s``) and ``I_ext`` (a Brian2 expression: a constant, a function of ``t`` or a TimedArray of the
task) are in units of ``V``.

``dvdt`` (a state variable the group sets right after each state update) is the drift of the Langevin
equation at the state the step ends in: the deterministic rate of change of ``V``, i.e. the
net membrane current divided by the capacitance. It is the postsynaptic quantity the 2015 rule
``ΔW ∝ S_pre · dV_post/dt`` (``stdp_dvdt``) reads. The noise term has no derivative (a finite
difference of the sampled ``V`` over one step has a noise part of SD ``sigma*sqrt(2/(tau_m*dt))``,
424 /s in the pairing scenario at dt = 0.1 ms against a largest drift of 636 /s, and growing as
1/sqrt(dt)), so a synapse that could sense the
membrane's rate of change senses the current that charges it: the drift. Integration: Euler-Maruyama
(``euler``, additive noise).
"""

from spikelearn.network import Operation
from spikelearn.plugin import Param

from ._expressions import ExpressionModel

__all__ = ["SigmoidPoisson"]


class SigmoidPoisson(ExpressionModel):
    name = "sigmoid_poisson"
    description = ("Leaky noisy potential V (Langevin), Poisson spikes at rate_max*sigmoid(gain*(V - theta)); "
                   "exposes its drift dvdt")
    reference = "Bengio, Lee, Bornschein, Mesnard & Lin (2015) arXiv:1502.04156, section 2"
    parameters = {
        "tau_m": Param("10*ms", "membrane time constant"),
        "sigma": Param("0.3", "stationary standard deviation of V without input", min=0),
        "V_rest": Param("0.0", "resting potential"),
        "theta": Param("2.0", "midpoint of the sigmoid"),
        "gain": Param("4.0", "slope of the sigmoid", min=0),
        "rate_max": Param("200*Hz", "maximal firing rate"),
        "tau_s": Param("5*ms", "decay of the synaptic input I_syn"),
        "I_ext": Param("0.0", "external input in units of V: a Brian2 expression (may use t, i, TimedArrays)",
                       kind="code"),
    }
    equations = """
    dV/dt = (V_rest - V + I_syn + I_ext)/tau_m + sigma*sqrt(2/tau_m)*xi : 1
    dI_syn/dt = -I_syn/tau_s : 1
    dvdt : Hz
    """
    subexpressions = {"I_ext": "1"}
    threshold = "rand() < rate_max*dt/(1 + exp(-gain*(V - theta)))"
    method = "euler"
    initial = {"V": "V_rest + sigma*randn()"}
    synaptic_effect = "I_syn_post += w"

    def group(self, name, size, params, ctx):
        spec = super().group(name, size, params, ctx)
        # a state variable set right after the state update (groups slot, the group's order + 1), not a
        # subexpression: synapses read dvdt_post without this group's parameters in their namespace, and
        # see the drift of the state the step ends in
        spec.operations.append(Operation(f"{name}_dvdt", "", "dvdt = (V_rest - V + I_syn + I_ext)/tau_m",
                                         when="groups", order=1))
        return spec
