"""Minimal all-to-all triplet STDP (Pfister & Gerstner 2006), written as an outside author would:
one file, used with ``spikelearn run X.toml --plugin examples/triplet_stdp.py``.

Traces (all-to-all: each jumps by 1 at a spike and decays exponentially):
``r1`` (presynaptic, tau_plus), ``o1`` and ``o2`` (postsynaptic, tau_minus and tau_y).

- presynaptic spike:  w -= o1 * A2_minus            (pair depression; the minimal model has A3_minus = 0)
- postsynaptic spike: w += r1 * (A2_plus + A3_plus * o2)   with o2 read *before* its own increment

Parameters: the minimal all-to-all fit to visual-cortex data (Sjöström et al. 2001), Pfister & Gerstner
(2006) Table 4: tau_plus 16.8 ms, tau_minus 33.7 ms, tau_y 125 ms, A2_plus 5e-10, A3_plus 6.2e-3,
A2_minus 7e-3. The published property: with 60 pairings at ±10 ms, post-before-pre depresses at low
pairing frequency while pre-before-post potentiation grows with frequency and dominates at high frequency.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule


class TripletSTDP(PlasticityRule):
    name = "triplet_stdp"
    description = "Minimal all-to-all triplet STDP (Pfister & Gerstner 2006)"
    reference = "Pfister & Gerstner (2006) J. Neurosci. 26:9673-9682"
    parameters = {
        "tau_plus": Param("16.8*ms", "presynaptic pair trace r1"),
        "tau_minus": Param("33.7*ms", "postsynaptic pair trace o1"),
        "tau_y": Param("125*ms", "postsynaptic triplet trace o2"),
        "A2_plus": Param("5e-10", "pair potentiation"),
        "A3_plus": Param("6.2e-3", "triplet potentiation"),
        "A2_minus": Param("7e-3", "pair depression"),
        "wmax": Param("1.0", "upper weight bound (lower bound 0)"),
    }
    model = """
    dr1/dt = -r1/tau_plus : 1 (event-driven)
    do1/dt = -o1/tau_minus : 1 (event-driven)
    do2/dt = -o2/tau_y : 1 (event-driven)
    """
    on_pre = """
    w = clip(w - o1*A2_minus, 0, wmax)
    r1 += 1
    """
    on_post = """
    w = clip(w + r1*(A2_plus + A3_plus*o2), 0, wmax)
    o1 += 1
    o2 += 1
    """

    def reference_update(self, params, pre_times, post_times, w0, **_):
        """Event-by-event NumPy version (pre before post at equal times, as in Brian2)."""
        events = sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times])
        w, r1, o1, o2, last = float(w0), 0.0, 0.0, 0.0, 0.0
        for t, kind in events:
            gap = t - last
            r1 *= np.exp(-gap / params["tau_plus"])
            o1 *= np.exp(-gap / params["tau_minus"])
            o2 *= np.exp(-gap / params["tau_y"])
            last = t
            if kind == 0:
                w = min(max(w - o1 * params["A2_minus"], 0.0), params["wmax"])
                r1 += 1
            else:
                w = min(max(w + r1 * (params["A2_plus"] + params["A3_plus"] * o2), 0.0), params["wmax"])
                o1 += 1
                o2 += 1
        return w
