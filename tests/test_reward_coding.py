"""The protocol and the analysis of the reward-coding task (spikelearn.tasks.bredenberg2020.coding).

- the protocol's segments: test holds at the 12 preferred angles, trials with a von Mises start, a drift,
  resets, the learning gate off for the transient, the prior-change session;
- the linear Fisher information with noise correlations is unbiased on Gaussian data (the naive plug-in
  estimate is not), and sees what the diagonal one misses (information-limiting correlations);
- the allocation ratio, the readout's errors and accuracy, the learning curve.
"""

import numpy as np
import pytest

from spikelearn.tasks.bredenberg2020 import coding as ref


def _steps():
    return {"trial": 1000, "hold": 200, "transient": 40, "segment": 40}


def test_protocol_segments():
    plan = ref.protocol(np.random.default_rng(1), _steps(), n_trials=3, n_angles=12, n_repeats=3, kappa=0.75,
                        n_trials_shift=2, mu_shift=np.pi / 2, n_streams=2)
    kinds = [k for k, _, _ in plan["sessions"]]
    assert kinds == ["test", "train", "test", "train", "test"]
    per_hold, per_trial = 5, 25
    first, n = plan["sessions"][0][1:]
    assert n == 36 * per_hold and first == 0
    # every hold sets one of the 12 preferred angles, each 3 times, without learning or drift
    set_at = np.where(plan["set"][:n] > 0)[0]
    np.testing.assert_array_equal(set_at, np.arange(36) * per_hold)
    vals, counts = np.unique(np.round(plan["theta"][set_at, 0], 9), return_counts=True)
    np.testing.assert_allclose(vals, np.round(ref.test_angles(12), 9))
    assert set(counts) == {3}
    assert not plan["learn"][:n].any() and not plan["move"][:n].any()
    np.testing.assert_allclose(plan["theta"][set_at, 0], plan["test_order"][0])
    # training: a reset and a new angle per trial, learning off for the first segment (40 of 1000 steps)
    first, n = plan["sessions"][1][1:]
    tr = slice(first, first + n)
    assert n == 3 * per_trial
    np.testing.assert_array_equal(np.where(plan["reset"][tr])[0], np.arange(3) * per_trial)
    np.testing.assert_array_equal(np.where(plan["learn"][tr] == 0)[0], np.arange(3) * per_trial)
    assert plan["move"][tr].all() and (plan["mu"][tr] == 0).all()
    starts = plan["theta"][tr][np.arange(3) * per_trial]
    assert np.all(np.abs(starts) <= np.pi) and not np.allclose(starts[:, 0], starts[:, 1])  # 2 streams
    # the second training session has the moved mode
    first, n = plan["sessions"][3][1:]
    assert n == 2 * per_trial and np.allclose(plan["mu"][first:first + n], np.pi / 2)


def test_trial_starts_follow_the_prior():
    steps = {"trial": 2, "hold": 2, "transient": 1, "segment": 1}
    plan = ref.protocol(np.random.default_rng(3), steps, n_trials=20000, n_angles=3, n_repeats=2, kappa=0.75)
    first, n = plan["sessions"][1][1:]
    th = plan["theta"][first:first + n:2, 0]
    from scipy.special import i0, i1

    assert np.mean(np.cos(th)) == pytest.approx(i1(0.75) / i0(0.75), abs=0.01)
    assert abs(np.mean(np.sin(th))) < 0.01


def _gaussian_population(rng, n, d, Sigma, n_angles=12):
    angles = ref.test_angles(n_angles)
    pref = np.linspace(-np.pi, np.pi, d, endpoint=False)
    f = np.cos(angles[:, None] - pref[None, :])  # (n_angles, d)
    L = np.linalg.cholesky(Sigma)
    X = f[:, None, None, :] + (rng.standard_normal((n_angles, 2, n // 2, d)) @ L.T)
    spacing = 2 * np.pi / n_angles
    df = np.roll(f, -1, axis=0) - np.roll(f, 1, axis=0)
    true = np.einsum("kd,kd->k", df, np.linalg.solve(Sigma, df.T).T) / (2 * spacing) ** 2
    return X, true, spacing, f


def test_linear_fisher_is_bias_corrected():
    rng = np.random.default_rng(0)
    d, n = 20, 120
    A = rng.standard_normal((d, d)) / np.sqrt(d)
    Sigma = 0.5 * np.eye(d) + A @ A.T
    est = []
    for _ in range(30):
        X, true, spacing, _ = _gaussian_population(rng, n, d, Sigma)
        est.append(ref.linear_fisher(X, spacing))
    ratio = np.mean(est, axis=0) / true
    np.testing.assert_allclose(ratio, 1.0, atol=0.08)
    # the plug-in estimate (no correction) is biased upward by ~ (2n - 2)/(2n - d - 3)
    plug_in = (np.mean(est, axis=0) + 2 * d / (n * (2 * spacing) ** 2)) * (2 * n - 2) / (2 * n - d - 3)
    assert np.mean(plug_in / true) > 1.08 and np.mean(plug_in / true) > np.mean(ratio) + 0.05


def test_linear_fisher_sees_information_limiting_correlations():
    # differential correlations along f' cap the information; a diagonal estimate cannot see them
    rng = np.random.default_rng(1)
    d, n, eps = 16, 4000, 0.5
    X, _, spacing, f = _gaussian_population(rng, n, d, np.eye(d))
    fp = (np.roll(f, -1, axis=0) - np.roll(f, 1, axis=0)) / (2 * spacing)
    shared = rng.standard_normal((12, 2, n // 2, 1)) * np.sqrt(eps)
    Xc = X + shared * fp[:, None, None, :]  # noise along f'(theta) at each angle
    I_ind, I_cor = ref.linear_fisher(X, spacing), ref.linear_fisher(Xc, spacing)
    assert np.all(I_cor < 1 / eps * 1.2) and np.all(I_ind > 2 * I_cor)
    diag = lambda Z: np.sum(((np.roll(Z.mean((1, 2)), -1, 0) - np.roll(Z.mean((1, 2)), 1, 0)) / (2 * spacing)) ** 2
                            / Z.reshape(12, -1, d).var(1), axis=1)
    assert np.all(diag(Xc) > 0.5 * diag(X))  # the diagonal estimate barely moves


def test_too_few_samples_give_nan():
    X = np.zeros((12, 2, 5, 20))
    assert np.isnan(ref.linear_fisher(X, np.pi / 6)).all()


def test_region_ratio_and_errors():
    angles = ref.test_angles(12)
    values = np.where(np.abs(angles) <= np.pi / 6 + 1e-9, 4.0, 1.0)
    assert ref.region_ratio(values, angles, 0.0, np.pi) == pytest.approx(4.0)
    assert ref.region_ratio(values, angles, (0.0, np.pi), (np.pi / 2, -np.pi / 2)) == pytest.approx(2.5)
    out = np.stack([np.cos(angles), np.sin(angles)], axis=1)[:, None, None, :] + np.zeros((12, 3, 4, 2))
    np.testing.assert_allclose(ref.readout_errors(out, angles), 0.0, atol=1e-12)
    np.testing.assert_allclose(ref.readout_errors(out + [0.1, 0.0], angles), 0.01)
    # the classifier: D r > 0 exactly on [0, pi]; the boundary angles 0 and -pi are left out
    sign = np.where(ref.category(angles) > 0, 1.0, -1.0)[:, None, None, None] * np.ones((12, 3, 4, 1))
    assert ref.readout_accuracy(sign, angles, 0.75) == 1.0
    assert ref.readout_accuracy(-sign, angles, 0.75) == 0.0
    assert ref.category(np.array([-np.pi, -0.1, 0.0, 3.0])).tolist() == [1.0, 0.0, 1.0, 1.0]


def test_trial_curve():
    t = np.arange(0, 30, 1.0)
    learn = (t % 10) >= 2
    values = np.floor(t / 10)  # trial k has value k
    np.testing.assert_allclose(ref.trial_curve(t, values, learn, 10.0, 0.0), [0, 1, 2])
