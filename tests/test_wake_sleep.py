"""Adversarial wake/sleep learning (Benjamin & Kording) and surprise-modulated oscillations.

- The NumPy reference against closed forms: Stage 1 converges to the regression of X on A, the
  discriminator to its stationary weights, the KL estimator and the oscillation amplitude to hand values.
- The reference's claims and negative controls (Hebbian sign in both phases; D not gating plasticity)
  and the sanity check (no B->C recurrence: Stage 1 already matches).
- The Brian2 learner code against the rules' NumPy updates (exactly, one step), and a short Brian2 run
  on ``runtime`` against the reference's learning trajectory.
- ``long``: the full scenarios on ``cpp`` with their claims, negative controls and sanity check.
"""

from pathlib import Path

import numpy as np
import pytest

from spikelearn.tasks.benjamin_kording import generative as ref
import wake_sleep_toy  # tests/oracles (on sys.path: tests/conftest.py)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
ASTAR = np.array([ref.TOY_DEFAULTS["w_TB"], ref.TOY_DEFAULTS["w_TC"]])


def _run_reference(seed, n1=1500, n2=6000, M=200, rules=None, toy=None, dt=1e-3, period=0.02):
    rules = {"eta_G": 0.3, **(rules or {})}
    n = n1 + n2
    gates = wake_sleep_toy.oscillation_gates(n, dt, period)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):  # the Hebbian-in-both-phases control diverges
        out = wake_sleep_toy.train(n, gates, n1, rng, n_replicas=M, rules=rules, toy=toy)
    st, a = out["step"], out["a"]
    a1 = a[(st >= 0.8 * n1) & (st < n1)].mean(axis=0)
    a2 = a[st >= n1 + 0.8 * n2].mean(axis=0) if n2 > 0 else np.full(2, np.nan)
    p = dict(ref.TOY_DEFAULTS, **(toy or {}))
    astar = np.array([p["w_TB"], p["w_TC"]])
    with np.errstate(all="ignore"):
        kl1 = ref.evaluate_kl(a1, np.random.default_rng(100 + seed), 200_000, toy)
        kl2 = ref.evaluate_kl(a2, np.random.default_rng(200 + seed), 200_000, toy) if np.all(np.isfinite(a2)) else np.inf
    return {"a1": a1, "a2": a2, "err1": np.linalg.norm(a1 - astar), "err2": np.linalg.norm(a2 - astar),
            "kl1": kl1, "kl2": kl2, "out": out}


# -- closed forms ---------------------------------------------------------------------------------

def test_oscillation_gates_exact_phases():
    g = wake_sleep_toy.oscillation_gates(1000, 1e-3, 0.02)
    assert g.mean() == 0.5
    runs = np.diff(np.flatnonzero(np.diff(np.r_[-1, g, -1]) != 0))
    assert set(runs.tolist()) == {10}, "every wake and every sleep phase lasts exactly 10 steps"
    assert g[0] == 1 and g[9] == 1 and g[10] == 0


def test_binned_kl_against_hand_computation():
    edges = (np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 2.0]))
    # wake: 3 samples in bin (0, 0), 1 in (1, 1); sleep: 1 in (0, 0), 3 in (1, 1)
    wake = (np.array([0.5, 0.5, 0.5, 1.5]), np.array([0.5, 0.5, 0.5, 1.5]))
    sleep = (np.array([0.5, 1.5, 1.5, 1.5]), np.array([0.5, 1.5, 1.5, 1.5]))
    p = np.array([3.5, 0.5, 0.5, 1.5]) / 6
    q = np.array([1.5, 0.5, 0.5, 3.5]) / 6
    expected = np.sum(p * np.log(p / q))
    assert ref.binned_kl(wake, sleep, edges=edges) == pytest.approx(expected, rel=1e-12)
    assert ref.binned_kl(wake, wake, edges=edges) == 0.0
    # outliers go to the edge bins
    far = (np.array([-5.0, -5.0, -5.0, 9.0]), np.array([-5.0, -5.0, -5.0, 9.0]))
    assert ref.binned_kl(wake, far, edges=edges) == pytest.approx(0.0, abs=1e-15)


def test_modulation_amplitude_of_a_square_wave():
    g = wake_sleep_toy.oscillation_gates(2000, 1e-3, 0.1)
    D = 0.3 + 2.0 * g
    amp, per_cycle = ref.modulation_amplitude(D, g)
    assert amp == pytest.approx(2.0)
    assert per_cycle.size == 19  # complete cycles only (the last starts at 1.9 s and ends with the data)
    amp0, _ = ref.modulation_amplitude(np.full(2000, 0.3), g)
    assert amp0 == 0.0


def test_stage1_learns_the_regression_of_each_unit_on_A():
    """The local delta rule converges to E[XA]/E[A^2]: a_B = w_TB, a_C = w_TC + w_BC*w_TB (1.3, wrong)."""
    r = _run_reference(1, n1=1500, n2=0)
    p = ref.TOY_DEFAULTS
    assert r["a1"] == pytest.approx([p["w_TB"], p["w_TC"] + p["w_BC"] * p["w_TB"]], abs=0.02)
    assert r["err1"] > 0.6
    assert r["kl1"] > 0.3


def test_sanity_without_recurrence_stage1_already_matches():
    r = _run_reference(1, n1=1500, n2=0, toy={"w_BC": 0.0})
    assert r["a1"] == pytest.approx(ASTAR, abs=0.02)
    assert r["err1"] < 0.05
    assert r["kl1"] < 0.01, "sleep already matches wake: the KL is at the sampling floor"


def test_discriminator_settles_to_its_stationary_weights():
    """With a fixed, the rule's time-averaged v is eta_D*(<phi>_wake/2 - <phi>_sleep/2)/lam_D."""
    a = np.array([1.0, 1.3])
    n = 4000
    gates = wake_sleep_toy.oscillation_gates(n, 1e-3, 0.02)
    out = wake_sleep_toy.train(n, gates, 0, np.random.default_rng(3), n_replicas=500, a0=a,
                    rules={"eta_G": 0.0, "sigma_xi": 0.0})
    assert np.all(out["a_final"] == a)
    v_mean = out["v"][n // 2:].mean(axis=0)
    v_star = wake_sleep_toy.stationary_discriminator(a, 0.01, 0.01, 0.5)
    assert v_mean == pytest.approx(v_star, abs=0.02 * np.abs(v_star).max())
    assert v_star[3] < -0.5, "C^2 is larger in sleep: its weight is clearly negative"


# -- the reference's claims and negative controls -------------------------------------------------

@pytest.mark.parametrize("seed", [1, 2])
def test_reference_adversarial_learning_meets_the_claims(seed):
    r = _run_reference(seed)
    assert r["err1"] > 0.6
    assert r["err2"] < 0.25
    assert r["kl1"] / r["kl2"] >= 10


@pytest.mark.parametrize("control", [{"sleep_sign": 1.0}, {"gate_by_D": 0.0}], ids=["hebbian-both-phases", "D-not-gating"])
def test_reference_negative_controls_fail(control):
    r = _run_reference(1, rules=control)
    err2 = r["err2"]
    assert not (err2 < 0.25), f"control {control} must not reach a*: |a - a*| = {err2}"
    assert not (r["kl1"] / r["kl2"] >= 10)


def test_predictive_rule_left_on_in_stage2_fights_the_adversary():
    r = _run_reference(1, rules={"predict_in_stage2": 1.0})
    assert r["err2"] > 0.25


# -- Brian2 ---------------------------------------------------------------------------------------

def test_learner_code_matches_the_rules_numpy_updates():
    """One step of the Brian2 learner code (runtime, numpy target) equals the rules' reference updates."""
    from brian2 import NeuronGroup, Network, defaultclock, ms, prefs, start_scope
    from spikelearn.plasticity.wake_sleep import RULES, learner_code
    from brian2.utils.stringtools import word_substitute

    start_scope()
    prefs.codegen.target = "numpy"
    defaultclock.dt = 1 * ms
    rng = np.random.default_rng(5)
    params = {"eta_P": 0.02, "predict_in_stage2": 0.0, "eta_G": 0.3, "sigma_xi": 0.1, "gate_by_D": 1.0,
              "eta_D": 0.01, "lam_D": 0.01, "sleep_sign": -1.0, "alpha": 0.05}
    sums = [s for rule in RULES for s in rule.sums]
    for gates in ({"wake": 1, "sleep": 0, "stage2": 0, "plastic": 1}, {"wake": 0, "sleep": 1, "stage2": 1, "plastic": 1},
                  {"wake": 1, "sleep": 0, "stage2": 1, "plastic": 1}, {"wake": 0, "sleep": 1, "stage2": 1, "plastic": 0}):
        state = {"a_B": rng.normal(), "a_C": rng.normal(), "v": rng.normal(size=5), "Dbar": rng.normal()}
        means = {s: rng.normal() for s in sums}
        eqs = "\n".join([f"{v} : 1" for v in ("a_B", "a_C", "da_B", "da_C", "Dbar")] + [f"v{k} : 1" for k in range(5)]
                        + [f"{s} : 1" for s in sums])
        ns = dict(params, **{f"gate_{k}": float(v) for k, v in gates.items()})
        g = NeuronGroup(1, eqs, namespace=ns)
        g.a_B, g.a_C, g.Dbar = state["a_B"], state["a_C"], state["Dbar"]
        for k in range(5):
            setattr(g, f"v{k}", state["v"][k])
        for s, val in means.items():
            setattr(g, s, val)
        g.run_regularly(word_substitute(learner_code(), {k: f"gate_{k}" for k in gates}), dt=1 * ms)
        Network(g).run(1 * ms)
        expected = dict(state, da_B=0.0, da_C=0.0)
        for rule in RULES:
            rule.reference_update(params, expected, means, gates)
        expected["a_B"] += expected["da_B"]
        expected["a_C"] += expected["da_C"]
        assert g.a_B[0] == pytest.approx(expected["a_B"], rel=1e-12, abs=1e-14)
        assert g.a_C[0] == pytest.approx(expected["a_C"], rel=1e-12, abs=1e-14)
        assert g.Dbar[0] == pytest.approx(expected["Dbar"], rel=1e-12, abs=1e-14)
        assert np.array([getattr(g, f"v{k}")[0] for k in range(5)]) == pytest.approx(expected["v"], rel=1e-12, abs=1e-14)


def _run(registry, tmp_path, scenario, overrides=(), device=None):
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(str(SCENARIOS / scenario), registry, list(overrides))
    return run_scenario(sc, registry, out_root=tmp_path, progress=False, device=device)


def test_brian2_runtime_follows_the_reference_trajectory(registry, tmp_path):
    """3 s on runtime (Stage 2 from 1 s, 200 replicas): the learner's a(t) stays within the spread of
    reference runs, at the end of Stage 1 and through Stage 2."""
    from spikelearn.results import RunResult

    outcome = _run(registry, tmp_path, "adversarial_wake_sleep.toml",
                   ['duration="3*second"', 'task.parameters.stage2_start="1*second"', "task.parameters.n_replicas=200",
                    "task.parameters.kl_samples=20000"], device="runtime")
    st = RunResult(outcome.path).state("ws_learner")
    a_sim = np.stack([st["a_B"][0], st["a_C"][0]], axis=1)  # recorded after the update of each step
    refs = [_run_reference(s, n1=1000, n2=2000)["out"]["a"] for s in (11, 12, 13, 14)]
    checkpoints = [999, 1500, 2000, 2999]
    for k in checkpoints:
        ref_a = np.array([r[k + 1] if k + 1 < len(r) else r[-1] for r in refs])
        centre, spread = ref_a.mean(axis=0), ref_a.std(axis=0)
        tol = np.maximum(5 * spread, 0.03)
        assert np.all(np.abs(a_sim[k] - centre) < tol), (k, a_sim[k], centre, tol)
    # the phases the learner applied are the schedule's, step for step
    assert np.array_equal(st["wk_used"][0], wake_sleep_toy.oscillation_gates(3000, 1e-3, 0.02))


# -- full scenarios (cpp) -------------------------------------------------------------------------

def _claims(outcome):
    return {c["name"]: c for c in outcome.claims}


@pytest.mark.long
@pytest.mark.standalone
def test_adversarial_wake_sleep_claims(registry, tmp_path):
    outcome = _run(registry, tmp_path, "adversarial_wake_sleep.toml")
    c = _claims(outcome)
    assert all(x["passed"] for x in c.values()), c
    m = outcome.metrics
    assert m["kl_sim_stage1"] / m["kl_sim_stage2"] >= 10, "the simulated samples agree with the learned model's KL"


@pytest.mark.long
@pytest.mark.standalone
@pytest.mark.parametrize("override", ["task.parameters.sleep_sign=1", "task.parameters.gate_by_D=0"],
                         ids=["hebbian-both-phases", "D-not-gating"])
def test_adversarial_wake_sleep_negative_controls(registry, tmp_path, override):
    c = _claims(_run(registry, tmp_path, "adversarial_wake_sleep.toml", [override]))
    assert not c["error_stage2"]["passed"], c["error_stage2"]
    assert not c["kl_drop"]["passed"], c["kl_drop"]


@pytest.mark.long
@pytest.mark.standalone
def test_adversarial_wake_sleep_sanity_without_recurrence(registry, tmp_path):
    outcome = _run(registry, tmp_path, "adversarial_wake_sleep.toml", ["task.parameters.w_BC=0"])
    m = outcome.metrics
    assert m["error_stage1"] < 0.05, "without B->C recurrence local prediction is already right"
    assert m["kl_stage1"] < 0.01
    assert not _claims(outcome)["error_stage1"]["passed"]


@pytest.mark.long
@pytest.mark.standalone
def test_adversarial_wake_sleep_spiking_claims_and_reference(registry, tmp_path):
    outcome = _run(registry, tmp_path, "adversarial_wake_sleep_spiking.toml")
    c = _claims(outcome)
    assert all(x["passed"] for x in c.values()), c
    # the NumPy reference of the same schedule, with binomial spike counts (rand() < rate*dt per step)
    readout = {"gain": 100.0, "window": 0.025, "offset": 2.0, "dt": 2e-4}
    gates = wake_sleep_toy.oscillation_gates(7000, 0.025, 0.1, half_step=1e-4)
    finals = []
    for seed in (21, 22):
        out = wake_sleep_toy.train(7000, gates, 1000, np.random.default_rng(seed), n_replicas=500, rules={"eta_G": 0.3},
                        readout=readout)
        st = out["step"]
        finals.append((out["a"][(st >= 800) & (st < 1000)].mean(axis=0), out["a"][st >= 1000 + 4800].mean(axis=0)))
    m = outcome.metrics
    for stage, key in ((0, "a_stage1"), (1, "a_stage2")):
        centre = np.mean([f[stage] for f in finals], axis=0)
        assert np.asarray(m[key]) == pytest.approx(centre, abs=0.05), (key, m[key], centre)


@pytest.mark.long
@pytest.mark.standalone
def test_surprise_oscillation_claims_and_control(registry, tmp_path):
    c = _claims(_run(registry, tmp_path, "surprise_oscillation.toml"))
    assert all(x["passed"] for x in c.values()), c
    # negative control: "novel" data identical to familiar data -> no surprise
    c0 = _claims(_run(registry, tmp_path, "surprise_oscillation.toml", ["task.parameters.novel_shift=0"]))
    assert not c0["surprise_ratio"]["passed"], c0["surprise_ratio"]
