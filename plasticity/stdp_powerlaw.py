"""Power-law STDP (Morrison, Aertsen & Diesmann 2007), as NEST's ``stdp_pl_synapse_hom``, with a
weight-dependence exponent for depression as well (Gütig et al. 2003) so that the additive rule is the
same rule with both exponents 0.

Each synapse keeps a presynaptic trace ``Kp`` (time constant ``tau_plus``) and a postsynaptic trace
``Km`` (``tau_minus``), both +1 per spike (all-to-all pairing). A postsynaptic spike potentiates,
a presynaptic spike (on arrival, after the connection's delay, as NEST's dendritic delay) depresses:

    Δw+ = lam * w0**(1 - mu) * w**mu * Kp
    Δw- = -alpha * lam * w0**(1 - mu_minus) * w**mu_minus * Km        (w kept >= 0)

Weights are in the units of ``w0`` (NEST: pA, ``w0 = 1``). Scaling every weight and ``w0`` by the same
factor scales every update by it, so a network whose weights are scaled keeps the rule's dynamics.
With ``mu_minus = 1`` (multiplicative depression) and uncorrelated pre- and postsynaptic Poisson firing
the mean drift vanishes at ``w* = w0 * (tau_plus/(alpha*tau_minus))**(1/(1 - mu))``, a stable fixed point
for ``mu < 1``: 44.5 pA with NEST's hpc_benchmark values (``alpha = 0.0513``, ``mu = 0.4``, ``tau_plus =
15 ms``, ``tau_minus = 30 ms``), close to its initial 45.61 pA. With ``mu = mu_minus = 0`` the rule is
additive: the drift no longer depends on ``w``, so there is no fixed point to hold the weights.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule

__all__ = ["PowerLawSTDP"]


class PowerLawSTDP(PlasticityRule):
    name = "stdp_powerlaw"
    description = ("Power-law STDP: potentiation lam*w0^(1-mu)*w^mu, multiplicative depression "
                   "alpha*lam*w (Morrison et al. 2007)")
    reference = "Morrison, Aertsen & Diesmann (2007) Neural Comput. 19:1437-1467"
    parameters = {
        "tau_plus": Param("15*ms", "decay time constant of the presynaptic trace (potentiation window)"),
        "tau_minus": Param("30*ms", "decay time constant of the postsynaptic trace (depression window)"),
        "lam": Param("0.1", "learning rate", min=0),
        "alpha": Param("0.0513", "depression over potentiation amplitude", min=0),
        "mu": Param("0.4", "weight-dependence exponent of potentiation", min=0),
        "mu_minus": Param("1.0", "weight-dependence exponent of depression (1: multiplicative)", min=0),
        "w0": Param("1.0", "reference weight of the power law, in the weights' units", positive=True),
    }
    model = """
    dKp/dt = -Kp/tau_plus : 1 (event-driven)
    dKm/dt = -Km/tau_minus : 1 (event-driven)
    """
    on_pre = """
    w = clip(w - alpha*lam*w0**(1 - mu_minus)*w**mu_minus*Km, 0, inf)
    Kp += 1
    """
    on_post = """
    w = w + lam*w0**(1 - mu)*w**mu*Kp
    Km += 1
    """

    def reference_update(self, params, pre_times, post_times, w0, **_):
        """Final weight of one synapse for given pre/post spike times (seconds; presynaptic times are
        arrival times), event by event; simultaneous events are processed pre before post."""
        tp, tm = float(params["tau_plus"]), float(params["tau_minus"])
        lam, alpha, mu, mu_m, ref = (float(params[k]) for k in ("lam", "alpha", "mu", "mu_minus", "w0"))
        events = sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times])
        w, kp, km, last = float(w0), 0.0, 0.0, 0.0
        for t, kind in events:
            kp *= np.exp(-(t - last) / tp)
            km *= np.exp(-(t - last) / tm)
            last = t
            if kind == 0:
                w = max(w - alpha * lam * ref ** (1 - mu_m) * w ** mu_m * km, 0.0)
                kp += 1
            else:
                w += lam * ref ** (1 - mu) * w ** mu * kp
                km += 1
        return w
