"""The balanced random network with power-law STDP (Morrison, Aertsen & Diesmann 2007): the rule matches
its NumPy reference; the neuron's Poisson background brings the mean membrane potential to eta times the
threshold; the task's statistics are right on known spike trains; and (``long``) the scenario's claims
hold on cpp at 8.1e6 plastic synapses over 30 s, while the additive rule (no weight dependence) fails the
stable-mean-weight claim."""

import numpy as np
import pytest

from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario
from spikelearn.analysis.spike_statistics import fano_factor, isi_cv, mean_pairwise_correlation, spike_counts


def test_powerlaw_rule_passes_the_kit(plasticity_kit):
    plasticity_kit.assert_passes("stdp_powerlaw", devices=["runtime"])


def test_additive_limit_of_the_rule_has_a_weight_independent_drift(registry):
    rule = registry.get("plasticity", "stdp_powerlaw")
    params = {k: p.default for k, p in rule.parameters.items()}
    params = {k: float(eval(v, {"ms": 1e-3})) for k, v in params.items()}  # "15*ms" -> 0.015
    pre, post = [0.010, 0.050], [0.012, 0.045]
    additive = dict(params, mu=0.0, mu_minus=0.0)
    dw = [rule.reference_update(additive, pre, post, w) - w for w in (10.0, 50.0)]
    assert dw[0] == pytest.approx(dw[1], rel=1e-12)
    dw = [rule.reference_update(params, pre, post, w) - w for w in (10.0, 50.0)]
    assert dw[0] != pytest.approx(dw[1], rel=1e-3)


def test_background_drives_the_mean_potential_to_eta_theta(registry, tmp_path):
    """Below threshold (eta = 0.5) the free membrane potential averages eta*theta (NEST's definition of
    the threshold rate), within its sampling error."""
    text = """
name = "background"
seed = 3
dt = "0.1*ms"
duration = "2*second"
device = "runtime"
device_options = { target = "numpy" }
[populations.n]
model = "lif_alpha"
size = 20
parameters = { eta = 0.5, V_mean = "10*mV", V_sd = "0*mV" }
[record]
states = { n = { variables = ["v"], dt = "1*ms" } }
"""
    path = tmp_path / "background.toml"
    path.write_text(text)
    sc = load_scenario(path, registry)
    outcome = run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False)
    from spikelearn.results import RunResult

    state = RunResult(outcome.path).state("n")
    v = state["v"]
    late = v[:, state["t"] >= 0.5] if v.shape[-1] == len(state["t"]) else v[state["t"] >= 0.5]
    assert float(np.mean(late)) == pytest.approx(0.5 * 20e-3, rel=0.03)
    assert np.max(v) < 20e-3, "no spike: the mean is the free membrane's"


def test_a_45_pA_alpha_current_makes_a_0_14_mV_psp(registry, tmp_path):
    """NEST's hpc_benchmark converts its 0.14-mV EPSP into a 45.61-pA peak current for iaf_psc_alpha
    (C_m 250 pF, tau_m 10 ms, tau_syn 0.326 ms): one spike through a weight of 45.61 must give it."""
    path = tmp_path / "psp.toml"
    path.write_text("""
name = "psp"
seed = 1
dt = "0.01*ms"
duration = "30*ms"
device = "runtime"
device_options = { target = "numpy" }
[populations.pre]
model = "spike_generator"
size = 1
parameters = { indices = [0], times = ["1*ms"] }
[populations.n]
model = "lif_alpha"
size = 1
parameters = { eta = 0.0, V_mean = "0*mV", V_sd = "0*mV" }
[connections.c]
source = "pre"
target = "n"
weight = "45.61"
[record]
states = { n = { variables = ["v"], dt = "0.01*ms" } }
""")
    outcome = run_scenario(load_scenario(path, registry), registry, out_root=tmp_path, progress=False, figures=False)
    from spikelearn.results import RunResult

    v = RunResult(outcome.path).state("n")["v"]
    assert float(np.max(v)) == pytest.approx(0.14e-3, rel=2e-3)


def test_statistics_of_known_spike_trains():
    rng = np.random.default_rng(0)
    n, T = 50, 200.0
    t = rng.uniform(0, T, size=n * 2000)
    i = np.repeat(np.arange(n), 2000)
    assert isi_cv(i, t, n, 0, T) == pytest.approx(1.0, abs=0.05)  # Poisson
    counts = spike_counts(i, t, n, 0, T, 0.1)
    assert counts.sum() == n * 2000
    assert fano_factor(counts) == pytest.approx(1.0, abs=0.05)
    assert abs(mean_pairwise_correlation(counts)) < 0.01
    regular = np.tile(np.arange(0, T, 0.1), n)  # a clock: CV 0, every neuron the same
    ireg = np.repeat(np.arange(n), len(regular) // n)
    assert isi_cv(ireg, regular, n, 0, T) == pytest.approx(0.0, abs=1e-6)


def run_balanced(registry, tmp_path, overrides=()):
    sc = load_scenario("balanced-stdp", registry, ["device_options.threads=2", *overrides])
    return run_scenario(sc, registry, out_root=tmp_path, progress=False)


@pytest.mark.long
@pytest.mark.standalone
def test_balanced_claims_hold(registry, tmp_path):
    outcome = run_balanced(registry, tmp_path)
    assert all(c["passed"] for c in outcome.claims), outcome.claims
    assert outcome.metrics["n_plastic_synapses"] > 8e6


@pytest.mark.long
@pytest.mark.standalone
def test_additive_stdp_fails_the_stable_weight_claim(registry, tmp_path):
    outcome = run_balanced(registry, tmp_path, ["connections.ee.plasticity.mu=0",
                                                "connections.ee.plasticity.mu_minus=0"])
    c = {c["name"]: c for c in outcome.claims}
    assert not c["stable_mean_weight"]["passed"], c["stable_mean_weight"]
    assert outcome.metrics["w_mean_drift"] > 0, "potentiation wins without the weight dependence"
