"""Somatic/dendritic sampling neurons driven by a global oscillation (Lyo & Savin, ICLR 2024).

One neuron of :class:`DendriticMixtureSampler` is one sampling chain: a somatic state ``x = (x1, x2)``
integrates noise whose power follows the oscillation ``u(t) = (1 - cos 2 pi t/T)/2``; on the falling half
its dendritic branches (one per mixture component) are gated on and feed the score of the diffused
prior (or posterior) back to the soma. One sample per cycle is read at the troughs.

All of the schedule is Brian2 code: a ``run_regularly(when='start')`` block writes the shared variables
``u, g2, gn, abar, sab, fall`` from ``t`` (the euler integrator rejects noise coefficients that depend on
``t``, shared variables avoid that); gates are Brian2 expressions (e.g. a TimedArray of ``t``).

:class:`DendriticTreeSoma` and :class:`DendriticLayer` are the soma and the softplus dendritic layers of
the learned denoiser; the task connects them with summed-variable Synapses
(``somas -> layer 1 -> layer 2 -> somas``).

Helpers (:func:`schedule_code`, :func:`mixture_score_equations`, :func:`softplus_expr`) build the
equation strings so that tasks and tests use exactly the code the models use.
"""

import numpy as np

from spikelearn.network import GroupSpec, Operation
from spikelearn.plugin import Model, Param, constants

__all__ = [
    "DendriticMixtureSampler",
    "DendriticTreeSoma",
    "DendriticLayer",
    "schedule_code",
    "phase_expr",
    "mixture_score_equations",
    "softplus_expr",
    "logsumexp_max_expr",
    "branch_parameters",
    "sampler_drift",
]

SCHEDULE_VARIABLES = """u : 1 (shared)
g2 : Hz (shared)
gn : second**-0.5 (shared)
abar : 1 (shared)
sab : 1 (shared)
fall : 1 (shared)"""


def schedule_code(schedule="oscillation", langevin_u="0"):
    """Code of the ``run_regularly(when='start')`` block writing the schedule's shared variables.

    Names used: ``period``, ``beta_min``, ``beta_max`` (oscillation), ``langevin_rate`` (constant).
    The constant schedule is the negative control: the noise level stays at ``u = langevin_u`` (0 for
    the exact mixture score: the score of the prior itself; a learned tree needs some noise) and the
    noise power ``g2 = 2 langevin_rate`` at all times, so that the soma runs Langevin dynamics at
    temperature 1.
    """
    if schedule == "oscillation":
        return """u = (1 - cos(2*pi*t/period))/2
fall = int(sin(2*pi*t/period) < 0)
g2 = (beta_min + (beta_max - beta_min)*u)*abs(pi/period*sin(2*pi*t/period))
gn = sqrt(g2)
abar = exp(-beta_min*u - 0.5*(beta_max - beta_min)*u**2)
sab = sqrt(abar)"""
    if schedule == "constant":
        return f"""u = {langevin_u}
fall = 1
g2 = 2*langevin_rate
gn = sqrt(g2)
abar = exp(-beta_min*u - 0.5*(beta_max - beta_min)*u**2)
sab = sqrt(abar)"""
    raise ValueError(f"schedule must be 'oscillation' or 'constant', found: {schedule!r}")


def phase_expr(schedule="oscillation", langevin_u="0"):
    """Brian2 expression of the noise level ``u`` that the dendritic layers read: the oscillation as a
    function of ``t``, or the constant level of the Langevin control."""
    if schedule == "oscillation":
        return "((1 - cos(2*pi*t/period))/2)"
    if schedule == "constant":
        return f"({langevin_u})"
    raise ValueError(f"schedule must be 'oscillation' or 'constant', found: {schedule!r}")


def softplus_expr(z):
    """Overflow-free Brian2 expression of ``log(1 + exp(z))``: ``(z + |z|)/2 + log(1 + exp(-|z|))``."""
    return f"(({z}) + abs({z}))/2 + log(1 + exp(-abs({z})))"


def logsumexp_max_expr(names):
    """Brian2 expression of ``max(names)`` built from ``(a + b + |a - b|)/2`` (no ``max`` in Brian2)."""
    names = list(names)
    if not names:
        raise ValueError("logsumexp_max_expr needs at least one name, found none")
    expr = names[0]
    for n in names[1:]:
        expr = f"(({expr}) + {n} + abs(({expr}) - {n}))/2"
    return expr


def _f(v):
    return repr(float(v))


def branch_parameters(weights, means, sigma, observations=()):
    """Prior branch parameters and their gated (posterior) values.

    Parameters
    ----------
    weights : sequence of float, shape (K,)
    means : sequence, shape (K, d)
    sigma : float
        Standard deviation of each (isotropic) component.
    observations : sequence of (dim, y, sigma_y)
        Linear-Gaussian observations ``y ~ N(x_dim, sigma_y^2)``, one per gate.

    Returns
    -------
    dict
        ``logw`` (K,), ``mean`` (K, d), ``var`` (K, d) of the prior; for each observation ``j``:
        ``dlogw[j]`` (K,), ``mean_on[j]`` (K,), ``var_on[j]`` (K,) along its dimension.
    """
    w = np.asarray(weights, dtype=float)
    m = np.asarray(means, dtype=float)
    if m.ndim != 2 or m.shape[0] != w.shape[0]:
        raise ValueError(f"means must have shape (K={w.shape[0]}, d), found: {m.shape}")
    if np.any(w <= 0) or abs(w.sum() - 1) > 1e-6:
        raise ValueError(f"weights must be positive and sum to 1, found: {w.tolist()}")
    if not float(sigma) > 0:
        raise ValueError(f"sigma must be > 0, found: {sigma}")
    var = np.full(m.shape, float(sigma) ** 2)
    out = {"logw": np.log(w), "mean": m, "var": var, "dlogw": [], "mean_on": [], "var_on": []}
    for dim, y, sy in observations:
        if not 0 <= dim < m.shape[1]:
            raise ValueError(f"observation dimension must be in [0, {m.shape[1]}), found: {dim}")
        if not sy > 0:
            raise ValueError(f"observation noise must be > 0, found: {sy}")
        s2 = var[:, dim] + sy**2
        dlogw = -0.5 * (y - m[:, dim]) ** 2 / s2 - 0.5 * np.log(2 * np.pi * s2)
        v_on = 1.0 / (1.0 / var[:, dim] + 1.0 / sy**2)
        out["dlogw"].append(dlogw)
        out["mean_on"].append(v_on * (m[:, dim] / var[:, dim] + y / sy**2))
        out["var_on"].append(v_on)
    return out


def mixture_score_equations(weights, means, sigma, observations=(), gates=(), likelihood="branch"):
    """Brian2 subexpressions ``s1, ..., sd`` of the exact score of a gated diffused Gaussian mixture.

    Branch ``k`` computes ``a_k = log w_k - sum_d (x_d - sab m_kd)^2/(2 v_kd) - sum_d log(v_kd)/2``
    with ``v_kd = abar s_kd^2 + 1 - abar``; the soma sums ``s_d = -sum_k softmax(a)_k (x_d - sab m_kd)
    / v_kd``. A gate ``G_j`` (a Brian2 expression, 0 or 1) of observation ``j`` on dimension ``d``
    switches the branch parameters to their posterior values: ``m_kd -> m_kd + G_j (m_on - m_kd)``,
    ``s_kd^2 -> s_kd^2 + G_j (s_on^2 - s_kd^2)``, ``log w_k -> log w_k + G_j dlogw_kj`` (exact for a
    linear-Gaussian likelihood). With ``likelihood='additive'`` the branches keep their prior parameters
    and the soma instead receives the additive drift ``G_j (y_j - x_d)/sigma_j^2`` (the gradient of the
    log-likelihood at the noisy state; biased).

    Uses the shared variables ``abar`` and ``sab`` and the state variables ``x1..xd``.
    """
    if likelihood not in ("branch", "additive"):
        raise ValueError(f"likelihood must be 'branch' or 'additive', found: {likelihood!r}")
    observations = list(observations)
    gates = list(gates)
    if len(gates) != len(observations):
        raise ValueError(f"one gate per observation needed, found {len(gates)} gates for "
                         f"{len(observations)} observations")
    bp = branch_parameters(weights, means, sigma, observations)
    K, d = bp["mean"].shape
    lines = []
    for k in range(K):
        logw = _f(bp["logw"][k])
        for d_ in range(d):
            mean = _f(bp["mean"][k, d_])
            var = _f(bp["var"][k, d_])
            for j, (dim, _, _) in enumerate(observations):
                if dim == d_ and likelihood == "branch":
                    mean = f"({mean} + ({gates[j]})*({_f(bp['mean_on'][j][k] - bp['mean'][k, d_])}))"
                    var = f"({var} + ({gates[j]})*({_f(bp['var_on'][j][k] - bp['var'][k, d_])}))"
            lines.append(f"m{k}_{d_} = {mean} : 1")
            lines.append(f"v{k}_{d_} = abar*{var} + 1 - abar : 1")
        if likelihood == "branch":
            for j in range(len(observations)):
                logw = f"{logw} + ({gates[j]})*({_f(bp['dlogw'][j][k])})"
        quad = " + ".join(f"(x{d_ + 1} - sab*m{k}_{d_})**2/(2*v{k}_{d_}) + 0.5*log(v{k}_{d_})"
                          for d_ in range(d))
        lines.append(f"a{k} = {logw} - ({quad}) : 1")
    lines.append(f"amax = {logsumexp_max_expr([f'a{k}' for k in range(K)])} : 1")
    lines.append(f"zsum = {' + '.join(f'exp(a{k} - amax)' for k in range(K))} : 1")
    for k in range(K):
        lines.append(f"r{k} = exp(a{k} - amax)/zsum : 1")
    for d_ in range(d):
        terms = " + ".join(f"r{k}*(x{d_ + 1} - sab*m{k}_{d_})/v{k}_{d_}" for k in range(K))
        extra = ""
        if likelihood == "additive":
            for j, (dim, y, sy) in enumerate(observations):
                if dim == d_:
                    extra += f" + ({gates[j]})*({_f(y)} - x{d_ + 1})/{_f(sy**2)}"
        lines.append(f"s{d_ + 1} = -({terms}){extra} : 1")
    return "\n".join(lines)


def sampler_drift(schedule, score="s"):
    """Drift of one soma coordinate (``{x}`` placeholder) for the schedule.

    Oscillation: rising half ``-g2 x/2``, falling half ``g2 x/2 + g2 s``. Constant (Langevin control):
    ``g2 s / 2`` with noise power ``g2`` (temperature 1).
    """
    if schedule == "oscillation":
        return "(1 - fall)*(-0.5*g2*{x}) + fall*(0.5*g2*{x} + g2*{s})"
    if schedule == "constant":
        return "0.5*g2*{s}"
    raise ValueError(f"schedule must be 'oscillation' or 'constant', found: {schedule!r}")


class DendriticMixtureSampler(Model):
    """Sampling soma with one dendritic branch per Gaussian-mixture component (exact score)."""

    name = "dendritic_mixture"
    description = ("2-D sampling soma; K dendritic branches compute the exact score of a diffused "
                   "Gaussian-mixture prior, gated on during the falling half of a global oscillation; "
                   "input gates switch branch parameters to the exact posterior")
    reference = ("Lyo & Savin (2024) Complex priors and flexible inference in recurrent circuits with "
                 "dendritic nonlinearities, ICLR")
    kind = "neuron"
    parameters = {
        "period": Param("100*ms", "oscillation period T; one sample per cycle, read at the troughs"),
        "beta_min": Param("0.1", "noise schedule beta(u) = beta_min + (beta_max - beta_min) u", min=0),
        "beta_max": Param("20", "noise schedule at the oscillation peak", min=0),
        "weights": Param([0.5, 0.3, 0.2], "mixture weights w_k (one dendritic branch each)", kind="list"),
        "means": Param([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]], "mixture means mu_k (K x 2)", kind="list"),
        "sigma": Param("0.35", "standard deviation of each mixture component", positive=True),
        "gate_sensory": Param("0", "Brian2 expression of the sensory gate (0/1), e.g. a TimedArray of t",
                              kind="code"),
        "gate_context": Param("0", "Brian2 expression of the context gate (0/1)", kind="code"),
        "y_sensory": Param("0.6", "sensory observation y of x1"),
        "sigma_sensory": Param("0.8", "sensory observation noise", positive=True),
        "y_context": Param("2.0", "context cue on x2"),
        "sigma_context": Param("0.6", "context cue noise", positive=True),
        "likelihood": Param("branch", "how gated inputs act: 'branch' (exact: they change the branch "
                            "gain, mean and variance) or 'additive' (a likelihood drift on the soma)",
                            kind="str", choices=("branch", "additive")),
        "schedule": Param("oscillation", "'oscillation' (the sampler) or 'constant' (Langevin control at "
                          "the trough noise level)", kind="str", choices=("oscillation", "constant")),
        "langevin_rate": Param("10*Hz", "constant schedule only: noise power g2 = 2 langevin_rate"),
        "x_init": Param("randn()", "initial somatic state (each coordinate)", kind="code"),
    }
    method = "euler"

    def equations_for(self, params):
        """The neuron equations for resolved ``params`` (name -> value)."""
        means = np.asarray(params["means"], dtype=float)
        d = means.shape[1]
        obs, gates = [], []
        for dim, key in ((0, "sensory"), (1, "context")):
            if dim < d:
                obs.append((dim, float(params[f"y_{key}"]), float(params[f"sigma_{key}"])))
                gates.append(str(params[f"gate_{key}"]))
        score = mixture_score_equations(params["weights"], means, float(params["sigma"]), obs, gates,
                                        str(params["likelihood"]))
        drift = sampler_drift(str(params["schedule"]))
        lines = [f"dx{i}/dt = {drift.format(x=f'x{i}', s=f's{i}')} + gn*xi_{i} : 1"
                 for i in range(1, d + 1)]
        return "\n".join(lines + [score, SCHEDULE_VARIABLES])

    def group(self, name, size, params, ctx):
        d = np.asarray(params["means"]).shape[1]
        return GroupSpec(self.equations_for(params), method=self.method, namespace=constants(params),
                         initial={f"x{i}": str(params["x_init"]) for i in range(1, d + 1)},
                         operations=[Operation(f"{name}_schedule", "", schedule_code(str(params["schedule"])),
                                               when="start")])


class DendriticTreeSoma(Model):
    """Sampling soma of a learned denoiser: ``eps1 ... epsd`` arrive from the dendritic tree.

    The score is ``-eps / sqrt(1 - abar + eps_floor)`` (``eps_floor`` only guards the trough, where
    ``g2 = 0`` anyway). With ``schedule = 'constant'`` (the negative control) the soma runs Langevin
    dynamics on the tree's score at the fixed noise level ``langevin_u``.
    """

    name = "dendritic_tree_soma"
    description = "sampling soma (d coordinates) reading the epsilon prediction of a softplus dendritic tree"
    reference = DendriticMixtureSampler.reference
    kind = "neuron"
    parameters = {
        "period": DendriticMixtureSampler.parameters["period"],
        "beta_min": DendriticMixtureSampler.parameters["beta_min"],
        "beta_max": DendriticMixtureSampler.parameters["beta_max"],
        "dimensions": Param(2, "number of somatic coordinates x1 ... xd (the data's dimension)", kind="int",
                            min=1),
        "eps_floor": Param("1e-6", "added to 1 - abar in the score denominator", positive=True),
        "schedule": Param("oscillation", "'oscillation' (the sampler) or 'constant' (Langevin control on the "
                          "tree's score at noise level langevin_u)", kind="str", choices=("oscillation", "constant")),
        "langevin_u": Param("0.05", "constant schedule only: the fixed noise level u the tree is read at",
                            min=0),
        "langevin_rate": DendriticMixtureSampler.parameters["langevin_rate"],
        "likelihood_score": Param([], "Brian2 expressions added to the score of x1, x2, ... (e.g. a gated "
                                  "likelihood gradient evaluated at the noisy state, the authors' estimator)",
                                  kind="list"),
        "x_init": Param("randn()", "initial somatic state (each coordinate)", kind="code"),
    }
    method = "euler"

    def equations_for(self, params):
        schedule = str(params.get("schedule", "oscillation"))
        drift = sampler_drift(schedule)
        dims = range(1, int(params.get("dimensions", 2)) + 1)
        extra = [str(e) for e in params.get("likelihood_score", [])]
        if len(extra) > len(dims):
            raise ValueError(f"likelihood_score has {len(extra)} expressions for {len(dims)} coordinates")
        extra += ["0"] * (len(dims) - len(extra))
        lines = [f"dx{i}/dt = {drift.format(x=f'x{i}', s=f's{i}')} + gn*xi_{i} : 1" for i in dims]
        lines += [f"s{i} = -eps{i}/sqrt(1 - abar + eps_floor)" + ("" if e == "0" else f" + ({e})") + " : 1"
                  for i, e in zip(dims, extra)]
        lines += [f"eps{i} = eps_in{i} + eps_bias{i} : 1" for i in dims]
        lines += [f"eps_in{i} : 1" for i in dims]
        lines += [f"eps_bias{i} : 1 (shared)" for i in dims]
        return "\n".join(lines + [SCHEDULE_VARIABLES])

    def group(self, name, size, params, ctx):
        schedule = str(params.get("schedule", "oscillation"))
        dims = range(1, int(params.get("dimensions", 2)) + 1)
        return GroupSpec(self.equations_for(params), method=self.method, namespace=constants(params),
                         initial={f"x{i}": str(params["x_init"]) for i in dims},
                         operations=[Operation(f"{name}_schedule", "", schedule_code(schedule, "langevin_u"),
                                               when="start")])


class DendriticLayer(Model):
    """A layer of softplus dendritic units: ``h = softplus(z)``, ``z = bias + phase terms + inputs + z_in``.

    The phase terms ``w_cos cos(pi u) + w_sin sin(pi u)`` read the noise level ``u`` as an expression of
    ``t`` (no coupling to the soma needed); ``inputs`` are further Brian2 expressions (e.g. gated sensory
    and context streams, TimedArrays of ``t``), each with a per-unit weight ``w_in<k>``; ``z_in`` is a
    summed variable written by the incoming Synapses.
    """

    name = "dendritic_layer"
    description = "softplus dendritic units with summed-variable input, oscillation-phase input and gated inputs"
    reference = DendriticMixtureSampler.reference
    kind = "neuron"
    parameters = {
        "period": DendriticMixtureSampler.parameters["period"],
        "phase_input": Param(True, "whether the units receive cos(pi u), sin(pi u)", kind="bool"),
        "phase_u": Param(phase_expr(), "Brian2 expression of the noise level u the phase input reads",
                         kind="code"),
        "inputs": Param([], "Brian2 expressions of further inputs, weighted by w_in0, w_in1, ...", kind="list"),
    }
    method = "euler"

    def equations_for(self, params):
        terms = ""
        if params.get("phase_input", True):
            u = params.get("phase_u", phase_expr())
            terms = f" + w_cos*cos(pi*{u}) + w_sin*sin(pi*{u})"
        inputs = list(params.get("inputs", []))
        terms += "".join(f" + w_in{k}*({expr})" for k, expr in enumerate(inputs))
        return "\n".join([
            f"z = bias{terms} + z_in : 1",
            f"h = {softplus_expr('z')} : 1",
            "z_in : 1",
            "bias : 1 (constant)",
            "w_cos : 1 (constant)",
            "w_sin : 1 (constant)",
            *[f"w_in{k} : 1 (constant)" for k in range(len(inputs))],
            "chain : integer (constant)",
        ])

    def group(self, name, size, params, ctx):
        return GroupSpec(self.equations_for(params), method=self.method, namespace={"period": params["period"]})
