"""Nonlinear regression as Podlaski & Machens ran it (NeurIPS 2020, Fig. 3g-k; authors' script
``nonlinear_regression.py`` at c77c5ad): a ``30-20-10-10`` tanh student, two hidden layers, learns a
random teacher online, and dynamic inversion runs as Brian2 dynamics next to NumPy baselines trained on the
same draws (:mod:`spikelearn.tasks.podlaski2020.regression`).

One example is one cycle of ``forward_steps + 2*inversion_steps + 2`` time steps (``dt = tau/2``, forward
Euler, as the authors integrate their inversion)::

    forward      inputs x (the authors' presentation order), the layers settle; every controller is reset
    invert_W2    the output controller u and the second hidden layer's v invert W2 against the error e:
                     tau du/dt = -alpha u + W2 v - e,   tau dv/dt = -v + B2 u
    invert_W1    the second hidden layer's controller u' and the first hidden layer's v' invert W1
                 against d2 = v * tanh'(a2):
                     tau du'/dt = -alpha u' + W1 v' - d2,   tau dv'/dt = -v' + B1 u'
    settle       one step: nothing integrates, the layers' squared delta norms are summed
    learn        one step: d1 = v' * tanh'(a1); each hidden delta is rescaled to norm `clip` when larger;
                 W_l += eta d_l h_{l-1}^T and b_l += eta d_l (rule ``dynamic_inversion``: the biases are
                 weights from a unit whose rate is 1); skipped for the first example.

The forward matrices are stored once: the Synapses object of ``W_l`` carries the forward pass
(``a_post = w*r_pre``), the inversion (``Wv_post = w*v_pre``) and, for the measurement only, the
backpropagation direction ``W_l^T d`` (summed onto the presynaptic layer), so the angle of every update to
backprop's at the same weights and example is read from the run. ``B_l`` are fixed: ``-W_l^T`` of the
initial student (``feedback = "neg_transpose"``, the authors' DI) or their spectrally optimised random
feedback (``"optim"``, DI-3); the task refuses an unstable controller (``"random"``) before anything runs.
"""

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Operation, Population, Record, RuleUse
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome
from spikelearn.tasks.podlaski2020 import controller as ctl
from spikelearn.tasks.podlaski2020 import regression as reg
from spikelearn.tasks.podlaski2020.task import weight_snapshots

__all__ = ["DynamicInversionRegression", "DynamicInversionRegressionSpiking"]

ORIGIN = "task dynamic_inversion_regression"
PARAMS = ("W0", "W1", "W2", "b0", "b1", "b2")  # the student's parameters, in regression.forward's order
LAYERS = (("W0", "dr_input", "dr_h1"), ("W1", "dr_h1", "dr_h2"), ("W2", "dr_h2", "dr_out"))
BIASES = (("b0", "dr_h1"), ("b1", "dr_h2"), ("b2", "dr_out"))
# NumPy models trained in evaluate: name -> (method, alpha parameter or value, feedback, derivative, gain)
BASELINES = {
    "BP": ("bp", 0.0, None, "convention", None),
    "FA": ("fa", 0.0, "random", "convention", None),
    "FA-2": ("fa", 0.0, "neg_transpose", "convention", None),
    "PBP": ("pbp", 0.0, None, "convention", None),
    "NDI": ("ndi", "alpha", "feedback", "convention", None),
    "NDI-2": ("ndi", 0.001, "neg_transpose", "convention", None),
    "NDI-3": ("ndi", "alpha", "optim", "convention", None),
    "NDI (tanh' once)": ("ndi", "alpha", "feedback", 1, None),
    "readout only": ("none", 0.0, None, 1, None),
    "BP x leak gain": ("bp", 0.0, None, "convention", "leak"),
}


def _cycle_steps(p):
    return int(p["forward_steps"]) + 2 * int(p["inversion_steps"]) + 2


class DynamicInversionRegression(Task):
    name = "dynamic_inversion_regression"
    description = ("Two-hidden-layer tanh regression as the authors ran it: dynamic inversion simulated in Brian2, "
                   "BP / FA / PBP / NDI / readout-only in NumPy on the same draws")
    reference = "Podlaski & Machens (2020) NeurIPS 33, Fig. 3g-k; authors' nonlinear_regression.py (c77c5ad)"
    spiking = False
    label = "DI (Brian2)"
    parameters = {
        "tau": Param("10*ms", "time constant of the inversion dynamics (the scenario's dt must be tau/2, the "
                              "authors' Euler step)"),
        "alpha": Param("0.01", "leak of the controllers"),
        "eta": Param("0.01", "learning rate of every weight and bias"),
        "clip": Param("1.0", "hidden deltas longer than this are rescaled to this norm"),
        "feedback": Param("neg_transpose", "B_l = -W_l^T of the initial student, the authors' spectrally optimised "
                                           "random feedback, or the raw random draws (refused: unstable)",
                          kind="str", choices=reg.FEEDBACKS),
        "backward": Param(True, "run the backward phase (false: hidden deltas are zero, only W2 and b2 learn)",
                          kind="bool"),
        "forward_steps": Param(4, "time steps of the forward phase of each example", kind="int", min=3),
        "inversion_steps": Param(1000, "Euler steps of each layer's inversion (the authors: 1000 of tau/2)",
                                 kind="int", min=1),
        "derivative": Param("authors", "tanh' applied twice for the NumPy BP/FA/PBP/NDI deltas, as the authors' "
                                       "script does, or once (textbook); dynamic inversion applies it once",
                            kind="str", choices=("authors", "textbook")),
        "eval_every": Param(100, "the training-set error is computed every this many examples", kind="int",
                            min=1),
        "window": Param(1000, "angles are averaged over the last this many updates", kind="int", min=1),
        "max_angle_di": Param("10.0", "claim: dynamic inversion's mean angle to backprop (both hidden layers, "
                                      "degrees) below this"),
        "min_angle_fa": Param("60.0", "claim: feedback alignment's mean angle to backprop (both layers) above this"),
        "max_ratio_fa": Param("0.85", "claim: dynamic inversion's final error / feedback alignment's below this"),
        "max_closed_form_difference": Param("0.01", "claim: |error - error of the closed-form steady state| / "
                                                    "the latter below this"),
    }

    # -- build -------------------------------------------------------------------------------------
    def prepare(self, ctx):
        from brian2 import TimedArray, second

        p = ctx.params
        dt = float(ctx.dt)
        if not self.spiking:
            ctl.check_authors_step(self.name, p["tau"], dt)
        elif not 1 <= int(p["average_steps"]) <= int(p["inversion_steps"]):
            raise BuildError(f"task {self.name}: average_steps ({p['average_steps']}) must lie in 1..inversion_steps "
                             f"({p['inversion_steps']})")
        elif int(p["eval_every"]) != 1:
            raise BuildError(f"task {self.name}: eval_every must be 1 (the closed form is compared at the weights of "
                             f"every update), found {p['eval_every']}")
        steps = _cycle_steps(p)
        cycle = steps * dt
        n = int(round(float(ctx.duration) / cycle))
        if n < 2 or abs(n * cycle - float(ctx.duration)) > 1e-6 * cycle:
            raise BuildError(f"task {self.name}: duration ({float(ctx.duration):g} s) must be a whole number (>= 2) of "
                             f"examples of {cycle:g} s ({steps} steps of dt)")
        problem = reg.authors_problem(ctx.scenario.seed, n)
        B = self._feedback(problem, p)
        alpha = float(p["alpha"])
        for k, (W, Bk) in enumerate(zip(problem.student[1:3], B)):
            ctl.check_stable(W, Bk, alpha, what=f"task {self.name}: inversion of W{k + 1}",
                             hint='use feedback = "neg_transpose" or "optim"')
        for name, arr in (("x", problem.x), ("y", problem.y), ("order", problem.order), ("B1", B[0]), ("B2", B[1]),
                          *((f"student_{k}", v) for k, v in zip(PARAMS, problem.student))):
            ctx.save_array(name, arr)

        t_f, t_b = int(p["forward_steps"]) * dt, int(p["inversion_steps"]) * dt
        ns = ctx.namespace
        ns.update(dr_cycle=cycle * second, dr_tf=t_f * second, dr_tb=t_b * second)
        ns["dr_x"] = TimedArray(problem.x[:, problem.order].T.copy(), dt=cycle * second, name="dr_x")
        ns["dr_y"] = TimedArray(problem.y[:, problem.order].T.copy(), dt=cycle * second, name="dr_y")
        phase = "((t + 0.5*dt) - dr_cycle*floor((t + 0.5*dt)/dr_cycle))"
        gates = {
            "fw": f"int({phase} < dr_tf)",
            "inv2": f"int({phase} >= dr_tf)*int({phase} < dr_tf + dr_tb)",
            "inv1": f"int({phase} >= dr_tf + dr_tb)*int({phase} < dr_tf + 2*dr_tb)",
            "endex": f"int({phase} >= dr_tf + 2*dr_tb + dt)",
        }
        gates["learn"] = f"{gates['endex']}*int(t > dr_cycle)"  # the first example's update is skipped
        if self.spiking:  # the last average_steps of each layer's inversion: v is averaged there
            ns["dr_ta"] = int(p["average_steps"]) * dt * second
            gates["avg2"] = f"int({phase} >= dr_tf + dr_tb - dr_ta)*int({phase} < dr_tf + dr_tb)"
            gates["avg1"] = f"int({phase} >= dr_tf + 2*dr_tb - dr_ta)*int({phase} < dr_tf + 2*dr_tb)"
        self._describe(ctx, problem, B, gates)

    @staticmethod
    def _feedback(problem, p):
        try:
            return reg.feedback_matrices(problem, p["feedback"])
        except ValueError as err:
            raise BuildError(f"task dynamic_inversion_regression: {err}") from None

    def _describe(self, ctx, problem, B, gates):
        from brian2 import second

        p = ctx.params
        steps = _cycle_steps(p)
        cycle = steps * float(ctx.dt)
        ns = {"tau": p["tau"], "alpha": float(p["alpha"]), "dmax": float(p["clip"]),
              "back": 1.0 if p["backward"] else 0.0}
        # the gates are state variables of each layer, set once per step (not expressions evaluated per synapse)
        g = "\n".join(f"{k} : 1" for k in gates)
        gate_code = "\n".join(f"{k} = {v}" for k, v in gates.items())
        capture = ("dd_cap/dt = endex*(d_raw - d_cap)/dt : 1\n"
                   "db_cap/dt = endex*(d_bp - b_cap)/dt : 1\n")
        # r and the clipped delta are state variables set once per step too: evaluated per synapse, tanh
        # took over half of the loop
        hidden = ("a_in : 1\na_b : 1\nr : 1\ngd = 1 - r**2 : 1\nbp : 1\n"
                  "d_bp = bp*gd : 1\nnsq : 1\ndelta : 1\n")
        hidden_code = gate_code + "\nr = tanh(a_in + a_b)\ndelta = d_raw*dmax/clip(sqrt(nsq), dmax, inf)"
        out = g + "\na_in : 1\na_b : 1\ny = a_in + a_b : 1\nerr = dr_y(t, i) - y : 1\ndelta = err : 1\n"
        if not self.spiking:
            equations = {
                "dr_h1": g + "\n" + hidden + capture +
                         "Bu : 1\ndv/dt = inv1*(-v + Bu)/tau - fw*v/dt : 1\nd_raw = back*v*gd : 1\n",
                "dr_h2": g + "\n" + hidden + capture +
                         "Bu : 1\ndv/dt = inv2*(-v + Bu)/tau - fw*v/dt : 1\nd_raw = back*v*gd : 1\n"
                         "du/dt = inv1*(-alpha*u + Wv - d_raw)/tau - fw*u/dt : 1\nWv : 1\n",
                "dr_out": out + "du/dt = inv2*(-alpha*u + Wv - err)/tau - fw*u/dt : 1\nWv : 1\n",
            }
            events = {}
        else:
            ns.update(rate_u=p["rate_u"], rate_v=p["rate_v"], tau_syn=p["tau_syn"])

            def filtered(x):  # a filtered event train, zeroed in the forward phase
                return f"d{x}/dt = -(1 - fw)*{x}/tau_syn - fw*{x}/dt : 1\n"

            def error(layer, gain):  # v, its mean over the end of the inversion, the delta it gives
                return (filtered("Bu") + f"dv/dt = inv{layer}*(-v + Bu)/tau - fw*v/dt : 1\n"
                        f"dvbar/dt = avg{layer}*v/dr_ta - fw*vbar/dt : 1\n{gain} : 1\n"
                        f"d_raw = back*sqrt({gain})*vbar*gd : 1\n")

            equations = {
                "dr_h1": g + "\n" + hidden + capture + error(1, "d2sq"),
                "dr_h2": g + "\n" + hidden + capture + error(2, "esq") + filtered("Wv") +
                         "du/dt = inv1*(-alpha*u + Wv - d_raw/clip(sqrt(nsq), 1e-30, inf))/tau - fw*u/dt : 1\n",
                "dr_out": out + filtered("Wv") + "esq : 1\n"
                          "du/dt = inv2*(-alpha*u + Wv - err/clip(sqrt(esq), 1e-30, inf))/tau - fw*u/dt : 1\n",
            }

            def signed(var, gate, rate):
                return {f"{var}pos": f"{gate} > 0.5 and rand() < {rate}*{var}*dt",
                        f"{var}neg": f"{gate} > 0.5 and rand() < -{rate}*{var}*dt"}

            events = {"dr_h1": signed("v", "inv1", "rate_v"),
                      "dr_h2": {**signed("v", "inv2", "rate_v"), **signed("u", "inv1", "rate_u")},
                      "dr_out": signed("u", "inv2", "rate_u")}
        equations.update({"dr_input": "r = dr_x(t, i) : 1", "dr_one": "r = 1.0 : 1"})
        sizes = {"dr_input": reg.SIZES[0], "dr_one": 1, "dr_h1": reg.SIZES[1], "dr_h2": reg.SIZES[2],
                 "dr_out": reg.SIZES[3]}
        for name, eqs in equations.items():
            model = Model.from_code(name, eqs, events=events.get(name))
            ctx.net.add(Population(name, name, sizes[name], ns, definition=model, origin=ORIGIN))
            if name in ("dr_h1", "dr_h2", "dr_out"):
                ctx.net.add(Operation(f"{name}_gates", name, gate_code if name == "dr_out" else hidden_code,
                                      when="start", origin=ORIGIN))

        rule = ctx.registry.get("plasticity", "dynamic_inversion")
        learning = RuleUse(rule.name, {"eta": float(p["eta"]), "decay": 0.0}, "task.parameters", definition=rule,
                           signals={"learn": "learn_post"})
        every = int(p["eval_every"]) * cycle * second
        W = dict(zip(PARAMS, problem.student))
        summed = {"W0": "a_in_post = w*r_pre : 1 (summed)",
                  "W1": "a_in_post = w*r_pre : 1 (summed)\nbp_pre = w*d_bp_post : 1 (summed)",
                  "W2": "a_in_post = w*r_pre : 1 (summed)\nbp_pre = w*err_post : 1 (summed)",
                  "B2": "", "B1": ""}
        if not self.spiking:
            for k, var in (("W1", "Wv_post = w*v_pre"), ("W2", "Wv_post = w*v_pre"), ("B2", "Bu_post = w*u_pre"),
                           ("B1", "Bu_post = w*u_pre")):
                summed[k] += f"\n{var} : 1 (summed)"
            signed = {}
        else:  # v crosses W_l and u crosses B_l as signed events; B_l also carries the norm the layer rescales by
            summed["B2"] += "esq_post = err_pre**2 : 1 (summed)"
            summed["B1"] += "d2sq_post = d_raw_pre**2 : 1 (summed)"

            def pathways(var, target, rate):
                return {"on_event": {"ppos": f"{var}pos", "pneg": f"{var}neg"},
                        "effect": {"ppos": f"{target}_post += w/({rate}*tau_syn)",
                                   "pneg": f"{target}_post -= w/({rate}*tau_syn)"}}

            signed = {"W1": pathways("v", "Wv", "rate_v"), "W2": pathways("v", "Wv", "rate_v"),
                      "B2": pathways("u", "Bu", "rate_u"), "B1": pathways("u", "Bu", "rate_u")}
            ctx.net.add(Connection("dr_out_norm", "dr_out", "dr_out", weight=None, namespace=ns, origin=ORIGIN,
                                   model="esq_post = err_pre**2 : 1 (summed)"))
        for cname, src, tgt in LAYERS:
            self._matrix(ctx, cname, src, tgt, W[cname], summed[cname], [learning], ns, **signed.get(cname, {}))
        for bname, tgt in BIASES:
            self._matrix(ctx, bname, "dr_one", tgt, W[bname][:, None], "a_b_post = w*r_pre : 1 (summed)",
                         [learning], ns)
        for cname, src, tgt, Bk in (("B2", "dr_out", "dr_h2", B[1]), ("B1", "dr_h2", "dr_h1", B[0])):
            self._matrix(ctx, cname, src, tgt, Bk, summed[cname], [], ns, **signed.get(cname, {}))
        for pop in ("dr_h1", "dr_h2"):  # every unit of a hidden layer reads its layer's squared norm
            ctx.net.add(Connection(f"{pop}_norm", pop, pop, weight=None, namespace=ns, origin=ORIGIN,
                                   model="nsq_post = d_raw_pre**2 : 1 (summed)"))
        for cname in PARAMS:
            ctx.net.add(Record("weights", cname, f"dr_{cname}", ("w",), list(range(W[cname].size)), every,
                               origin=ORIGIN))
        for pop in ("dr_h1", "dr_h2"):
            ctx.net.add(Record("state", pop[3:], pop, ("d_cap", "b_cap"), True, cycle * second, origin=ORIGIN))

    @staticmethod
    def _matrix(ctx, name, src, tgt, W, model, rules, ns, **pathways):
        """``W`` (n_post x n_pre) as all-to-all synapses ``src -> tgt`` (``pathways``: ``on_event`` and
        ``effect`` of :class:`~spikelearn.network.Connection`)."""
        n_post, n_pre = W.shape
        i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
        i, j = i.ravel(), j.ravel()
        ctx.net.add(Connection(f"dr_{name}", src, tgt, i=i, j=j, weight=W[j, i], model=model, rules=rules,
                               namespace=ns, origin=ORIGIN, **pathways))

    # -- evaluate ----------------------------------------------------------------------------------
    @staticmethod
    def _problem(result):
        student = [result.array(f"student_{k}") for k in PARAMS]
        return reg.Problem(x=result.array("x"), y=result.array("y"), student=student,
                           B_small=None, B_large=None, order=result.array("order"))

    def baselines(self, result):
        """The NumPy models of :data:`BASELINES` on the run's draws (cached on the result)."""
        cache = getattr(result, "_dr_baselines", None)
        if cache is not None:
            return cache
        p = result.params
        seed = int(result.scenario["seed"])
        n = result.array("x").shape[1]
        full = reg.authors_problem(seed, n)
        alpha = float(p["alpha"])
        convention = 2 if p["derivative"] == "authors" else 1
        out = {}
        for label, (method, a, feedback, deriv, gain) in BASELINES.items():
            a = alpha if a == "alpha" else a
            feedback = p["feedback"] if feedback == "feedback" else feedback
            B = None
            if feedback is not None:
                B = [result.array("B1"), result.array("B2")] if feedback == p["feedback"] else \
                    reg.feedback_matrices(full, feedback)
            hidden_gain = (1 / alpha ** 2, 1 / alpha) if gain == "leak" else (1.0, 1.0)
            out[label] = reg.train(full, method, eta=float(p["eta"]), alpha=a, B=B,
                                   deriv_power=convention if deriv == "convention" else deriv,
                                   clip=float(p["clip"]), eval_every=int(p["eval_every"]), hidden_gain=hidden_gain)
        result._dr_baselines = out
        return out

    @staticmethod
    def _snapshots(result, problem):
        """The student's parameters (:data:`PARAMS` order) at every weight snapshot, then the final ones;
        read once per result."""
        cache = getattr(result, "_dr_snapshots", None)
        if cache is None:
            per_name = [weight_snapshots(result.weights(k), s.shape if s.ndim == 2 else (s.shape[0], 1))
                        for k, s in zip(PARAMS, problem.student)]  # biases: (n, 1) matrices, back to vectors
            cache = [[m.reshape(s.shape) for m, s in zip(snap, problem.student)] for snap in zip(*per_name)]
            result._dr_snapshots = cache
        return cache

    def brian(self, result):
        """Dynamic inversion as Brian2 ran it: error curve over the weight snapshots, final error, and the
        angle of every update's hidden deltas to backprop's (degrees, n x 2; nan for the first example)."""
        problem = self._problem(result)
        snaps = self._snapshots(result, problem)
        n = problem.x.shape[1]
        every = int(result.params["eval_every"])
        # snapshot m (at the start of example m*every) follows the update of iteration m*every - 1; with
        # every = 1 the first two are both the initial weights (the first update is skipped)
        iters = [0] + [m * every - 1 for m in range(1, len(snaps) - 1)] + [n - 1]
        iters, keep = np.unique(iters, return_index=True)
        errors = np.array([reg.squared_errors(snaps[m], problem.x, problem.y) for m in keep])
        angles = np.full((n, 2), np.nan)
        for col, pop in enumerate(("h1", "h2")):
            st = result.state(pop)
            # sample k (at the start of example k) holds the capture of example k - 1; the last example's
            # capture comes after the last sample
            d, b = st["d_cap"][:, 1:n], st["b_cap"][:, 1:n]
            nd, nb = np.linalg.norm(d, axis=0), np.linalg.norm(b, axis=0)
            with np.errstate(all="ignore"):
                ang = np.degrees(np.arccos(np.clip(np.sum(d * b, axis=0) / (nd * nb), -1, 1)))
            ang[(nd == 0) | (nb == 0)] = np.nan
            angles[:ang.size, col] = ang
        return {"eval_iters": iters, "errors": errors, "angles": angles}

    def evaluate(self, result):
        p = result.params
        base = self.baselines(result)
        di = self.brian(result)
        floor = reg.bias_only_floor(result.array("y"))
        win = int(p["window"])

        def mean_angles(res):
            a = res["angles"][-win:]
            with np.errstate(all="ignore"):
                return [float(np.nanmean(a[:, k])) if np.any(np.isfinite(a[:, k])) else float("nan") for k in (0, 1)]

        e_di = float(di["errors"][-1])
        models = {"DI (Brian2)": di, **base}
        metrics = {"n_examples": int(result.array("x").shape[1]), "bias_only_floor": floor,
                   "error_initial": float(di["errors"][0])}
        for label, res in models.items():
            key = label.replace(" ", "_").replace("(", "").replace(")", "").replace("'", "").replace("-", "_")
            metrics[f"error_final_{key}"] = float(res["errors"][-1])
            metrics[f"error_over_floor_{key}"] = float(res["errors"][-1]) / floor
            metrics[f"error_over_BP_{key}"] = float(res["errors"][-1]) / float(base["BP"]["errors"][-1])
            metrics[f"angle_bp_last_{key}"] = mean_angles(res)
        a_di, a_fa = mean_angles(di), mean_angles(base["FA"])
        e_fa = float(base["FA"]["errors"][-1])
        e_cf = float(base["NDI (tanh' once)"]["errors"][-1])
        rel = abs(e_di - e_cf) / e_cf
        ratio = e_di / e_fa
        thr = {k: float(p[k]) for k in ("max_angle_di", "min_angle_fa", "max_ratio_fa", "max_closed_form_difference")}
        metrics["di_over_fa"] = ratio
        metrics["step_size_control_over_fa"] = float(base["BP x leak gain"]["errors"][-1]) / e_fa
        metrics["closed_form_difference"] = rel
        worst_di = max(a_di) if all(np.isfinite(a_di)) else float("nan")
        least_fa = min(a_fa)
        claims = [
            Claim("di_aligns_with_bp", f"dynamic inversion's hidden deltas lie within {thr['max_angle_di']:g} deg of "
                  f"backprop's (mean over the last {win} updates, both hidden layers; the larger shown)",
                  worst_di, thr["max_angle_di"], bool(worst_di < thr["max_angle_di"])),
            Claim("fa_not_aligned", f"feedback alignment's hidden deltas stay above {thr['min_angle_fa']:g} deg from "
                  "backprop's (both layers; the smaller shown)", least_fa, thr["min_angle_fa"],
                  bool(least_fa > thr["min_angle_fa"])),
            Claim("di_error_below_fa", f"dynamic inversion's final error / feedback alignment's < {thr['max_ratio_fa']:g} "
                  f"(the step-size control, BP with the leak's gain, gives {metrics['step_size_control_over_fa']:.2f})",
                  ratio, thr["max_ratio_fa"], bool(ratio < thr["max_ratio_fa"])),
            Claim("matches_closed_form", "final error within "
                  f"{thr['max_closed_form_difference']:.0%} of the closed-form steady state's (NumPy, tanh' once, same draws)",
                  rel, thr["max_closed_form_difference"], bool(rel < thr["max_closed_form_difference"])),
        ]
        return TaskOutcome(metrics, claims)

    # -- figures -----------------------------------------------------------------------------------
    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        base = self.baselines(result)
        di = self.brian(result)
        floor = reg.bias_only_floor(result.array("y"))
        colours = {"BP": "C0", "FA": "C2", "FA-2": "C8", "PBP": "C4", "NDI": "C1", "NDI-2": "C5", "NDI-3": "C6",
                   "NDI (tanh' once)": "0.5", "readout only": "0.3", "BP x leak gain": "C9"}
        fig, ax = plt.subplots(figsize=(6.2, 4.2))
        e0 = float(di["errors"][0])
        for label, res in base.items():
            ls = ":" if label in ("readout only", "BP x leak gain", "NDI (tanh' once)") else "-"
            ax.plot(res["eval_iters"], res["errors"] / e0, ls, color=colours[label], lw=1.2, label=f"{label} (NumPy)")
        ax.plot(di["eval_iters"], di["errors"] / e0, "-", color="C3", lw=2.2, label=self.label)
        ax.axhline(floor / e0, color="k", lw=0.8, ls="--", label="best constant output")
        ax.set_yscale("log")
        ax.set_xlabel("iteration")
        ax.set_ylabel("error / initial error (training set)")
        ax.set_title(f"Nonlinear regression 30-20-10-10 (feedback {result.params['feedback']}, "
                     f"alpha {float(result.params['alpha']):g})", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        fig.tight_layout()
        path1 = outdir / "dynamic_inversion_regression_error.png"
        fig.savefig(path1, dpi=110)
        plt.close(fig)

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
        k = max(1, min(100, result.array("x").shape[1] // 20))
        for col, ax in enumerate(axes):
            for label, res, c in ((self.label, di, "C3"), *((lab, base[lab], colours[lab]) for lab in ("FA", "PBP", "NDI"))):
                a = res["angles"][:, col]
                n = (a.size // k) * k
                with np.errstate(all="ignore"):
                    m = np.nanmean(a[:n].reshape(-1, k), axis=1)
                ax.plot(np.arange(m.size) * k + k / 2, m, color=c, lw=2.0 if label.startswith("DI") else 1.2,
                        label=label)
            ax.set_xlabel("iteration")
            ax.set_title(f"hidden layer {col + 1}: angle to backprop's delta", fontsize=9)
            ax.set_ylim(0, 180)
        axes[0].set_ylabel(f"degrees (mean over {k} updates)")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path2 = outdir / "dynamic_inversion_regression_angles.png"
        fig.savefig(path2, dpi=110)
        plt.close(fig)
        return [path1, path2]


class DynamicInversionRegressionSpiking(DynamicInversionRegression):
    """The regression with the inversion carried by signed Poisson events (a prefix of the authors' pass).

    The forward pass, the learning step and the NumPy baselines are those of
    :class:`DynamicInversionRegression`; the backward phase changes in three ways:

    * every quantity that crosses a matrix during the inversion is a train of signed events: a unit of a
      controller ``u`` emits a ``upos`` event with probability ``rate_u*[u]_+*dt`` per step and a ``uneg``
      event with ``rate_u*[-u]_+*dt`` (a +/- pair of cells folded into one neuron), likewise ``v`` with
      ``rate_v``; ``B_l`` carries the ``u`` events and ``W_l`` (the forward synapses) the ``v`` events, each
      event adding ``+-w/(rate*tau_syn)`` to a trace that decays with ``tau_syn``, so its mean is ``B_l u`` or
      ``W_l v``;
    * the signal each inversion inverts is presented normalised (``e/|e|``, then ``d_2/|d_2|``) and the
      layer's delta scaled back by the norm, so the event code has the same precision at every stage of
      learning (the errors shrink a thousandfold in the first thousand examples); the inversion is linear in
      its input, so in the rate limit this changes nothing;
    * the delta uses ``v`` averaged over the last ``average_steps`` of its inversion (the instantaneous ``v``
      carries the event noise).

    Claims: the spiking deltas' angle to backprop's, their angle to the closed-form inversion at the same
    weights and example, and the training error after the pass against the closed form's on the same draws;
    thresholds from the NumPy oracle of the event process (``tests/oracles/dynamic_inversion_events.py``).
    """

    name = "dynamic_inversion_regression_spiking"
    description = ("The authors' two-hidden-layer regression with dynamic inversion carried by signed Poisson "
                   "events: angles to backprop and to the closed form, error against the closed form")
    spiking = True
    label = "DI, spiking (Brian2)"
    parameters = {
        **{k: v for k, v in DynamicInversionRegression.parameters.items()
           if k not in ("max_angle_di", "min_angle_fa", "max_ratio_fa", "max_closed_form_difference")},
        "tau": Param("10*ms", "time constant of the inversion dynamics"),
        "inversion_steps": Param(5000, "time steps of each layer's inversion (500 tau at dt = tau/10, the "
                                       "authors' integration time)", kind="int", min=1),
        "eval_every": Param(1, "the weights are recorded (and the training-set error computed) after every "
                               "example: the claims compare the closed form at the weights of every update (only 1)",
                            kind="int", min=1),
        "rate_u": Param("4*Hz", "event rate per unit of |u| (each sign; u reaches ~1/alpha)"),
        "rate_v": Param("100*Hz", "event rate per unit of |v| (each sign)"),
        "tau_syn": Param("5*ms", "decay of the event traces that carry B u and W v"),
        "average_steps": Param(500, "the delta uses v averaged over this many last steps of its inversion",
                               kind="int", min=1),
        "max_angle_bp": Param("10.0", "claim: mean angle (degrees) of the spiking deltas to backprop's below this "
                                      "(both hidden layers)"),
        "max_angle_closed_form": Param("10.0", "claim: mean angle (degrees) of the spiking deltas to the closed "
                                               "form at the same weights below this (both hidden layers)"),
        "max_error_difference": Param("0.1", "claim: |error - closed form's error| / the latter below this "
                                             "(training set, after the pass)"),
    }

    def closed_form_angles(self, result):
        """Angles (degrees, n x 2) of each captured delta to the closed-form steady state of its layer's
        inversion at the weights of that example (layer 1: of the spiking ``d_2`` it inverted)."""
        problem = self._problem(result)
        n = problem.x.shape[1]
        snaps = self._snapshots(result, problem)
        B1, B2 = result.array("B1"), result.array("B2")
        alpha = float(result.params["alpha"])
        d1s, d2s = result.state("h1")["d_cap"], result.state("h2")["d_cap"]
        angles = np.full((n, 2), np.nan)
        for k in range(n - 1):  # sample k + 1 holds the capture of example k
            params = snaps[k]
            xi = problem.x[:, problem.order[k]]
            a1, _, a2, _, out = reg.forward(params, xi)
            e = problem.y[:, problem.order[k]] - out
            d1, d2 = d1s[:, k + 1], d2s[:, k + 1]
            c2 = ctl.steady_state(params[2], B2, e, alpha) * (1 - np.tanh(a2) ** 2)
            c1 = ctl.steady_state(params[1], B1, d2, alpha) * (1 - np.tanh(a1) ** 2)
            angles[k] = ctl.angle_deg(d1, c1), ctl.angle_deg(d2, c2)
        return angles

    def evaluate(self, result):
        p = result.params
        base = self.baselines(result)
        di = self.brian(result)
        cf = self.closed_form_angles(result)
        floor = reg.bias_only_floor(result.array("y"))

        def worst(a):  # mean over the updates (the first example is not an update), the larger layer
            with np.errstate(all="ignore"):
                m = [float(np.nanmean(a[1:, k])) if np.any(np.isfinite(a[1:, k])) else float("nan") for k in (0, 1)]
            return m, (max(m) if all(np.isfinite(m)) else float("nan"))

        (m_bp, a_bp), (m_cf, a_cf) = worst(di["angles"]), worst(cf)
        e_spk = float(di["errors"][-1])
        e_cf = float(base["NDI (tanh' once)"]["errors"][-1])
        rel = abs(e_spk - e_cf) / e_cf
        metrics = {"n_examples": int(result.array("x").shape[1]), "bias_only_floor": floor,
                   "error_initial": float(di["errors"][0]), "error_final_spiking": e_spk,
                   "error_final_closed_form": e_cf, "error_difference": rel,
                   "error_final_FA": float(base["FA"]["errors"][-1]),
                   "error_final_BP": float(base["BP"]["errors"][-1]),
                   "error_final_readout_only": float(base["readout only"]["errors"][-1]),
                   "angle_bp_layers": m_bp, "angle_closed_form_layers": m_cf,
                   "angle_bp_FA": worst(base["FA"]["angles"])[0],
                   "angle_bp_closed_form": worst(base["NDI (tanh' once)"]["angles"])[0]}
        thr = {k: float(p[k]) for k in ("max_angle_bp", "max_angle_closed_form", "max_error_difference")}
        claims = [
            Claim("spiking_aligns_with_bp", f"the spiking deltas lie within {thr['max_angle_bp']:g} deg of backprop's "
                  "(mean over the updates, both hidden layers; the larger shown)", a_bp, thr["max_angle_bp"],
                  bool(a_bp < thr["max_angle_bp"])),
            Claim("spiking_tracks_closed_form", f"the spiking deltas lie within {thr['max_angle_closed_form']:g} deg "
                  "of the closed-form inversion at the same weights and example (mean, both layers; the larger "
                  "shown)", a_cf, thr["max_angle_closed_form"], bool(a_cf < thr["max_angle_closed_form"])),
            Claim("learns_as_closed_form", f"the training error after the pass within {thr['max_error_difference']:.0%} "
                  "of the closed-form inversion's (NumPy, tanh' once, same draws)", rel, thr["max_error_difference"],
                  bool(rel < thr["max_error_difference"])),
        ]
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        paths = super().figures(result, outdir)
        di = self.brian(result)
        cf = self.closed_form_angles(result)
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
        for col, ax in enumerate(axes):
            for a, c, what in ((di["angles"][1:, col], "C3", "to backprop's delta"),
                               (cf[1:, col], "C1", "to the closed-form inversion (same weights)")):
                ax.plot(np.arange(1, a.size + 1), a, ".", ms=2, color=c, alpha=0.35)
                k = 50
                n = (a.size // k) * k
                with np.errstate(all="ignore"):
                    m = np.nanmean(a[:n].reshape(-1, k), axis=1)
                ax.plot(np.arange(m.size) * k + k / 2, m, "-", color=c, lw=2, label=what)
            ax.set_title(f"hidden layer {col + 1}: angle of the spiking delta", fontsize=9)
            ax.set_xlabel("iteration")
        axes[0].set_ylabel("degrees (dots: each update; line: mean of 50)")
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        path = outdir / "dynamic_inversion_regression_spiking_angles.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return paths + [path]
