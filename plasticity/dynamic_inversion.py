"""Gated error-times-activity update of dynamic inversion (Podlaski & Machens, NeurIPS 2020).

At the end of each example the forward weights change by ``dW = eta * delta_post * r_pre^T - decay * W``
(``decay``: weight decay per example, 0 by default): ``delta``
is the error of the postsynaptic unit once the backward pass has settled (the output error ``y* - y`` for
the last layer, ``delta~ * g'(a)`` for a hidden layer), ``r`` the presynaptic activity. The update is
written as a clock-driven equation gated by the global signal ``learn``, a pulse that is 1 during exactly
one time step per example (the last step of the backward phase) and 0 otherwise::

    dw/dt = learn*(eta*delta_post*r_pre - decay*w)/dt

so the Euler step that sees the pulse adds ``eta*delta_post*r_pre`` to ``w`` and every other step adds
nothing. With a gate that lasts ``n`` steps the update is applied ``n`` times (once per step).

The rule only says how ``w`` changes; the same Synapses object also carries the forward pass
(``y_post = w*r_pre``) and the backward pass (``Wd_post = w*dtilde_pre``) as summed variables, so the
backward pass reuses the forward weights and no copy of the matrix exists.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule

__all__ = ["DynamicInversionUpdate"]


class DynamicInversionUpdate(PlasticityRule):
    name = "dynamic_inversion"
    description = "dW = eta * delta_post * r_pre, applied once per example by a one-step 'learn' pulse"
    reference = "Podlaski & Machens (2020) Biological credit assignment through dynamic inversion of " \
                "feedforward networks, NeurIPS 33"
    parameters = {
        "eta": Param("0.02", "learning rate (per example)"),
        "decay": Param("0", "weight decay per example (W -= decay*W with every update)"),
    }
    model = "dw/dt = learn*(eta*delta_post*r_pre - decay*w)/dt : 1 (clock-driven)"
    signals = ("learn",)
    method = "euler"

    def reference_update(self, params, w0, delta, r, n_pulses=1, **_):
        """Weights after ``n_pulses`` updates with constant ``delta`` (post) and ``r`` (pre).

        Parameters
        ----------
        params : dict
            ``eta`` as a float.
        w0 : ndarray, shape (n_post, n_pre)
        delta : ndarray, shape (n_post,)
        r : ndarray, shape (n_pre,)
        """
        w0 = np.asarray(w0, dtype=float)
        delta = np.asarray(delta, dtype=float)
        r = np.asarray(r, dtype=float)
        if w0.shape != (delta.size, r.size):
            raise ValueError(f"w0 must have shape {(delta.size, r.size)}, found {w0.shape}")
        w = w0.copy()
        for _ in range(n_pulses):
            w = w + float(params["eta"]) * np.outer(delta, r) - float(params.get("decay", 0.0)) * w
        return w
