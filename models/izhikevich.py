"""Izhikevich (2003) simple spiking neuron, with the named regimes of the paper's Fig. 2.

In the paper's units (v in mV, t in ms)::

    v' = 0.04 v^2 + 5 v + 140 - u + I
    u' = a (b v - u)
    if v >= 30 mV: v = c, u = u + d

written here with Brian2 units: ``v`` volt, ``u`` and ``I`` volt/second (the paper's mV/ms: ``I = 10``
in the paper is ``10*mV/ms``), ``a`` and ``b`` 1/second (``0.02/ms``, ``0.2/ms``), ``c`` volt, ``d``
volt/second. ``regime`` selects (a, b, c, d) from Fig. 2 of the paper:

====  =========================  ======  =====  =====  ====
RS    regular spiking            0.02    0.2    -65    8
IB    intrinsically bursting     0.02    0.2    -55    4
CH    chattering                 0.02    0.2    -50    2
FS    fast spiking               0.1     0.2    -65    2
LTS   low-threshold spiking      0.02    0.25   -65    2
TC    thalamo-cortical           0.02    0.25   -65    0.05
RZ    resonator                  0.1     0.26   -65    2
====  =========================  ======  =====  =====  ====

Each of ``a``, ``b``, ``c``, ``d`` may be overridden by a Brian2 expression, constant or per neuron (the
paper's network draws ``c = -65 + 15 r^2`` mV: ``c = "(-65 + 15*rand()**2)*mV"``); left empty it takes the
regime's value. The paper starts from ``v = -65 mV``, ``u = b v`` (``v_init``). Synapses are the paper's
instantaneous pulses: a presynaptic spike moves ``v`` by ``w`` mV (``v_post += w*mV``; inhibitory
weights are negative). The quadratic makes the equations non-linear: forward Euler, with dt <= 0.1 ms
(the paper's program uses 1 ms steps, split in two for v, so its traces differ in detail).
"""

from spikelearn.plugin import Param

from ._expressions import ExpressionModel

__all__ = ["Izhikevich", "REGIMES"]

# Izhikevich (2003) Fig. 2: regime -> (a, b, c, d) as Brian2 code
REGIMES = {
    "RS": ("0.02/ms", "0.2/ms", "-65*mV", "8*mV/ms"),
    "IB": ("0.02/ms", "0.2/ms", "-55*mV", "4*mV/ms"),
    "CH": ("0.02/ms", "0.2/ms", "-50*mV", "2*mV/ms"),
    "FS": ("0.1/ms", "0.2/ms", "-65*mV", "2*mV/ms"),
    "LTS": ("0.02/ms", "0.25/ms", "-65*mV", "2*mV/ms"),
    "TC": ("0.02/ms", "0.25/ms", "-65*mV", "0.05*mV/ms"),
    "RZ": ("0.1/ms", "0.26/ms", "-65*mV", "2*mV/ms"),
}


class Izhikevich(ExpressionModel):
    name = "izhikevich"
    description = "Izhikevich (2003) quadratic neuron with recovery u; regimes RS, IB, CH, FS, LTS, TC, RZ"
    reference = "Izhikevich (2003) IEEE Trans. Neural Netw. 14:1569-1572"
    parameters = {
        "regime": Param("RS", "named regime of the paper's Fig. 2, giving (a, b, c, d)", kind="str",
                        choices=tuple(REGIMES)),
        "a": Param("", "time scale of u (1/second, e.g. '0.02/ms'); empty: the regime's value", kind="code"),
        "b": Param("", "sensitivity of u to v (1/second, e.g. '0.2/ms'); empty: the regime's value",
                   kind="code"),
        "c": Param("", "reset potential (volt, e.g. '-65*mV'); empty: the regime's value", kind="code"),
        "d": Param("", "increment of u at a spike (volt/second, e.g. '8*mV/ms'); empty: the regime's value",
                   kind="code"),
        "v_peak": Param("30*mV", "spike cut-off: a spike is emitted and v reset when v >= v_peak"),
        "v_init": Param("-65*mV", "initial membrane potential (u starts at b*v_init)"),
        "I": Param("0*mV/ms", "injected current in the paper's units, volt/second (mV/ms): a Brian2 "
                   "expression, may use i and t (e.g. '10*mV/ms*int(t > 50*ms)')", kind="code"),
    }
    equations = """
    dv/dt = (0.04/mV*v**2 + 5*v + 140*mV)/ms - u + I : volt
    du/dt = a*(b*v - u) : volt/second
    """
    subexpressions = {"I": "volt/second"}
    per_neuron = {"a": "1/second", "b": "1/second", "c": "volt", "d": "volt/second"}
    threshold = "v >= v_peak"
    reset = """
    v = c
    u += d
    """
    method = "euler"
    initial = {"v": "v_init", "u": "b*v"}
    synaptic_effect = "v_post += w*mV"

    def code_values(self, params):
        values = super().code_values(params)
        regime = REGIMES[params.get("regime", self.parameters["regime"].default)]
        for pname, default in zip(("a", "b", "c", "d"), regime):
            if values[pname].strip() == "":
                values[pname] = default
        return values
