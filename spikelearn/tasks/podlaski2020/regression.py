"""The nonlinear-regression experiment of Podlaski & Machens (NeurIPS 2020, Fig. 3g-k) in NumPy, with the
settings of the authors' script (``nonlinear_regression.py``, commit c77c5ad; described in
``docs/papers/podlaski2020-authors-code.md`` §2).

A ``30-20-10-10`` student ``y = W2 tanh(W1 tanh(W0 x + b0) + b1) + b2`` learns, online and in one pass over
``n`` inputs ``x ~ N(0, I)``, the outputs of a teacher of the same shape; every weight and bias of both is
drawn from ``U(-0.01, 0.01)``. The output error ``e = y* - y`` reaches the hidden layers through one of
:data:`METHODS`, layer by layer from the output; each hidden delta is multiplied by ``tanh'`` of the layer's
pre-activation (``deriv_power`` times: the authors' script applies it twice for BP, FA, PBP and NDI and once
for their simulated DI), rescaled to norm ``clip`` when larger, and ``W_l += eta d_l h_{l-1}^T``,
``b_l += eta d_l``. The update of the first example is skipped (all models share the error at iteration 0).
The error is the summed squared error over all ``n`` inputs of the pass.

This module is what the task ``dynamic_inversion_regression`` computes its baselines with, next to the
dynamic inversion that Brian2 simulates; ``tests/oracles/dynamic_inversion_nets.py`` is an independent
implementation that the tests compare it with.
"""

from dataclasses import dataclass

import numpy as np

from spikelearn.tasks.podlaski2020 import controller as ctl

__all__ = ["SIZES", "METHODS", "FEEDBACKS", "Problem", "authors_problem", "forward", "squared_errors",
           "bias_only_floor", "optimise_feedback", "feedback_matrices", "hidden_deltas", "train"]

SIZES = (30, 20, 10, 10)
METHODS = ("bp", "fa", "pbp", "ndi", "none")
FEEDBACKS = ("neg_transpose", "random", "optim")


@dataclass
class Problem:
    """Inputs ``x`` (n_in x n) and teacher outputs ``y`` (n_out x n), the initial student
    ``[W0, W1, W2, b0, b1, b2]``, the small (``U(-0.01, 0.01)``) and large (``U(-0.5, 0.5)``) feedback draws
    ``[B1, B2]`` (``B1``: n_h1 x n_h2, ``B2``: n_h2 x n_out) and the presentation order."""

    x: np.ndarray
    y: np.ndarray
    student: list
    B_small: list
    B_large: list
    order: np.ndarray


def authors_problem(seed, n, sizes=SIZES):
    """The draws of the authors' script seeded with ``np.random.seed(seed)``, in its order: teacher
    (``W0, W1, W2, b0, b1, b2``), inputs, student, the three small and three large feedback matrices (the
    third, for the single-loop model, is drawn and unused), then the presentation order."""
    n0, n1, n2, n3 = (int(s) for s in sizes)
    rs = np.random.RandomState(seed)

    def params():
        return [rs.uniform(-0.01, 0.01, shape) for shape in ((n1, n0), (n2, n1), (n3, n2), n1, n2, n3)]

    teacher = params()
    x = rs.normal(0.0, 1.0, (n0, n))
    student = params()
    small = [rs.uniform(-0.01, 0.01, shape) for shape in ((n1, n2), (n2, n3), (n1, n3))]
    large = [rs.uniform(-0.5, 0.5, shape) for shape in ((n1, n2), (n2, n3), (n1, n3))]
    order = rs.permutation(n)
    return Problem(x=x, y=forward(teacher, x)[-1], student=student, B_small=small[:2], B_large=large[:2],
                   order=order)


def forward(params, x):
    """``(a1, h1, a2, h2, y)`` for one input (vector) or many (columns)."""
    W0, W1, W2, b0, b1, b2 = params
    col = (lambda b: b[:, None]) if np.ndim(x) == 2 else (lambda b: b)
    a1 = W0 @ x + col(b0)
    h1 = np.tanh(a1)
    a2 = W1 @ h1 + col(b1)
    h2 = np.tanh(a2)
    return a1, h1, a2, h2, W2 @ h2 + col(b2)


def squared_errors(params, x, y):
    """Summed squared error of the student over the inputs ``x`` (columns) and targets ``y``."""
    return float(np.sum((y - forward(params, x)[-1]) ** 2))


def bias_only_floor(y):
    """The error of the best input-independent output, ``sum (y* - mean(y*))^2``."""
    return float(np.sum((y - y.mean(axis=1, keepdims=True)) ** 2))


def optimise_feedback(W, B, lr=0.5, min_iter=100, max_iter=2000, target=-0.01):
    """The authors' stabilisation of a random feedback ``B`` for the inversion of ``W`` (their 'optim'
    feedback): gradient steps on ``B`` down the spectral abscissa ``s`` of ``J = [[-I, B], [W, 0]]`` (no leak),
    the gradient taken as ``Q P / tr(Q P)`` with ``(J - sI) P + P (J - sI)^T = 2I`` and
    ``(J - sI)^T Q + Q (J - sI) = 2I`` (the smoothed-abscissa gradient of Vanbiervliet et al. 2009 at
    smoothing zero); at least ``min_iter`` steps, then until ``s < target`` or ``max_iter`` steps. Returns
    ``(B, s)``; ``s >= 0`` means it did not stabilise."""
    import warnings

    from scipy.linalg import solve_continuous_lyapunov

    B = np.array(B, dtype=float)
    n_pre = W.shape[1]
    eye = np.eye(sum(W.shape))
    s = ctl.spectral_abscissa(ctl.controller_jacobian(W, B, 0.0))
    it = 0
    while it < min_iter or (s > target and it < max_iter):
        A = ctl.controller_jacobian(W, B, 0.0) - s * eye
        with warnings.catch_warnings():  # A is singular by construction: SciPy perturbs it and says so
            warnings.simplefilter("ignore", RuntimeWarning)
            P = solve_continuous_lyapunov(A, 2 * eye)
            Q = solve_continuous_lyapunov(A.T, 2 * eye)
        G = Q @ P
        B -= lr * (G / np.trace(G))[:n_pre, n_pre:]
        s = ctl.spectral_abscissa(ctl.controller_jacobian(W, B, 0.0))
        it += 1
    return B, s


def feedback_matrices(problem, feedback):
    """``[B1, B2]`` for ``feedback``: ``"neg_transpose"`` (``-W^T`` of the initial student), ``"random"`` (the
    large draws), ``"optim"`` (the small draws stabilised by :func:`optimise_feedback`; ``B2`` first, as the
    authors do)."""
    if feedback == "neg_transpose":
        return [-problem.student[1].T.copy(), -problem.student[2].T.copy()]
    if feedback == "random":
        return [b.copy() for b in problem.B_large]
    if feedback == "optim":
        B2, s2 = optimise_feedback(problem.student[2], problem.B_small[1])
        B1, s1 = optimise_feedback(problem.student[1], problem.B_small[0])
        if max(s1, s2) >= 0:
            raise ValueError(f"the optimised feedback is still unstable (spectral abscissae {s1:.3g}, {s2:.3g})")
        return [B1, B2]
    raise ValueError(f"feedback must be one of {FEEDBACKS}, found {feedback!r}")


def _propagate(method, W, B, d, alpha):
    if method == "bp":
        return W.T @ d
    if method == "fa":
        return B @ d
    if method == "pbp":
        return np.linalg.lstsq(W, d, rcond=None)[0]
    if method == "ndi":
        return ctl.steady_state(W, B, d, alpha)
    raise ValueError(f"method must be one of {METHODS}, found {method!r}")


def hidden_deltas(method, params, B, e, a1, a2, alpha=0.0, deriv_power=1):
    """``(d1, d2)``, the deltas of the first and second hidden layer for output error ``e``."""
    if method == "none":
        return np.zeros(a1.size), np.zeros(a2.size)
    W1, W2 = params[1], params[2]
    B1, B2 = B if B is not None else (None, None)
    d2 = _propagate(method, W2, B2, e, alpha) * (1.0 - np.tanh(a2) ** 2) ** deriv_power
    d1 = _propagate(method, W1, B1, d2, alpha) * (1.0 - np.tanh(a1) ** 2) ** deriv_power
    return d1, d2


def train(problem, method, eta=1e-2, alpha=0.0, B=None, deriv_power=2, clip=1.0, eval_every=100,
          hidden_gain=(1.0, 1.0)):
    """One online pass of ``method`` over the problem's inputs in its order.

    ``hidden_gain`` multiplies ``(d1, d2)`` before the clip (``(1/alpha**2, 1/alpha)`` is the step size of
    a leak-dominated inversion: the step-size control). Returns a dict: ``eval_iters`` and ``errors`` (the
    summed squared error after the update of those iterations: 0 (no update, the initial error), then
    every ``eval_every``-th, ``eval_every - 1, 2*eval_every - 1, ...``, and the last),
    ``angles`` (n x 2, degrees: the hidden deltas to the backprop deltas with ``tanh'`` once, at the same
    weights and example, before the clip; nan where a delta is zero) and the final ``params``.
    """
    params = [p.copy() for p in problem.student]
    x, y, n = problem.x, problem.y, problem.x.shape[1]
    g1, g2 = (float(g) for g in hidden_gain)
    eval_iters, errors = [], []
    angles = np.full((n, 2), np.nan)
    for it in range(n):
        k = problem.order[it]
        xi = x[:, k]
        a1, h1, a2, h2, out = forward(params, xi)
        e = y[:, k] - out
        d1, d2 = hidden_deltas(method, params, B, e, a1, a2, alpha, deriv_power)
        r1, r2 = hidden_deltas("bp", params, None, e, a1, a2)
        angles[it] = ctl.angle_deg(d1, r1), ctl.angle_deg(d2, r2)
        if it > 0:
            d1, d2 = g1 * d1, g2 * d2
            n1, n2 = np.linalg.norm(d1), np.linalg.norm(d2)
            if n1 > clip:
                d1 = d1 * (clip / n1)
            if n2 > clip:
                d2 = d2 * (clip / n2)
            for p, grad in zip(params, (np.outer(d1, xi), np.outer(d2, h1), np.outer(e, h2), d1, d2, e)):
                p += eta * grad
        if it == 0 or (it + 1) % eval_every == 0 or it == n - 1:
            eval_iters.append(it)
            errors.append(squared_errors(params, x, y))
    return {"eval_iters": np.array(eval_iters), "errors": np.array(errors), "angles": angles, "params": params}
