"""Independent NumPy oracle of dynamic inversion with signed Poisson events, on the authors' nonlinear
regression (Podlaski & Machens 2020, Fig. 3g-k, the problem of :mod:`dynamic_inversion_nets`).

The process (the model of ``spikelearn``'s task ``dynamic_inversion_regression_spiking``, written here
from its description, not from its code). One example:

* forward pass with the current weights; every inversion state starts at zero;
* the output error ``e = y* - y`` is presented normalised, ``e / |e|`` (a gain on one scalar);
* layer ``l`` (``W2`` first, then ``W1``) is inverted for ``K`` forward-Euler steps of ``dt``:
  ``u += dt/tau (-alpha u + s_W - d)``, ``v += dt/tau (-v + s_B)``, where ``s_W`` and ``s_B`` are
  exponentially filtered (``tau_syn``) signed events: each unit of ``u`` emits a positive event with
  probability ``c_u [u]_+ dt`` and a negative one with ``c_u [-u]_+ dt`` per step, of weight
  ``+-B/(c_u tau_syn)`` onto ``s_B``; each unit of ``v`` likewise with ``c_v`` and ``W`` onto ``s_W``;
* the layer's delta is ``|input| * vbar * tanh'(a)``, ``vbar`` the mean of ``v`` over the last
  ``K_avg`` steps of its inversion; the next layer's input is that delta normalised;
* deltas longer than 1 are clipped to norm 1, ``W += eta d h^T``, ``b += eta d`` (first example skipped).

Replicates (problem seed, event seed) run side by side, vectorised. Measured per update: the angle of each
hidden delta to backprop's and to the closed-form steady state's, at the same weights and example; the
training error at the end.
"""

import numpy as np

from dynamic_inversion_nets import forward, inversion_steady_state, make_problem


def _angles(a, b):
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    with np.errstate(all="ignore"):
        ang = np.degrees(np.arccos(np.clip(np.sum(a * b, axis=1) / (na * nb), -1, 1)))
    ang[(na == 0) | (nb == 0)] = np.nan
    return ang


def _invert(W, B, d, alpha, tau, dt, K, K_avg, c_u, c_v, tau_syn, rng):
    """Batched event-driven inversion: ``W`` (R, m, k), ``B`` (R, k, m), ``d`` (R, m) -> ``vbar`` (R, k)."""
    R, m, k = W.shape
    u, su = np.zeros((R, m)), np.zeros((R, k))
    v, sw = np.zeros((R, k)), np.zeros((R, m))
    vbar = np.zeros((R, k))
    a, f = dt / tau, dt / tau_syn
    for step in range(K):
        u, v = u + a * (-alpha * u + sw - d), v + a * (-v + su)
        su, sw = su * (1 - f), sw * (1 - f)
        ev_u = (rng.random((R, m)) < c_u * np.maximum(u, 0) * dt).astype(float) \
            - (rng.random((R, m)) < c_u * np.maximum(-u, 0) * dt)
        ev_v = (rng.random((R, k)) < c_v * np.maximum(v, 0) * dt).astype(float) \
            - (rng.random((R, k)) < c_v * np.maximum(-v, 0) * dt)
        su = su + np.einsum("rkm,rm->rk", B, ev_u) / (c_u * tau_syn)
        sw = sw + np.einsum("rmk,rk->rm", W, ev_v) / (c_v * tau_syn)
        if step >= K - K_avg:
            vbar += v / K_avg
    return vbar


def run(seeds, event_seed, n, feedback="neg_transpose", alpha=0.01, eta=0.01, tau=0.01, dt=0.001, K=5000,
        K_avg=500, c_u=4.0, c_v=100.0, tau_syn=0.005, backward=True):
    """Replicates on the authors' problems ``seeds`` (one event stream, ``event_seed``), ``n`` examples.

    ``feedback``: ``"neg_transpose"`` (``B = -W^T`` of the initial student) or a list, per seed, of
    ``[B1, B2]``. Returns a dict of arrays: ``angle_bp`` and ``angle_cf`` (R, n, 2: layers 1, 2; nan for
    zero deltas), ``error`` (R,) the final summed squared error, ``params`` (per replicate)."""
    rng = np.random.default_rng(event_seed)
    probs = [dict(zip(("x", "y", "student", "B_random", "order"), make_problem(s, n, draws="authors")))
             for s in seeds]
    R = len(seeds)
    params = [[np.array(p, dtype=float) for p in pr["student"]] for pr in probs]
    if feedback == "neg_transpose":
        Bs = [[-pr["student"][1].T.copy(), -pr["student"][2].T.copy()] for pr in probs]
    else:
        Bs = [[np.array(b) for b in fb] for fb in feedback]
    B1, B2 = np.stack([b[0] for b in Bs]), np.stack([b[1] for b in Bs])
    angle_bp, angle_cf = np.full((R, n, 2), np.nan), np.full((R, n, 2), np.nan)
    for it in range(n):
        cols = [pr["order"][it] for pr in probs]
        xs = [pr["x"][:, c] for pr, c in zip(probs, cols)]
        fw = [forward(p, x) for p, x in zip(params, xs)]
        e = np.stack([pr["y"][:, c] - f[-1] for pr, c, f in zip(probs, cols, fw)])
        g1 = np.stack([1 - np.tanh(f[0]) ** 2 for f in fw])
        g2 = np.stack([1 - np.tanh(f[2]) ** 2 for f in fw])
        W1, W2 = np.stack([p[1] for p in params]), np.stack([p[2] for p in params])
        if backward:
            ne = np.linalg.norm(e, axis=1, keepdims=True)
            d2 = ne * _invert(W2, B2, e / ne, alpha, tau, dt, K, K_avg, c_u, c_v, tau_syn, rng) * g2
            n2 = np.linalg.norm(d2, axis=1, keepdims=True)
            d1 = n2 * _invert(W1, B1, d2 / n2, alpha, tau, dt, K, K_avg, c_u, c_v, tau_syn, rng) * g1
        else:
            d1, d2 = np.zeros_like(g1), np.zeros_like(g2)
        bp2 = np.einsum("rmk,rm->rk", W2, e) * g2
        bp1 = np.einsum("rmk,rm->rk", W1, bp2) * g1
        cf2 = np.stack([inversion_steady_state(W2[r], B2[r], e[r], alpha) for r in range(R)]) * g2
        cf1 = np.stack([inversion_steady_state(W1[r], B1[r], d2[r], alpha) for r in range(R)]) * g1
        angle_bp[:, it] = np.stack([_angles(d1, bp1), _angles(d2, bp2)], axis=1)
        angle_cf[:, it] = np.stack([_angles(d1, cf1), _angles(d2, cf2)], axis=1)
        if it == 0:
            continue
        for r in range(R):
            dd1, dd2 = d1[r], d2[r]
            n1, n2_ = np.linalg.norm(dd1), np.linalg.norm(dd2)
            dd1 = dd1 / n1 if n1 > 1 else dd1
            dd2 = dd2 / n2_ if n2_ > 1 else dd2
            f = fw[r]
            for p, grad in zip(params[r], (np.outer(dd1, xs[r]), np.outer(dd2, f[1]), np.outer(e[r], f[3]),
                                           dd1, dd2, e[r])):
                p += eta * grad
    error = np.array([float(np.sum((pr["y"] - forward(p, pr["x"])[-1]) ** 2)) for pr, p in zip(probs, params)])
    return {"angle_bp": angle_bp, "angle_cf": angle_cf, "error": error, "params": params}
