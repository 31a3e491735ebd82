r"""STDP as gradient descent: presynaptic activity times the temporal derivative of postsynaptic activity.

Bengio, Mesnard, Fischer, Zhang & Wu (2017) Neural Computation 29:555 ("STDP-compatible approximation
of backpropagation in an energy-based model"); Bengio, Lee, Bornschein, Mesnard & Lin (2015)
arXiv:1502.04156 ("Towards biologically plausible deep learning"), after Xie & Seung (2000).

The rule is :math:`\dot w_{ij} = \eta\, a_i\, \dot b_j`: presynaptic activity :math:`a_i` times the rate of
change of postsynaptic activity :math:`b_j`. If the neural dynamics descend an objective *J*
(:math:`\dot V \propto -\partial J/\partial V`), this is stochastic gradient descent on *J*. Three forms:

The 2015 rule (:class:`DvdtSTDP`, ``stdp_dvdt``)
    :math:`\Delta W_{ij} \propto S_i\, \dot V_j`: at each presynaptic spike, ``w += eta*dvdt_post``,
    where ``dvdt`` is the rate of change of the postsynaptic potential that the neuron model exposes
    (``sigmoid_poisson``: the drift of its Langevin equation, the net membrane current over the
    capacitance; see :mod:`spikelearn.models.sigmoid_poisson` for why the drift and not a finite
    difference of the noisy ``V``). Nothing in the rule has a time constant: its STDP window is whatever
    the postsynaptic dynamics make of it (task ``stdp_window_dvdt``, scenario ``stdp-window-dvdt``).
    The synapse reads ``dvdt`` in the synapses slot, after the step's state update: the drift at the
    state the neuron has at the end of the step in which the presynaptic spike arrives.
    :class:`PreVoltage` (``stdp_pre_voltage``, ``w += eta*V_post``) is its negative control: a
    presynaptic term that ignores how ``V`` changes.

Spiking form with traces (:class:`TraceGradientSTDP`, ``stdp_trace_gradient``)
    The 2017 rate rule applied to spike *traces*, not the 2015 rule: its window below is a property of
    the traces chosen (two exponentials, zero integral, ``A+/A- = tau_r/tau_x``), and with τ_x, τ_r set
    to Bi & Poo's constants it resembles Bi & Poo by construction. Presynaptic trace :math:`x` (:math:`\tau_x`, +1 per presynaptic spike), postsynaptic rate trace
    :math:`r` (:math:`\tau_r`, +1 per postsynaptic spike) and :math:`\dot w = \eta\, x\, \dot r`. Since

    .. math:: \dot r = -r/\tau_r + \sum_k \delta(t - t^{post}_k),

    the rule splits into a jump :math:`w \mathrel{+}= \eta\, x` at each postsynaptic spike (``on_post``)
    and the continuous term :math:`\dot w = -\eta\, x\, r/\tau_r` (clock-driven). For one pair, with
    :math:`\Delta t = t_{post} - t_{pre}` and the integral taken to infinity:

    - :math:`\Delta t > 0`: jump :math:`\eta e^{-\Delta t/\tau_x}`, then
      :math:`-\frac{\eta}{\tau_r}\int_{\Delta t}^\infty e^{-s/\tau_x} e^{-(s-\Delta t)/\tau_r} ds
      = -\eta \frac{\tau_x}{\tau_x+\tau_r} e^{-\Delta t/\tau_x}`, in total
      :math:`\Delta w = \eta \frac{\tau_r}{\tau_x+\tau_r} e^{-\Delta t/\tau_x}`;
    - :math:`\Delta t < 0`: no jump (x = 0 at the post spike), then
      :math:`-\frac{\eta}{\tau_r}\int_{|\Delta t|}^\infty e^{-(s-|\Delta t|)/\tau_x} e^{-s/\tau_r} ds
      = -\eta \frac{\tau_x}{\tau_x+\tau_r} e^{\Delta t/\tau_r}`.

    So :math:`A_+ = \eta\tau_r/(\tau_x+\tau_r)`, :math:`\tau_+ = \tau_x`,
    :math:`A_- = \eta\tau_x/(\tau_x+\tau_r)`, :math:`\tau_- = \tau_r`: :math:`A_+/A_- = \tau_r/\tau_x`
    and :math:`\int W = A_+\tau_+ - A_-\tau_- = 0`. The rule is bilinear in the two spike trains, so
    for any trains the weight change is the sum of this window over all pre/post pairs (exactly, in
    continuous time; :func:`window` and :meth:`TraceGradientSTDP.reference_update`).

    The traces live on the synapse (clock-driven), so the rule works with any source and target,
    spike generators included. Integration is ``rk4``: its error per step is O((dt/tau)^5), so with
    dt = 0.1 ms a run matches the exact continuous-time result (:func:`pair_weight_change`) to ~1e-11
    relative (Euler: ~0.2 %); spikes fall on the time grid and a pre and a post spike in the same step
    count as pre-before-post (Brian2 runs ``on_pre`` before ``on_post``).

Rate form (:class:`GradientRate`, ``stdp_gradient_rate``)
    :math:`\dot w_{ij} = \eta\, g\, \rho_i\, \dot\rho_j` for rate units that provide ``rho`` (their
    rate) and ``drho_dt`` (its time derivative; the rate model computes it as the change of ``rho``
    over the last time step divided by ``dt``, so that a unit at rest contributes exactly 0). ``g`` is
    a global gate signal (``nudged``: 1 during the nudged phase of equilibrium propagation, else 0).
    Summed over the nudged phase, the rule gives :math:`\eta\,\rho_i\,[\rho_j^\beta - \rho_j^0]`,
    the equilibrium-propagation update (Scellier & Bengio 2017) when :math:`\rho_i` is clamped.
    :class:`GradientRateSymmetric` (``stdp_gradient_rate_sym``) uses
    :math:`\rho_i\dot\rho_j + \rho_j\dot\rho_i = d(\rho_i\rho_j)/dt` (the symmetrised rule of
    Bengio et al. 2017, for weights that are also used top-down). The task that builds the rate
    units supplies ``rho``, ``drho_dt`` and the gate (see :mod:`spikelearn.tasks.bengio2017.nudged`).

Both ``model`` strings define ``w`` themselves (``dw/dt = ... (clock-driven)``); the builder must not
add its own ``w : 1`` line for them.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule

__all__ = ["DvdtSTDP", "PreVoltage", "TraceGradientSTDP", "GradientRate", "GradientRateSymmetric", "window", "window_amplitudes",
           "pair_weight_change"]


def window_amplitudes(eta, tau_x, tau_r):
    """Closed-form window parameters ``(A_plus, tau_plus, A_minus, tau_minus)`` of the spiking rule.

    ``A_minus`` is returned as a positive number (the window is ``-A_minus*exp(dt/tau_minus)`` for
    ``dt < 0``).
    """
    if tau_x <= 0 or tau_r <= 0:
        raise ValueError(f"tau_x and tau_r must be > 0, found tau_x={tau_x}, tau_r={tau_r}")
    s = tau_x + tau_r
    return eta * tau_r / s, tau_x, eta * tau_x / s, tau_r


def window(delta_t, eta, tau_x, tau_r):
    """Weight change of one pre/post pair, ``delta_t = t_post - t_pre`` (seconds; array allowed).

    At ``delta_t == 0`` (simultaneous spikes) the value is that of ``delta_t -> 0+``.
    """
    a_p, t_p, a_m, t_m = window_amplitudes(eta, tau_x, tau_r)
    d = np.asarray(delta_t, dtype=float)
    return np.where(d >= 0, a_p * np.exp(-np.abs(d) / t_p), -a_m * np.exp(-np.abs(d) / t_m))


def pair_weight_change(t_pre, t_post, eta, tau_x, tau_r, t_end=np.inf):
    """Exact continuous-time weight change of the spiking rule for one synapse, integrated to ``t_end``.

    ``dw/dt = eta * x * dr/dt`` with ``x = sum_i exp(-(t - t_i)/tau_x)`` over presynaptic spikes and
    ``r = sum_j exp(-(t - t_j)/tau_r)`` over postsynaptic spikes. Bilinear, so the change is the sum over
    pairs of (jump ``eta*x`` at the post spike if the pre spike came first) minus
    ``eta/tau_r * integral_{max(t_i, t_j)}^{t_end} x_i r_j``. A pre and a post spike at the same time
    count as pre-before-post (the jump sees the new ``x``).

    Parameters
    ----------
    t_pre, t_post : array_like
        Spike times in seconds.
    t_end : float
        End of the integration (``inf``: the complete window).
    """
    t_pre = np.asarray(t_pre, dtype=float).ravel()
    t_post = np.asarray(t_post, dtype=float).ravel()
    if tau_x <= 0 or tau_r <= 0:
        raise ValueError(f"tau_x and tau_r must be > 0, found tau_x={tau_x}, tau_r={tau_r}")
    if t_pre.size == 0 or t_post.size == 0:
        return 0.0
    ti = t_pre[:, None]
    tj = t_post[None, :]
    tj_in = tj <= t_end
    jump = np.where((ti <= tj) & tj_in, np.exp(-(tj - ti) / tau_x), 0.0)
    a = np.maximum(ti, tj)
    tau_xr = tau_x * tau_r / (tau_x + tau_r)
    start = np.exp(-(a - ti) / tau_x - (a - tj) / tau_r)
    frac = 1.0 if np.isinf(t_end) else (1.0 - np.exp(-np.maximum(t_end - a, 0.0) / tau_xr))
    integral = np.where(a <= t_end, start * tau_xr * frac, 0.0)
    return float(eta * (jump.sum() - integral.sum() / tau_r))


class DvdtSTDP(PlasticityRule):
    """The 2015 rule: ``w += eta*dvdt_post`` at each presynaptic spike (``dvdt``: the postsynaptic
    potential's rate of change, provided by the neuron model, e.g. ``sigmoid_poisson``)."""

    name = "stdp_dvdt"
    description = ("STDP as gradient descent, 2015 form: w += eta * dV_post/dt at each presynaptic spike "
                   "(dV/dt: the postsynaptic model's variable dvdt)")
    reference = ("Bengio, Lee, Bornschein, Mesnard & Lin (2015) arXiv:1502.04156, section 2; "
                 "Xie & Seung (2000) NIPS 12")
    parameters = {
        "eta": Param("1*ms", "learning rate: weight change per unit of dV/dt (V dimensionless, so a time)"),
    }
    on_pre = "w += eta*dvdt_post"
    bounds = (None, None)

    def reference_update(self, params, dvdt_at_pre, w0=0.0, **inputs):
        """Weights after presynaptic spikes that read the given ``dV/dt`` values (NumPy).

        ``dvdt_at_pre``: one array per synapse of the postsynaptic ``dV/dt`` (1/s) at each of its
        presynaptic spikes. Returns ``w0 + eta * sum``.
        """
        eta = float(params["eta"])
        return np.asarray(w0, dtype=float) + eta * np.array([np.sum(d) for d in dvdt_at_pre])


class PreVoltage(PlasticityRule):
    """Negative control of ``stdp_dvdt``: ``w += eta*V_post`` at each presynaptic spike (S_pre · V_post)."""

    name = "stdp_pre_voltage"
    description = "Control: w += eta * V_post at each presynaptic spike (ignores how V changes)"
    reference = "negative control of stdp_dvdt (Bengio et al. 2015)"
    parameters = {
        "eta": Param("0.01", "weight change per unit of V"),
    }
    on_pre = "w += eta*V_post"
    bounds = (None, None)


class TraceGradientSTDP(PlasticityRule):
    """Trace form: ``w += eta*x`` at a post spike, ``dw/dt = -eta*x*r/tau_r`` in between (the 2017 rate
    rule on spike traces; its window is the traces' closed form)."""

    name = "stdp_trace_gradient"
    description = ("Rate rule on spike traces: dw/dt = eta * x_pre * dr_post/dt with exponential traces "
                   "(window A+/A- = tau_r/tau_x, zero integral)")
    reference = ("Bengio, Mesnard, Fischer, Zhang & Wu (2017) Neural Comput. 29:555; "
                 "Bengio et al. (2015) arXiv:1502.04156")
    parameters = {
        "eta": Param("0.01", "learning rate (weight units per unit of x*dr)"),
        "tau_x": Param("16.8*ms", "decay of the presynaptic trace x (= tau_plus of the window)"),
        "tau_r": Param("33.7*ms", "decay of the postsynaptic rate trace r (= tau_minus of the window)"),
    }
    model = """dw/dt = -eta*x*r/tau_r : 1 (clock-driven)
               dx/dt = -x/tau_x : 1 (clock-driven)
               dr/dt = -r/tau_r : 1 (clock-driven)"""
    on_pre = "x += 1"
    on_post = """w += eta*x
                 r += 1"""
    method = "rk4"

    def reference_update(self, params, pre_times, post_times, w0=0.0, duration=np.inf, **inputs):
        """Exact continuous-time weights after the given spike trains (NumPy, no Brian2).

        Parameters
        ----------
        params : dict
            ``eta``, ``tau_x``, ``tau_r`` as floats (SI units).
        pre_times, post_times : sequence of array_like
            Spike times (s) of each synapse's presynaptic and postsynaptic neuron, one entry per synapse
            (or two 1-D arrays for a single synapse).
        w0 : float or array_like
            Initial weights.
        duration : float
            Integration end (s).

        Returns
        -------
        ndarray of final weights (one per synapse).
        """
        unknown = set(inputs) - {"dt"}
        if unknown:
            raise TypeError(f"unexpected inputs for '{self.name}' reference: {sorted(unknown)}")
        missing = {"eta", "tau_x", "tau_r"} - set(params)
        if missing:
            raise ValueError(f"params of '{self.name}' lack {sorted(missing)}")
        eta, tau_x, tau_r = (float(params[k]) for k in ("eta", "tau_x", "tau_r"))
        if len(pre_times) and np.ndim(pre_times[0]) == 0:
            pre_times, post_times = [pre_times], [post_times]
        if len(pre_times) != len(post_times):
            raise ValueError(f"{len(pre_times)} presynaptic trains but {len(post_times)} postsynaptic")
        dw = np.array([pair_weight_change(p, q, eta, tau_x, tau_r, duration)
                       for p, q in zip(pre_times, post_times)])
        return np.asarray(w0, dtype=float) + dw


class GradientRate(PlasticityRule):
    """Rate form: ``dw/dt = eta * g * rho_pre * drho_dt_post`` (``g``: the ``nudged`` gate)."""

    name = "stdp_gradient_rate"
    description = "Rate form of STDP as gradient descent: dw/dt = eta * rho_pre * d(rho_post)/dt, gated"
    reference = "Bengio, Mesnard, Fischer, Zhang & Wu (2017) Neural Comput. 29:555"
    parameters = {
        "eta": Param("0.1", "learning rate (per unit of rho_pre * delta rho_post)"),
    }
    model = "dw/dt = eta*nudged*rho_pre*drho_dt_post : 1 (clock-driven)"
    signals = ("nudged",)
    method = "euler"

    def reference_update(self, params, rho_pre, rho_post, gate, w0=0.0, **inputs):
        """Weights after a sampled trajectory, NumPy only.

        ``rho_pre (n_t, n_pre)``, ``rho_post (n_t, n_post)``: rates at consecutive time steps;
        ``gate (n_t,)``. Each step contributes ``eta*gate[k]*rho_pre[k-1, i]*(rho_post[k, j] -
        rho_post[k-1, j])``. Returns ``w0 + dW`` with shape ``(n_pre, n_post)``.
        """
        eta = float(params["eta"])
        rho_pre, rho_post, gate = np.asarray(rho_pre), np.asarray(rho_post), np.asarray(gate)
        if rho_pre.shape[0] != rho_post.shape[0] or gate.shape[0] != rho_pre.shape[0]:
            raise ValueError(f"trajectories must have the same length: {rho_pre.shape[0]}, "
                             f"{rho_post.shape[0]}, {gate.shape[0]}")
        d_post = np.diff(rho_post, axis=0)
        dW = eta * np.einsum("k,ki,kj->ij", gate[1:], rho_pre[:-1], d_post)
        return np.asarray(w0, dtype=float) + dW


class GradientRateSymmetric(GradientRate):
    """Symmetrised rate form: ``dw/dt = eta*g*(rho_pre*drho_dt_post + rho_post*drho_dt_pre)``."""

    name = "stdp_gradient_rate_sym"
    description = "Symmetrised rate form: dw/dt = eta * d(rho_pre*rho_post)/dt, gated"
    model = "dw/dt = eta*nudged*(rho_pre*drho_dt_post + rho_post*drho_dt_pre) : 1 (clock-driven)"

    def reference_update(self, params, rho_pre, rho_post, gate, w0=0.0, **inputs):
        eta = float(params["eta"])
        rho_pre, rho_post, gate = np.asarray(rho_pre), np.asarray(rho_post), np.asarray(gate)
        d_post = np.diff(rho_post, axis=0)
        d_pre = np.diff(rho_pre, axis=0)
        dW = eta * (np.einsum("k,ki,kj->ij", gate[1:], rho_pre[:-1], d_post)
                    + np.einsum("k,ki,kj->ij", gate[1:], d_pre, rho_post[:-1]))
        return np.asarray(w0, dtype=float) + dW
