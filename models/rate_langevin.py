"""Stochastic rate units (Langevin dynamics) and the rate inputs that drive them.

``rate_langevin`` (Bredenberg, Simoncelli & Savin 2020): ``dr = [-finv(r) + I_rec + I_in + I_b] dt/tau +
sigma sqrt(1/tau) dB`` with the sharp softplus ``f(x) = log(1 + exp(gamma x))/gamma`` and its stable inverse
``finv(r) = r + log(1 - exp(-gamma r))/gamma``; after each Euler-Maruyama step ``r`` is clipped to
``[r_min, r_max]``. For a symmetric recurrent matrix its stationary distribution samples
``p(r|s) ∝ exp(-2E/sigma^2)``. ``I_rec``, ``I_in`` and ``I_b`` are targets of summed-variable connections
(``summed = "I_rec_post = w*r_pre"``).

``rate_cosine_input``: ``r = gain*[cos(theta - phi_i)]_+`` with ``phi_i = 2 pi i / N``, computed at the start of
every step; ``theta`` is a linked variable: the task links it to the variable of a population that holds the
stimulus angle (e.g. the drifting angle of ``reward_coding``).

``rate_constant``: a constant rate ``r = rate`` (a bias unit).
"""

from spikelearn.network import Operation
from spikelearn.plugin import Model, Param

__all__ = ["RateLangevin", "CosineInput", "ConstantRate"]


class RateLangevin(Model):
    name = "rate_langevin"
    description = "Stochastic rate unit: Langevin dynamics with a sharp-softplus inverse, clipped rates"
    reference = "Bredenberg, Simoncelli & Savin (2020) NeurIPS 33"
    parameters = {
        "tau": Param("1*second", "time unit of the dynamics"),
        "sigma": Param("0.2", "noise amplitude (per sqrt(tau))", min=0),
        "gamma": Param("30.0", "sharpness of the softplus (f(x) = log(1 + exp(gamma x))/gamma)", positive=True),
        "r_min": Param("0.001", "lower clip of r (finv needs r > 0)", positive=True),
        "r_max": Param("100.0", "upper clip of r", positive=True),
        "r_init": Param("0.1", "initial rate"),
    }
    equations = """
    dr/dt = (-(r + log(1 - exp(-gamma*r))/gamma) + I_rec + I_in + I_b)/tau + sigma*xi*tau**-0.5 : 1
    I_rec : 1
    I_in : 1
    I_b : 1
    """
    method = "euler"
    initial = {"r": "r_init"}

    def group(self, name, size, params, ctx):
        spec = super().group(name, size, params, ctx)
        # right after the state update (groups slot, the group's order): finv is only ever evaluated on
        # clipped rates
        spec.operations.append(Operation(f"{name}_clip", "", "r = clip(r, r_min, r_max)", when="groups", order=1))
        return spec


class CosineInput(Model):
    name = "rate_cosine_input"
    description = "Input rates gain*[cos(theta - 2 pi i/N)]_+ (theta: linked to a stimulus angle by the task)"
    reference = "Bredenberg, Simoncelli & Savin (2020) NeurIPS 33"
    parameters = {
        "gain": Param("1.0", "peak input rate"),
    }
    # a state variable set at the start of every step (not a subexpression), so that synapses reading
    # r_pre do not need this group's parameters in their own namespace
    equations = """
    r : 1
    theta : 1 (linked)
    """

    def group(self, name, size, params, ctx):
        from spikelearn.errors import BuildError

        if ctx is not None and "theta" not in ctx.net.populations[name].links:
            raise BuildError(f"population '{name}' (model rate_cosine_input) needs its variable 'theta' linked to "
                             "a stimulus angle; a task such as reward_coding links it")
        spec = super().group(name, size, params, ctx)
        code = "r = gain*clip(cos(theta - 2*pi*i/N), 0, inf)"
        spec.operations.append(Operation(f"{name}_rates", "", code, when="start"))
        return spec


class ConstantRate(Model):
    name = "rate_constant"
    description = "Units with a constant rate r (bias units)"
    parameters = {
        "rate": Param("1.0", "the rate"),
    }
    equations = """
    r : 1 (constant)
    """
    initial = {"r": "rate"}
