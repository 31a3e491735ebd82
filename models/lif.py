"""Leaky integrate-and-fire neuron with conductance-based excitatory input.

The membrane relaxes to ``El`` with time constant ``tau_m``; an excitatory conductance ``ge``
(dimensionless, in units of the leak conductance) drives it towards ``Ee`` and decays with ``tau_e``.
This is the neuron of Song, Miller & Abbott (2000) as written in Brian2's example of that paper.
"""

from spikelearn.plugin import Model, Param

__all__ = ["LIFConductance"]


class LIFConductance(Model):
    name = "lif_cond"
    description = "LIF neuron with a conductance-based excitatory synapse (ge, in units of the leak)"
    reference = "Song, Miller & Abbott (2000) Nat. Neurosci. 3:919-926"
    parameters = {
        "tau_m": Param("10*ms", "membrane time constant"),
        "tau_e": Param("5*ms", "decay time constant of the excitatory conductance"),
        "E_l": Param("-74*mV", "leak reversal potential"),
        "E_e": Param("0*mV", "excitatory reversal potential"),
        "v_t": Param("-54*mV", "spike threshold"),
        "v_r": Param("-60*mV", "reset potential"),
    }
    equations = """
    dv/dt = (ge*(E_e - v) + E_l - v)/tau_m : volt
    dge/dt = -ge/tau_e : 1
    """
    threshold = "v > v_t"
    reset = "v = v_r"
    method = "euler"
    initial = {"v": "v_r"}
    synaptic_effect = "ge_post += w"
