"""Adversarial wake/sleep learning rules (Benjamin & Kording), written for a population of replicas.

Three local rules, all read the phase gates ``wake`` and ``sleep`` by name (from the ``[phases]``
schedule) and the task signals ``stage2`` (1 once the adversarial stage has begun) and ``plastic``
(0 once the generative weights are frozen, e.g. while testing for surprise):

- :class:`PredictiveDelta` — Stage 1: the generative synapse ``a_X`` from A onto X (X = B, C) learns to
  predict X from A alone, in wake: ``Δa_X = η_P <(X − a_X A) A>``;
- :class:`Discriminator` — the interneuron D = v·φ(B, C), φ = [B, C, B², C², BC] (fixed nonlinear,
  dendritic features): ``Δv = η_D (wake + s·sleep) <φ> − λ_D v`` with ``s = −1`` (Hebbian in wake,
  anti-Hebbian in sleep; ``s = +1`` is the negative control);
- :class:`PerturbationGenerative` — Stage 2, three-factor weight perturbation in sleep: each replica
  samples with ``a + ξ`` and ``Δa = η_G <(D − D̄) ξ>``; ``D̄`` follows the mean of D in sleep.

Why these are not :class:`~spikelearn.plugin.PlasticityRule` plugins: the parameters ``a`` and ``v`` are
*shared* by the ``M`` replicas of the circuit (one sample per replica and step, a mini-batch), and their
updates use replica averages ``<.>``. In Brian2 these are summed variables from the replica group into a
one-neuron "learner" group, whose ``run_regularly`` code applies the update; a per-synapse weight ``w``
with ``on_pre``/``on_post`` cannot express it. Each rule therefore declares

- ``sums``: ``name -> expression`` over replica variables, averaged over replicas into the learner
  (a summed variable ``name_post = expression/M``);
- ``code``: Brian2 statements run on the learner every sample step, after the sums;
- ``reference_update``: the same update in NumPy, for the contract tests.

Replica variables available to ``sums``: ``Bh``, ``Ch`` (what D and the predictive rule see: the sample
in the rate network, decoded spike counts in the spiking one), ``Ah`` (A of that sample), ``xiBh``,
``xiCh`` (its perturbation), ``D``. Learner variables: ``a_B``, ``a_C``, ``v0``..``v4``, ``Dbar``, and
``da_B``, ``da_C`` (zeroed before the rules run, added to ``a`` after them; learner variables, not
temporaries, because Brian2 wants writes to scalar temporaries before writes to vector variables).
"""

import numpy as np

from spikelearn.plugin import Param

__all__ = ["LearnerRule", "PredictiveDelta", "Discriminator", "PerturbationGenerative", "FEATURES",
           "RULES", "learner_code"]

REFERENCE = "Benjamin & Kording (2023) PLoS Comput Biol; arXiv:2006.10811"

#: The discriminator's fixed nonlinear features of (B, C), in Brian2 syntax over ``Bh``, ``Ch``.
FEATURES = ("Bh", "Ch", "Bh**2", "Ch**2", "Bh*Ch")


class LearnerRule:
    """A rule on parameters shared by replicas (see the module docstring)."""

    name = ""
    description = ""
    reference = REFERENCE
    parameters: dict = {}
    signals: tuple = ()
    sums: dict = {}
    code = ""

    def reference_update(self, params, state, means, gates):
        """NumPy version of :attr:`code`: update ``state`` (dict, in place) from replica ``means``
        (dict name -> float, the :attr:`sums`) and ``gates`` (dict signal -> 0/1)."""
        raise NotImplementedError


class PredictiveDelta(LearnerRule):
    name = "ws_predictive_delta"
    description = "Local predictive (delta) rule on A's generative synapses, in wake (Stage 1)"
    parameters = {
        "eta_P": Param("0.02", "learning rate per sample step"),
        "predict_in_stage2": Param("0", "1 keeps the rule on in Stage 2 (it then fights the adversary)"),
    }
    signals = ("wake", "stage2", "plastic")
    sums = {"errB": "(Bh - a_B*Ah)*Ah", "errC": "(Ch - a_C*Ah)*Ah"}
    code = """
    da_B += eta_P*wake*(1 - stage2 + stage2*predict_in_stage2)*plastic*errB
    da_C += eta_P*wake*(1 - stage2 + stage2*predict_in_stage2)*plastic*errC
    """

    def reference_update(self, params, state, means, gates):
        g = gates["wake"] * (1 - gates["stage2"] + gates["stage2"] * params["predict_in_stage2"]) * gates["plastic"]
        state["da_B"] += params["eta_P"] * g * means["errB"]
        state["da_C"] += params["eta_P"] * g * means["errC"]


class PerturbationGenerative(LearnerRule):
    name = "ws_perturbation"
    description = "Three-factor weight perturbation on A's synapses in sleep, gated by D - Dbar (Stage 2)"
    parameters = {
        "eta_G": Param("0.3", "learning rate per sample step"),
        "sigma_xi": Param("0.1", "std of the per-sample perturbation of a_B, a_C"),
        "gate_by_D": Param("1", "1: gated by D - Dbar; 0 (negative control): gated by 1, D plays no role"),
    }
    signals = ("sleep", "stage2", "plastic")
    sums = {"gB": "(gate_by_D*(D - Dbar) + (1 - gate_by_D))*xiBh",
            "gC": "(gate_by_D*(D - Dbar) + (1 - gate_by_D))*xiCh"}
    code = """
    da_B += eta_G*stage2*sleep*plastic*gB
    da_C += eta_G*stage2*sleep*plastic*gC
    """

    def reference_update(self, params, state, means, gates):
        g = params["eta_G"] * gates["stage2"] * gates["sleep"] * gates["plastic"]
        state["da_B"] += g * means["gB"]
        state["da_C"] += g * means["gC"]


class Discriminator(LearnerRule):
    name = "ws_discriminator"
    description = "Interneuron D = v.phi(B, C): Hebbian in wake, anti-Hebbian in sleep, with decay (Stage 2)"
    parameters = {
        "eta_D": Param("0.01", "learning rate per sample step"),
        "lam_D": Param("0.01", "weight decay per sample step"),
        "sleep_sign": Param("-1", "sign of the update in sleep: -1 anti-Hebbian; +1 (negative control) Hebbian"),
        "alpha": Param("0.05", "rate of the running mean Dbar of D in sleep, per sample step"),
    }
    signals = ("wake", "sleep", "stage2")
    sums = {**{f"m{k}": f for k, f in enumerate(FEATURES)}, "mD": "D"}
    code = "\n".join(
        [f"v{k} = v{k} + stage2*(eta_D*(wake + sleep_sign*sleep)*m{k} - lam_D*v{k})" for k in range(5)]
        + ["Dbar = Dbar + alpha*stage2*sleep*(mD - Dbar)"]
    )

    def reference_update(self, params, state, means, gates):
        sign = gates["wake"] + params["sleep_sign"] * gates["sleep"]
        v = state["v"]
        m = np.array([means[f"m{k}"] for k in range(5)])
        state["v"] = v + gates["stage2"] * (params["eta_D"] * sign * m - params["lam_D"] * v)
        state["Dbar"] = state["Dbar"] + params["alpha"] * gates["stage2"] * gates["sleep"] * (means["mD"] - state["Dbar"])


#: The rules in the order the learner applies them (the generative deltas first, from the values before
#: this step's update; then the discriminator; then ``a += da``).
RULES = (PredictiveDelta(), PerturbationGenerative(), Discriminator())


def learner_code(rules=RULES):
    """The learner's ``run_regularly`` code: zero the deltas, run each rule, apply the deltas."""
    body = "\n".join(r.code.strip() for r in rules)
    lines = ["da_B = 0", "da_C = 0"] + [line.strip() for line in body.splitlines() if line.strip()]
    lines += ["a_B = a_B + da_B", "a_C = a_C + da_C"]
    return "\n".join(lines)
