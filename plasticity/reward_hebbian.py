"""Reward-modulated Hebbian plasticity with a running-average subtraction (a three-factor rule).

Bredenberg, Simoncelli & Savin (2020): in a stochastic circuit whose stationary distribution is
Langevin sampling of ``p(r|s)``, ``d log p / dW_ij`` is proportional to ``r_i r_j - <r_i r_j>``; multiplying
this Hebbian term by a global reward gives a stochastic estimate of the gradient of the expected reward.
The rule, on any connection whose pre- and postsynaptic groups have a rate variable ``r``::

    dC/dt    = (r_pre*r_post - C)/tau_c                                     (running average of the Hebbian term)
    dRbar/dt = (reward - Rbar)/tau_r                                        (running average of the reward)
    dw/dt    = eta*learn*((reward - baseline*Rbar)*(r_pre*r_post - C) - lam*w)

``reward`` and ``learn`` are global signals supplied by the task or the schedule (``learn`` is a 0/1 gate);
``baseline`` (0 or 1) switches the reward baseline ``Rbar`` on. A bias is the same rule on a connection
from a unit with ``r = 1``. All three equations are integrated together (forward Euler), so one step uses
the ``C`` and ``Rbar`` of the previous step, as in :meth:`RewardHebbian.reference_update`.

To read another signal as the third factor, derive a rule with :func:`make_reward_hebbian`.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule

__all__ = ["RewardHebbian", "make_reward_hebbian", "reference_step"]

_MODEL = """dC/dt = (r_pre*r_post - C)/tau_c : 1 (clock-driven)
dRbar/dt = (reward - Rbar)/tau_r : 1 (clock-driven)
dw/dt = eta*learn*((reward - baseline*Rbar)*(r_pre*r_post - C) - lam*w) : 1 (clock-driven)"""


def reference_step(w, C, Rbar, r_pre, r_post, reward, learn, dt, eta, lam, tau_c, tau_r, baseline=1.0):
    """One forward-Euler step of the rule for a weight matrix; returns ``(w, C, Rbar)``.

    Parameters
    ----------
    w, C : ndarray, shape (n_post, n_pre)
    Rbar, reward, learn : float
    r_pre : ndarray, shape (n_pre,)
    r_post : ndarray, shape (n_post,)
    dt, eta, lam, tau_c, tau_r : float
        SI units (seconds, 1/seconds).
    baseline : float
        0 or 1.
    """
    hebb = np.outer(r_post, r_pre)
    w_new = w + dt * eta * learn * ((reward - baseline * Rbar) * (hebb - C) - lam * w)
    C_new = C + dt * (hebb - C) / tau_c
    Rbar_new = Rbar + dt * (reward - Rbar) / tau_r
    return w_new, C_new, Rbar_new


class RewardHebbian(PlasticityRule):
    name = "reward_hebbian"
    description = "Three-factor rule: dw = eta*learn*[(R - Rbar)(r_pre r_post - C) - lam w], C a running average"
    reference = ("Bredenberg, Simoncelli & Savin (2020) Learning efficient task-dependent representations "
                 "with synaptic plasticity, NeurIPS 33")
    parameters = {
        "eta": Param("0.01*Hz", "learning rate"),
        "lam": Param("0.0", "weight decay (L2 regularisation) relative to the Hebbian term", min=0),
        "tau_c": Param("5*second", "time constant of the running average C of r_pre*r_post"),
        "tau_r": Param("5*second", "time constant of the running average Rbar of the reward"),
        "baseline": Param("1.0", "1: subtract the reward baseline Rbar; 0: the raw reward multiplies", min=0, max=1),
    }
    model = _MODEL
    signals = ("reward", "learn")
    method = "euler"

    def reference_update(self, params, w0, C0, Rbar0, r_pre, r_post, reward, learn, dt, n_steps=1, **_):
        """Weights, ``C`` and ``Rbar`` after ``n_steps`` Euler steps with constant inputs.

        ``params`` maps the parameter names to floats (SI); ``r_pre``/``r_post`` are arrays or, for
        ``n_steps > 1``, arrays of shape (n_steps, n) giving the rates at each step; ``reward`` and
        ``learn`` scalars or arrays of length ``n_steps``.
        """
        w, C, Rbar = np.array(w0, dtype=float), np.array(C0, dtype=float), float(Rbar0)
        r_pre = np.atleast_2d(np.asarray(r_pre, dtype=float))
        r_post = np.atleast_2d(np.asarray(r_post, dtype=float))
        reward = np.broadcast_to(np.asarray(reward, dtype=float), (n_steps,))
        learn = np.broadcast_to(np.asarray(learn, dtype=float), (n_steps,))
        if w.shape != (r_post.shape[1], r_pre.shape[1]) or C.shape != w.shape:
            raise ValueError(f"w0 and C0 must have shape {(r_post.shape[1], r_pre.shape[1])}, "
                             f"found {w.shape} and {C.shape}")
        for k in range(n_steps):
            rp = r_pre[min(k, len(r_pre) - 1)]
            ro = r_post[min(k, len(r_post) - 1)]
            w, C, Rbar = reference_step(w, C, Rbar, rp, ro, reward[k], learn[k], float(dt),
                                        float(params["eta"]), float(params["lam"]), float(params["tau_c"]),
                                        float(params["tau_r"]), float(params["baseline"]))
        return w, C, Rbar


def make_reward_hebbian(name, signal="reward", gate="learn"):
    """A :class:`RewardHebbian` variant whose third factor is the global signal ``signal`` (gated by ``gate``).

    Example: ``make_reward_hebbian("novelty_hebbian", signal="novelty")`` gives a rule registered as
    ``novelty_hebbian`` that reads the global signal ``novelty``.
    """
    for label, value in (("name", name), ("signal", signal), ("gate", gate)):
        if not isinstance(value, str) or not value.isidentifier():
            raise ValueError(f"{label} must be an identifier, found: {value!r}")
    from brian2.utils.stringtools import word_substitute

    model = word_substitute(_MODEL, {"reward": signal, "learn": gate})
    return type(f"RewardHebbian_{name}", (RewardHebbian,),
                {"name": name, "model": model, "signals": (signal, gate),
                 "description": f"{RewardHebbian.description} (third factor: '{signal}', gate: '{gate}')"})
