"""Leaky integrate-and-fire neurons.

``lif_cond``: conductance-based excitatory input only, no refractory period. The membrane relaxes to
``El`` with time constant ``tau_m``; an excitatory conductance ``ge`` (dimensionless, in units of the
leak conductance) drives it towards ``Ee`` and decays with ``tau_e``. This is the neuron of Song, Miller
& Abbott (2000) as written in Brian2's example of that paper.

``lif_cur`` and ``lif_cond_ei``: excitation *and* inhibition, a refractory period ``t_ref`` (``v`` is
held at ``v_r`` after a spike) and an injected current ``I`` (a Brian2 expression, in amperes, through the
membrane resistance ``R_m``: ``tau_m dv/dt = E_l - v + R_m I + synaptic terms``). Both follow benchmarks 1
and 2 of Brette et al. (2007) (the networks of Vogels & Abbott 2005):

- ``lif_cur`` (current-based): ``ge`` and ``gi`` are synaptic currents expressed as voltages (current
  times ``R_m``, in volts), decaying with ``tau_e`` and ``tau_i``; ``tau_m dv/dt = ... + ge - gi``. The
  default effect of a connection is ``ge_post += w*mV``: a weight is the jump of ``ge`` in mV; an
  inhibitory connection declares ``effect = "gi_post += w*mV"`` (weights >= 0).
- ``lif_cond_ei`` (conductance-based): ``ge`` and ``gi`` are conductances in units of the leak
  conductance (dimensionless), driving ``v`` towards ``E_e`` and ``E_i``; ``tau_m dv/dt = ... +
  ge (E_e - v) + gi (E_i - v)``. Default effect ``ge_post += w``; inhibition ``effect = "gi_post += w"``.

With constant input the membrane of both is linear between spikes, so they are integrated with
exponential Euler (exact for a constant current or constant conductances over a step).
"""

import numpy as np

from spikelearn.network import Operation
from spikelearn.plugin import Model, Param

from ._expressions import ExpressionModel

__all__ = ["LIFConductance", "LIFCurrentEI", "LIFConductanceEI", "LIFAlphaPoisson"]


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


_LIF_COMMON = {
    "tau_m": Param("20*ms", "membrane time constant"),
    "R_m": Param("100*Mohm", "membrane resistance (the injected current I enters as R_m*I)"),
    "E_l": Param("-60*mV", "leak reversal (resting) potential"),
    "v_t": Param("-50*mV", "spike threshold"),
    "v_r": Param("-60*mV", "reset potential (v is held there during t_ref)"),
    "t_ref": Param("5*ms", "absolute refractory period"),
    "tau_e": Param("5*ms", "decay time constant of the excitatory synaptic variable ge"),
    "tau_i": Param("10*ms", "decay time constant of the inhibitory synaptic variable gi"),
    "I": Param("0*nA", "injected current (amperes): a Brian2 expression, may use i and t "
               "(e.g. '(0.1 + 0.05*i)*nA')", kind="code"),
}


class LIFCurrentEI(ExpressionModel):
    name = "lif_cur"
    description = ("LIF neuron with current-based excitation and inhibition (ge, gi in volts), "
                   "refractory period and injected current I")
    reference = "Brette et al. (2007) J. Comput. Neurosci. 23:349-398, benchmark 2 (CUBA)"
    parameters = dict(_LIF_COMMON)
    equations = """
    dv/dt = (E_l - v + R_m*I + ge - gi)/tau_m : volt (unless refractory)
    dge/dt = -ge/tau_e : volt
    dgi/dt = -gi/tau_i : volt
    """
    subexpressions = {"I": "amp"}
    threshold = "v > v_t"
    reset = "v = v_r"
    refractory = "t_ref"
    method = "exponential_euler"
    initial = {"v": "E_l"}
    synaptic_effect = "ge_post += w*mV"


class LIFConductanceEI(ExpressionModel):
    name = "lif_cond_ei"
    description = ("LIF neuron with conductance-based excitation and inhibition (ge, gi in units of the "
                   "leak), refractory period and injected current I")
    reference = "Brette et al. (2007) J. Comput. Neurosci. 23:349-398, benchmark 1 (COBA)"
    parameters = {
        **_LIF_COMMON,
        "E_e": Param("0*mV", "excitatory reversal potential"),
        "E_i": Param("-80*mV", "inhibitory reversal potential"),
    }
    equations = """
    dv/dt = (E_l - v + ge*(E_e - v) + gi*(E_i - v) + R_m*I)/tau_m : volt (unless refractory)
    dge/dt = -ge/tau_e : 1
    dgi/dt = -gi/tau_i : 1
    """
    subexpressions = {"I": "amp"}
    threshold = "v > v_t"
    reset = "v = v_r"
    refractory = "t_ref"
    method = "exponential_euler"
    initial = {"v": "E_l"}
    synaptic_effect = "ge_post += w"


class LIFAlphaPoisson(Model):
    """NEST's ``iaf_psc_alpha`` with its ``poisson_generator`` background, as the balanced random network
    of Morrison, Aertsen & Diesmann (2007) and NEST's ``hpc_benchmark`` use it.

    The membrane potential ``v`` is relative to rest; synaptic currents are alpha functions of time
    constant ``tau_syn`` (one for excitation and inhibition: the sign is the weight's). A weight ``w`` (in
    pA, the peak of the current) enters as ``y_post += e*w*pA``. Each neuron receives its own Poisson
    background of rate ``eta*nu_th`` events per second, each a current of peak ``J_ext``, where ``nu_th``
    is the rate that alone brings the mean membrane potential to threshold: ``nu_th = theta*C_m/(J_ext
    e tau_m tau_syn)``; it is drawn every step (``poisson``). The equations are linear between events and
    integrated exactly, as NEST does.
    """

    name = "lif_alpha"
    description = ("LIF neuron with alpha-shaped synaptic currents and a Poisson background of eta times "
                   "the threshold rate (NEST iaf_psc_alpha + poisson_generator)")
    reference = "Morrison, Aertsen & Diesmann (2007) Neural Comput. 19:1437-1467; NEST hpc_benchmark"
    parameters = {
        "C_m": Param("250*pF", "membrane capacitance"),
        "tau_m": Param("10*ms", "membrane time constant"),
        "tau_syn": Param("0.32582722403722841*ms", "time constant of the alpha-shaped synaptic currents"),
        "theta": Param("20*mV", "threshold, relative to rest"),
        "V_reset": Param("0*mV", "reset potential, relative to rest"),
        "t_ref": Param("0.5*ms", "absolute refractory period"),
        "eta": Param("1.685", "background rate in units of the threshold rate nu_th", min=0),
        "J_ext": Param("45.61", "peak current of one background event (pA)", positive=True),
        "V_mean": Param("5.7*mV", "mean of the initial membrane potentials (normally distributed)"),
        "V_sd": Param("7.2*mV", "standard deviation of the initial membrane potentials"),
    }
    equations = """
    dv/dt = -v/tau_m + I/C_m : volt (unless refractory)
    dI/dt = (y - I)/tau_syn : amp
    dy/dt = -y/tau_syn : amp
    """
    threshold = "v > theta"
    reset = "v = V_reset"
    refractory = "t_ref"
    method = "exact"
    initial = {"v": "V_mean + V_sd*randn()"}
    synaptic_effect = "y_post += 2.718281828459045*w*pA"

    def group(self, name, size, params, ctx):
        """The neurons plus their background: ``eta*nu_th`` Poisson events per second, drawn each step
        before the state update."""
        from brian2 import pA

        spec = super().group(name, size, params, ctx)
        nu_th = params["theta"] * params["C_m"] / (params["J_ext"] * pA * np.e * params["tau_m"]
                                                   * params["tau_syn"])
        spec.namespace["rate_ext"] = params["eta"] * nu_th
        spec.operations.append(Operation(f"{name}_background", "",
                                         "y += 2.718281828459045*J_ext*pA*poisson(rate_ext*dt)"))
        return spec
