"""Dynamic inversion (Podlaski & Machens, NeurIPS 2020): the backward pass inverts the forward map.

One controller per layer runs in the backward pass (time in units of ``tau``)::

    tau d(dtilde)/dt = -dtilde + B u                    (dtilde: error sent to layer l-1, size n_pre)
    tau du/dt        = k (W dtilde - e) - alpha u       (u: controller, size n_post)

The forward weights ``W`` are not copied: the Synapses object that carries the forward pass
(``y_post = w*r_pre``) also computes ``W dtilde`` (``Wd_post = w*dtilde_pre``), both as summed
variables. Its fixed point is ``dtilde = B (W B - (alpha/k) I)^-1 e`` (see
:mod:`spikelearn.tasks.podlaski2020.controller`); the task refuses to build (``BuildError``) when the
controller is unstable.

Three tasks:

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
- ``dynamic_inversion_learning`` (scenario ``dynamic-inversion-learning``): online learning of a
  two-layer tanh student on a teacher of the same shape. The ``[phases]`` table (kind ``blocks``, names
  ``forward``, ``backward``) gates the controller (reset during ``forward``, running during
  ``backward``); the task provides the signal ``learn``, a one-step pulse at the last step of each
  example, which applies ``dW = eta*delta*r^T`` (plasticity rule ``dynamic_inversion``) to both layers.
  NumPy baselines (closed-form dynamic inversion, readout-only, feedback alignment, backprop) are
  computed in :meth:`evaluate` from the saved data.
"""

import logging

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Population, Record, RuleUse
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome

from spikelearn.tasks.podlaski2020 import controller as ref

__all__ = ["DynamicInversion", "DynamicInversionSpiking", "DynamicInversionLearning", "weight_matrix",
           "residual_trace"]

logger = logging.getLogger(__name__)

FEEDBACKS = ("transpose", "random")
RESET_SPEEDUP = 4.0  # the controller decays with tau/4 during the forward phase


def weight_matrix(weights, shape, key="w_final"):
    """Dense ``(n_post, n_pre)`` matrix from a saved weights dict (``i`` pre, ``j`` post)."""
    W = np.zeros(shape)
    W[weights["j"], weights["i"]] = weights[key]
    return W


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


# --------------------------------------------------------------------------------------------------
# Scenario 2: learning with dynamic inversion


def _cycle(ctx_or_phases, task_name):
    phases = ctx_or_phases
    if phases is None or phases["kind"] != "blocks" or list(phases["names"]) != ["forward", "backward"]:
        raise BuildError(f"task {task_name} needs a [phases] table with kind = \"blocks\" and "
                         f"names = [\"forward\", \"backward\"] (one example = one forward + one backward block)")
    return float(phases["durations"][0]), float(phases["durations"][1])


class DynamicInversionLearning(Task):
    name = "dynamic_inversion_learning"
    description = "Online learning of a 2-layer tanh network by dynamic inversion, vs NumPy baselines"
    reference = "Podlaski & Machens (2020) NeurIPS 33, Fig. 3"
    provides_signals = ("learn",)
    parameters = {
        "sizes": Param([30, 20, 10], "layer sizes input, hidden, output", kind="list"),
        "teacher_scales": Param([1.5, 1.0], "teacher weights ~ N(0, s/sqrt(n_in)) per layer", kind="list"),
        "student_scale": Param("0.5", "student weights ~ N(0, s/sqrt(n_in))"),
        "tau": Param("10*ms", "time constant of the controller"),
        "alpha": Param("0.1", "controller leak"),
        "gain": Param("1.0", "controller gain k"),
        "eta": Param("0.02", "learning rate of both layers"),
        "feedback": Param("transpose_initial", "B = -W_out(0)^T (fixed) or a stabilised random B",
                          kind="str", choices=("transpose_initial", "random")),
        "n_test": Param(1000, "test examples", kind="int", min=1),
        "checkpoint_every": Param(100, "test error evaluated every this many examples", kind="int", min=1),
        "max_test_nse": Param("0.15", "claim: test normalised squared error below this"),
        "min_readout_nse": Param("0.40", "claim: readout-only training (NumPy) stays at or above this"),
        "min_ratio": Param("3.0", "claim: readout-only error / dynamic-inversion error at least this"),
        "max_relative_difference": Param("0.25", "claim: |NSE - NSE_closed_form| / NSE_closed_form below this"),
    }

    def prepare(self, ctx):
        from brian2 import second

        t_f, t_b = _cycle(ctx.scenario.phases, self.name)
        ctx.namespace["di_cycle"] = (t_f + t_b) * second
        # one-step pulse at the last step of each example (the end of the backward block)
        ctx.signals["learn"] = "int((t + 0.5*dt) - di_cycle*floor((t + 0.5*dt)/di_cycle) > di_cycle - dt)"
        self._describe(ctx)

    def _data(self, ctx, n_examples):
        p = ctx.params
        sizes = tuple(int(s) for s in p["sizes"])
        if len(sizes) != 3 or min(sizes) < 1:
            raise BuildError(f"task {self.name}: sizes must be three positive layer sizes, found {p['sizes']}")
        rng = ctx.rng
        teacher = ref.make_teacher(rng, sizes, tuple(float(s) for s in p["teacher_scales"]))
        student = ref.init_student(rng, sizes, _float(p, "student_scale"))
        x, y = ref.make_dataset(rng, teacher, n_examples)
        xt, yt = ref.make_dataset(rng, teacher, int(p["n_test"]))
        B_fa = rng.normal(0.0, 1.0 / np.sqrt(sizes[2]), (sizes[1], sizes[2]))
        alpha, gain = _float(p, "alpha"), _float(p, "gain")
        if p["feedback"] == "transpose_initial":
            B = -student[1].T.copy()
        else:
            B0 = rng.uniform(-0.5, 0.5, (sizes[1], sizes[2]))
            B, _ = ref.stabilise_feedback(student[1], B0, alpha, gain, target=-0.2)
        ref.check_stable(student[1], B, alpha, gain, what=f"task {self.name}: output-layer controller",
                         hint="use feedback = \"transpose_initial\" or \"random\" (stabilised), or lower alpha/gain")
        for name, arr in (("teacher_W0", teacher[0]), ("teacher_W1", teacher[1]), ("student_W0", student[0]),
                          ("student_W1", student[1]), ("x_train", x), ("y_train", y), ("x_test", xt),
                          ("y_test", yt), ("B", B), ("B_fa", B_fa)):
            ctx.save_array(name, arr)
        return sizes, student, x, y, B

    def _describe(self, ctx):
        """Input, hidden and output layers, the two plastic matrices (rule ``dynamic_inversion``), the
        feedback B, the inversion monitor and the recorders."""
        from brian2 import TimedArray, second

        p = ctx.params
        t_f, t_b = _cycle(ctx.scenario.phases, self.name)
        cycle = t_f + t_b
        n_examples = int(round(float(ctx.duration) / cycle))
        if n_examples < 1 or abs(n_examples * cycle - float(ctx.duration)) > 1e-6 * cycle:
            raise BuildError(f"task {self.name}: duration ({float(ctx.duration):g} s) must be a whole number of "
                             f"examples of {cycle:g} s (forward + backward block)")
        if int(p["checkpoint_every"]) < 1:
            raise BuildError(f"task {self.name}: checkpoint_every must be >= 1, found {p['checkpoint_every']}")
        sizes, student, x, y, B = self._data(ctx, n_examples)
        n0, n1, n2 = sizes
        fw, bw = f"({ctx.signal_expr('forward')})", f"({ctx.signal_expr('backward')})"
        ctx.namespace["di_x"] = TimedArray(x, dt=cycle * second, name="di_x")
        ctx.namespace["di_y"] = TimedArray(y, dt=cycle * second, name="di_y")
        ns = {"tau": p["tau"], "alpha": _float(p, "alpha"), "gain": _float(p, "gain"), "reset": RESET_SPEEDUP}
        origin = f"task {self.name}"

        def population(name, size, equations):
            ctx.net.add(Population(name, name, size, ns, definition=Model.from_code(name, equations), origin=origin))

        population("di_input", n0, "r = di_x(t, i) : 1")
        population("di_hidden", n1, f"""a : 1
                                        r = tanh(a) : 1
                                        delta = dtilde*(1 - r**2) : 1
                                        ddtilde/dt = ({bw}*(-dtilde + Bu) - {fw}*reset*dtilde)/tau : 1
                                        Bu : 1""")
        population("di_output", n2, f"""y : 1
                                        err = di_y(t, i) - y : 1
                                        delta = err : 1
                                        du/dt = ({bw}*(gain*(Wd - err) - alpha*u) - {fw}*reset*u)/tau : 1
                                        Wd : 1""")
        rule = ctx.registry.get("plasticity", "dynamic_inversion")
        learning = RuleUse(rule.name, {"eta": _float(p, "eta")}, "task.parameters", definition=rule)
        every = int(p["checkpoint_every"]) * cycle * second
        for cname, src, tgt, summed, W in (
                ("W0", "di_input", "di_hidden", "a_post = w*r_pre : 1 (summed)", student[0]),
                ("W1", "di_hidden", "di_output", "y_post = w*r_pre : 1 (summed)\nWd_post = w*dtilde_pre : 1 (summed)",
                 student[1])):
            ii, jj = _all_to_all(W.shape[1], W.shape[0])
            ctx.net.add(Connection(f"di_{cname}", src, tgt, i=ii, j=jj, weight=W[jj, ii], model=summed,
                                   rules=[learning], namespace=ns, origin=origin))
            # the weights every checkpoint, and at the start (w_initial) and the end
            ctx.net.add(Record("weights", cname, f"di_{cname}", ("w",), list(range(W.size)), every, origin=origin))
        ii, jj = _all_to_all(n2, n1)
        ctx.net.add(Connection("di_B", "di_output", "di_hidden", i=ii, j=jj, weight=B[jj, ii],
                               model="Bu_post = w*u_pre : 1 (summed)", namespace=ns, origin=origin))
        population("di_inversion", 1, "res2 : 1\nerr2 : 1")
        ctx.net.add(Connection("di_inversion_sum", "di_output", "di_inversion", weight=None, namespace=ns,
                               model="res2_post = (Wd_pre - err_pre)**2 : 1 (summed)\n"
                                     "err2_post = err_pre**2 : 1 (summed)", origin=origin))
        ctx.net.add(Record("state", "inversion", "di_inversion", ("res2", "err2"), [0], p["tau"], origin=origin))

    # -- evaluate ----------------------------------------------------------------------------------
    def _baselines(self, result):
        p = result.params
        student = (result.array("student_W0"), result.array("student_W1"))
        x, y = result.array("x_train"), result.array("y_train")
        test = (result.array("x_test"), result.array("y_test"))
        kw = dict(eta=_float(p, "eta"), alpha=_float(p, "alpha"), gain=_float(p, "gain"), test=test,
                  eval_every=int(p["checkpoint_every"]))
        return {
            "di": ref.train("di", student, x, y, B=result.array("B"), **kw),
            "readout": ref.train("readout", student, x, y, **kw),
            "fa": ref.train("fa", student, x, y, B=result.array("B_fa"), **kw),
            "backprop": ref.train("backprop", student, x, y, **kw),
        }

    def _brian_curve(self, result):
        sizes = tuple(int(s) for s in result.params["sizes"])
        test = (result.array("x_test"), result.array("y_test"))
        w0, w1 = result.weights("W0"), result.weights("W1")
        shapes = ((sizes[1], sizes[0]), (sizes[2], sizes[1]))
        cycle = sum(float(d) for d in _durations(result))
        n_chk, nse = [], []
        for k, t in enumerate(w0["t"]):
            mats = []
            for wd, shape in ((w0, shapes[0]), (w1, shapes[1])):
                W = np.zeros(shape)
                W[wd["j"][wd["trace_index"]], wd["i"][wd["trace_index"]]] = wd["w_trace"][:, k]
                mats.append(W)
            n_chk.append(int(round(t / cycle)))
            nse.append(ref.normalised_squared_error(ref.forward(mats, test[0])[1], test[1]))
        final = (weight_matrix(w0, shapes[0]), weight_matrix(w1, shapes[1]))
        n_chk.append(int(round(result.duration / cycle)))
        nse.append(ref.normalised_squared_error(ref.forward(final, test[0])[1], test[1]))
        return np.array(n_chk), np.array(nse), final

    def _end_of_example_residual(self, result):
        p = result.params
        st = result.state("inversion")
        r = np.sqrt(st["res2"][0] / np.maximum(st["err2"][0], 1e-300))
        cycle = sum(float(d) for d in _durations(result))
        n_ex = int(round(result.duration / cycle))
        tau = _float(p, "tau")
        # the last sample of each example (one tau before its end, where the update is applied)
        idx = np.searchsorted(st["t"], (np.arange(n_ex) + 1) * cycle - tau - 1e-9)
        idx = np.clip(idx, 0, len(r) - 1)
        return st["t"], r, r[idx]

    def evaluate(self, result):
        p = result.params
        base = self._baselines(result)
        n_chk, nse_curve, final = self._brian_curve(result)
        nse = float(nse_curve[-1])
        nse_ref = float(base["di"]["curve_nse"][-1])
        nse_ro = float(base["readout"]["curve_nse"][-1])
        ratio = nse_ro / nse
        rel = abs(nse - nse_ref) / nse_ref
        alpha, gain = _float(p, "alpha"), _float(p, "gain")
        B = result.array("B")
        sa_final = ref.spectral_abscissa(ref.controller_jacobian(final[1], B, alpha, gain))
        sa_initial = ref.spectral_abscissa(ref.controller_jacobian(result.array("student_W1"), B, alpha, gain))
        _, _, res_end = self._end_of_example_residual(result)
        ref_res = base["di"]["inversion_residual"]
        wref = base["di"]["weights"]
        metrics = {
            "n_examples": int(n_chk[-1]),
            "test_nse": nse,
            "test_nse_closed_form_reference": nse_ref,
            "test_nse_readout_only": nse_ro,
            "test_nse_feedback_alignment": float(base["fa"]["curve_nse"][-1]),
            "test_nse_backprop": float(base["backprop"]["curve_nse"][-1]),
            "test_nse_initial": float(nse_curve[0]),
            "readout_over_di_ratio": ratio,
            "relative_difference_to_reference": rel,
            "weight_difference_W0": float(np.linalg.norm(final[0] - wref[0]) / np.linalg.norm(wref[0])),
            "weight_difference_W1": float(np.linalg.norm(final[1] - wref[1]) / np.linalg.norm(wref[1])),
            "spectral_abscissa_initial": sa_initial,
            "spectral_abscissa_final": sa_final,
            "inversion_residual_end_of_example_median": float(np.median(res_end)),
            "inversion_residual_closed_form_median": float(np.median(ref_res)),
            "learning_curve_examples": n_chk.tolist(),
            "learning_curve_di": nse_curve.tolist(),
        }
        thr = {k: _float(p, k) for k in ("max_test_nse", "min_readout_nse", "min_ratio", "max_relative_difference")}
        claims = [
            Claim("learns", f"test normalised squared error after {int(n_chk[-1])} examples < {thr['max_test_nse']:g}",
                  nse, thr["max_test_nse"], nse < thr["max_test_nse"]),
            Claim("readout_only_fails", f"readout-only training (hidden frozen, NumPy) stays >= {thr['min_readout_nse']:g}",
                  nse_ro, thr["min_readout_nse"], nse_ro >= thr["min_readout_nse"]),
            Claim("beats_readout", f"readout-only error / dynamic-inversion error >= {thr['min_ratio']:g}",
                  ratio, thr["min_ratio"], ratio >= thr["min_ratio"]),
            Claim("matches_closed_form", "test error within "
                  f"{thr['max_relative_difference']:.0%} of the NumPy closed-form (steady-state) reference, same seed",
                  rel, thr["max_relative_difference"], rel <= thr["max_relative_difference"]),
            Claim("stable_after_training", "largest real eigenvalue of [[-I, B], [kW_out, -alpha I]] < 0 after training",
                  sa_final, 0.0, sa_final < 0),
        ]
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        base = self._baselines(result)
        n_chk, nse_curve, _ = self._brian_curve(result)
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        ax.plot(n_chk, nse_curve, "o-", color="C3", ms=3, label="dynamic inversion (Brian2)")
        styles = {"di": ("C3", "--", "DI closed form (NumPy)"), "readout": ("0.4", "-", "readout only (NumPy)"),
                  "fa": ("C2", "-", "feedback alignment (NumPy)"), "backprop": ("C0", "-", "backprop (NumPy)")}
        for m, (c, ls, label) in styles.items():
            ax.plot(base[m]["curve_examples"], base[m]["curve_nse"], ls, color=c, label=label)
        ax.set_yscale("log")
        ax.set_xlabel("examples")
        ax.set_ylabel("test normalised squared error")
        ax.set_title("Learning with dynamic inversion")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path1 = outdir / "dynamic_inversion_learning_curves.png"
        fig.savefig(path1, dpi=110)
        plt.close(fig)

        t, r, r_end = self._end_of_example_residual(result)
        cycle = sum(float(d) for d in _durations(result))
        tau = _float(result.params, "tau")
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
        keep = t < 3 * cycle
        ax1.semilogy(t[keep] / tau, r[keep], color="C3")
        for k in range(4):
            ax1.axvspan(k * cycle / tau, (k * cycle + float(_durations(result)[0])) / tau, color="0.85", lw=0)
        ax1.set_xlabel("time (tau); grey: forward phase")
        ax1.set_ylabel("||W dtilde - e|| / ||e||")
        ax1.set_title("Inversion error, first three examples")
        ax2.semilogy(np.arange(1, len(r_end) + 1), r_end, ".", ms=2, color="C3", label="Brian2, end of example")
        ax2.semilogy(np.arange(1, len(r_end) + 1), base["di"]["inversion_residual"], "o", ms=4, mfc="none",
                     mew=0.4, color="k", alpha=0.5, label="NumPy closed form, same example")
        ax2.set_xlabel("example")
        ax2.set_ylabel("||W dtilde - e|| / ||e||")
        ax2.set_title(f"Inversion error at the update (alpha = {_float(result.params, 'alpha'):g})")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        path2 = outdir / "dynamic_inversion_inversion_error.png"
        fig.savefig(path2, dpi=110)
        plt.close(fig)
        return [path1, path2]


def _durations(result):
    from spikelearn.units import parse_quantity

    return [float(parse_quantity(d)) for d in result.scenario["phases"]["durations"]]
