"""The neuron of the COBA benchmark network (Vogels & Abbott 2005; benchmark 1 of Brette et al. 2007), as a
single-file spikelearn plugin: ``spikelearn run bench/scenarios/coba_stdp.toml --plugin bench/coba_model.py``.

LIF with excitatory and inhibitory conductances in units of the leak conductance (g_L = 10 nS, so
6 nS -> 0.6 and 67 nS -> 6.7), a 5 ms refractory period and random initial potentials.
"""

from spikelearn.plugin import Model, Param

__all__ = ["LIFConductanceEI"]


class LIFConductanceEI(Model):
    # not "lif_cond_ei": that name is a built-in model now (exponential Euler, v starts at E_l)
    name = "lif_cond_ei_coba"
    description = "LIF with excitatory and inhibitory conductances (COBA benchmark neuron)"
    reference = "Vogels & Abbott (2005) J. Neurosci. 25:10786; Brette et al. (2007) J. Comput. Neurosci. 23:349"
    parameters = {
        "tau_m": Param("20*ms", "membrane time constant"),
        "tau_e": Param("5*ms", "excitatory conductance decay"),
        "tau_i": Param("10*ms", "inhibitory conductance decay"),
        "E_l": Param("-60*mV", "leak reversal potential"),
        "E_e": Param("0*mV", "excitatory reversal potential"),
        "E_i": Param("-80*mV", "inhibitory reversal potential"),
        "v_t": Param("-50*mV", "spike threshold"),
        "v_r": Param("-60*mV", "reset potential"),
        "t_ref": Param("5*ms", "refractory period"),
    }
    equations = """
    dv/dt = (ge*(E_e - v) + gi*(E_i - v) + E_l - v)/tau_m : volt (unless refractory)
    dge/dt = -ge/tau_e : 1
    dgi/dt = -gi/tau_i : 1
    """
    threshold = "v > v_t"
    reset = "v = v_r"
    refractory = "t_ref"
    method = "euler"
    initial = {"v": "v_r + rand()*(v_t - v_r)"}
    synaptic_effect = "ge_post += w"
