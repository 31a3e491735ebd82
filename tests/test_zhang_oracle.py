"""The NumPy oracle of Zhang et al. 2023 (``tests/oracles/zhang_hawkes.py``): its statistics on short runs
lie in the ranges measured with it (``bench/results/zhang2023-oracle.json``,
``docs/papers/zhang2023-authors-code.md``), and today's noise-before-filter ordering gives a measurably
different sampling precision P11/(Λx+Λs)."""

import math
import pathlib
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent / "oracles"))
import zhang_hawkes as zh  # noqa: E402


def test_weights_and_input_follow_the_authors_layout():
    W = zh.ring_weights(0.05)
    j = 0.05 / 15.0
    assert W.shape == (225, 225)
    assert np.allclose(W[:180, :180], W[:180, :180].T)  # circulant, symmetric kernel
    assert math.isclose(W[0, 0], j * 360 / (math.sqrt(2 * math.pi) * 40), rel_tol=1e-12)
    assert np.allclose(W[180:, :180], j) and np.allclose(W[:, 180:], -5 * j)
    # E->E row sum: j * 360 * sum_k g(2k) ~ j * 180
    assert math.isclose(W[0, :180].sum(), j * 180, rel_tol=1e-3)
    p = zh.feedforward_prob(30.0)
    assert math.isclose(p[89], 30 * 1e-4)  # neuron 89 prefers 0 deg and math.isclose(p[180:].sum(), 0.8 * p[:180].sum())
    # Λx = 20 ms * ΣE rates / (2 a²) = 0.0133 deg⁻² at U_fwd = 30 Hz (the authors' PreMat_LH)
    assert math.isclose(0.02 * p[:180].sum() / 1e-4 / (2 * 40 ** 2), 0.013274, rel_tol=1e-3)


def test_posterior_and_mutual_information_match_closed_forms():
    C0 = zh.posterior_covariance(30.0, urec_world=10.0)
    lam_x = 30 * math.sqrt(math.pi) * 0.5 * 0.02 / 40
    lam_s = lam_x * 10 / 30
    P = np.array([[lam_x + lam_s, -lam_s], [-lam_s, lam_s]])
    assert np.allclose(np.linalg.inv(C0), P, rtol=1e-12)
    mi, up, kl = zh.mutual_information(C0, np.zeros(2), C0)
    assert math.isclose(mi, up, abs_tol=1e-12) and abs(kl) < 1e-12
    mi2, up2, kl2 = zh.mutual_information(C0, np.zeros(2), 2 * C0)
    assert kl2 > 0 and math.isclose(up2 - mi2, kl2)
    # KL(N0 || N) in bits for a doubled covariance: (2*ln2 + 1 - 2)/2 / ln2
    assert math.isclose(kl2, (2 * math.log(2) + 1 - 2) / 2 / math.log(2), rel_tol=1e-9)


def test_authors_deviation_shift_wraps_only_above_180():
    rng = np.random.default_rng(0)
    pv = np.exp(1j * np.deg2rad(np.array([[170.0, -170.0, 175.0, 10.0]])))
    mean, C, pos = zh.sample_covariance(pv, rng)
    dev = pos[0] - mean[0]
    dev = np.where(dev > 180, dev - 360, dev)
    assert np.isclose(C, np.var(dev, ddof=1))


def _short(seed, duration=3.0, w_E=0.03):
    out = zh.simulate_ring([w_E, w_E], fano=0.7, ordering=["filter_then_noise", "noise_before_filter"],
                           duration=duration, seed=seed)
    return zh.statistics(out, discard=1.0)


def test_short_run_newest_ordering_in_range_and_noise_before_filter_differs():
    new, old = _short(seed=3)
    # newest ordering (ce3dffc): P11 close to Λx + Λs, P22 close to Λs (4-s runs at w_E = 0.03, seeds 0-7:
    # r11 0.76-0.85, r22 1.01-1.08, Λs 3.4e-2-4.8e-2)
    assert 0.6 < new["r11"] < 1.05
    assert 0.85 < new["r22"] < 1.3
    assert 1.5e-2 < new["lam_s"] < 8e-2
    # today's ordering (85a3904): P11 far below Λx + Λs (r11 0.35-0.49) and a much smaller Λs
    assert old["r11"] < new["r11"] - 0.15
    assert old["lam_s"] < new["lam_s"] / 4
    for s in (new, old):
        assert 5 < s["rate_exc_mean"] < 40 and 0.5 < s["fano_200ms"] < 3


@pytest.mark.long
def test_twelve_second_runs_match_the_recorded_ranges():
    """12-s runs, w_E = 0.01 and 0.05, three replicates (the settings of the Octave comparison)."""
    st = zh.run_grid([0.01, 0.05], 3, [dict(fano=0.7, ordering="filter_then_noise"),
                                       dict(fano=0.7, ordering="noise_before_filter"),
                                       dict(name="F0", fano=0.0, ordering="filter_then_noise")],
                     duration=12.0, discard=2.0, base_seed=11)
    get = {}
    for s in st:
        get.setdefault((s["variant"], s["w_E"]), []).append(s)
    for w in (0.01, 0.05):
        new = get[("filter_then_noise", w)]
        old = get[("noise_before_filter", w)]
        f0 = get[("F0", w)]
        assert np.mean([s["r11"] for s in new]) > 0.75
        assert 0.95 < np.mean([s["r22"] for s in new]) < 1.15
        assert np.mean([s["r11"] for s in old]) < 0.62
        assert np.mean([s["r11"] for s in new]) - np.mean([s["r11"] for s in old]) > 0.2
        assert np.mean([s["lam_s"] for s in f0]) > 5e-2  # without variability z is a copy of the spikes
    # Λs grows with w_E for the newest ordering; the rate-decoded variance (differential correlations) too
    for key in ("lam_s", "diff_corr"):
        assert np.mean([s[key] for s in get[("filter_then_noise", 0.05)]]) > \
            2 * np.mean([s[key] for s in get[("filter_then_noise", 0.01)]])


# --- coupled rings (scanCoupledHawkesNet.m flagTest 2 settings) ------------------------------------------

def test_coupled_weights_follow_the_authors_layout():
    n, ne = 225, 180
    j = 0.01 / 15.0
    W = zh.coupled_weights(2.0)
    assert W.shape == (2 * n, 2 * n)
    E1, I1, E2, I2 = slice(0, ne), slice(ne, n), slice(n, n + ne), slice(n + ne, 2 * n)
    # within a ring: E->E cut (bCutRecConns = 1), I<-E J, inhibition -3J
    for E, I in ((E1, I1), (E2, I2)):
        assert np.all(W[E, E] == 0)
        assert np.allclose(W[I, E], j) and np.allclose(W[E, I], -3 * j) and np.allclose(W[I, I], -3 * j)
    # across rings: E<-E 2·J·Wee (Gaussian circulant, peak J·360/(√(2π)·40)), I<-E 2·J, no inhibition
    for (Ea, Ia), (Eb, Ib) in (((E1, I1), (E2, I2)), ((E2, I2), (E1, I1))):
        assert math.isclose(W[Ea, Eb][0, 0], 2 * j * 360 / (math.sqrt(2 * math.pi) * 40), rel_tol=1e-12)
        assert np.allclose(W[Ea, Eb], W[Ea, Eb].T) and np.all(W[Ea, Eb] > 0)
        assert np.allclose(W[Ia, Eb], 2 * j)
        assert np.all(W[Ea, Ib] == 0) and np.all(W[Ia, Ib] == 0)
    assert np.array_equal(W[E1, E2], W[E2, E1])
    # ratio scaling, ratio 0 uncouples
    W1 = zh.coupled_weights(1.0)
    assert np.allclose(W[:n, n:], 2 * W1[:n, n:]) and np.array_equal(W[:n, :n], W1[:n, :n])
    assert np.all(zh.coupled_weights(0.0)[:n, n:] == 0)
    # bRandWee: a permutation of the same weights (the multiset is kept), no longer circulant
    Wr = zh.coupled_weights(2.0, rand_wee=True, rng=np.random.default_rng(0))
    assert np.array_equal(np.sort(Wr[E1, E2].ravel()), np.sort(W[E1, E2].ravel()))
    assert not np.allclose(Wr[E1, E2], W[E1, E2])
    assert np.array_equal(Wr[E1, E2], Wr[E2, E1]) and np.array_equal(Wr[I1, E2], W[I1, E2])


def test_prior_fit_recovers_a_known_posterior():
    pre_lh = np.diag([0.0133, 0.0100])
    posi = np.array([-10.0, 10.0])
    for lam in (0.002, 0.01, 0.03):
        mu, S = zh._posterior(lam, pre_lh, posi)
        lam_fit, kl, info = zh.fit_prior_precision(mu, S, posi, pre_lh)
        assert info["converged"] and math.isclose(lam_fit, lam, rel_tol=1e-5) and abs(kl) < 1e-10
        x = np.random.default_rng(7).multivariate_normal(mu, S, size=20000)
        lam_fit, kl, info = zh.fit_prior_precision(x.mean(0), np.cov(x.T), posi, pre_lh)
        assert info["converged"] and math.isclose(lam_fit, lam, rel_tol=0.05) and 0 <= kl < 1e-3
    # KL(N(0, I) || N(0, 2I)) in 2-D: (ln 4 + 1 - 2)/2
    S = np.eye(2)
    assert math.isclose(zh.kl_divergence(np.zeros(2), S, np.zeros(2), 2 * S), (math.log(4) + 1 - 2) / 2)


def test_coupled_short_run_correlates_and_attracts_the_samples():
    """3-s runs, six replicates each of ratio 0 and 2 (one batch): the coupling makes the ring-1 and
    ring-2 samples positively correlated and pulls their means towards each other."""
    out = zh.simulate_coupled([0.0, 2.0] * 6, duration=3.0, seed=3)
    st = zh.coupled_statistics(out, discard=0.5)
    get = {r: [s for s in st if s["cross_ratio"] == r] for r in (0.0, 2.0)}
    corr = {r: np.mean([s["corr_samples"] for s in v]) for r, v in get.items()}
    spread = {r: np.mean([s["mean_sample"][1] - s["mean_sample"][0] for s in v]) for r, v in get.items()}
    assert abs(corr[0.0]) < 0.1 and corr[2.0] > 0.1
    assert 17 < spread[0.0] < 23 and spread[2.0] < spread[0.0] - 2
    assert np.mean([s["lam_c"] for s in get[2.0]]) > 3e-4 and max(s["lam_c"] for s in get[0.0]) < 3e-4
    for s in st:
        assert s["prior_fit"]["converged"]
        assert all(4 < r < 20 for r in s["rate_exc_mean"]) and all(r > 10 for r in s["bump_height"])
