"""Adaptive exponential integrate-and-fire neuron (AdEx).

Brette & Gerstner (2005)::

    C dv/dt = -g_L (v - E_L) + g_L Delta_T exp((v - V_T)/Delta_T) - w + I + I_syn
    tau_w dw/dt = a (v - E_L) - w

When ``v`` crosses ``V_peak`` the neuron spikes: ``v = V_r`` and ``w += b``. The adaptation current
``w`` is called ``w_ad`` here: ``w`` is the framework's synaptic weight, and Brian2 refuses a
postsynaptic variable with a synapse variable's name. Units: ``C`` farad, ``g_L`` and ``a`` siemens,
potentials volt, ``w_ad``, ``b`` and ``I`` ampere, time constants second. The
defaults are the paper's parameter set (regular spiking, fitted to a detailed model of a pyramidal
cell): C = 281 pF, g_L = 30 nS, E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms,
a = 4 nS, b = 0.0805 nA, V_r = E_L. The paper has no refractory period (``t_ref = 0 ms``); ``V_peak``
defaults to V_T + 5 Delta_T = -40.4 mV, the cut-off of Brian2's example of the paper: above it the
exponential term dominates and ``v`` diverges within a fraction of a time step, so a higher cut-off moves
spike times by less than a step.

Synaptic input is conductance-based (as in the paper's second part): ``I_syn = g_L (ge (E_e - v) +
gi (E_i - v))`` with ``ge``, ``gi`` dimensionless (in units of ``g_L``), decaying with ``tau_e``,
``tau_i``. A connection's default effect is ``ge_post += w``; inhibition declares
``effect = "gi_post += w"``. The injected current ``I`` is a Brian2 expression (it may use ``i``, ``t``).
The exponential makes the equations non-linear: forward Euler, with dt <= 0.1 ms.
"""

from spikelearn.plugin import Param

from ._expressions import ExpressionModel

__all__ = ["AdEx"]


class AdEx(ExpressionModel):
    name = "adex"
    description = "Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005), conductance synapses"
    reference = "Brette & Gerstner (2005) J. Neurophysiol. 94:3637-3642"
    parameters = {
        "C": Param("281*pF", "membrane capacitance"),
        "g_L": Param("30*nS", "leak conductance", positive=True),
        "E_L": Param("-70.6*mV", "leak reversal potential"),
        "V_T": Param("-50.4*mV", "threshold of the exponential term (rheobase potential)"),
        "Delta_T": Param("2*mV", "slope factor (sharpness of spike initiation)", positive=True),
        "V_peak": Param("-40.4*mV", "spike cut-off: a spike is emitted and v reset when v > V_peak"),
        "V_r": Param("-70.6*mV", "reset potential"),
        "tau_w": Param("144*ms", "adaptation time constant"),
        "a": Param("4*nS", "subthreshold adaptation (coupling of w_ad to v)"),
        "b": Param("0.0805*nA", "spike-triggered adaptation (increment of w_ad at each spike)", min=0),
        "t_ref": Param("0*ms", "absolute refractory period (v held at V_r; the paper has none)"),
        "E_e": Param("0*mV", "excitatory reversal potential"),
        "E_i": Param("-80*mV", "inhibitory reversal potential"),
        "tau_e": Param("5*ms", "decay time constant of the excitatory conductance ge"),
        "tau_i": Param("10*ms", "decay time constant of the inhibitory conductance gi"),
        "I": Param("0*nA", "injected current (amperes): a Brian2 expression, may use i and t "
                   "(e.g. '1*nA*int(t > 50*ms)')", kind="code"),
    }
    equations = """
    dv/dt = (g_L*(E_L - v) + g_L*Delta_T*exp((v - V_T)/Delta_T) - w_ad + I
             + g_L*(ge*(E_e - v) + gi*(E_i - v)))/C : volt (unless refractory)
    dw_ad/dt = (a*(v - E_L) - w_ad)/tau_w : amp
    dge/dt = -ge/tau_e : 1
    dgi/dt = -gi/tau_i : 1
    """
    subexpressions = {"I": "amp"}
    threshold = "v > V_peak"
    reset = """
    v = V_r
    w_ad += b
    """
    refractory = "t_ref"
    method = "euler"
    initial = {"v": "E_L", "w_ad": "0*nA"}
    synaptic_effect = "ge_post += w"
