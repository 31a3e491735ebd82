"""Adversarial wake/sleep learning (Benjamin & Kording) and surprise-modulated oscillations.

The toy (see :mod:`spikelearn.tasks.benjamin_kording.generative` for the equations and the NumPy reference):
A drives B and C, with a B->C recurrence. In wake, (A, B, C) follow the stimulus; in sleep, they are
generated from A with the learned weights ``a = (a_B, a_C)``. Stage 1 learns ``a`` by local prediction
(wrong under recurrence: ``a_C -> w_TC + w_BC*w_TB``); Stage 2 adds an interneuron discriminator D and a
three-factor weight-perturbation rule gated by ``D - Dbar`` that makes sleep match wake (``a -> a*``).

The network (the task's ``prepare`` describes it as data in ``ctx.net``; everything inside the loop is
Brian2 code):

- ``ws_replicas`` (``n_replicas`` neurons): each draws one sample per step in ``run_regularly`` with
  ``rand()``/``randn()`` (the latent ``T ~ Gamma(2, scale)`` as ``-scale*(log(1-rand()) + log(1-rand()))``),
  gated by the phase signals ``wake``/``sleep`` of the ``[phases]`` schedule, and computes ``D``;
  the shared parameters are linked variables of the learner;
- ``ws_learner`` (1 neuron): ``a_B, a_C, v0..v4, Dbar``; replica averages arrive as summed variables
  of the ``ws_sums`` synapses; its ``run_regularly`` applies the rules of
  :mod:`spikelearn.plasticity.wake_sleep`;
- spiking readout (``readout = "poisson"``): B and C drive Poisson neurons (``ws_spikes_B/C``,
  ``rand() < gain*clip(drive + offset, 0, inf)*dt``) whose spikes are counted through synapses into
  the replicas over a ``window``; D and the predictive rule read the decoded counts. One sample (and one
  learning step) per window; the learner applies the gates of the window that just ended.

Surprise test (``test_start`` < duration): from ``test_start`` on, ``a`` is frozen, D keeps learning,
and blocks of ``test_block`` alternate familiar and novel data (wake latent shifted by ``novel_shift``),
with the wake/sleep oscillation of the schedule (10 Hz in ``surprise_oscillation.toml``).
"""

import logging

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Operation, Population, Record
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome
from spikelearn.plasticity.wake_sleep import FEATURES, RULES, learner_code
from spikelearn.tasks.benjamin_kording import generative as ref

__all__ = ["AdversarialWakeSleep", "SurpriseOscillation", "learning_windows", "surprise_blocks"]

logger = logging.getLogger(__name__)

_REPLICA_VARS = ("Bh", "Ch", "Ah", "xiBh", "xiCh", "D")
_LEARNER_VARS = ("a_B", "a_C", "Dbar")


def _rule_params():
    out = {}
    for rule in RULES:
        out.update(rule.parameters)
    return out


def learning_windows(t, stage2_start, train_end, fraction=0.2):
    """Masks over times ``t`` of the last ``fraction`` of Stage 1 and of Stage 2."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], found: {fraction}")
    if not 0 < stage2_start < train_end:
        raise ValueError(f"need 0 < stage2_start < train_end, found: {stage2_start}, {train_end}")
    s1 = (t >= (1 - fraction) * stage2_start) & (t < stage2_start)
    s2 = (t >= train_end - fraction * (train_end - stage2_start)) & (t < train_end)
    return s1, s2


def surprise_blocks(t, test_start, block):
    """For times ``t``: (in_test, novel) masks. Test blocks alternate familiar (even) and novel (odd)."""
    if block <= 0:
        raise ValueError(f"block must be > 0, found: {block}")
    k = np.floor((t - test_start) / block + 1e-9)
    in_test = t >= test_start
    return in_test, in_test & (k % 2 == 1)


class AdversarialWakeSleep(Task):
    name = "adversarial_wake_sleep"
    description = "Adversarial wake/sleep learning: a discriminator interneuron fixes what local prediction gets wrong"
    reference = "Benjamin & Kording (2023) PLoS Comput Biol, 'Learning to infer in recurrent biological networks'; arXiv:2006.10811"
    parameters = {
        "n_replicas": Param(500, "parallel copies of the circuit (samples per step, a mini-batch)", kind="int", min=1),
        "w_TB": Param("1.0", "wake: weight of T onto B (target a_B)"),
        "w_TC": Param("0.5", "wake: weight of T onto C (target a_C)"),
        "w_BC": Param("0.8", "B->C recurrence, in wake and sleep"),
        "noise": Param("0.3", "std of the noise on B and C", min=0),
        "gamma_scale": Param("0.5", "scale of the Gamma(2, scale) latent"),
        "latent_offset": Param("-1.0", "added to the Gamma latent"),
        "a0_B": Param("0.0", "initial a_B"),
        "a0_C": Param("0.0", "initial a_C"),
        "stage2_start": Param("2*second", "start of Stage 2 (discriminator and perturbation rule)"),
        "test_start": Param("1e9*second", "surprise test: a frozen from here on (default: never)"),
        "test_block": Param("2*second", "surprise test: length of each familiar/novel block"),
        "novel_shift": Param("1.0", "surprise test: shift of the wake latent in novel blocks"),
        **_rule_params(),
        "readout": Param("rate", "what D sees: the rates, or decoded spike counts of Poisson neurons",
                         kind="str", choices=("rate", "poisson")),
        "gain": Param("100*Hz", "poisson readout: rate per unit of drive"),
        "window": Param("25*ms", "poisson readout: counting window (= one sample)"),
        "offset": Param("2.0", "poisson readout: rate = gain*max(drive + offset, 0)"),
        "n_probe": Param(50, "replicas whose samples are recorded (in-simulation KL)", kind="int"),
        "kl_samples": Param(200000, "samples per distribution for the KL of the learned model", kind="int"),
        "kl_bins": Param(20, "bins per axis of the 2-D (B, C) histograms", kind="int"),
        "min_kl_drop": Param("10", "claim: KL(Stage 1) / KL(Stage 2) at least this"),
        "max_error_stage2": Param("0.25", "claim: |a - a*| after Stage 2 below this"),
        "min_error_stage1": Param("0.6", "claim: |a - a*| after Stage 1 alone above this"),
    }
    provides_signals = ("stage2", "plastic")

    # -- building --------------------------------------------------------------------------------
    def _window(self, ctx):
        p = ctx.params
        if p["readout"] == "poisson":
            steps = float(p["window"]) / float(ctx.dt)
            if abs(steps - round(steps)) > 1e-6 or round(steps) < 1:
                raise BuildError(f"task parameter window must be a whole number of time steps dt={ctx.dt}, found: {p['window']}")
            return p["window"]
        return ctx.dt

    def prepare(self, ctx):
        from brian2 import TimedArray, second

        p = ctx.params
        for name in ("wake", "sleep"):
            ctx.signal_expr(name)  # the schedule must provide both; errors name what is there
        if int(p["n_replicas"]) < 2:
            raise BuildError(f"task parameter n_replicas must be >= 2, found: {p['n_replicas']}")
        ctx.namespace["ws_stage2_start"] = p["stage2_start"]
        ctx.namespace["ws_test_start"] = p["test_start"]
        ctx.signals["stage2"] = "int(t >= ws_stage2_start)"
        ctx.signals["plastic"] = "int(t < ws_test_start)"
        duration, test_start, block = float(ctx.duration), float(p["test_start"]), float(p["test_block"])
        if test_start < duration:
            n_blocks = int(np.ceil((duration - test_start) / block)) + 1
            values = [0.0] + [float(p["novel_shift"]) * (k % 2) for k in range(n_blocks)]
            # block 0 of the TimedArray covers [test_start - block, test_start): familiar
            ctx.namespace["ws_shift"] = TimedArray(np.asarray(values), dt=block * second, name="ws_shift")
            ctx.namespace["ws_shift_t0"] = (test_start - block) * second
            ctx.signals["novel_shift"] = "ws_shift(t - ws_shift_t0)"
        else:
            ctx.signals["novel_shift"] = "0"
        self._describe(ctx)

    def _signals(self, ctx, lag):
        """Signal expressions; with ``lag``, evaluated at ``t - lag`` (the start of the window just read)."""
        from brian2.utils.stringtools import word_substitute

        out = {}
        for name in ("wake", "sleep", "stage2", "plastic"):
            expr = ctx.signal_expr(name)
            out[name] = "(" + (word_substitute(expr, {"t": "(t - ws_lag)"}) if lag else expr) + ")"
        if lag:  # the first window boundary has no window behind it
            out["plastic"] = f"({out['plastic']}*int(t >= ws_lag))"
        return out

    def _describe(self, ctx):
        """The network as data (`ctx.net`): the learner, the replicas, their sums and, for the spiking
        readout, the Poisson neurons and their counting synapses; then the recorders."""
        from brian2.utils.stringtools import word_substitute

        p = ctx.params
        M = int(p["n_replicas"])
        spiking = p["readout"] == "poisson"
        W = self._window(ctx)
        ns = {}
        for key in ("w_TB", "w_TC", "w_BC", "noise", "gamma_scale", "latent_offset", "gain", "window", "offset"):
            ns[key] = p[key]
        for key in _rule_params():
            ns[key] = float(p[key])
        ns["ws_M"] = float(M)
        ns["ws_lag"] = W if spiking else 0 * W
        now = {name: f"({ctx.signal_expr(name)})" for name in ("wake", "stage2", "novel_shift")}
        origin = f"task {self.name}"

        learner_eqs = "\n".join(
            [f"{v} : 1" for v in ("a_B", "a_C", "da_B", "da_C", "Dbar", "wk_used", "s2_used", "plastic_used")]
            + [f"v{k} : 1" for k in range(5)]
            + [f"{s} : 1" for rule in RULES for s in rule.sums])
        ctx.net.add(Population(
            "ws_learner", "ws_learner", 1, dict(ns),
            definition=Model.from_code("ws_learner", learner_eqs,
                                       description="wake/sleep learner: a, D's weights, replica averages"),
            initial={"a_B": float(p["a0_B"]), "a_C": float(p["a0_C"])}, dt=W, origin=origin))

        linked = ["a_B", "a_C"] + [f"v{k}" for k in range(5)]
        replica_eqs = "\n".join([f"{v} : 1" for v in ("A", "B", "C", "xiB", "xiC") + _REPLICA_VARS + ("nB", "nC")]
                                + [f"{v} : 1 (linked)" for v in linked])
        ctx.net.add(Population(
            "ws_replicas", "ws_replicas", M, dict(ns),
            definition=Model.from_code("ws_replicas", replica_eqs,
                                       description="wake/sleep replicas: one sample of (A, B, C) per step"),
            links={v: ("ws_learner", v, np.zeros(M, dtype=int)) for v in linked}, dt=W, origin=origin))

        header = f"""
        wk = {now['wake']}
        s2 = {now['stage2']}
        """
        sample = f"""
        u1 = -log(1 - rand())
        u2 = -log(1 - rand())
        A = gamma_scale*(u1 + u2) + latent_offset + wk*{now['novel_shift']}
        xiB = sigma_xi*s2*randn()
        xiC = sigma_xi*s2*randn()
        B = (wk*w_TB + (1 - wk)*(a_B + xiB))*A + noise*randn()
        C = (wk*w_TC + (1 - wk)*(a_C + xiC))*A + w_BC*B + noise*randn()
        """
        disc = "D = " + " + ".join(f"v{k}*{f}" for k, f in enumerate(FEATURES))
        if spiking:
            code = f"""
            {header}
            Bh = nB/(gain*window) - offset
            Ch = nC/(gain*window) - offset
            Ah = A
            xiBh = xiB
            xiCh = xiC
            {disc}
            {sample}
            nB = 0
            nC = 0
            """
        else:
            code = f"""
            {header}
            {sample}
            Bh = B
            Ch = C
            Ah = A
            xiBh = xiB
            xiCh = xiC
            {disc}
            """
        ctx.net.add(Operation("ws_sample", "ws_replicas", _dedent(code), dt=W, when="start", order=-100,
                              origin=origin))

        sums = {}
        for rule in RULES:
            sums.update(rule.sums)
        subst = {v: f"{v}_pre" for v in _REPLICA_VARS}
        subst.update({v: f"{v}_post" for v in _LEARNER_VARS})
        model = "\n".join(f"{name}_post = ({word_substitute(expr, subst)})/ws_M : 1 (summed)"
                          for name, expr in sums.items())
        ctx.net.add(Connection("ws_sums", "ws_replicas", "ws_learner", connect="all", weight=None, model=model,
                               namespace=dict(ns), origin=origin))

        sig = self._signals(ctx, lag=spiking)
        update = word_substitute(learner_code(), sig)
        update += "\n" + "\n".join([f"wk_used = {sig['wake']}", f"s2_used = {sig['stage2']}",
                                    f"plastic_used = {sig['plastic']}"])
        ctx.net.add(Operation("ws_learn", "ws_learner", update, dt=W, when="groups", order=1, origin=origin))

        if spiking:
            readout = Model.from_code("ws_poisson_readout", "drive : 1 (linked)",
                                      threshold="rand() < gain*clip(drive + offset, 0, inf)*dt",
                                      description="Poisson neurons at rate gain*max(drive + offset, 0)")
            for var in ("B", "C"):
                ctx.net.add(Population(f"ws_spikes_{var}", "ws_poisson_readout", M, dict(ns), definition=readout,
                                       links={"drive": ("ws_replicas", var)}, origin=origin))
                ctx.net.add(Connection(f"ws_count_{var}", f"ws_spikes_{var}", "ws_replicas", connect="one_to_one",
                                       weight=None, effect=f"n{var}_post += 1", namespace=dict(ns), origin=origin))
            for var in ("B", "C"):  # a few neurons, for the raster figure
                ctx.net.add(Record("spikes", f"ws_spikes_{var}", f"ws_spikes_{var}", indices=3, origin=origin))

        lvars = ("a_B", "a_C", "Dbar", "mD", "wk_used", "s2_used", "plastic_used") + tuple(f"v{k}" for k in range(5))
        ctx.net.add(Record("state", "ws_learner", "ws_learner", lvars, [0], W, when="end", order=100, origin=origin))
        n_probe = min(int(p["n_probe"]), M)
        if n_probe > 0:
            ctx.net.add(Record("state", "ws_probe", "ws_replicas", ("Bh", "Ch"), list(range(n_probe)), W,
                               when="end", order=100, origin=origin))

    # -- evaluation -------------------------------------------------------------------------------
    def _toy(self, p):
        return {"gamma_shape": 2.0, "gamma_scale": float(p["gamma_scale"]), "shift": float(p["latent_offset"]),
                "w_TB": float(p["w_TB"]), "w_TC": float(p["w_TC"]), "w_BC": float(p["w_BC"]),
                "noise": float(p["noise"])}

    def _readout(self, result, p):
        if p["readout"] != "poisson":
            return None
        return {"gain": float(p["gain"]), "window": float(p["window"]), "offset": float(p["offset"]),
                "dt": result.dt}

    def learning(self, result):
        """Stage-1 and Stage-2 parameters, errors and KLs (the numbers behind the claims)."""
        p = result.params
        st = result.state("ws_learner")
        t = st["t"]
        a = np.stack([st["a_B"][0], st["a_C"][0]], axis=1)
        astar = np.array([float(p["w_TB"]), float(p["w_TC"])])
        train_end = min(float(p["test_start"]), result.duration)
        s1, s2 = learning_windows(t, float(p["stage2_start"]), train_end)
        a1, a2 = a[s1].mean(axis=0), a[s2].mean(axis=0)
        toy, readout = self._toy(p), self._readout(result, p)
        seed = int(result.scenario.get("seed", 1))
        n, bins = int(p["kl_samples"]), int(p["kl_bins"])
        kl1 = ref.evaluate_kl(a1, np.random.default_rng([seed, 1]), n, toy, bins, readout)
        kl2 = ref.evaluate_kl(a2, np.random.default_rng([seed, 2]), n, toy, bins, readout)
        kl_star = ref.evaluate_kl(astar, np.random.default_rng([seed, 3]), n, toy, bins, readout)
        out = {"a_stage1": a1, "a_stage2": a2, "a_target": astar,
               "error_stage1": float(np.linalg.norm(a1 - astar)), "error_stage2": float(np.linalg.norm(a2 - astar)),
               "kl_stage1": kl1, "kl_stage2": kl2, "kl_at_target": kl_star, "kl_drop": kl1 / kl2}
        # in-simulation KL from the recorded replica samples (fewer samples: a check, not the claim)
        try:
            probe = result.state("ws_probe")
        except KeyError:
            return out
        wk = np.interp(probe["t"], t, st["wk_used"][0]) > 0.5
        for label, mask in (("stage1", s1), ("stage2", s2)):
            m = np.interp(probe["t"], t, mask.astype(float)) > 0.5
            Bw, Cw = probe["Bh"][:, m & wk].ravel(), probe["Ch"][:, m & wk].ravel()
            Bs, Cs = probe["Bh"][:, m & ~wk].ravel(), probe["Ch"][:, m & ~wk].ravel()
            if Bw.size and Bs.size:
                out[f"kl_sim_{label}"] = ref.binned_kl((Bw, Cw), (Bs, Cs), bins=bins)
                out[f"kl_sim_{label}_samples"] = [int(Bw.size), int(Bs.size)]
        return out

    def evaluate(self, result):
        p = result.params
        L = self.learning(result)
        kl_min, e2max, e1min = float(p["min_kl_drop"]), float(p["max_error_stage2"]), float(p["min_error_stage1"])
        n = int(p["kl_samples"])
        claims = [
            Claim("kl_drop",
                  f"KL(wake||sleep) of 20x20 (B, C) histograms ({n} samples each, learned a averaged over the last "
                  f"20% of each stage) drops at least {kl_min:g}x from Stage 1 to Stage 2",
                  L["kl_drop"], kl_min, L["kl_drop"] >= kl_min),
            Claim("error_stage2", f"|a - a*| after Stage 2 < {e2max:g}", L["error_stage2"], e2max,
                  L["error_stage2"] < e2max),
            Claim("error_stage1", f"|a - a*| after Stage 1 (local prediction only) > {e1min:g}",
                  L["error_stage1"], e1min, L["error_stage1"] > e1min),
        ]
        return TaskOutcome(L, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        st = result.state("ws_learner")
        t = st["t"]
        astar = np.array([float(p["w_TB"]), float(p["w_TC"])])
        a = np.stack([st["a_B"][0], st["a_C"][0]], axis=1)
        err = np.linalg.norm(a - astar, axis=1)
        train_end = min(float(p["test_start"]), result.duration)
        toy, readout = self._toy(p), self._readout(result, p)
        ts = np.linspace(0, train_end, 25, endpoint=False)[1:]
        idx = np.searchsorted(t, ts).clip(0, len(t) - 1)
        rng = np.random.default_rng(0)
        kl = [ref.evaluate_kl(a[i], rng, 50000, toy, int(p["kl_bins"]), readout) for i in idx]
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        ax = axes[0]
        ax.plot(t, a[:, 0], label="a_B")
        ax.plot(t, a[:, 1], label="a_C")
        for k in range(2):
            ax.axhline(astar[k], color=f"C{k}", ls=":", lw=1)
        ax.axvline(float(p["stage2_start"]), color="k", lw=0.8)
        ax.set_xlabel("time (s)")
        ax.set_title("generative weights (dotted: a*)")
        ax.legend()
        ax = axes[1]
        ax.plot(t, err, color="C3")
        ax.axhline(float(p["max_error_stage2"]), color="C2", ls="--", label="claim (Stage 2)")
        ax.axhline(float(p["min_error_stage1"]), color="0.5", ls="--", label="claim (Stage 1)")
        ax.axvline(float(p["stage2_start"]), color="k", lw=0.8)
        ax.set_xlabel("time (s)")
        ax.set_title("|a - a*|")
        ax.legend(fontsize=8)
        if train_end < result.duration:
            for ax in axes[:2]:
                ax.axvline(train_end, color="k", ls="--", lw=0.8)
                ax.text(train_end, ax.get_ylim()[1], " a frozen", va="top", fontsize=8)
        ax = axes[2]
        ax.semilogy(ts, kl, "o-", ms=3)
        ax.axvline(float(p["stage2_start"]), color="k", lw=0.8)
        ax.set_xlabel("time (s)")
        ax.set_title("KL(wake||sleep), learned model (5e4 samples)")
        fig.tight_layout()
        path = outdir / "wake_sleep_learning.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths = [path]
        paths.append(self._histogram_figure(result, outdir, toy, readout))
        if readout is not None:
            paths.append(self._raster_figure(result, outdir))
        return paths

    def _raster_figure(self, result, outdir):
        import matplotlib.pyplot as plt

        t_end = min(float(result.params["test_start"]), result.duration)
        t0 = max(t_end - 0.5, 0.0)
        fig, ax = plt.subplots(figsize=(10, 2.8))
        for row, var in enumerate(("B", "C")):
            i, t = result.spikes(f"ws_spikes_{var}")
            m = (t >= t0) & (t < t_end)
            ax.plot(t[m], i[m] + 4 * row, "|", color=f"C{row}", ms=8, label=f"{var} (replicas 0-2)")
        phases = result.phases() or {"intervals": []}
        for name, a, b in phases["intervals"]:
            if name == "wake" and b > t0 and a < t_end:
                ax.axvspan(max(a, t0), min(b, t_end), color="C1", alpha=0.15, lw=0)
        ax.set_xlim(t0, t_end)
        ax.set_yticks([])
        ax.set_xlabel("time (s)")
        ax.set_title("Poisson readout of B and C, end of Stage 2 (shaded: wake)")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        path = outdir / "wake_sleep_raster.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    def _histogram_figure(self, result, outdir, toy, readout):
        import matplotlib.pyplot as plt

        L = self.learning(result)
        rng = np.random.default_rng(0)
        n = 50000
        _, Bw, Cw = ref.sample_wake(rng, n, toy)
        samples = [("wake (data)", Bw, Cw)]
        for label, key in (("sleep after Stage 1", "a_stage1"), ("sleep after Stage 2", "a_stage2")):
            _, Bs, Cs = ref.sample_sleep(rng, n, L[key], toy)
            samples.append((label, Bs, Cs))
        if readout is not None:
            samples = [(lab, ref.poisson_readout(rng, B, **readout), ref.poisson_readout(rng, C, **readout))
                       for lab, B, C in samples]
        eb, ec = ref.bin_edges(samples[0][1], samples[0][2], 20)
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.5), sharex=True, sharey=True)
        for ax, (label, B, C) in zip(axes, samples):
            ax.hist2d(np.clip(B, eb[0], eb[-1]), np.clip(C, ec[0], ec[-1]), bins=[eb, ec], cmap="viridis")
            ax.set_title(label)
            ax.set_xlabel("B")
        axes[0].set_ylabel("C")
        fig.tight_layout()
        path = outdir / "wake_sleep_histograms.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


class SurpriseOscillation(AdversarialWakeSleep):
    name = "surprise_oscillation"
    description = "After learning, D's wake/sleep oscillation amplitude grows with surprise (novel data)"
    parameters = {
        **AdversarialWakeSleep.parameters,
        "min_surprise_ratio": Param("3", "claim: D's modulation amplitude, novel over familiar, at least this"),
    }

    def surprise(self, result):
        p = result.params
        st = result.state("ws_learner")
        t, D, wk = st["t"], st["mD"][0], st["wk_used"][0]
        in_test, novel = surprise_blocks(t, float(p["test_start"]), float(p["test_block"]))
        fam_amp, fam_cycles = ref.modulation_amplitude(D, wk, in_test & ~novel)
        nov_amp, nov_cycles = ref.modulation_amplitude(D, wk, novel)
        return {"amplitude_familiar": fam_amp, "amplitude_novel": nov_amp,
                "surprise_ratio": nov_amp / fam_amp if fam_amp > 0 else float("inf"),
                "cycles_familiar": int(fam_cycles.size), "cycles_novel": int(nov_cycles.size)}

    def evaluate(self, result):
        p = result.params
        L = self.learning(result)
        S = self.surprise(result)
        r = float(p["min_surprise_ratio"])
        e2max = float(p["max_error_stage2"])
        claims = [
            Claim("learned_before_test", f"|a - a*| at the end of training < {e2max:g}", L["error_stage2"], e2max,
                  L["error_stage2"] < e2max),
            Claim("surprise_ratio",
                  "D's oscillation amplitude (per cycle |mean D in wake - mean D in sleep|, averaged) is at least "
                  f"{r:g}x larger for novel than for familiar data", S["surprise_ratio"], r, S["surprise_ratio"] >= r),
        ]
        return TaskOutcome({**L, **S}, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        paths = list(super().figures(result, outdir))
        p = result.params
        st = result.state("ws_learner")
        t, D, wk = st["t"], st["mD"][0], st["wk_used"][0]
        t0, block = float(p["test_start"]), float(p["test_block"])
        fig, axes = plt.subplots(2, 1, figsize=(11, 5), sharey=True)
        for ax, (label, start) in zip(axes, (("familiar", t0 + 0.5 * block), ("novel", t0 + 1.5 * block))):
            m = (t >= start) & (t < start + 0.5)
            ax.plot(t[m], D[m], color="k", lw=1)
            _shade(ax, t[m], wk[m])
            ax.set_title(f"{label} data: mean D over replicas (shaded: wake)")
            ax.set_ylabel("D")
        axes[-1].set_xlabel("time (s)")
        fig.tight_layout()
        path = outdir / "surprise_D_trace.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return paths + [path]


def _shade(ax, t, gate):
    if len(t) < 2:
        return
    dt = t[1] - t[0]
    on = np.flatnonzero(np.diff(np.r_[0, (gate > 0.5).astype(int), 0]))
    for s, e in zip(on[::2], on[1::2]):
        ax.axvspan(t[s], t[e - 1] + dt, color="C1", alpha=0.15, lw=0)


def _dedent(code):
    return "\n".join(line.strip() for line in code.splitlines() if line.strip())
