"""NumPy oracle of the authors' training and test protocol for Bredenberg, Simoncelli & Savin (NeurIPS 2020),
batched over B independent networks (for tests and benches only).

Written from the description in ``docs/papers/bredenberg2020-authors-code.md``; none of the authors' code is
used here. ``bench/bredenberg2020_oracle_check.py`` checks :func:`train_exact` against their ``train_run``.

Protocol of :func:`train` (one trial; every network of the batch does the same, with its own noise):

* ``steps = int(T/dt)``; step 0 is the initial state: rates ``r = 0.1``, ``theta(0)`` drawn from the von Mises
  prior ``(mu, kappa)``, input ``s(0)``, running averages ``C = 0``.
* the stimulus drifts: ``theta <- theta - kappa sin(theta - mu) sigma_s^2 dt + sigma_s dW`` (``dW ~ N(0, dt)``),
  wrapped once to ``[-pi, pi]``; ``s_k = [cos(theta - phi_k)]_+`` with ``phi_k = -pi + 2 pi k / n_in``.
* step ``j = 1 .. steps-1``: ``r <- r + dt (-f^-1(r)/R + W r + W_in s(j-1) + b) + sigma dW_r`` (the input of the
  PREVIOUS step); the recorded objective uses the readout of this (unclipped) ``r``; then ``r`` is clipped to
  ``[0.001, 100]``; the third factor ``R`` is the objective of the clipped ``r`` (the authors' rule functions
  recompute it from the clipped rates); the running averages of ``r x^T``, ``x = (r, s(j), 1)``, are updated
  (current sample included); if ``j dt > transient``: ``W, b, W_in`` get ``eta (R (r x^T - C) - lambda w)`` and
  ``D`` its supervised rule, all with the current (pre-update) ``D``.
* readout: estimation ``D r`` (2 x N), target ``(cos theta, sin theta)``, objective ``-|target - D r|^2``, decoder
  rule ``-(D r - target) r^T - weight_l2 D``; classification ``y = sigmoid(100 D r)`` (1 x N), target ``1`` for
  ``theta >= 0`` or ``theta <= -pi``, objective ``t log y + (1 - t) log(1 - y)`` with ``y`` kept in
  ``[1e-4, 1 - 1e-4]``, decoder rule ``100 (t - y) r - weight_l2 D`` (``y`` unclipped there).
* per-step learning rate ``dt * 100 * lr * rate_scale`` (``dt * 100 = 1``: the authors' ``anneal_const`` without
  annealing).

Random draws, per network and per trial, in the authors' order: the rate noise ``normal(0, sqrt(dt), (N,
steps))``, ``theta(0) = vonmises(mu, kappa)``, the stimulus noise ``normal(0, sqrt(dt), (1, steps))``. A
network's source is a ``numpy.random.Generator`` (from an int seed), a ``RandomState``, or the legacy global
generator (``'legacy'``): :func:`train_exact` seeds it as the authors do (:func:`legacy_init`) and then draws in
their order, so that it reproduces their ``train_run(train=True, train_2=True, rt_input=True)`` called right
after their initialisation (their ``__main__`` first runs a 100-trial test, which consumes draws).
"""

import math

import numpy as np

__all__ = ["SETTINGS", "finv", "init_weights", "legacy_init", "stimulus", "target", "test", "theta_path",
           "test_order", "train", "train_exact"]

_COMMON = dict(n_in=12, sigma=0.2, dt=0.01, T=1000.0, transient=40.0, kappa=0.75, mu=0.0, sigma_sampler=0.06,
               theta_avg=0.0015, r_clip=(0.001, 100.0), alpha=0.0, beta=1 / 30, gamma=30.0, R=1.0, slope=100.0,
               y_clip=1e-4, r0=0.1, lr_factor=100.0, w_scale=0.3, w_in_scale=0.5, legacy_seed=120994)

#: The authors' values per task (``lr_*`` are their ``learning_rate*``; per step they are multiplied by
#: ``dt * lr_factor = 1``; ``theta_avg = dt * 3 / 20``; ``y_clip`` the tolerance of ``y`` in the objective).
SETTINGS = {
    "estimation": dict(_COMMON, N=40, n_out=2, lr_W=5e-6, lr_b=5e-6, lr_in=5e-6, lr_D=5e-6,
                       weight_l2=0.5 / 25 ** 2, i_weight_l2=3 / 25 ** 2, bias_weight_l2=3 / 25 ** 2, b_init=0.0),
    "classification": dict(_COMMON, N=25, n_out=1, lr_W=1e-6, lr_b=1e-6, lr_in=1e-6, lr_D=1e-8,
                           weight_l2=3 / 40 ** 2, i_weight_l2=25 / 40 / 10, bias_weight_l2=2 / 40, b_init=0.7),
}
_ALIASES = {"discrimination": "classification"}
_KEYS = ("W", "W_in", "b", "D")


def _task(task):
    task = _ALIASES.get(task, task)
    if task not in SETTINGS:
        raise ValueError(f"task must be 'estimation' or 'classification', found: {task!r}")
    return task


def finv(r, alpha=0.0, beta=1 / 30, gamma=30.0):
    """Inverse of ``f(x) = beta log(1 + exp(alpha + gamma x))``: ``(u + log1p(-exp(-u)) - alpha)/gamma``,
    ``u = r/beta`` (the stable form of ``(log(exp(r/beta) - 1) - alpha)/gamma``)."""
    u = np.asarray(r, dtype=float) / beta
    return (u + np.log1p(-np.exp(-u)) - alpha) / gamma


def stimulus(theta, n_in=12):
    """Input rates ``[cos(theta - phi_k)]_+``, ``phi_k = -pi + 2 pi k/n_in``: shape ``theta.shape + (n_in,)``."""
    phi = np.arange(-np.pi, np.pi, 2 * np.pi / n_in)
    th = np.asarray(theta, dtype=float)[..., None]
    return np.maximum(0.0, np.cos(phi) * np.cos(th) + np.sin(phi) * np.sin(th))


def target(task, theta):
    """Readout target: ``(cos, sin)`` (estimation) or ``[theta >= 0 or theta <= -pi]`` (classification)."""
    th = np.asarray(theta, dtype=float)
    if _task(task) == "estimation":
        return np.stack([np.cos(th), np.sin(th)], axis=-1)
    return ((th >= 0) | (th <= -np.pi)).astype(float)[..., None]


def theta_path(theta0, dW, kappa=0.75, mu=0.0, sigma_s=0.06, dt=0.01):
    """The drifting stimulus: ``theta[0] = theta0`` and, for ``j >= 1``,
    ``theta[j] = wrap(theta[j-1] - kappa sin(theta[j-1] - mu) sigma_s^2 dt + sigma_s dW[j])``, where ``wrap`` adds
    or subtracts ``2 pi`` once when outside ``[-pi, pi]``. ``dW``: ``(steps, B)`` increments ``~ N(0, dt)``
    (row 0 unused). Its stationary law is von Mises with concentration ``2 kappa`` (no factor 1/2 in the drift).
    """
    dW = np.asarray(dW, dtype=float)
    out = np.empty_like(dW)
    theta0 = np.broadcast_to(np.asarray(theta0, dtype=float), dW.shape[1:])
    pi, sin = math.pi, math.sin
    c = sigma_s ** 2
    for b in range(dW.shape[1]):
        th = float(theta0[b])
        path = [th]
        for inc in (sigma_s * dW[1:, b]).tolist():
            th = th + (kappa * -1 * sin(th - mu)) * c * dt + inc
            if th < -pi:
                th = pi + (th + pi)
            elif th > pi:
                th = -pi + (th - pi)
            path.append(th)
        out[:, b] = path
    return out


def _sources(rngs_or_seeds):
    """A list of per-network random sources: int -> default_rng(int); Generator / RandomState as given;
    ``'legacy'`` (or the ``numpy.random`` module) -> the legacy global generator (B = 1 only)."""
    single = (int, np.integer, str, np.random.Generator, np.random.RandomState)
    items = [rngs_or_seeds] if isinstance(rngs_or_seeds, single) or rngs_or_seeds is np.random else list(
        rngs_or_seeds)
    out = []
    for it in items:
        if isinstance(it, str):
            if it != "legacy":
                raise ValueError(f"unknown random source {it!r}")
            out.append(np.random)
        elif isinstance(it, (int, np.integer)):
            out.append(np.random.default_rng(int(it)))
        else:
            out.append(it)
    if any(o is np.random for o in out) and len(out) > 1:
        raise ValueError("the legacy global generator can drive only one network (B = 1)")
    if not out:
        raise ValueError("need at least one network")
    return out


def _draw_init(cfg, src):
    N, n_in, n_out = cfg["N"], cfg["n_in"], cfg["n_out"]
    D = src.uniform(-1 / N, 1 / N, size=(n_out, N))
    w, wi = cfg["w_scale"] / np.sqrt(N), cfg["w_in_scale"] / np.sqrt(n_in)
    return D, src.uniform(-w, w, (N, N)), src.uniform(-wi, wi, (N, n_in))


def _pack(cfg, Ds, Ws, Wins):
    B = len(Ds)
    return dict(W=np.stack(Ws), W_in=np.stack(Wins), b=np.full((B, cfg["N"]), float(cfg["b_init"])),
                D=np.stack(Ds))


def init_weights(task, rngs_or_seeds):
    """Initial weights for each network, drawn from its source in the order ``D ~ U(+-1/N)`` (n_out x N),
    ``W ~ U(+-0.3/sqrt(N))``, ``W_in ~ U(+-0.5/sqrt(n_in))``; ``b`` = the task's initial bias.
    Returns a dict of batched arrays ``W (B,N,N)``, ``W_in (B,N,n_in)``, ``b (B,N)``, ``D (B,n_out,N)``."""
    cfg = SETTINGS[_task(task)]
    draws = [_draw_init(cfg, s) for s in _sources(rngs_or_seeds)]
    return _pack(cfg, *zip(*draws))


def legacy_init(task, seed=120994):
    """The authors' initialisation on the legacy global generator: ``np.random.seed(seed)``; ``D``;
    ``np.random.seed(seed)`` again; ``W``; ``W_in``. Leaves the global generator where their training starts.
    Returns batched arrays with B = 1."""
    cfg = SETTINGS[_task(task)]
    N, n_in, n_out = cfg["N"], cfg["n_in"], cfg["n_out"]
    np.random.seed(seed)
    D = np.random.uniform(-1 / N, 1 / N, size=(n_out, N))
    np.random.seed(seed)
    w, wi = cfg["w_scale"] / np.sqrt(N), cfg["w_in_scale"] / np.sqrt(n_in)
    W = np.random.uniform(-w, w, (N, N))
    W_in = np.random.uniform(-wi, wi, (N, n_in))
    return _pack(cfg, [D], [W], [W_in])


def _batched(weights, B):
    out = {}
    for k, nd in zip(_KEYS, (2, 2, 1, 2)):
        a = np.asarray(weights[k], dtype=float)
        if a.ndim == nd:
            a = np.broadcast_to(a, (B,) + a.shape)
        if a.shape[0] != B:
            raise ValueError(f"init[{k!r}] has {a.shape[0]} networks, the sources give {B}")
        out[k] = np.array(a, dtype=float)
    return out


def _objective(task, cfg, y, tgt):
    """Objective from readouts ``D r`` (..., n_out) and targets (..., n_out); shape (...)."""
    if task == "estimation":
        return -np.sum((tgt - y) ** 2, axis=-1)
    tol = cfg["y_clip"]
    with np.errstate(over="ignore"):
        p = np.clip(1 / (1 + np.exp(-cfg["slope"] * y[..., 0])), tol, 1 - tol)
    t = tgt[..., 0]
    return np.where(t > 0.5, np.log(p), np.log(1 - p))


def _draw_trial(srcs, cfg, steps, mu, kappa, sigma):
    """One trial's noise for every network, in the authors' draw order; returns the scaled rate noise
    (steps, B, N) and the stimulus path (steps, B)."""
    B, N = len(srcs), cfg["N"]
    sq = np.sqrt(cfg["dt"])
    noise = np.empty((steps, B, N))
    th0, dW = np.empty(B), np.empty((steps, B))
    for b, src in enumerate(srcs):
        noise[:, b, :] = src.normal(0, sq, size=(N, steps)).T
        th0[b] = src.vonmises(mu, kappa, size=1)[0]
        dW[:, b] = src.normal(0, sq, size=(1, steps))[0]
    noise *= sigma
    return noise, theta_path(th0, dW, kappa, mu, cfg["sigma_sampler"], cfg["dt"])


def _draw_angle(srcs, cfg, steps, mu, kappa):
    """An independent stimulus path per network (the shuffled control's reward target), (steps, B)."""
    sq = np.sqrt(cfg["dt"])
    th0 = np.array([src.vonmises(mu, kappa, size=1)[0] for src in srcs])
    dW = np.stack([src.normal(0, sq, size=steps) for src in srcs], axis=1)
    return theta_path(th0, dW, kappa, mu, cfg["sigma_sampler"], cfg["dt"])


def _trial(task, cfg, P, D, noise, theta, learn_from, eta_cols, keep_cols, eta_D, keep_D, plastic, learn,
           theta_r=None, brian_order=False):
    """Run one trial in place on ``P = [W | W_in | b]`` (B, N, K) and ``D``; returns the pre-clip readouts
    (steps, B, n_out; row 0 unset) and the post-clip objective (steps, B). ``theta_r`` (steps, B): the third
    factor is the objective against this angle instead (the shuffled control); the decoder learns ``theta``."""
    steps, B, N = noise.shape
    n_in = cfg["n_in"]
    K = P.shape[2]
    S = stimulus(theta, n_in)                                     # (steps, B, n_in)
    tgt = target(task, theta)                                     # (steps, B, n_out)
    lo, hi = cfg["r_clip"]
    dt, th_avg = cfg["dt"], cfg["theta_avg"]
    inv_beta = 1.0 / cfg["beta"]
    alpha = cfg["alpha"]
    c_fin = 1.0 / (cfg["gamma"] * cfg["R"])
    est = task == "estimation"
    slope, tol = cfg["slope"], cfg["y_clip"]
    if not est:
        tt = tgt[:, :, 0]
        a_sel, c_sel = 2 * tt - 1, 1 - tt                         # log(a y + c) = t log y + (1-t) log(1-y)
        grad_D = eta_D * slope                                    # the decoder rule's factor 100
        if theta_r is not None:
            tr = target(task, theta_r)[:, :, 0]
            a_r, c_r = 2 * tr - 1, 1 - tr
    elif theta_r is not None:
        tgt_r = target(task, theta_r)
    x = np.empty((B, K))
    x[:, :N] = cfg["r0"]
    x[:, N:N + n_in] = S[0]
    x[:, K - 1] = 1.0
    r = x[:, :N]                                                  # view: the previous (clipped) rates
    x3 = x[:, :, None]
    rr = np.empty((B, N, 2))
    rnew, rc = rr[:, :, 0], rr[:, :, 1]
    C = np.zeros((B, N, K))
    M = np.empty((B, N, K))
    tmp = np.empty((B, N, K))
    u = np.empty((B, N))
    ypre = np.zeros((steps, B, cfg["n_out"]))
    Rcur = np.zeros((steps, B))
    omth = 1.0 if brian_order else 1.0 - th_avg
    track = plastic and learn
    keep_full = np.ascontiguousarray(np.broadcast_to(keep_cols, P.shape))
    for j in range(1, steps):
        # Euler-Maruyama with the previous step's input: x = (r(j-1), s(j-1), 1); the Brian2 task's order
        # drives the step with this step's input
        if brian_order:
            x[:, N:N + n_in] = S[j]
        drive = np.matmul(P, x3)[:, :, 0]
        np.multiply(r, -inv_beta, out=u)                          # u = -r/beta
        fi = np.log1p(-np.exp(u))
        fi -= u
        if alpha:
            fi -= alpha
        fi *= c_fin                                               # f^-1(r)/R
        drive -= fi
        drive *= dt
        np.add(r, drive, out=rnew)
        rnew += noise[j]
        np.clip(rnew, lo, hi, out=rc)
        Y = np.matmul(D, rr)                                      # (B, n_out, 2): unclipped, clipped
        ypre[j] = Y[:, :, 0]
        if est:
            err = Y[:, :, 1] - tgt[j]
            R = -np.einsum("bi,bi->b", err, err)
        else:
            with np.errstate(over="ignore"):
                sig = 1.0 / (1.0 + np.exp(-slope * Y[:, 0, 1]))
            R = np.log(a_sel[j] * np.clip(sig, tol, 1 - tol) + c_sel[j])
        Rcur[j] = R
        x[:, :N] = rc
        x[:, N:N + n_in] = S[j]
        if track:
            # C <- (1 - th) C + th r x^T, with r x^T = (r r^T | r s^T | r); then M = r x^T - C_old, so that
            # r x^T - C_new = (1 - th) M
            np.einsum("bn,bk->bnk", rc, x, out=M)
            M -= C
            np.multiply(M, th_avg, out=tmp)
            C += tmp
        if learn and j >= learn_from:
            if track:
                if theta_r is None:
                    Ru = R
                elif est:
                    Ru = -np.sum((Y[:, :, 1] - tgt_r[j]) ** 2, axis=1)
                else:
                    Ru = np.log(a_r[j] * np.clip(sig, tol, 1 - tol) + c_r[j])
                M *= ((omth * Ru)[:, None] * eta_cols)[:, None, :]
                P *= keep_full
                P += M
            D *= keep_D
            if est:
                D -= (eta_D * err)[:, :, None] * rc[:, None, :]
            else:
                D += (grad_D * (tt[j] - sig))[:, None, None] * rc[:, None, :]
    return ypre, Rcur, tgt


def _config(task, T=None, transient=None, sigma=None):
    cfg = dict(SETTINGS[task])
    for k, v in (("T", T), ("transient", transient), ("sigma", sigma)):
        if v is not None:
            cfg[k] = float(v)
    return cfg


def train(task, rngs_or_seeds, n_trials, rate_scale=1.0, sigma=None, mu=0.0, kappa=0.75, init=None,
          shuffle_reward=False, plastic=True, T=None, transient=None, brian_order=False):
    """Train B networks with the authors' protocol (module docstring); returns ``(weights, objective)``.

    Parameters
    ----------
    task : {'estimation', 'classification'}
    rngs_or_seeds : int, sequence of ints / Generators / RandomStates, or ``'legacy'``
        One random source per network (B = its length). ``'legacy'`` uses the legacy global generator (see
        :func:`train_exact`).
    n_trials : int
    rate_scale : float
        Multiplies every learning rate (W, b, W_in and the decoder).
    sigma : float, optional
        Rate-noise amplitude (default 0.2).
    mu, kappa : float
        Prior of ``theta(0)`` and of the drift (both use the same values).
    init : dict, optional
        ``W, W_in, b, D`` (batched, or unbatched to give every network the same); e.g. the weights returned by
        an earlier run, to continue training under another prior. Default: :func:`init_weights` drawn from the
        sources (before any trial noise).
    shuffle_reward : bool
        The third factor of ``W, b, W_in`` is the objective computed against an independent stimulus path
        (same law, drawn after the trial's own noise), as the Brian2 task's ``control = "shuffled"``: the
        reward's form and statistics, no relation to the stimulus the network sees. The decoder keeps its
        supervised rule on the real stimulus.
    plastic : bool
        False: ``W, W_in, b`` frozen; the decoder still learns.
    T, transient : float, optional
        Trial length and learning gate in time units (default 1000 and 40).
    brian_order : bool
        The step order of the Brian2 task instead of the authors': this step's input drives the rates, and
        the running averages are updated with the weights (no factor ``1 - theta_avg``).

    Returns
    -------
    weights : dict of batched arrays ``W (B,N,N)``, ``W_in (B,N,n_in)``, ``b (B,N)``, ``D (B,n_out,N)``
    objective : ndarray (B, n_trials)
        Per trial, the mean of the recorded objective (readout of the rates before the clip, as the authors'
        ``obj_record``) over the learning steps ``j dt > transient``; with ``shuffle_reward`` the network's own
        objective, not the shuffled third factor.
    """
    task = _task(task)
    cfg = _config(task, T, transient, sigma)
    srcs = _sources(rngs_or_seeds)
    B, N, n_in = len(srcs), cfg["N"], cfg["n_in"]
    w = init_weights(task, srcs) if init is None else _batched(init, B)
    P = np.concatenate([w["W"], w["W_in"], w["b"][:, :, None]], axis=2)
    D = w["D"].copy()
    K = P.shape[2]
    dt = cfg["dt"]
    step_factor = dt * cfg["lr_factor"] * rate_scale
    eta_cols = np.empty(K)
    lam_cols = np.empty(K)
    eta_cols[:N], lam_cols[:N] = step_factor * cfg["lr_W"], cfg["weight_l2"]
    eta_cols[N:N + n_in], lam_cols[N:N + n_in] = step_factor * cfg["lr_in"], cfg["i_weight_l2"]
    eta_cols[K - 1], lam_cols[K - 1] = step_factor * cfg["lr_b"], cfg["bias_weight_l2"]
    keep_cols = 1.0 - eta_cols * lam_cols
    eta_D = step_factor * cfg["lr_D"]
    keep_D = 1.0 - eta_D * cfg["weight_l2"]
    steps = int(cfg["T"] / dt)
    js = np.arange(steps)
    gate = js * dt > cfg["transient"]
    learn_from = int(np.argmax(gate)) if gate.any() else steps
    args = (learn_from, eta_cols, keep_cols, eta_D, keep_D, plastic)
    objective = np.full((B, n_trials), np.nan)
    for n in range(n_trials):
        noise, theta = _draw_trial(srcs, cfg, steps, mu, kappa, cfg["sigma"])
        theta_r = _draw_angle(srcs, cfg, steps, mu, kappa) if shuffle_reward else None
        ypre, _, tgt = _trial(task, cfg, P, D, noise, theta, *args, learn=True, theta_r=theta_r,
                              brian_order=brian_order)
        if learn_from < steps:
            objective[:, n] = _objective(task, cfg, ypre[learn_from:], tgt[learn_from:]).mean(axis=0)
    weights = dict(W=P[:, :, :N].copy(), W_in=P[:, :, N:N + n_in].copy(), b=P[:, :, K - 1].copy(), D=D)
    return weights, objective


def train_exact(task, n_trials, seed=120994, **kwargs):
    """B = 1 on the legacy global generator in the authors' draw order: :func:`legacy_init` (seed, D, reseed,
    W, W_in), then per trial the rate noise (N x steps), ``theta(0)``, the stimulus noise (1 x steps).
    Keyword arguments as :func:`train` (``init`` is not allowed)."""
    if "init" in kwargs:
        raise TypeError("train_exact draws its own initial weights")
    init = legacy_init(task, seed)
    return train(task, "legacy", n_trials, init=init, **kwargs)


def test_order(n_angles, n_repeats=3, seed=0):
    """The angle index of each hold in :func:`test`: ``default_rng(seed).permutation`` of the tiled list."""
    return np.random.default_rng(seed).permutation(np.tile(np.arange(n_angles), n_repeats))


def test(weights, angles, n_repeats=3, hold=200.0, settle=50.0, record_every=20, sigma=None, seed=0,
         task=None, rngs=None):
    """Run the trained networks without learning on fixed angles.

    The list ``tile(angles, n_repeats)`` is shown in the order ``np.random.default_rng(seed).permutation`` of
    it, each angle held ``hold`` time units, with no reset between holds; the rates start at 0.1. Dynamics and
    clip as in training (the input of the previous step drives each step, so a new angle acts one step late).
    Rates are recorded every ``record_every`` steps from ``settle`` time units into each hold.

    Rate noise: network b draws ``normal(0, sqrt(dt), (steps_hold, N))`` per hold from ``rngs[b]``, by default
    ``default_rng(SeedSequence(seed).spawn(B)[b])``.

    Returns
    -------
    rates : ndarray (B, n_angles, n_repeats, n_samples, N)
        The clipped rates (as the authors' ``r_record``).
    readout : ndarray (B, n_angles, n_repeats, n_samples, n_out)
        ``D r`` of the rates before the clip (as the authors' ``o``, before the sigmoid for classification).
    """
    w = {k: np.asarray(weights[k], dtype=float) for k in _KEYS}
    if w["W"].ndim == 2:
        w = {k: v[None] for k, v in w.items()}
    B, n_out = w["D"].shape[:2]
    if task is None:
        task = "estimation" if n_out == 2 else "classification"
    task = _task(task)
    cfg = _config(task, sigma=sigma)
    N, n_in, dt = w["W"].shape[1], w["W_in"].shape[2], cfg["dt"]
    angles = np.asarray(angles, dtype=float).ravel()
    n_ang = len(angles)
    order = test_order(n_ang, n_repeats, seed)
    if rngs is None:
        rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(B)]
    if len(rngs) != B:
        raise ValueError(f"need {B} random sources, got {len(rngs)}")
    L = int(round(hold / dt))
    rec = np.arange(int(round(settle / dt)), L, int(record_every))
    n_s = len(rec)
    rates = np.empty((B, n_ang, n_repeats, n_s, N))
    readout = np.empty((B, n_ang, n_repeats, n_s, n_out))
    P = np.concatenate([w["W"], w["W_in"], w["b"][:, :, None]], axis=2)
    D = w["D"]
    K = P.shape[2]
    lo, hi = cfg["r_clip"]
    inv_beta, alpha, c_fin = 1.0 / cfg["beta"], cfg["alpha"], 1.0 / (cfg["gamma"] * cfg["R"])
    S_ang = stimulus(angles, n_in)
    x = np.empty((B, K))
    x[:, :N] = cfg["r0"]
    x[:, N:N + n_in] = S_ang[order[0]]
    x[:, K - 1] = 1.0
    r = x[:, :N]
    x3 = x[:, :, None]
    rnew = np.empty((B, N))
    seen = np.zeros(n_ang, dtype=int)
    sq = np.sqrt(dt)
    for h, a in enumerate(order):
        rep = seen[a]
        seen[a] += 1
        noise = np.stack([g.normal(0, sq, size=(L, N)) for g in rngs], axis=1)
        noise *= cfg["sigma"]
        s_cur = S_ang[a]
        k_rec = 0
        for m in range(L):
            record = k_rec < n_s and m == rec[k_rec]
            if h == 0 and m == 0:                                 # the initial state
                rnew[:] = r
                rc = r.copy()
            else:
                drive = np.matmul(P, x3)[:, :, 0]
                u = r * -inv_beta
                fi = np.log1p(-np.exp(u)) - u
                if alpha:
                    fi -= alpha
                drive -= fi * c_fin
                drive *= dt
                np.add(r, drive, out=rnew)
                rnew += noise[m]
                rc = np.clip(rnew, lo, hi)
                x[:, :N] = rc
            x[:, N:N + n_in] = s_cur
            if record:
                rates[:, a, rep, k_rec] = rc
                readout[:, a, rep, k_rec] = np.einsum("bon,bn->bo", D, rnew)
                k_rec += 1
    return rates, readout
