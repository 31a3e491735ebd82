"""Fast checks of the NumPy protocol oracle of Bredenberg, Simoncelli & Savin (2020),
``tests/oracles/bredenberg_protocol.py``, that need no code of the authors (their code is compared in
``bench/bredenberg2020_oracle_check.py``)."""

import math

import numpy as np
import pytest

import bredenberg_protocol as bp  # tests/oracles (on sys.path: tests/conftest.py)

TASKS = ("estimation", "classification")


def _close(a, b, rtol=1e-12):
    for k in ("W", "W_in", "b", "D"):
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=rtol * np.max(np.abs(b[k])), err_msg=k)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("mode", [dict(), dict(shuffle_reward=True), dict(plastic=False)])
def test_batched_equals_separate_runs(task, mode):
    """B networks in one batch = B runs of one network with the same seeds (same noise)."""
    seeds = [11, 12, 13]
    kw = dict(T=2.0, transient=0.5, rate_scale=100.0, **mode)
    wb, ob = bp.train(task, seeds, 2, **kw)
    for i, s in enumerate(seeds):
        w1, o1 = bp.train(task, [s], 2, **kw)
        _close({k: v[i] for k, v in wb.items()}, {k: v[0] for k, v in w1.items()})
        np.testing.assert_allclose(ob[i], o1[0], rtol=1e-12)
    assert ob.shape == (3, 2) and np.all(np.isfinite(ob))


@pytest.mark.parametrize("task", TASKS)
def test_init_continues_and_plastic_off(task):
    """``init`` continues from given weights; ``plastic=False`` freezes W, W_in, b but not D; a shuffled
    reward changes the learned weights."""
    kw = dict(T=2.0, transient=0.5, rate_scale=100.0)
    w0 = bp.init_weights(task, [5, 6])
    w, _ = bp.train(task, [5, 6], 1, init=w0, plastic=False, **kw)
    for k in ("W", "W_in", "b"):
        np.testing.assert_array_equal(w[k], w0[k])
    assert np.max(np.abs(w["D"] - w0["D"])) > 0
    wa, _ = bp.train(task, [7], 1, **kw)
    g = np.random.default_rng(7)
    wb_, _ = bp.train(task, [g], 1, init=bp.init_weights(task, [g]), **kw)
    _close(wa, wb_, rtol=0)                                 # init=None: init_weights from the same source
    ws, _ = bp.train(task, [7], 1, shuffle_reward=True, **kw)
    assert np.max(np.abs(ws["W"] - wa["W"])) > 0


def test_legacy_init_draw_order():
    """After the reseed, D uses the same uniforms as the first entries of W: an exact affine copy."""
    for task, N, n_out in (("estimation", 40, 2), ("classification", 25, 1)):
        w = bp.legacy_init(task, 120994)
        u_W = w["W"][0].ravel()[:n_out * N] / (0.3 / np.sqrt(N))
        u_D = w["D"][0].ravel() / (1 / N)
        np.testing.assert_allclose(u_D, u_W, rtol=1e-12)
        rs = np.random.RandomState(120994)
        rs.uniform(size=N * N)
        np.testing.assert_array_equal(w["W_in"][0], rs.uniform(-0.5 / np.sqrt(12), 0.5 / np.sqrt(12), (N, 12)))


def _von_mises_moments(kappa, n=200001):
    th = np.linspace(-np.pi, np.pi, n)
    p = np.exp(kappa * np.cos(th))
    return np.trapezoid(np.cos(th) * p, th) / np.trapezoid(p, th), np.trapezoid(np.cos(2 * th) * p, th) / \
        np.trapezoid(p, th)


def test_drift_stationary_concentration_is_two_kappa():
    """The drift has no factor 1/2: its stationary law is von Mises(mu, 2 kappa), not kappa. A faster sampler
    (sigma_s = 1, the law does not depend on it) relaxes within the run."""
    rng = np.random.default_rng(1)
    chains, steps, dt, kappa, mu = 1000, 2000, 0.01, 0.75, 0.5
    dW = rng.normal(0, np.sqrt(dt), (steps, chains))
    th = bp.theta_path(rng.uniform(-np.pi, np.pi, chains), dW, kappa, mu, 1.0, dt)
    assert np.all(np.abs(th) <= np.pi)
    late = th[steps // 2::50] - mu                          # 10 time units after 10 of relaxation (~1.3)
    c1, c2 = np.mean(np.cos(late)), np.mean(np.cos(2 * late))
    e1, e2 = _von_mises_moments(2 * kappa)
    k1, _ = _von_mises_moments(kappa)
    assert abs(c1 - e1) < 0.03 and abs(c2 - e2) < 0.03, (c1, e1, c2, e2)
    assert abs(c1 - k1) > 0.2
    assert abs(np.mean(np.sin(late))) < 0.03


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("brian_order", [False, True])
def test_one_noiseless_learning_step_equals_hand_formula(task, brian_order):
    """T = 2 steps (one update), sigma = 0, no gate: the weights after the step, by hand, with the draws
    replayed in the documented order (D, W, W_in; rate noise N x steps, theta(0), stimulus noise). The Brian2
    task's order: this step's input drives the rates, and the Hebbian term is not scaled by 1 - theta_avg."""
    cfg = bp.SETTINGS[task]
    N, n_out, dt, seed, scale = cfg["N"], cfg["n_out"], 0.01, 21, 1e3
    w, obj = bp.train(task, [seed], 1, T=2 * dt, transient=0.0, sigma=0.0, rate_scale=scale, brian_order=brian_order)
    g = np.random.default_rng(seed)
    D = g.uniform(-1 / N, 1 / N, (n_out, N))
    W = g.uniform(-0.3 / math.sqrt(N), 0.3 / math.sqrt(N), (N, N))
    W_in = g.uniform(-0.5 / math.sqrt(12), 0.5 / math.sqrt(12), (N, 12))
    b = np.full(N, cfg["b_init"])
    g.normal(0, math.sqrt(dt), (N, 2))
    th0 = g.vonmises(0.0, 0.75)
    xi = g.normal(0, math.sqrt(dt), (1, 2))[0, 1]
    th1 = th0 - 0.75 * math.sin(th0) * 0.06 ** 2 * dt + 0.06 * xi
    th1 = th1 + 2 * math.pi if th1 < -math.pi else th1 - 2 * math.pi if th1 > math.pi else th1
    phi = -np.pi + 2 * np.pi * np.arange(12) / 12
    s0, s1 = np.maximum(0, np.cos(th0 - phi)), np.maximum(0, np.cos(th1 - phi))
    r = np.full(N, 0.1)
    r = r + dt * (-np.log(np.exp(30 * r) - 1) / 30 + W @ r + W_in @ (s1 if brian_order else s0) + b)
    r = np.clip(r, 0.001, 100)
    if task == "estimation":
        tgt = np.array([math.cos(th1), math.sin(th1)])
        R = -np.sum((tgt - D @ r) ** 2)
        dD = -np.outer(D @ r - tgt, r) - cfg["weight_l2"] * D
    else:
        t = float(th1 >= 0 or th1 <= -math.pi)
        y = 1 / (1 + math.exp(-100 * (D @ r)[0]))
        yc = min(max(y, 1e-4), 1 - 1e-4)
        R = t * math.log(yc) + (1 - t) * math.log(1 - yc)
        dD = 100 * (t - y) * r[None, :] - cfg["weight_l2"] * D
    th = 0.0 if brian_order else 0.0015                     # averages start at 0: C = th * sample
    eta = scale * dt * 100
    hand = dict(W=W + eta * cfg["lr_W"] * (R * (1 - th) * np.outer(r, r) - cfg["weight_l2"] * W),
                W_in=W_in + eta * cfg["lr_in"] * (R * (1 - th) * np.outer(r, s1) - cfg["i_weight_l2"] * W_in),
                b=b + eta * cfg["lr_b"] * (R * (1 - th) * r - cfg["bias_weight_l2"] * b),
                D=D + eta * cfg["lr_D"] * dD)
    init = dict(W=W, W_in=W_in, b=b, D=D)
    for k, v in hand.items():
        change = v - init[k]
        assert np.max(np.abs(change)) > 1e-9, k
        np.testing.assert_allclose(w[k][0] - init[k], change, rtol=1e-8, atol=1e-9 * np.max(np.abs(change)),
                                   err_msg=k)
    np.testing.assert_allclose(obj[0, 0], R, rtol=1e-12)   # no clip at r ~ 0.1: recorded = third factor


def test_test_protocol_shapes_order_and_batching():
    w = bp.init_weights("estimation", [1, 2])
    angles = np.array([-np.pi, 0.0, np.pi / 3])
    kw = dict(n_repeats=2, hold=1.0, settle=0.5, record_every=10, seed=4)
    rates, out = bp.test(w, angles, **kw)
    assert rates.shape == (2, 3, 2, 5, 40) and out.shape == (2, 3, 2, 5, 2)
    assert np.all(rates >= 0.001)
    order = bp.test_order(3, 2, 4)
    assert sorted(order.tolist()) == [0, 0, 1, 1, 2, 2]
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(4).spawn(2)]
    r1, o1 = bp.test({k: v[1] for k, v in w.items()}, angles, rngs=[rngs[1]], **kw)
    np.testing.assert_allclose(r1[0], rates[1], rtol=1e-12)
    np.testing.assert_allclose(o1[0], out[1], rtol=1e-12)
    # the readout is D r (before the clip): equal to D @ rates where nothing was clipped
    unclipped = np.all(rates > 0.001, axis=-1)
    dr = np.einsum("bon,bijsn->bijso", w["D"], rates)
    np.testing.assert_allclose(out[unclipped], dr[unclipped], rtol=1e-10)


def test_test_noiseless_fixed_point():
    """sigma = 0, W = 0, W_in = 0: every unit relaxes to f(b) (f the sharp softplus), whatever the angle."""
    N = 40
    w = dict(W=np.zeros((N, N)), W_in=np.zeros((N, 12)), b=np.linspace(0.05, 0.5, N), D=np.ones((2, N)) / N)
    rates, _ = bp.test(w, [0.0, 1.0], n_repeats=1, hold=30.0, settle=29.0, record_every=50, sigma=0.0)
    f_b = np.log1p(np.exp(30 * w["b"])) / 30
    np.testing.assert_allclose(rates[0, :, 0, -1], np.broadcast_to(f_b, (2, N)), rtol=1e-6)
    np.testing.assert_allclose(bp.finv(f_b), w["b"], rtol=1e-12)


def test_test_noiseless_steps_equal_hand_loop():
    """sigma = 0: the recorded rates equal a hand-written Euler loop, with each new angle acting one step late
    and no reset between holds."""
    w = bp.init_weights("classification", [3])
    angles = np.array([-2.0, 0.5, 2.5])
    rates, out = bp.test(w, angles, n_repeats=1, hold=0.3, settle=0.0, record_every=1, sigma=0.0, seed=9)
    W, W_in, b, D = (w[k][0] for k in ("W", "W_in", "b", "D"))
    order = bp.test_order(3, 1, 9)
    phi = -np.pi + 2 * np.pi * np.arange(12) / 12
    L, r, s_prev = 30, np.full(25, 0.1), None
    for k in range(3 * L):
        a = order[k // L]
        if k > 0:
            r = r + 0.01 * (-np.log(np.exp(30 * r) - 1) / 30 + W @ r + W_in @ s_prev + b)
            np.testing.assert_allclose(out[0, a, 0, k % L], D @ r, rtol=1e-10)
            r = np.clip(r, 0.001, 100)
        np.testing.assert_allclose(rates[0, a, 0, k % L], r, rtol=1e-10)
        s_prev = np.maximum(0, np.cos(angles[a] - phi))
