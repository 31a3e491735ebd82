"""Independent NumPy oracle of the nonlinear-regression experiment of Podlaski & Machens (NeurIPS 2020,
Fig. 3g-k), written from the paper and from the settings documented in
``docs/papers/podlaski2020-authors-code.md`` (no code copied from the authors' repository).

Network: a ``30-20-10-10`` student ``y = W2 tanh(W1 tanh(W0 x + b0) + b1) + b2`` learns online, one pass over
``n`` Gaussian inputs, the targets of a teacher of the same shape. Every weight and bias of teacher and
student is drawn from ``U(-0.01, 0.01)``; inputs are ``N(0, 1)``.

The output error ``e = y* - y`` is carried to the hidden layers by one of

* ``bp``   backpropagation, ``d_{l-1} = W_l^T d_l``;
* ``fa``   feedback alignment, ``d_{l-1} = B_l d_l`` with fixed random ``B_l ~ U(-0.5, 0.5)``;
* ``pbp``  pseudo-backprop, ``d_{l-1} = W_l^+ d_l`` (minimum-norm least squares);
* ``di``   dynamic inversion as the authors simulate it: the same dynamics integrated by forward Euler from
  zero, ``dt = 0.5``, 1000 steps per layer (set ``deriv_power=1``, as their script does for it);
* ``none`` no backward phase: hidden deltas are zero, only the readout ``W2, b2`` learns (negative control);
* ``ndi``  non-dynamic inversion: the closed-form steady state of the inversion dynamics
  ``du/dt = -alpha u + W_l v - d_l``, ``dv/dt = -v + B_l u``, i.e. ``v* = B_l (W_l B_l - alpha I)^-1 d_l``,
  with the feedback fixed at ``B_l = -W_l^T`` of the *initial* weights (the authors' choice);

each followed by multiplication with ``tanh'`` of the layer's pre-activation, ``deriv_power`` times (the
authors' c77c5ad script multiplies BP/FA/PBP/NDI deltas by the derivative twice and the simulated DI deltas
once; ``deriv_power=1`` is the textbook rule and equals their simulated DI). Hidden deltas whose norm
exceeds 1 are rescaled to norm 1; the update is ``W_l += eta d_l h_{l-1}^T``, ``b_l += eta d_l``; the first
example of the pass is not used for an update.

``draws="authors"`` consumes a legacy ``RandomState(seed)`` in the order in which the authors' script
draws (teacher, inputs, student, feedback, then the presentation order), so that a run of this oracle
follows the same trajectory as their script seeded with ``np.random.seed(seed)``; ``draws="own"`` uses an
independent ``default_rng(seed)`` stream.
"""

import math
import warnings

import numpy as np

SIZES = (30, 20, 10, 10)
METHODS = ("bp", "fa", "pbp", "ndi", "di", "none")


def angle_deg(a, b):
    """Angle in degrees between two vectors (or matrices, Frobenius); nan if either is zero."""
    a = np.ravel(a)
    b = np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return math.degrees(math.acos(float(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def inversion_steady_state(W, B, d, alpha):
    """Closed-form fixed point ``v*`` of ``du/dt = -alpha u + W v - d``, ``dv/dt = -v + B u``."""
    n_post, n_pre = W.shape
    if n_post <= n_pre:
        M = W @ B - alpha * np.eye(n_post)
        try:
            return B @ np.linalg.solve(M, d)
        except np.linalg.LinAlgError:
            return B @ np.linalg.lstsq(M, d, rcond=None)[0]
    M = B @ W - alpha * np.eye(n_pre)
    try:
        return np.linalg.solve(M, B @ d)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(M, B @ d, rcond=None)[0]


def simulate_inversion(W, B, d, alpha, dt=0.01, steps=20000):
    """Forward-Euler integration of the same dynamics from zero (for testing the closed form)."""
    u = np.zeros(W.shape[0])
    v = np.zeros(W.shape[1])
    for _ in range(steps):
        u, v = u + dt * (-alpha * u + W @ v - d), v + dt * (-v + B @ u)
    return v


def max_real_eig(W, B, alpha):
    """Spectral abscissa of the Jacobian ``[[-I, B], [W, -alpha I]]`` of the inversion dynamics."""
    n_post, n_pre = W.shape
    J = np.block([[-np.eye(n_pre), B], [W, -alpha * np.eye(n_post)]])
    return float(np.max(np.linalg.eigvals(J).real))


def make_problem(seed, n, draws="own"):
    """Teacher targets, inputs, initial student and feedback matrices, presentation order."""
    n0, n1, n2, n3 = SIZES
    if draws == "authors":
        rs = np.random.RandomState(seed)
        u = lambda shape, s=0.01: rs.uniform(-s, s, shape)
        normal = lambda shape: rs.normal(0.0, 1.0, shape)
    elif draws == "own":
        rs = np.random.default_rng(seed)
        u = lambda shape, s=0.01: rs.uniform(-s, s, shape)
        normal = lambda shape: rs.normal(0.0, 1.0, shape)
    else:
        raise ValueError(f"draws must be 'authors' or 'own', found {draws!r}")
    teacher = [u((n1, n0)), u((n2, n1)), u((n3, n2)), u(n1), u(n2), u(n3)]
    x = normal((n0, n))
    student = [u((n1, n0)), u((n2, n1)), u((n3, n2)), u(n1), u(n2), u(n3)]
    u((n1, n2)), u((n2, n3)), u((n1, n3))  # small feedback draws of the authors' script (unused here)
    B_random = [u((n1, n2), 0.5), u((n2, n3), 0.5)]
    u((n1, n3), 0.5)  # single-loop feedback (unused here)
    order = rs.permutation(n)
    y_true = forward(teacher, x)[-1]
    return x, y_true, student, B_random, order


def forward(params, x):
    W0, W1, W2, b0, b1, b2 = params
    a1 = W0 @ x + (b0[:, None] if x.ndim == 2 else b0)
    h1 = np.tanh(a1)
    a2 = W1 @ h1 + (b1[:, None] if x.ndim == 2 else b1)
    h2 = np.tanh(a2)
    y = W2 @ h2 + (b2[:, None] if x.ndim == 2 else b2)
    return a1, h1, a2, h2, y


def hidden_deltas(method, params, B, e, a1, a2, alpha=0.0, deriv_power=1, di_steps=1000):
    """Deltas of the two hidden layers for one example with output error ``e``."""
    W0, W1, W2 = params[:3]
    if method == "none":
        return np.zeros(W1.shape[1]), np.zeros(W2.shape[1])
    g1 = (1.0 - np.tanh(a1) ** 2) ** deriv_power
    g2 = (1.0 - np.tanh(a2) ** 2) ** deriv_power
    if method == "bp":
        back = lambda W, k, d: W.T @ d
    elif method == "fa":
        back = lambda W, k, d: B[k] @ d
    elif method == "pbp":
        back = lambda W, k, d: np.linalg.lstsq(W, d, rcond=None)[0]
    elif method == "ndi":
        back = lambda W, k, d: inversion_steady_state(W, B[k], d, alpha)
    elif method == "di":
        back = lambda W, k, d: simulate_inversion(W, B[k], d, alpha, dt=0.5, steps=di_steps)
    else:
        raise ValueError(f"unknown method {method!r}")
    d2 = back(W2, 1, e) * g2
    d1 = back(W1, 0, d2) * g1
    return d1, d2


def run(method, seed=1, n=10000, eta=1e-2, alpha=0.01, feedback=None, deriv_power=1, draws="own",
        eval_every=100, clip=1.0, hidden_gain=1.0, di_steps=1000):
    """One online pass; returns dict with the error curve (sum of squared errors over all ``n`` examples),
    its final value relative to the initial one, and angles (deg) of the hidden deltas to BP's deltas
    (textbook, derivative once) at the same weights, per update. ``hidden_gain`` multiplies the hidden
    deltas ``(d1, d2)`` before clipping, a scalar or a pair (1 in the authors' experiment; used to test a
    learning-rate explanation of the results). ``di_steps``: Euler steps of each layer's inversion for ``di``."""
    x, y_true, student, B_random, order = make_problem(seed, n, draws)
    params = [p.copy() for p in student]
    if feedback is None:
        feedback = {"fa": "random", "ndi": "neg-transpose", "di": "neg-transpose"}.get(method, "n/a")
    B = {"random": B_random, "neg-transpose": [-student[1].T.copy(), -student[2].T.copy()],
         "n/a": [None, None]}[feedback]
    gain1, gain2 = np.broadcast_to(np.asarray(hidden_gain, dtype=float), (2,))
    err = lambda: float(np.sum((y_true - forward(params, x)[-1]) ** 2))
    eval_iters, errors = [], []
    angles = np.full((n, 2), np.nan)
    for i in range(n):
        k = order[i]
        xi = x[:, k]
        a1, h1, a2, h2, y = forward(params, xi)
        e = y_true[:, k] - y
        d1, d2 = hidden_deltas(method, params, B, e, a1, a2, alpha, deriv_power, di_steps)
        d1, d2 = gain1 * d1, gain2 * d2
        r1, r2 = hidden_deltas("bp", params, B, e, a1, a2, alpha, 1)
        angles[i] = angle_deg(d1, r1), angle_deg(d2, r2)
        if i > 0:
            n1, n2 = np.linalg.norm(d1), np.linalg.norm(d2)
            if n1 > clip:
                d1 = d1 * (clip / n1)
            if n2 > clip:
                d2 = d2 * (clip / n2)
            params[0] += eta * np.outer(d1, xi)
            params[1] += eta * np.outer(d2, h1)
            params[2] += eta * np.outer(e, h2)
            params[3] += eta * d1
            params[4] += eta * d2
            params[5] += eta * e
        if i % eval_every == 0 or i == n - 1:
            eval_iters.append(i)
            errors.append(err())
    errors = np.array(errors)
    with warnings.catch_warnings():  # all-nan windows (method "none")
        warnings.simplefilter("ignore", RuntimeWarning)
        first100 = np.nanmean(angles[1:101], axis=0)
        last1000 = np.nanmean(angles[-1000:], axis=0)
    return {
        "method": method, "seed": seed, "feedback": feedback, "alpha": alpha, "deriv_power": deriv_power,
        "eval_iters": eval_iters, "error_curve": errors, "error_final": float(errors[-1]),
        "nse_final_vs_init": float(errors[-1] / errors[0]),
        "angle_bp_first100": first100,
        "angle_bp_last1000": last1000,
        "angles": angles, "params": params, "B": B,
    }
