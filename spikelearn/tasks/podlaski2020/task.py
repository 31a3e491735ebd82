"""Dynamic inversion (Podlaski & Machens, NeurIPS 2020): the backward pass inverts the forward map.

One controller per layer runs in the backward pass (time in units of ``tau``)::

    tau d(dtilde)/dt = -dtilde + B u                    (dtilde: error sent to layer l-1, size n_pre)
    tau du/dt        = k (W dtilde - e) - alpha u       (u: controller, size n_post)

The forward weights ``W`` are not copied: the Synapses object that carries the forward pass
(``y_post = w*r_pre``) also computes ``W dtilde`` (``Wd_post = w*dtilde_pre``), both as summed
variables. Its fixed point is ``dtilde = B (W B - (alpha/k) I)^-1 e`` (see
:mod:`spikelearn.tasks.podlaski2020.controller`); the task refuses to build (``BuildError``) when the
controller is unstable.

Two tasks:

- ``dynamic_inversion`` (scenario ``dynamic-inversion``): a fixed ``W`` (n_post x n_pre) and a constant
  error ``e``; two controllers side by side, feedback (a) ``B = -W^T`` and (b) a random ``B`` stabilised
  before the run. Claims: the inversion residual, the angle to the closed form, for (a) the angle to the
  pseudo-inverse solution and to the backprop direction ``W^T e``, and stability.
- ``dynamic_inversion_spiking``: the same with signed Poisson events. Each unit emits two event types,
  ``pos`` at rate ``c*[x]_+`` and ``neg`` at rate ``c*[-x]_+`` (``c`` = ``rate_scale`` for ``dtilde``,
  ``rate_scale_u`` for ``u``; a +/- population pair
  folded into one Brian2 neuron with two custom events); one Synapses object per matrix has one pathway
  per event type, so the signed error crosses it as spikes and the matrix is still stored once. The
  receiving side low-pass filters the events (``tau_syn``). Same claims, looser thresholds.

Learning with dynamic inversion, as the authors ran it, is in :mod:`spikelearn.tasks.podlaski2020.nonlinear`
(two-hidden-layer regression) and :mod:`spikelearn.tasks.podlaski2020.mnist`.
"""

import logging

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Population, Record
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome

from spikelearn.tasks.podlaski2020 import controller as ref

__all__ = ["DynamicInversion", "DynamicInversionSpiking", "weight_matrix", "weight_snapshots", "residual_trace"]

logger = logging.getLogger(__name__)

FEEDBACKS = ("transpose", "random")


def weight_matrix(weights, shape, key="w_final"):
    """Dense ``(n_post, n_pre)`` matrix from a saved weights dict (``i`` pre, ``j`` post)."""
    W = np.zeros(shape)
    W[weights["j"], weights["i"]] = weights[key]
    return W


def weight_snapshots(weights, shape):
    """Dense ``(n_post, n_pre)`` matrices of every sample of a saved weight trace, then the final weights
    (the trace must record every synapse)."""
    out = []
    for k in range(len(weights["t"])):
        W = np.zeros(shape)
        W[weights["j"][weights["trace_index"]], weights["i"][weights["trace_index"]]] = weights["w_trace"][:, k]
        out.append(W)
    return out + [weight_matrix(weights, shape)]


def residual_trace(W, delta, e):
    """``||W delta(t) - e|| / ||e||`` for a trace ``delta`` of shape (n_pre, n_t)."""
    e = np.asarray(e, dtype=float)
    return np.linalg.norm(W @ delta - e[:, None], axis=0) / np.linalg.norm(e)


def _all_to_all(n_pre, n_post):
    i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    return i.ravel(), j.ravel()


def _float(p, name):
    return float(p[name])


# --------------------------------------------------------------------------------------------------
# Scenario 1: the backward pass inverts a fixed forward map


class DynamicInversion(Task):
    name = "dynamic_inversion"
    description = "The dynamic-inversion controller inverts a fixed forward map (B = -W^T and a stabilised random B)"
    reference = "Podlaski & Machens (2020) NeurIPS 33, Fig. 2"
    spiking = False
    parameters = {
        "n_pre": Param(20, "size of the layer the error is sent to (columns of W)", kind="int", min=1),
        "n_post": Param(10, "size of the layer the error comes from (rows of W)", kind="int", min=1),
        "w_scale": Param("1.0", "W ~ N(0, w_scale/sqrt(n_pre)) (standard deviation)"),
        "tau": Param("10*ms", "time constant of the controller"),
        "alpha": Param("0.0", "controller leak"),
        "gain": Param("1.0", "controller gain k"),
        "random_scale": Param("0.5", "the random feedback starts as B ~ U(-random_scale, random_scale)"),
        "stabilise": Param(True, "stabilise the random B before the run (false: an unstable B is refused)",
                           kind="bool"),
        "stability_target": Param("-0.2", "stabilisation stops when the spectral abscissa is below this (1/tau)"),
        "record_dt": Param("1*ms", "sampling step of the recorded traces"),
        "average_window": Param("0*ms", "the final dtilde is the mean over this last window (0: last sample)"),
        "max_residual": Param("0.01", "claim: ||W dtilde - e|| / ||e|| below this at alpha = 0"),
        "max_angle_closed_form": Param("1.0", "claim: angle (degrees) to B (WB - alpha I)^-1 e below this"),
        "max_angle_pinv": Param("1.0", "claim (B = -W^T): angle (degrees) to W^+ e below this"),
        "min_angle_backprop": Param("20.0", "claim (B = -W^T): angle (degrees) to W^T e above this"),
    }

    # -- build -------------------------------------------------------------------------------------
    def _problem(self, ctx):
        p = ctx.params
        n_pre, n_post = int(p["n_pre"]), int(p["n_post"])
        if n_post > n_pre:
            raise BuildError(f"task {self.name}: n_post ({n_post}) must be <= n_pre ({n_pre}) (a contracting layer)")
        alpha, gain = _float(p, "alpha"), _float(p, "gain")
        rng = ctx.rng
        W = rng.normal(0.0, _float(p, "w_scale") / np.sqrt(n_pre), (n_post, n_pre))
        e = rng.normal(0.0, 1.0, n_post)
        scale = _float(p, "random_scale")
        B0 = rng.uniform(-scale, scale, (n_pre, n_post))
        B = {"transpose": -W.T}
        if p["stabilise"]:
            B["random"], info = ref.stabilise_feedback(W, B0, alpha, gain, target=_float(p, "stability_target"))
            logger.info("random feedback stabilised: abscissa %+.4g -> %+.4g/tau in %d steps (|dB|/|B0| = %.3f)",
                        info["initial_abscissa"], info["final_abscissa"], info["iterations"], info["relative_change"])
        else:
            B["random"] = B0
        for name in FEEDBACKS:
            ref.check_stable(W, B[name], alpha, gain, what=f"task {self.name}: controller with feedback '{name}'",
                             hint="set task.parameters.stabilise = true to stabilise the random B before the run")
        ctx.save_array("W", W)
        ctx.save_array("e", e)
        ctx.save_array("B_random_initial", B0)
        for name in FEEDBACKS:
            ctx.save_array(f"B_{name}", B[name])
        return W, e, B

    def prepare(self, ctx):
        p = ctx.params
        W, e, B = self._problem(ctx)
        n_post, n_pre = W.shape
        ns = {"tau": p["tau"], "alpha": _float(p, "alpha"), "gain": _float(p, "gain")}
        if self.spiking:
            ns.update(rate_scale=p["rate_scale"], rate_scale_u=p["rate_scale_u"], tau_syn=p["tau_syn"])
        pre_i, post_j = _all_to_all(n_pre, n_post)
        origin = f"task {self.name}"
        for name in FEEDBACKS:
            pre, post = f"di_{name}_pre", f"di_{name}_post"
            if self.spiking:
                events = {"pos": "rand() < rate_scale*dtilde*dt", "neg": "rand() < -rate_scale*dtilde*dt"}
                pre_model = Model.from_code(pre, """ddtilde/dt = (-dtilde + Bu)/tau : 1
                                                    dBu/dt = -Bu/tau_syn : 1""", events=events)
                post_model = Model.from_code(post, """du/dt = (gain*(Wd - err) - alpha*u)/tau : 1
                                                      dWd/dt = -Wd/tau_syn : 1
                                                      err : 1 (constant)""",
                                             events={k: v.replace("dtilde", "u").replace("rate_scale", "rate_scale_u")
                                                     for k, v in events.items()})
                # one pathway per event type: the signed error crosses the matrix as spikes
                pathways = {"on_event": {"ppos": "pos", "pneg": "neg"}, "model": ""}
                fwd = {**pathways, "effect": {"ppos": "Wd_post += w/(rate_scale*tau_syn)",
                                              "pneg": "Wd_post -= w/(rate_scale*tau_syn)"}}
                back = {**pathways, "effect": {"ppos": "Bu_post += w/(rate_scale_u*tau_syn)",
                                               "pneg": "Bu_post -= w/(rate_scale_u*tau_syn)"}}
            else:
                pre_model = Model.from_code(pre, """ddtilde/dt = (-dtilde + Bu)/tau : 1
                                                    Bu : 1""")
                post_model = Model.from_code(post, """du/dt = (gain*(Wd - err) - alpha*u)/tau : 1
                                                      Wd : 1
                                                      err : 1 (constant)""")
                fwd = {"model": "Wd_post = w*dtilde_pre : 1 (summed)"}
                back = {"model": "Bu_post = w*u_pre : 1 (summed)"}
            ctx.net.add(Population(pre, pre, n_pre, ns, definition=pre_model, origin=origin))
            ctx.net.add(Population(post, post, n_post, ns, definition=post_model, initial={"err": e}, origin=origin))
            ctx.net.add(Connection(f"di_{name}_W", pre, post, i=pre_i, j=post_j, weight=W[post_j, pre_i],
                                   namespace=ns, origin=origin, **fwd))
            ctx.net.add(Connection(f"di_{name}_B", post, pre, i=post_j, j=pre_i, weight=B[name][pre_i, post_j],
                                   namespace=ns, origin=origin, **back))
            if self.spiking and name == "transpose":
                for kind in ("pos", "neg"):
                    ctx.net.add(Record("spikes", f"{name}_pre_{kind}", pre, event=kind, origin=origin))
            ctx.net.add(Record("state", f"{name}_dtilde", pre, ("dtilde",), True, p["record_dt"], origin=origin))
            ctx.net.add(Record("state", f"{name}_u", post, ("u",), True, p["record_dt"], origin=origin))

    # -- evaluate ----------------------------------------------------------------------------------
    def _final(self, result, name):
        p = result.params
        st = result.state(f"{name}_dtilde")
        window = _float(p, "average_window")
        if window > 0:
            keep = st["t"] >= st["t"][-1] - window + 1e-12
            return st["dtilde"][:, keep].mean(axis=1), st
        return st["dtilde"][:, -1], st

    def evaluate(self, result):
        p = result.params
        W, e = result.array("W"), result.array("e")
        alpha, gain = _float(p, "alpha"), _float(p, "gain")
        tau = _float(p, "tau")
        metrics, claims = {"duration_over_tau": result.duration / tau}, []
        window = _float(p, "average_window")
        loose = " (spiking: looser tolerance)" if self.spiking else ""
        if window > 0:
            loose = f", dtilde averaged over the last {window:g} s" + loose
        for name in FEEDBACKS:
            B = result.array(f"B_{name}")
            d, st = self._final(result, name)
            closed = ref.steady_state(W, B, e, alpha, gain)
            residual = float(np.linalg.norm(W @ d - e) / np.linalg.norm(e))
            ang_cf = ref.angle_deg(d, closed)
            sa = ref.spectral_abscissa(ref.controller_jacobian(W, B, alpha, gain))
            metrics.update({
                f"{name}_residual": residual,
                f"{name}_closed_form_residual": float(np.linalg.norm(W @ closed - e) / np.linalg.norm(e)),
                f"{name}_angle_closed_form_deg": ang_cf,
                f"{name}_angle_pinv_deg": ref.angle_deg(d, ref.pinv_solution(W, e)),
                f"{name}_angle_backprop_deg": ref.angle_deg(d, W.T @ e),
                f"{name}_norm_ratio_to_closed_form": float(np.linalg.norm(d) / np.linalg.norm(closed)),
                f"{name}_spectral_abscissa_per_tau": sa,
            })
            if not self.spiking:
                ts = st["t"] / tau
                exact, _ = ref.controller_trajectory(W, B, e, ts[:: max(1, len(ts) // 50)], alpha, gain)
                sim = st["dtilde"][:, :: max(1, len(ts) // 50)].T
                metrics[f"{name}_max_trajectory_error"] = float(np.max(np.abs(sim - exact)) / np.max(np.abs(exact)))
            else:
                dt = result.dt
                u_max = float(np.max(np.abs(result.state(f"{name}_u")["u"])))
                prob = max(float(np.max(np.abs(st["dtilde"]))) * float(p["rate_scale"]) * dt,
                           u_max * float(p["rate_scale_u"]) * dt)
                metrics[f"{name}_max_event_probability_per_step"] = prob
                if prob > 0.5:
                    logger.warning("feedback '%s': an event probability per step reached %.2f; the Bernoulli "
                                   "events under-represent large values (lower rate_scale or dt)", name, prob)
            if alpha == 0:
                claims.append(Claim(f"{name}_inverts", f"feedback '{name}': ||W dtilde - e||/||e|| < "
                                    f"{_float(p, 'max_residual'):g} at alpha = 0{loose}",
                                    residual, _float(p, "max_residual"), residual < _float(p, "max_residual")))
            claims.append(Claim(f"{name}_closed_form", f"feedback '{name}': angle(dtilde, B(WB - alpha I)^-1 e) < "
                                f"{_float(p, 'max_angle_closed_form'):g} deg{loose}",
                                ang_cf, _float(p, "max_angle_closed_form"), ang_cf < _float(p, "max_angle_closed_form")))
            claims.append(Claim(f"{name}_stable", f"feedback '{name}': largest real eigenvalue of "
                                "[[-I, B], [kW, -alpha I]] < 0", sa, 0.0, sa < 0))
        a_pinv, a_bp = metrics["transpose_angle_pinv_deg"], metrics["transpose_angle_backprop_deg"]
        claims.append(Claim("transpose_pseudo_inverse", f"B = -W^T: angle(dtilde, W^+ e) < "
                            f"{_float(p, 'max_angle_pinv'):g} deg{loose}",
                            a_pinv, _float(p, "max_angle_pinv"), a_pinv < _float(p, "max_angle_pinv")))
        claims.append(Claim("transpose_not_backprop", f"B = -W^T: angle(dtilde, W^T e) > "
                            f"{_float(p, 'min_angle_backprop'):g} deg (not the backprop direction)",
                            a_bp, _float(p, "min_angle_backprop"), a_bp > _float(p, "min_angle_backprop")))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        W, e = result.array("W"), result.array("e")
        tau = _float(p, "tau")
        alpha, gain = _float(p, "alpha"), _float(p, "gain")
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        for k, name in enumerate(FEEDBACKS):
            B = result.array(f"B_{name}")
            st = result.state(f"{name}_dtilde")
            ts = st["t"] / tau
            label = "B = -W^T" if name == "transpose" else "random B (stabilised)"
            closed = ref.steady_state(W, B, e, alpha, gain)
            delta = st["dtilde"]
            window = _float(p, "average_window")
            if window > 0:  # raw trace faint; the running mean over the claim's window bold
                ax1.semilogy(ts, residual_trace(W, delta, e), color=f"C{k}", alpha=0.25, lw=0.6)
                n_win = max(1, int(round(window / np.median(np.diff(st["t"])))))
                csum = np.cumsum(delta, axis=1)
                delta = (csum - np.concatenate([np.zeros((delta.shape[0], n_win)), csum[:, :-n_win]], axis=1)) \
                    / np.minimum(np.arange(1, delta.shape[1] + 1), n_win)
                label += f" (mean over {window:g} s)"
            ax1.semilogy(ts, residual_trace(W, delta, e), color=f"C{k}", label=label)
            angles = [ref.angle_deg(delta[:, n], closed) if np.any(delta[:, n]) else np.nan
                      for n in range(len(ts))]
            ax2.semilogy(ts, angles, color=f"C{k}", label=label)
        ax1.axhline(_float(p, "max_residual"), color="0.5", ls="--", lw=0.8, label="claim threshold")
        ax1.set_xlabel("time (tau)")
        ax1.set_ylabel("||W dtilde - e|| / ||e||")
        ax1.set_title("Inversion error")
        ax1.legend()
        ax2.axhline(_float(p, "max_angle_closed_form"), color="0.5", ls="--", lw=0.8)
        ax2.set_xlabel("time (tau)")
        ax2.set_ylabel("angle to closed form (deg)")
        ax2.set_title("dtilde vs B (WB - alpha I)^-1 e")
        ax2.legend()
        fig.tight_layout()
        path = outdir / "dynamic_inversion_error.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]


class DynamicInversionSpiking(DynamicInversion):
    name = "dynamic_inversion_spiking"
    description = "Dynamic inversion with signed Poisson events (+/- event pairs) on both matrices"
    spiking = True
    parameters = {
        **DynamicInversion.parameters,
        "tau": Param("50*ms", "time constant of the controller"),
        "rate_scale": Param("1000*Hz", "event rate per unit of |dtilde| (each sign)"),
        "rate_scale_u": Param("100*Hz", "event rate per unit of |u| (each sign; u is larger than dtilde)"),
        "tau_syn": Param("5*ms", "decay of the filtered event trains that carry W dtilde and B u"),
        "average_window": Param("1*second", "the final dtilde is the mean over this last window"),
        "max_residual": Param("0.2", "claim: ||W dtilde - e|| / ||e|| below this at alpha = 0"),
        "max_angle_closed_form": Param("5.0", "claim: angle (degrees) to B (WB - alpha I)^-1 e below this"),
        "max_angle_pinv": Param("5.0", "claim (B = -W^T): angle (degrees) to W^+ e below this"),
    }
