"""Wake/sleep rules of adversarial inference learning (Benjamin & Kording), and the classic Helmholtz baseline.

The circuit (task ``adversarial_inference``) alternates a **wake** phase (feedforward, recognition synapses
drive the somata from the data) and a **sleep** phase (feedback, generative synapses drive them from a prior
sample). Each phase lasts two time steps; the rules learn in the second, ``learn = 1`` (see the task). All
four rules are local: a synapse reads its own weight, its presynaptic rate ``r_pre``, a variable of its
postsynaptic unit and, for the gated rule, a broadcast scalar that the postsynaptic unit receives.

- :class:`LocalPrediction` — generative (feedback) synapses onto a unit's dendritic compartment, in wake:
  the dendrite's prediction ``d = tanh(a_fb + c)`` of the soma learns to match it,
  ``Δw = η (r − d)(1 − d²) r_pre`` (``epred_post``). The authors' ``gen_surprisal``, with a Gaussian instead of
  their L1 likelihood.
- :class:`WakeSleepDiscriminator` — synapses from the discriminator's fixed dendritic features φ onto its
  output D: ``Δw = η (wake − sleep) φ − λ w``: Hebbian in wake, anti-Hebbian in sleep (the 2023 paper's
  reading of the authors' ``D_loss`` for a linear readout). With the decay, ``w`` follows
  ``(η/λ)(⟨φ⟩_wake − ⟨φ⟩_sleep)``, so D is a witness of the difference between wake and sleep states.
- :class:`GatedPerturbation` — recognition (feedforward) synapses, in wake: node perturbation gated by D,
  ``Δw = −η (D − D_ref) ξ r_pre``. ``ξ`` is the noise the postsynaptic unit received in this step (its own
  membrane fluctuation) and ``D − D_ref`` the change of the discriminator between the clean and the noisy
  pass of the same input (the broadcast ``mod_post``). For Gaussian ξ of s.d. σ,
  ``E[(D − D_ref) ξ] ≈ σ² ∂D/∂a``, so the rule descends D on wake states: the recognition pathway makes its
  inferred states look generated, what the authors' inference network does by backprop through D. It needs
  no per-unit credit from D, only the scalar; without D's gating nothing drives these synapses.
- :class:`SleepDelta` — the classic wake-sleep (Helmholtz machine) recognition rule, in sleep: the
  recognition prediction of the generated unit learns to match it, ``Δw = η (r − p)(1 − p²) r_pre`` with
  ``p = tanh(a_ff)`` (``esleep_post``); it assumes the posterior factorises over units.

The rules read the population variables named above (``r`` of the presynaptic units; ``epred``,
``esleep``, ``pert``, ``mod`` of the postsynaptic ones), which the task's unit models define. The signals ``wake``, ``sleep`` (the ``[phases]`` schedule), ``learn`` and ``plastic`` (the task) gate them.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule

__all__ = ["LocalPrediction", "WakeSleepDiscriminator", "GatedPerturbation", "SleepDelta"]

REFERENCE = ("Benjamin & Kording (2023) PLoS Comput Biol 19:e1011484; arXiv:2006.10811; "
             "code KordingLab/adversarial-wake-sleep b2bf6d0")


class _Gated(PlasticityRule):
    """A clock-driven update applied once per phase: ``dw/dt = gate*update/dt`` (one Euler step per pulse)."""

    method = "euler"
    bounds = (None, None)

    def reference_update(self, params, w0, post, r, **_):
        """One update of the weights ``w0`` (n_post, n_pre) for postsynaptic values ``post`` (the rule's
        postsynaptic variable, or ``mod*xi`` for the gated rule) and presynaptic rates ``r``."""
        w0, post, r = (np.asarray(a, dtype=float) for a in (w0, post, r))
        return w0 + self._sign * float(params["eta"]) * np.outer(post, r)


class LocalPrediction(_Gated):
    name = "local_prediction"
    description = "generative synapses onto the dendrite learn to predict the soma in wake"
    reference = REFERENCE
    parameters = {"eta": Param("0.01", "learning rate (per wake phase)")}
    model = "dw/dt = plastic*learn*wake*eta*epred_post*r_pre/dt : 1 (clock-driven)"
    signals = ("plastic", "learn", "wake")
    _sign = 1.0


class WakeSleepDiscriminator(_Gated):
    name = "ws_discriminator"
    description = "discriminator synapses: Hebbian in wake, anti-Hebbian in sleep, with decay"
    reference = REFERENCE
    parameters = {"eta": Param("0.01", "learning rate (per phase)"), "lam": Param("0.01", "decay per phase", min=0)}
    model = "dw/dt = plastic*learn*(eta*(wake - sleep)*r_pre - lam*w)/dt : 1 (clock-driven)"
    signals = ("plastic", "learn", "wake", "sleep")

    def reference_update(self, params, w0, r, phase, **_):
        """One update in ``phase`` (+1 wake, -1 sleep) of the weights ``w0`` from features ``r``."""
        w0, r = np.asarray(w0, dtype=float), np.asarray(r, dtype=float)
        return w0 + float(params["eta"]) * phase * r - float(params["lam"]) * w0


class GatedPerturbation(_Gated):
    name = "gated_perturbation"
    description = "recognition synapses: node perturbation gated by the discriminator's change, in wake"
    reference = REFERENCE
    parameters = {"eta": Param("0.05", "learning rate (per wake phase)")}
    model = "dw/dt = -plastic*learn*wake*eta*mod_post*pert_post*r_pre/dt : 1 (clock-driven)"
    signals = ("plastic", "learn", "wake")
    _sign = -1.0


class SleepDelta(_Gated):
    name = "sleep_delta"
    description = "classic wake-sleep: recognition synapses predict the generated unit in sleep"
    reference = "Hinton, Dayan, Frey & Neal (1995) Science 268:1158; " + REFERENCE
    parameters = {"eta": Param("0.01", "learning rate (per sleep phase)")}
    model = "dw/dt = plastic*learn*sleep*eta*esleep_post*r_pre/dt : 1 (clock-driven)"
    signals = ("plastic", "learn", "sleep")
    _sign = 1.0
