"""Poisson-variability sampling in a ring of linear Hawkes neurons (Zhang, Wu, Josić & Doiron 2023).

Checked against numbers worked out independently of Brian2:

- the NumPy reference: the hierarchical and coupled posteriors against their closed forms, the
  population-vector precision against a Monte Carlo of independent Poisson counts, the connectivity
  against its definition;
- the Brian2 variability rule (``run_regularly`` after synapses) on hand-set inputs: mean u and variance
  F·u for u > 0, no noise for u <= 0, no noise at F = 0;
- the sampling statistics of a small ring in Brian2 (through the framework: scenario, task readouts, run
  directory) against the NumPy Hawkes simulation of the same network: rates and the distribution of the
  (s, z) samples, not spikes;
- the full scenario (long) and its negative control: F = 0 (no internal variability) makes
  ``prior_precision_increases`` fail (Λs no longer depends on w_E).
"""

from pathlib import Path

import numpy as np
import pytest

from spikelearn.tasks import poisson_sampling_reference as ref

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_FILES = (str(ROOT / "models" / "poisson_hawkes.py"), str(ROOT / "spikelearn" / "tasks" / "poisson_sampling.py"))


@pytest.fixture(scope="module")
def preg():
    """The registry with the Poisson-sampling plugins (entry points once registered, else the files)."""
    from spikelearn.registry import default_registry

    reg = default_registry()
    if "poisson_sampling" in reg.available("tasks") and "poisson_hawkes" in reg.available("models"):
        return reg
    return default_registry(PLUGIN_FILES)


def _files(reg):
    """The plugin files to record in the run's provenance (none once the entry points exist)."""
    return () if not reg.origin("tasks", "poisson_sampling").startswith("file") else PLUGIN_FILES


def _claims(claims):
    return {c["name"] if isinstance(c, dict) else c.name: c for c in claims}


def _passed(claim):
    return claim["passed"] if isinstance(claim, dict) else claim.passed


# ----------------------------------------------------------------------------------------------------
# NumPy reference
# ----------------------------------------------------------------------------------------------------
def test_ring_weights_follow_definition():
    n_e, n_i, w = 180, 45, 0.02
    W = ref.ring_weights(n_e, n_i, w)
    j = w / 15.0
    # E->E row sums: J_EE * 360 * sum_j g(d_j) = J_EE * 360 * rho (rho = 0.5 neuron/deg)
    # (the Gaussian is cut at ±180° = 4.5 widths: relative loss ~7e-6)
    np.testing.assert_allclose(W[:n_e, :n_e].sum(axis=1), j * 180.0, rtol=1e-4)
    np.testing.assert_allclose(W[n_e:, :n_e], j)
    np.testing.assert_allclose(W[:, n_e:], -5 * j)
    # circulant and symmetric
    np.testing.assert_allclose(W[:n_e, :n_e], W[:n_e, :n_e].T)
    np.testing.assert_allclose(np.roll(np.roll(W[:n_e, :n_e], 7, 0), 7, 1), W[:n_e, :n_e])
    C = ref.coupled_ring_weights(n_e, n_i, w, 0.5)
    n = n_e + n_i
    np.testing.assert_allclose(C[:n, n:n + n_e], 0.5 * W[:, :n_e])
    assert not np.any(C[:n, n + n_e:])  # no inhibition across rings


def test_posterior_closed_forms():
    P = ref.hierarchical_posterior_precision(0.01, 0.002)
    C = np.linalg.inv(P)
    # p(s|x) marginal: var = 1/Λx + ... no: z flat => s|x ~ N(x, 1/Λx), z|s ~ N(s, 1/Λs)
    np.testing.assert_allclose(C[0, 0], 1 / 0.01)
    np.testing.assert_allclose(C[1, 1], 1 / 0.01 + 1 / 0.002)
    Pc = ref.coupled_posterior_precision(0.01, 0.01, 0.01)
    assert ref.precision_to_correlation(Pc) == pytest.approx(0.01 / 0.02)
    with pytest.raises(ValueError, match="-1"):
        ref.coupled_posterior_precision(0.01, -1, 0.0)


def test_popvec_precision_matches_monte_carlo():
    rng = np.random.default_rng(0)
    pref = ref.preferred_stimuli(180)
    rates = ref.feedforward_rates(180, 0, 60.0)
    counts = rng.poisson(rates * 0.02, size=(20000, 180))
    s = ref.popvec_angle(counts, pref)
    mc = 1 / np.var(s)
    # delta method is asymptotic: within 10% for ~85 spikes per window
    assert mc == pytest.approx(ref.popvec_precision(rates, pref, 0.02), rel=0.1)
    # the popvec is less efficient than the Fisher bound for this wide tuning (sqrt(2)*40 deg)
    assert ref.popvec_precision(rates, pref, 0.02) < ref.fisher_information(rates, pref, 0.0, np.sqrt(2) * 40, 0.02)


def test_variability_update_numpy():
    rng = np.random.default_rng(1)
    u = np.full(200000, 0.3)
    out = ref.variability_update(u, 0.7, rng.standard_normal(u.size))
    assert out.mean() == pytest.approx(0.3, abs=4 * np.sqrt(0.7 * 0.3 / u.size))
    assert out.var() == pytest.approx(0.7 * 0.3, rel=0.02)
    np.testing.assert_array_equal(ref.variability_update(np.array([-0.2, 0.0]), 1.0, np.ones(2)), [-0.2, 0.0])


# ----------------------------------------------------------------------------------------------------
# the Brian2 variability rule on hand-set inputs
# ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fano", [1.0, 0.7, 0.0])
def test_variability_rule_in_brian2(preg, fano):
    from brian2 import Network, Hz, defaultclock, ms, prefs, seed, start_scope

    start_scope()
    old_target, old_dt = prefs.codegen.target, defaultclock.dt
    prefs.codegen.target = "numpy"
    defaultclock.dt = 0.1 * ms
    try:
        seed(3)
        model = preg.get("models", "poisson_hawkes")
        n = 20000
        values = np.repeat([0.4, 2.0, -1.0, 0.0], n)
        g = model.create("hawkes_test", len(values), {"tau_syn": 2 * ms, "fano": fano, "rate_bkg": 0 * Hz},
                         "", "", None)
        g.u_in = values
        net = Network(g)
        net.run(defaultclock.dt)  # one step: rate 0 (no spike), then the rule and the filter
    finally:
        prefs.codegen.target, defaultclock.dt = old_target, old_dt
    x = np.asarray(g.x_rec[:]).reshape(4, n)
    assert np.all(np.asarray(g.u_in[:]) == 0)  # consumed
    for k, u in enumerate([0.4, 2.0]):
        assert x[k].mean() == pytest.approx(u, abs=4 * np.sqrt(max(fano * u, 1e-12) / n) + 1e-12)
        if fano > 0:
            assert x[k].var() == pytest.approx(fano * u, rel=5 * np.sqrt(2 / n))
        else:
            np.testing.assert_allclose(x[k], u)
    np.testing.assert_allclose(x[2], -1.0)  # no noise on net inhibitory input
    np.testing.assert_allclose(x[3], 0.0)
    z = np.asarray(g.z_int[:]).reshape(4, n)
    np.testing.assert_allclose(z, x / 2e-3 * 1e-4)  # z_int accumulates x_rec/tau_syn*dt


# ----------------------------------------------------------------------------------------------------
# a small ring in Brian2 (through the framework) against the NumPy Hawkes simulation
# ----------------------------------------------------------------------------------------------------
SMALL = """
name = "poisson-small"
seed = 5
dt = "0.5*ms"
duration = "{duration}*second"
device = "{device}"

[populations.ring]
model = "poisson_hawkes"
size = 150
parameters = {{ fano = {fano} }}

[record]
spikes = ["ring"]

[task]
name = "poisson_sampling"
parameters = {{ n_exc = 60, n_inh = 15, w_E = [0.0, 0.04], u_fwd = [40.0, 40.0], discard = "0.5*second" }}
"""


def _cvar(x):
    x = x[np.isfinite(x)]
    mean = np.rad2deg(np.angle(np.mean(np.exp(1j * np.deg2rad(x)))))
    return float(np.var(ref.circular_distance(x, mean), ddof=1))


def _small_stats(counts, z, pref, rates, window=0.02):
    smp = ref.window_samples(counts, z, pref, rates, window)
    out = {"rate": counts.mean() / window, "var_s": _cvar(smp["s"])}
    if np.any(z):
        out.update(var_z=_cvar(smp["z"]), var_r=_cvar(smp["r"]),
                   lambda_s=-ref.sampling_precision(np.column_stack([smp["s"], smp["z"]]))[0, 1])
    return out


def _brian_small(preg, tmp_path, write_scenario, duration, fano, device):
    from spikelearn.results import RunResult
    from spikelearn.run import run_scenario
    from spikelearn.scenario import load_scenario
    from spikelearn.tasks.poisson_sampling import window_data

    path = write_scenario(SMALL.format(duration=duration, device=device, fano=fano))
    sc = load_scenario(str(path), preg, [])
    outcome = run_scenario(sc, preg, out_root=tmp_path, progress=False, figures=False,
                           plugin_files=_files(preg))
    res = RunResult(outcome.path)
    counts, z, attrs, exc = window_data(res, "ring", 0.02, 0.5)
    stats = []
    for c in (0, 1):
        sel = attrs["copy"][exc] == c
        stats.append(_small_stats(counts[:, sel], z[:, sel], attrs["preferred"][exc][sel], attrs["rate_fwd"][exc][sel]))
    return stats


def _numpy_small(duration, fano, seed=11):
    pref = ref.preferred_stimuli(60)
    rates = ref.feedforward_rates(60, 15, 40.0)
    out = []
    for w in (0.0, 0.04):
        counts, z = ref.simulate_hawkes(ref.ring_weights(60, 15, w), rates, duration, dt=5e-4, fano=fano,
                                        exc=np.arange(60), seed=seed)
        out.append(_small_stats(counts[25:], z[25:], pref, rates[:60]))
    return out


def _compare(b, r, rel):
    # the recurrent copy's mean rate varies by ~2-3% between NumPy seeds (slow population fluctuations)
    assert b["rate"] == pytest.approx(r["rate"], rel=0.08)
    assert b["var_s"] == pytest.approx(r["var_s"], rel=rel)
    if "var_z" in r:
        assert b["var_z"] == pytest.approx(r["var_z"], rel=rel)
        assert b["lambda_s"] == pytest.approx(r["lambda_s"], rel=2 * rel)
        assert b["var_r"] == pytest.approx(r["var_r"], rel=rel)


def test_small_ring_matches_numpy(preg, tmp_path, write_scenario):
    """Runtime device, 10.5 s at dt = 0.5 ms (500 samples per copy): distributions within ~3 SE."""
    b = _brian_small(preg, tmp_path, write_scenario, 10.5, 1.0, "runtime")
    r = _numpy_small(10.5, 1.0)
    for bb, rr in zip(b, r):
        _compare(bb, rr, rel=0.3)
    # the recurrent copy samples z and its rate-decoded stimulus varies; the w_E = 0 copy does not
    assert r[0]["var_s"] > 0 and "var_z" not in r[0]


@pytest.mark.long
@pytest.mark.standalone
def test_small_ring_matches_numpy_long(preg, tmp_path, write_scenario):
    b = _brian_small(preg, tmp_path, write_scenario, 60.5, 1.0, "cpp")
    r = _numpy_small(60.5, 1.0)
    for bb, rr in zip(b, r):
        _compare(bb, rr, rel=0.15)


def _numpy_lambda_s(w, fano, seed=4):
    pref = ref.preferred_stimuli(60)
    rates = ref.feedforward_rates(60, 15, 40.0)
    counts, z = ref.simulate_hawkes(ref.ring_weights(60, 15, w), rates, 10.5, dt=5e-4, fano=fano,
                                    exc=np.arange(60), seed=seed)
    smp = ref.window_samples(counts[25:], z[25:], pref, rates[:60])
    return -ref.sampling_precision(np.column_stack([smp["s"], smp["z"]]))[0, 1]


def test_negative_control_numpy_small_ring():
    """With internal variability Λs grows with w_E (measured ×2.4 from 0.02 to 0.08); with F = 0 the z
    sample is a filtered copy of the spikes, Λs is ~100× larger and does not grow (×0.43)."""
    grows = _numpy_lambda_s(0.08, 1.0) / _numpy_lambda_s(0.02, 1.0)
    assert grows > 1.5
    lam0 = [_numpy_lambda_s(w, 0.0) for w in (0.02, 0.08)]
    assert lam0[1] <= lam0[0]
    assert min(lam0) > 20 * _numpy_lambda_s(0.08, 1.0)


# ----------------------------------------------------------------------------------------------------
# the scenario (cpp_standalone; long) and its negative control
# ----------------------------------------------------------------------------------------------------
def _run(preg, tmp_path, name, overrides=()):
    from spikelearn.run import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(str(ROOT / "scenarios" / f"{name}.toml"), preg, list(overrides))
    return run_scenario(sc, preg, out_root=tmp_path, progress=False, figures=False,
                           plugin_files=_files(preg))


@pytest.mark.long
@pytest.mark.standalone
def test_scenario_claims(preg, tmp_path):
    out = _run(preg, tmp_path, "poisson_sampling")
    claims = _claims(out.claims)
    for name in ("prior_precision_increases", "internal_differential_correlations", "poisson_scaling_rate",
                 "poisson_scaling_window"):
        assert _passed(claims[name]), claims[name]
    # P22/Λs is systematically below 1 (measured 0.73, 0.78, 0.87 with seed 1; 0.81, 0.68, 0.86 with
    # seed 2): the band [0.7, 1.2] is met with seed 1 only. Checked here in a band that states
    # what the network does, not the claim.
    ratios = claims["p22_matches_prior_precision"]["value"]
    assert all(0.6 <= r <= 1.0 for r in ratios), ratios


@pytest.mark.long
@pytest.mark.standalone
def test_negative_control_no_internal_variability(preg, tmp_path):
    """F = 0: z becomes a deterministic function of the spikes, whose population-vector angle does not
    depend on the scale w_E of the weights, so Λs = −P12 no longer grows with w_E (measured, seed 1:
    0.131, 0.135, 0.129 deg⁻² against 0.00042, 0.00067, 0.00107 with F = 1) and
    ``prior_precision_increases`` fails; the rate-decoded variance drops ~30-fold (0.145 vs 4.58 deg² at
    w_E = 0.005)."""
    out = _run(preg, tmp_path, "poisson_sampling", ['populations.ring.parameters.fano=0.0'])
    claims = _claims(out.claims)
    assert not _passed(claims["prior_precision_increases"]), claims["prior_precision_increases"]
    lam = claims["prior_precision_increases"]["value"]
    assert max(lam) / min(lam) < 1.2  # flat in w_E
    # Poisson scaling at w_E = 0 does not involve the recurrent variability and still holds
    assert _passed(claims["poisson_scaling_rate"])
    assert out.metrics["var_rate_decoded_wE0.005_U30"] < 0.2 * 4.58


@pytest.mark.long
@pytest.mark.standalone
def test_coupled_scenario_claims(preg, tmp_path):
    out = _run(preg, tmp_path, "poisson_sampling_coupled")
    claims = _claims(out.claims)
    assert _passed(claims["coupled_correlation_increases"]), claims["coupled_correlation_increases"]
    # Known discrepancy (seed 1: sampled 0.26, 0.38, 0.58 vs posterior 0.19, 0.28, 0.46): the coupling
    # does not shrink the marginal variance of s as the coupled-prior posterior says, so the sampled
    # correlation exceeds the posterior one and the ±0.05 claim fails. Checked: the sign and size of the gap.
    value = claims["coupled_matches_posterior"]["value"]
    gaps = np.subtract(value["sampled"], value["posterior"])
    assert np.all(gaps > 0) and np.all(gaps < 0.2), gaps
