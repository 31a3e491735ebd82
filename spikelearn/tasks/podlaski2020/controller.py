"""Pure NumPy/SciPy reference of dynamic inversion (Podlaski & Machens, NeurIPS 2020).

The backward pass of one layer ``h_l = g(W h_{l-1})`` is a linear controller driven by the error ``e``
of layer ``l`` (in units of the time constant ``tau``)::

    tau d(delta~)/dt = -delta~ + B u
    tau du/dt        = k (W delta~ - e) - alpha u

``delta~`` (size ``n_pre``) is the error propagated to layer ``l - 1``, ``u`` (size ``n_post``) the
controller state, ``B`` (``n_pre x n_post``) the fixed feedback, ``k`` the controller gain and ``alpha``
a leak. The state ``x = (delta~, u)`` obeys ``tau dx/dt = J x + (0, -k e)`` with the Jacobian
``J = [[-I, B], [k W, -alpha I]]``; when every eigenvalue of ``J`` has a negative real part it converges
to ``delta~ = B (W B - (alpha/k) I)^-1 e``. At ``alpha = 0`` that solves ``W delta~ = e`` exactly (a
generalised inverse of ``W``), and with ``B = -W^T`` it is the pseudo-inverse solution ``W^+ e``.

A random ``B`` is usually unstable; :func:`stabilise_feedback` makes it stable by gradient descent on the
smoothed spectral abscissa of ``J`` (Vanbiervliet et al. 2009, SIAM J. Matrix Anal. Appl. 30:1161; used
for networks by Hennequin et al. 2014, Neuron 82:1394). :func:`check_stable` raises
:class:`spikelearn.errors.BuildError` for an unstable system, before anything is simulated.

The learning experiments' NumPy code is in :mod:`spikelearn.tasks.podlaski2020.regression` and
:mod:`spikelearn.tasks.podlaski2020.classification`.
"""

import logging

import numpy as np

from spikelearn.errors import BuildError

__all__ = [
    "steady_state",
    "pinv_solution",
    "controller_jacobian",
    "spectral_abscissa",
    "check_stable",
    "smoothed_spectral_abscissa",
    "stabilise_feedback",
    "controller_trajectory",
    "angle_deg",
    "check_authors_step",
]

logger = logging.getLogger(__name__)

def _as_matrix(name, value):
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, found shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or Inf")
    return arr


def _check_pair(W, B):
    W = _as_matrix("W", W)
    B = _as_matrix("B", B)
    if B.shape != (W.shape[1], W.shape[0]):
        raise ValueError(f"B must have shape {(W.shape[1], W.shape[0])} (the shape of W^T), "
                         f"found {B.shape}")
    return W, B


def _check_gain(alpha, gain):
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be finite and >= 0, found: {alpha}")
    if not np.isfinite(gain) or gain <= 0:
        raise ValueError(f"gain must be finite and > 0, found: {gain}")


def steady_state(W, B, e, alpha=0.0, gain=1.0):
    """Closed-form fixed point ``delta~ = B (W B - (alpha/gain) I)^-1 e`` of the controller.

    Parameters
    ----------
    W : ndarray, shape (n_post, n_pre)
        Forward weights of the layer.
    B : ndarray, shape (n_pre, n_post)
        Feedback weights.
    e : ndarray, shape (n_post,) or (n_post, n_examples)
        Error(s) at the layer's output.
    alpha : float
        Controller leak (>= 0).
    gain : float
        Controller gain ``k`` (> 0); only ``alpha/gain`` enters the fixed point.

    Returns
    -------
    ndarray, shape (n_pre,) or (n_pre, n_examples)

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    >>> d = steady_state(W, -W.T, np.array([1.0, 1.0]))
    >>> np.allclose(W @ d, [1.0, 1.0])
    True
    """
    W, B = _check_pair(W, B)
    _check_gain(alpha, gain)
    e = np.asarray(e, dtype=float)
    if e.shape[0] != W.shape[0]:
        raise ValueError(f"e must have {W.shape[0]} rows (the outputs of W), found shape {e.shape}")
    M = W @ B - (alpha / gain) * np.eye(W.shape[0])
    return B @ np.linalg.solve(M, e)


def pinv_solution(W, e):
    """Minimum-norm solution ``W^+ e`` of ``W delta~ = e``."""
    W = _as_matrix("W", W)
    return np.linalg.pinv(W) @ np.asarray(e, dtype=float)


def controller_jacobian(W, B, alpha=0.0, gain=1.0):
    """Jacobian ``[[-I, B], [gain*W, -alpha*I]]`` of the controller (in units of ``1/tau``)."""
    W, B = _check_pair(W, B)
    _check_gain(alpha, gain)
    n_post, n_pre = W.shape
    return np.block([[-np.eye(n_pre), B], [gain * W, -alpha * np.eye(n_post)]])


def spectral_abscissa(J):
    """Largest real part of the eigenvalues of ``J``."""
    return float(np.max(np.linalg.eigvals(_as_matrix("J", J)).real))


def check_stable(W, B, alpha=0.0, gain=1.0, margin=0.0, what="dynamic inversion controller",
                 hint="use B = -W^T or stabilise the random B first (stabilise_feedback)"):
    """Raise :class:`BuildError` unless every eigenvalue of the controller Jacobian has real part
    below ``-margin``; return the spectral abscissa otherwise.

    ``what`` names the controller and ``hint`` says what to do, in the error message.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, found: {margin}")
    J = controller_jacobian(W, B, alpha, gain)
    sa = spectral_abscissa(J)
    if not sa < -margin:
        raise BuildError(
            f"{what} is unstable: the largest real part of the eigenvalues of [[-I, B], [k W, -alpha I]] "
            f"(alpha={alpha:g}, k={gain:g}) is {sa:+.4g}/tau, it must be < {-margin if margin else 0:g}/tau; "
            f"{hint}")
    return sa


def _lyap_trace(As, eps):
    # tr(P) - 1/eps, P solving As P + P As^T = -I
    from scipy import linalg  # here, not at import: loading the task registry stays cheap

    P = linalg.solve_continuous_lyapunov(As, -np.eye(As.shape[0]))
    return np.trace(P) - 1.0 / eps


def smoothed_spectral_abscissa(J, eps=0.01):
    """Smoothed spectral abscissa of ``J`` and its gradient with respect to ``J``.

    The smoothed abscissa is the ``s`` at which ``int_0^inf ||exp((J - s I) t)||_F^2 dt = 1/eps``; it is
    larger than the spectral abscissa and tends to it as ``eps -> 0``. The gradient is
    ``Q P / tr(Q P)`` with ``(J-sI) P + P (J-sI)^T = -I`` and ``(J-sI)^T Q + Q (J-sI) = -I``
    (Vanbiervliet et al. 2009).

    Returns
    -------
    s : float
    grad : ndarray, same shape as ``J``
    """
    from scipy import linalg, optimize

    J = _as_matrix("J", J)
    if not eps > 0:
        raise ValueError(f"eps must be > 0, found: {eps}")
    n = J.shape[0]
    identity = np.eye(n)
    lo = spectral_abscissa(J) + 1e-9
    hi = lo + 1.0
    while _lyap_trace(J - hi * identity, eps) > 0:
        hi = lo + 2 * (hi - lo)
    f_lo = _lyap_trace(J - lo * identity, eps)
    if not f_lo > 0:  # P is huge just above the abscissa, so this only fails numerically
        lo = lo + 1e-6
    s = optimize.brentq(lambda x: _lyap_trace(J - x * identity, eps), lo, hi, xtol=1e-12)
    As = J - s * identity
    P = linalg.solve_continuous_lyapunov(As, -identity)
    Q = linalg.solve_continuous_lyapunov(As.T, -identity)
    QP = Q @ P
    return float(s), QP / np.trace(QP)


def stabilise_feedback(W, B, alpha=0.0, gain=1.0, target=-0.05, eps=0.01, step=0.2,
                       max_iter=5000):
    """Make the controller with feedback ``B`` stable by gradient descent of the smoothed spectral
    abscissa of its Jacobian with respect to ``B`` only (``W`` is the forward map and is kept).

    Parameters
    ----------
    W, B : ndarray
        Forward weights (n_post, n_pre) and the initial feedback (n_pre, n_post).
    alpha, gain : float
        Controller leak and gain.
    target : float
        Stop once the spectral abscissa (in ``1/tau``) is below this value (< 0).
    eps : float
        Smoothing of the abscissa (see :func:`smoothed_spectral_abscissa`).
    step : float
        Gradient step.
    max_iter : int
        Give up after this many steps (raises :class:`BuildError`).

    Returns
    -------
    B : ndarray
        The stabilised feedback.
    info : dict
        ``initial_abscissa``, ``final_abscissa``, ``iterations``, ``relative_change``
        (``||B - B0||_F / ||B0||_F``).
    """
    W, B0 = _check_pair(W, B)
    _check_gain(alpha, gain)
    if not target < 0:
        raise ValueError(f"target must be < 0, found: {target}")
    if not step > 0:
        raise ValueError(f"step must be > 0, found: {step}")
    n_pre = W.shape[1]
    B = B0.copy()
    sa0 = spectral_abscissa(controller_jacobian(W, B, alpha, gain))
    sa = sa0
    it = 0
    for it in range(1, max_iter + 1):
        if sa < target:
            it -= 1
            break
        _, grad = smoothed_spectral_abscissa(controller_jacobian(W, B, alpha, gain), eps)
        g = grad[:n_pre, n_pre:]
        B = B - step * g / max(np.linalg.norm(g), 1e-12) * min(1.0, abs(sa) + 0.05)
        sa = spectral_abscissa(controller_jacobian(W, B, alpha, gain))
    else:
        raise BuildError(f"stabilise_feedback: spectral abscissa still {sa:+.4g}/tau after "
                         f"{max_iter} steps (target {target:g})")
    info = {
        "initial_abscissa": sa0,
        "final_abscissa": sa,
        "iterations": it,
        "relative_change": float(np.linalg.norm(B - B0) / max(np.linalg.norm(B0), 1e-300)),
    }
    logger.info("stabilised feedback: abscissa %.4g -> %.4g in %d steps", sa0, sa, it)
    return B, info


def controller_trajectory(W, B, e, times, alpha=0.0, gain=1.0):
    """Exact solution of the controller from ``delta~ = 0, u = 0`` under a constant error ``e``.

    Parameters
    ----------
    times : array_like
        Times in units of ``tau``.

    Returns
    -------
    delta : ndarray, shape (n_times, n_pre)
    u : ndarray, shape (n_times, n_post)
    """
    from scipy import linalg

    J = controller_jacobian(W, B, alpha, gain)
    n_post, n_pre = np.shape(W)
    e = np.asarray(e, dtype=float)
    drive = np.concatenate([np.zeros(n_pre), -gain * e])
    x_star = -np.linalg.solve(J, drive)
    times = np.asarray(times, dtype=float)
    out = np.empty((times.size, n_pre + n_post))
    for n, t in enumerate(times):
        out[n] = x_star + linalg.expm(J * t) @ (-x_star)
    return out[:, :n_pre], out[:, n_pre:]


def angle_deg(a, b):
    """Angle in degrees between two vectors; nan if either is zero."""
    a = np.ravel(a)
    b = np.ravel(b)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))))


def check_authors_step(task, tau, dt):
    """Raise :class:`BuildError` unless ``dt = tau/2``, the Euler step of the authors' inversion."""
    if abs(float(tau) / float(dt) - 2.0) > 1e-9:
        raise BuildError(f"task {task}: dt must be tau/2 (the authors' Euler step), found dt = {float(dt) * 1e3:g} ms "
                         f"and tau = {float(tau) * 1e3:g} ms")
