"""Input populations: Poisson spike trains with a rate expression, and explicit spike times.

``poisson`` draws its next spike time from an exponential distribution when it fires and spikes when
``t`` reaches it, so it costs per spike rather than one random number per neuron per step; for a
rate that is constant in time (a number, or an expression of ``i``) this is exactly a Poisson process on
the time grid (``tests/test_inputs.py``). A time-varying ``rate`` expression (one of ``t``, or calling a
TimedArray) always uses the per-step Bernoulli draw ``rand() < rate*dt`` (``method = "bernoulli"``).
``spike_generator`` replays spike times given in the scenario or by the task; ``spike_train`` does the
same on a NeuronGroup (a spike-indicator TimedArray as threshold), so plasticity rules can attach
neuron-side variables (traces, rates) to neurons whose spike times are forced.
"""

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import GroupSpec
from spikelearn.plugin import Model, Param, constants

__all__ = ["Poisson", "SpikeTimes", "SpikeTrain"]


class Poisson(Model):
    name = "poisson"
    description = "Poisson spike trains with a rate (a constant or a Brian2 expression of t and i)"
    kind = "poisson"
    parameters = {
        "rate": Param("10*Hz", "firing rate: a rate, or a Brian2 expression in Hz (e.g. '10*Hz*(1 + sin(2*pi*t/second))')", kind="code"),
        "method": Param("exponential", "'exponential': next spike time drawn at each spike (rates constant in time, cost per spike; "
                        "a time-varying rate uses 'bernoulli'); "
                        "'bernoulli': rand() < rate*dt every step (any rate expression)", kind="str",
                        choices=("exponential", "bernoulli")),
    }

    def group(self, name, size, params, ctx):
        rate = params["rate"]
        rate_code = rate if isinstance(rate, str) else f"{float(rate)!r}*Hz"
        namespace = constants({k: v for k, v in params.items() if k not in ("rate", "method")})
        if params["method"] == "exponential" and not _time_varying(rate_code, {**_global(ctx), **namespace}):
            # a rate fixed in time is a per-neuron constant, set once: no per-step update of `rate`
            # + 1e-300 Hz: a neuron at rate 0 gets its first spike at ~1e300 s (never) instead of a division
            # by zero; for any other rate the sum is the rate itself in double precision
            return GroupSpec("rate : Hz (constant)\nnext_spike : second", threshold="t >= next_spike",
                             reset="next_spike = t + (-log(rand()))/rate", namespace=namespace,
                             initial={"rate": rate_code, "next_spike": "-log(rand())/(rate + 1e-300*Hz)"})
        return GroupSpec(f"rate = {rate_code} : Hz (constant over dt)", threshold="rand() < rate*dt",
                         namespace=namespace)


def _global(ctx):
    return ctx.namespace if ctx is not None else {}


def _time_varying(code, namespace):
    """Whether a rate expression can change during the run: it names ``t`` (or the time step), draws
    random numbers, or calls a function from the namespace (a TimedArray of ``t``, a phase gate)."""
    from brian2 import Function
    from brian2.utils.stringtools import get_identifiers

    names = get_identifiers(code)
    if names & {"t", "t_in_timesteps", "rand", "randn", "xi"}:
        return True
    return any(isinstance(namespace.get(n), Function) for n in names)


class SpikeTimes(Model):
    name = "spike_generator"
    description = "Explicit spike times (from the scenario's parameters or supplied by the task)"
    kind = "spike_generator"
    parameters = {
        "indices": Param([], "neuron index of each spike", kind="list"),
        "times": Param([], "time of each spike (quantity strings such as '10*ms')", kind="list"),
    }

    def group(self, name, size, params, ctx):
        indices, times = _spikes_from(name, params, ctx)
        return GroupSpec(spikes=(_check_spikes(name, size, indices, times), times))


def _spikes_from(name, params, ctx):
    from spikelearn.units import parse_quantity

    if name in ctx.spike_inputs:
        indices, times = ctx.spike_inputs[name]
        return indices, np.asarray(times, dtype=float)
    return params["indices"], np.array([float(parse_quantity(t)) for t in params["times"]], dtype=float)


def _check_spikes(name, size, indices, times):
    indices = np.asarray(indices, dtype=int)
    if len(indices) != len(times):
        raise BuildError(f"population '{name}': {len(indices)} spike indices but {len(times)} spike times")
    if len(indices) and (indices.min() < 0 or indices.max() >= size):
        raise BuildError(f"population '{name}': spike indices must lie in [0, {size})")
    return indices


class SpikeTrain(Model):
    name = "spike_train"
    description = "Explicit spike times on a NeuronGroup (rules may attach neuron variables to it)"
    kind = "neuron"
    parameters = SpikeTimes.parameters

    def group(self, name, size, params, ctx):
        from brian2 import TimedArray

        indices, times = _spikes_from(name, params, ctx)
        indices = _check_spikes(name, size, indices, times)
        dt = float(ctx.dt)
        n_steps = int(np.ceil(float(ctx.duration) / dt)) + 1
        steps = np.rint(times / dt).astype(int)
        if len(steps) and steps.max() >= n_steps:
            raise BuildError(f"population '{name}': a spike time lies after the end of the run")
        table = np.zeros((n_steps, size))
        table[steps, indices] = 1.0
        ta_name = f"sl_spikes_{name}"
        namespace = constants({k: v for k, v in params.items() if k not in ("indices", "times")})
        namespace[ta_name] = TimedArray(table, dt=ctx.dt, name=ta_name)
        return GroupSpec("", threshold=f"{ta_name}(t, i) > 0.5", namespace=namespace)
