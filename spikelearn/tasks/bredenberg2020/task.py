"""Reward-modulated Hebbian learning of task-specific codes: estimation and discrimination.

Bredenberg, Simoncelli & Savin (2020), NeurIPS 33, in the authors' protocol (their code,
colinbredenberg/Efficient-Plasticity-Camera-Ready at c3f6cc4; docs/papers/bredenberg2020-authors-code.md):
a stochastic recurrent rate circuit (``rate_langevin`` population; recurrent, input and bias connections with
the ``reward_hebbian`` rule) sees 12 cosine-tuned inputs (``rate_cosine_input``) of an angle. The task adds,
all as Brian2 code in the network description:

- ``angle``: a unit holding the stimulus angle. In training trials (``t_trial`` each) it starts from a draw
  of the von Mises prior (mode ``mu``, ``kappa``) and drifts by the authors' update
  ``theta <- theta - kappa sin(theta - mu) sigma_s^2 dt + sigma_s sqrt(dt) xi``, wrapped to ``[-pi, pi)``
  (stationary concentration 2 kappa: their sampler lacks the 1/2); in tests it holds each test angle for
  ``t_hold``. The inputs' ``theta`` is linked to it. The shuffled control adds a second, independent
  angle stream (same law, own draws) that only the reward sees.
- resets at every training trial's start (and each test session's): rates to ``r_init``, the rule's running
  averages to 0; the learning gate ``learn``: 0 in tests and during the first ``t_transient`` of each trial.
- a readout ``y = D r`` whose weights learn by the authors' supervised rule
  ``dD/dt = eta_d learn (err_gain err r - lam_d D)``; estimation ``err = (cos theta, sin theta) - y``,
  discrimination ``err = t - sigmoid(slope y)`` with ``t = [theta >= 0]`` (``err_gain`` 100 there, theirs).
- the reward ``R`` from this step's clipped rates, broadcast to the rates as the global signal ``reward``:
  estimation ``-||(cos, sin) - y||^2``, discrimination ``t log s + (1 - t) log(1 - s)`` with
  ``s = sigmoid(slope y)`` kept within ``[y_tol, 1 - y_tol]``.

Order within a step: the angle (reset, drift), the inputs, the rates (Euler-Maruyama, clip), the readout,
the reward, then the weight updates. Two differences from their step, both below a per-mille effect: the
dynamics read this step's input (theirs the previous step's; the angle moves ~0.006 rad per step), and the
rule's running averages are updated together with the weights (theirs first, which scales the Hebbian term
by ``1 - dt/tau_c`` = 0.9985).

Controls (``control``): ``off`` -- the rule's gate is 0 (the readout still learns); ``shuffled`` -- the
reward is computed against the independent angle stream, so it has the reward's form and statistics but
no relation to the stimulus the circuit sees (a shuffled-label reward).

Evaluation on the test sessions (rates and readout recorded every ``record_dt`` after ``t_test_settle`` of
each hold): the readout's error per angle (estimation) or accuracy (discrimination), a refitted linear
decoder's held-out error, and the linear Fisher information with noise correlations, ``f'^T Sigma^-1 f'``,
of the population and of the network's own readout (`coding.linear_fisher`), from which the allocation
ratios: near the prior's mode over near its antipode (estimation), at the category boundaries over between
them (discrimination).
"""

import logging

import numpy as np

from spikelearn.network import Connection, Operation, Population, Record
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome
from spikelearn.tasks.bredenberg2020 import coding as ref

__all__ = ["RewardCoding", "test_responses"]

logger = logging.getLogger(__name__)

#: the test sessions' tags, in run order
SESSIONS = ("before", "after", "shifted")


def _softplus(x):
    return f"(clip({x}, 0, inf) + log(1 + exp(-abs({x}))))"


def test_responses(result, tag, variable="rates"):
    """Test responses of one test session (``before``, ``after``, ``shifted``): an array ``(n_angles,
    n_repeats, n_samples, d)`` of the rates (``variable="rates"``) or the readout (``"readout"``), the
    samples after ``t_test_settle`` of each hold, angles in the order of `coding.test_angles`."""
    p = result.params
    st = result.state(variable)
    X = np.asarray(st["r" if variable == "rates" else "y"]).T
    t = np.asarray(st["t"]) - result.dt  # a sample at t holds the state computed in the step at t - dt
    order = result.array(f"test_order_{tag}")
    t_hold, settle = float(p["t_hold"]), float(p["t_test_settle"])
    start = float(result.array("session_start")[SESSIONS.index(tag)])
    hold = np.floor((t - start) / t_hold + 1e-9).astype(int)
    keep = (hold >= 0) & (hold < len(order)) & (t - start - hold * t_hold >= settle - 1e-9)
    angles = ref.test_angles(int(p["n_test_angles"]))
    n_rep = int(p["n_repeats"])
    which = np.round((order + np.pi) / (2 * np.pi / len(angles))).astype(int) % len(angles)
    per_hold = [X[keep & (hold == h)] for h in range(len(order))]
    n_s = min(len(x) for x in per_hold)
    out = np.empty((len(angles), n_rep, n_s, X.shape[1]))
    seen = np.zeros(len(angles), dtype=int)
    for h, k in enumerate(which):
        out[k, seen[k]] = per_hold[h][:n_s]
        seen[k] += 1
    return out


class RewardCoding(Task):
    name = "reward_coding"
    description = "Reward-modulated Hebbian learning of estimation/discrimination codes (Bredenberg et al. 2020)"
    reference = ("Bredenberg, Simoncelli & Savin (2020) Learning efficient task-dependent representations with "
                 "synaptic plasticity, NeurIPS 33")
    parameters = {
        "objective": Param("estimation", "the reward", kind="str", choices=("estimation", "discrimination")),
        "control": Param("none", "'off': plasticity gated off (readout still learns); 'shuffled': the reward "
                         "is computed against an independent angle stream", kind="str",
                         choices=("none", "off", "shuffled")),
        "rates": Param("rates", "the rate_langevin population", kind="str"),
        "inputs": Param("stim", "the rate_cosine_input population", kind="str"),
        "n_trials": Param(260, "training trials", kind="int", min=0),
        "t_trial": Param("1000*second", "duration of a training trial"),
        "t_transient": Param("40*second", "learning gated off at the start of each trial"),
        "kappa": Param("0.75", "concentration of the von Mises prior", min=0),
        "mu": Param("0.0", "mode of the prior (rad)"),
        "sigma_s": Param("0.06", "noise of the angle's drift in training (per sqrt(s))", min=0),
        "n_trials_shift": Param(0, "prior change: training trials after the first test-after, with the mode "
                                "at mu + mu_shift, followed by a third test", kind="int", min=0),
        "mu_shift": Param("0.0", "prior change: move of the prior's mode (rad)"),
        "shift_probe": Param(str(np.pi / 2), "prior change: the angle whose Fisher information is compared with "
                             "that at mu (the new mode; kept when a control sets mu_shift = 0)"),
        "n_test_angles": Param(12, "test angles -pi + 2 pi k/n", kind="int", min=3),
        "n_repeats": Param(3, "holds of each test angle per test session", kind="int", min=2),
        "t_hold": Param("200*second", "duration of a test hold"),
        "t_test_settle": Param("50*second", "start of each hold left out of the analysis"),
        "eta_d": Param("0.0005*Hz", "learning rate of the readout"),
        "err_gain": Param("1.0", "factor of the readout's error term (theirs: 1 estimation, 100 discrimination)"),
        "lam_d": Param("8e-4", "decay of the readout's weights", min=0),
        "slope": Param("100.0", "discrimination: y = sigmoid(slope * D r)"),
        "y_tol": Param("1e-4", "discrimination: y is kept within [y_tol, 1 - y_tol] in the reward"),
        "record_dt": Param("1*second", "sampling interval of the recorded rates and readout"),
        "curve_dt": Param("1*second", "sampling interval of the reward over training (the learning curve)"),
        "thin": Param(1, "Fisher information: every thin-th test sample", kind="int", min=1),
        # thresholds: bench/results/bredenberg2020-oracle.json (the authors' algorithm, shortened protocol)
        "min_error_drop": Param("0.52", "estimation: relative fall of the readout's prior-weighted error"),
        "min_accuracy_gain": Param("0.0", "discrimination: rise of the readout's accuracy (absolute)"),
        "min_allocation": Param("1.39", "allocation ratio of the population's Fisher information after training"),
        "min_allocation_readout": Param("2.84", "allocation ratio of the readout's Fisher information after training"),
        "min_shift": Param("1e9", "prior change: rise of the allocation ratio at the new mode"),
    }
    provides_signals = ("reward", "learn")

    # -- build -----------------------------------------------------------------------------------------
    def prepare(self, ctx):
        from brian2 import TimedArray, second

        from spikelearn.errors import BuildError

        p = ctx.params
        dt = float(ctx.dt)
        for key in ("rates", "inputs"):
            if p[key] not in ctx.scenario.populations:
                raise BuildError(f"task reward_coding: no population '{p[key]}' (parameter '{key}')")
        steps = {k: int(round(float(p[f"t_{k}"]) / dt)) for k in ("trial", "hold", "transient")}
        seg = ref.gcd_steps(*steps.values())
        steps["segment"] = seg
        n_streams = 2 if p["control"] == "shuffled" else 1
        plan = ref.protocol(ctx.rng, steps, int(p["n_trials"]), int(p["n_test_angles"]), int(p["n_repeats"]),
                            float(p["kappa"]), float(p["mu"]), int(p["n_trials_shift"]), float(p["mu_shift"]),
                            n_streams)
        need = len(plan["set"]) * seg * dt
        if float(ctx.duration) + 1e-9 < need:
            raise BuildError(f"task reward_coding: the protocol ({len(plan['sessions'])} sessions) needs duration "
                             f">= {need:g} s; the scenario has {float(ctx.duration):g} s")
        seg_dt = seg * dt * second
        for key in ("set", "move", "mu", "reset", "learn"):
            ctx.namespace[f"seg_{key}"] = TimedArray(plan[key], dt=seg_dt, name=f"seg_{key}")
        ctx.namespace["seg_theta"] = TimedArray(plan["theta"], dt=seg_dt, name="seg_theta")
        tests = [s for s in plan["sessions"] if s[0] == "test"]
        for tag, order in zip(SESSIONS, plan["test_order"]):
            ctx.save_array(f"test_order_{tag}", order)
        ctx.save_array("session_start", np.array([first * seg * dt for _, first, _ in tests]))
        ctx.save_array("train_start", np.array([first * seg * dt for kind, first, _ in plan["sessions"]
                                                if kind == "train"]))
        ctx.signals["learn"] = "0" if p["control"] == "off" else "seg_learn(t)"
        ctx.signals["reward"] = "R_post"
        ctx.extra_equations[p["rates"]].append("R : 1  # the reward, broadcast by the task (summed variable)")
        self._describe(ctx, n_streams, seg_dt)

    def _describe(self, ctx, n_streams, seg_dt):
        """The angle, the resets, the readout and its rule, the reward and its broadcast, the recorders."""
        p = ctx.params
        rates, inputs = p["rates"], p["inputs"]
        N = ctx.net.populations[rates].size
        objective = p["objective"]
        n_out = 2 if objective == "estimation" else 1
        origin = f"task {self.name}"
        ns = {"slope": float(p["slope"]), "eta_d": p["eta_d"], "log_y_tol": float(np.log(float(p["y_tol"]))),
              "err_gain": float(p["err_gain"]), "lam_d": float(p["lam_d"]), "kappa_s": float(p["kappa"]),
              "sigma_s": float(p["sigma_s"]), "dt_s": float(ctx.dt)}

        def population(name, size, equations, order, links=None):
            ctx.net.add(Population(name, name, size, ns, definition=Model.from_code(name, equations), order=order,
                                   links=links or {}, origin=origin))

        # the angle: set at trial/hold starts (a segment clock), then its drift in the same step
        population("angle", n_streams, "theta : 1", -10)
        ctx.net.add(Operation("angle_set", "angle", "theta = seg_set(t)*seg_theta(t, i) + (1 - seg_set(t))*theta",
                              dt=seg_dt, when="start", order=-11, origin=origin))
        ctx.net.add(Operation("angle_drift", "angle",
                              "theta += seg_move(t)*(-kappa_s*sin(theta - seg_mu(t))*sigma_s**2*dt_s"
                              " + sigma_s*sqrt(dt_s)*randn())\n"
                              "theta = theta - 2*pi*floor((theta + pi)/(2*pi))",
                              when="start", order=-10, origin=origin))
        ctx.net.populations[inputs].links["theta"] = ("angle", "theta", np.zeros(ctx.net.populations[inputs].size))
        r_init = float(ctx.net.populations[rates].params.get("r_init", 0.1))
        ctx.net.add(Operation("rates_reset", rates, f"r = seg_reset(t)*{r_init!r} + (1 - seg_reset(t))*r",
                              dt=seg_dt, when="start", order=-5, origin=origin))
        for cname, conn in list(ctx.net.connections.items()):
            if conn.rules:
                ctx.net.add(Operation(f"{cname}_reset", cname, "C = (1 - seg_reset(t))*C\nRbar = (1 - seg_reset(t))*Rbar",
                                      dt=seg_dt, when="start", order=-5, origin=origin))
            # plastic synapses update after the reward of this step (which reads the clipped rates of this step)
            conn.orders["state_updater"] = 40
        if objective == "estimation":
            target = ("target = cos(theta)*int(i == 0) + sin(theta)*int(i == 1) : 1\n"
                      "target_r = cos(theta_r)*int(i == 0) + sin(theta_r)*int(i == 1) : 1")
            err = "err = target - y : 1"
            reward = "R_post = -(target_r_pre - y_pre)**2 : 1 (summed)"
        else:
            target = "target = int(theta >= 0) : 1\ntarget_r = int(theta_r >= 0) : 1"
            # sigmoid(slope*y) written with tanh: the same value, and no overflow of exp(-slope*y)
            err = "err = target - 0.5*(1 + tanh(0.5*slope*y)) : 1"
            reward = (f"R_post = clip(-(target_r_pre*{_softplus('-slope*y_pre')} + "
                      f"(1 - target_r_pre)*{_softplus('slope*y_pre')}), log_y_tol, 0) : 1 (summed)")
        # the angles as state variables (summed from the angle unit: the decoder reads err_post, and Brian2's
        # synapses cannot read a subexpression of a linked variable)
        population("readout", n_out, f"y : 1\ntheta : 1\ntheta_r : 1\n{target}\n{err}", 20)
        for var, stream in (("theta", 0), ("theta_r", n_streams - 1)):
            ctx.net.add(Connection(f"readout_{var}", "angle", "readout", i=np.full(n_out, stream),
                                   j=np.arange(n_out), weight=None, model=f"{var}_post = theta_pre : 1 (summed)",
                                   origin=origin))
        D0 = ctx.rng.uniform(-1 / N, 1 / N, size=(N, n_out))
        ctx.save_array("D_initial", D0)
        # connect() creates synapses pre-major: (i, j) -> i*n_out + j
        ctx.net.add(Connection("decoder", rates, "readout", weight=None, method="euler", namespace=ns, order=40,
                               model="dD/dt = eta_d*seg_learn(t)*(err_gain*err_post*r_pre - lam_d*D) : 1 "
                                     "(clock-driven)\ny_post = D*r_pre : 1 (summed)",
                               initial={"D": D0.ravel()}, origin=origin))
        population("reward", 1, "R : 1", 30)
        ctx.net.add(Connection("reward_sum", "readout", "reward", weight=None, model=reward, namespace=ns,
                               origin=origin))
        # after the reward of this step (order 29), before the plastic synapses (order 40)
        ctx.net.add(Connection("reward_broadcast", "reward", rates, model="R_post = R_pre : 1 (summed)",
                               weight=None, orders={"summed": 38}, origin=origin))
        # the whole run (a Brian2 state monitor has no time window); the analysis takes the test sessions
        for name, source, var in (("rates", rates, "r"), ("readout", "readout", "y")):
            ctx.net.add(Record("state", name, source, (var,), True, p["record_dt"], origin=origin))
        ctx.net.add(Record("state", "reward", "reward", ("R",), [0], p["curve_dt"], origin=origin))

    # -- evaluation ------------------------------------------------------------------------------------
    def analyse(self, result):
        """Per test session: the readout's errors or accuracy, the refitted decoder's error and the linear
        Fisher information of the population and the readout; the learning curve."""
        p = result.params
        kappa, mu = float(p["kappa"]), float(p["mu"])
        angles = ref.test_angles(int(p["n_test_angles"]))
        spacing, thin = 2 * np.pi / len(angles), int(p["thin"])
        out = {"angles": angles}
        n_sessions = len(result.array("session_start"))
        for tag in SESSIONS[:n_sessions]:
            X, Y = test_responses(result, tag, "rates"), test_responses(result, tag, "readout")
            s = {"fisher": ref.linear_fisher(X, spacing, thin), "fisher_readout": ref.linear_fisher(Y, spacing, thin),
                 "mean_rate": float(X.mean())}
            if p["objective"] == "estimation":
                s["readout_error_per_angle"] = ref.readout_errors(Y, angles)
                s["readout_error"] = ref.prior_weighted(s["readout_error_per_angle"], angles, kappa, mu)
                s["refit_error"], s["refit_error_per_angle"] = ref.refit_error(X, angles, kappa, mu)
            else:
                s["readout_accuracy"] = ref.readout_accuracy(Y, angles, kappa, mu)
            out[tag] = s
        currents = self._current_ratio(result, angles)
        for tag in currents:
            out[tag]["current_ratio"] = currents[tag]
        rw = result.state("reward")
        t = np.asarray(rw["t"]) - result.dt
        # the learning gate at the sample times, from the protocol
        start = float(result.array("train_start")[0])
        in_trial = (t - start) % float(p["t_trial"])
        learn = ((t >= start) & (t < start + int(p["n_trials"]) * float(p["t_trial"]))
                 & (in_trial >= float(p["t_transient"]) - 1e-9))
        out["curve"] = ref.trial_curve(t, np.asarray(rw["R"])[0], learn, float(p["t_trial"]), start)
        return out

    def _current_ratio(self, result, angles):
        """Recurrent over input current (`coding.current_ratio`) in the first test session (initial weights)
        and the last (final weights), when the scenario records the recurrent and input connections."""
        p = result.params
        conns = result.resolved["connections"]
        rec = [n for n, c in conns.items() if c["source"] == p["rates"] and c["target"] == p["rates"]]
        inp = [n for n, c in conns.items() if c["source"] == p["inputs"] and c["target"] == p["rates"]]
        recorded = set(result.weight_recorders())
        if len(rec) != 1 or len(inp) != 1 or not {rec[0], inp[0]} <= recorded:
            return {}
        N = result.resolved["populations"][p["rates"]]["size"]
        n_in = result.resolved["populations"][p["inputs"]]["size"]

        def matrix(conn, key, n_pre):
            wt = result.weights(conn)
            M = np.zeros((N, n_pre))
            M[np.asarray(wt["j"]), np.asarray(wt["i"])] = np.asarray(wt[key])
            return M

        gain = float(result.resolved["populations"][p["inputs"]]["parameters"].get("gain", 1.0))
        S = gain * np.maximum(np.cos(angles[:, None] - 2 * np.pi * np.arange(n_in)[None, :] / n_in), 0.0)
        out = {"before": ref.current_ratio(test_responses(result, "before"), matrix(rec[0], "w_initial", N),
                                           matrix(inp[0], "w_initial", n_in), S)}
        last = SESSIONS[len(result.array("session_start")) - 1]  # the final weights are those of the last test
        out[last] = ref.current_ratio(test_responses(result, last), matrix(rec[0], "w_final", N),
                                      matrix(inp[0], "w_final", n_in), S)
        return out

    def evaluate(self, result):
        p = result.params
        a = self.analyse(result)
        angles, mu = a["angles"], float(p["mu"])
        m = {"curve": [float(x) for x in a["curve"]], "angles": [float(x) for x in angles]}
        for tag in SESSIONS:
            if tag not in a:
                continue
            s = a[tag]
            for k, v in s.items():
                m[f"{k}_{tag}"] = [float(x) for x in v] if np.ndim(v) else float(v)
            m[f"allocation_{tag}"], m[f"allocation_readout_{tag}"] = (
                ref.allocation_ratio(p["objective"], s[k], angles, mu) for k in ("fisher", "fisher_readout"))
        claims = []
        if p["objective"] == "estimation":
            m["error_change"] = m["readout_error_after"] / m["readout_error_before"] - 1.0
            thr = float(p["min_error_drop"])
            claims.append(Claim("error_drop", f"the readout's prior-weighted error falls by >= {thr:.0%}",
                                -m["error_change"], thr, -m["error_change"] >= thr))
        else:
            m["accuracy_change"] = m["readout_accuracy_after"] - m["readout_accuracy_before"]
            thr = float(p["min_accuracy_gain"])
            claims.append(Claim("accuracy_gain", f"the readout's accuracy rises by >= {thr:g}",
                                m["accuracy_change"], thr, m["accuracy_change"] >= thr))
        what = ("near the prior's mode over near its antipode" if p["objective"] == "estimation"
                else "at the category boundaries over between them")
        for name, label in (("allocation", "population"), ("allocation_readout", "readout")):
            v, alloc = m[f"{name}_after"], float(p[f"min_{name}"])
            claims.append(Claim(name, f"after training, the {label}'s linear Fisher information {what} >= "
                                f"{alloc:g}", v, alloc, bool(np.isfinite(v) and v >= alloc)))
        if "shifted" in a:
            new = mu + float(p["shift_probe"])
            before = ref.region_ratio(a["after"]["fisher"], angles, new, mu)
            after = ref.region_ratio(a["shifted"]["fisher"], angles, new, mu)
            m["shift_ratio_before"], m["shift_ratio_after"] = before, after
            m["shift_gain"] = after / before
            thr = float(p["min_shift"])
            claims.append(Claim("allocation_moves", f"after the second session (mode at mu + {float(p['mu_shift']):.3g}), "
                                f"the Fisher information near mu + {float(p['shift_probe']):.3g} over near mu rises by "
                                f"a factor >= {thr:g}", m["shift_gain"],
                                thr, m["shift_gain"] >= thr))
        return TaskOutcome(metrics=m, claims=claims)

    def figures(self, result, outdir):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        a = self.analyse(result)
        p = result.params
        fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
        ang = np.degrees(a["angles"])
        colors = {"before": "0.5", "after": "C3", "shifted": "C0"}
        for tag in SESSIONS:
            if tag in a:
                axes[0].semilogy(ang, np.maximum(a[tag]["fisher"], 1e-3), "o-", color=colors[tag], label=tag)
                axes[1].semilogy(ang, np.maximum(a[tag]["fisher_readout"], 1e-3), "o-", color=colors[tag],
                                 label=tag)
        for ax, what in zip(axes[:2], ("population", "network's readout")):
            ax.set_xlabel("test angle (deg)")
            ax.set_ylabel(f"linear Fisher information ({what})")
            ax.axvline(np.degrees(float(p["mu"])), color="k", lw=0.5)
            ax.legend()
        axes[2].plot(np.arange(1, len(a["curve"]) + 1), a["curve"], "o-", ms=3)
        axes[2].set_xlabel("training trial")
        axes[2].set_ylabel("mean reward (learning steps)")
        axes[2].set_title(f"{p['objective']} ({p['control']})")
        fig.tight_layout()
        path = outdir / f"reward_coding_{p['objective']}_{p['control']}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
