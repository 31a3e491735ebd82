"""Pure-NumPy references for oscillation-gated dendritic sampling (Lyo & Savin, ICLR 2024).

Everything the dendritic tasks and tests compare the Brian2 samplers with is worked out here,
independently of Brian2:

- the oscillation and the variance-preserving noise schedule (:func:`oscillation`, :func:`schedule`);
- Gaussian mixtures with diagonal components, their diffused marginals and exact scores
  (:class:`Mixture`, :func:`mixture_score`);
- the exact posterior of such a mixture under the sensory (``x1``) and context (``x2``) observations
  gated on or off (:func:`posterior_mixture`), for the four gate patterns;
- sample statistics: mode assignment, mode weights, histogram KL against exact bin masses,
  P(same mode next cycle), lag-1 correlation, sliced Wasserstein distance, distance to the swiss-roll
  manifold;
- a NumPy Euler-Maruyama simulation of the oscillation-gated sampler (:func:`simulate_sampler`), used for
  calibration and as the negative controls' reference;
- the swiss-roll data set and the offline training of epsilon-prediction dendritic denoisers
  (:func:`train_denoiser`, :func:`load_denoiser`, :func:`denoiser_eps`; which trees exist and where
  their weights live: :mod:`spikelearn.tasks.lyo2024.learned`).

Conventions: ``u(t) = (1 - cos 2 pi t / T) / 2``; ``beta(u) = beta_min + (beta_max - beta_min) u``;
``abar(u) = exp(-beta_min u - (beta_max - beta_min) u^2 / 2)``; noise power ``g^2 = beta(u) |du/dt|``.
Rising half of each cycle: ``dx = -g^2 x / 2 dt + g dW``; falling half:
``dx = [g^2 x / 2 + g^2 s(x, u)] dt + g dW``, ``s`` the score of the diffused prior (or posterior).
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "BETA_MIN",
    "BETA_MAX",
    "Mixture",
    "PRIOR",
    "oscillation",
    "schedule",
    "posterior_mixture",
    "gate_patterns",
    "assign_modes",
    "mode_weights",
    "histogram_kl",
    "same_mode_probability",
    "lag1_correlation",
    "sliced_wasserstein",
    "swiss_roll",
    "swiss_roll_curve",
    "manifold_distance",
    "train_denoiser",
    "denoiser_eps",
    "load_denoiser",
    "SWISS_T_RANGE",
    "SWISS_SCALE",
    "SWISS_NOISE",
]

logger = logging.getLogger(__name__)

BETA_MIN = 0.1
BETA_MAX = 20.0
SWISS_T_RANGE = (1.5 * np.pi, 4.5 * np.pi)
SWISS_SCALE = 0.2
SWISS_NOISE = 0.05


# ----------------------------------------------------------------------------------------------------
# schedule
# ----------------------------------------------------------------------------------------------------
def oscillation(t, period):
    """Oscillation ``u(t)``, its time derivative and the falling-half indicator.

    Parameters
    ----------
    t : array_like
        Time in seconds.
    period : float
        Oscillation period ``T`` in seconds (> 0).

    Returns
    -------
    u, udot, falling : ndarray
        ``u = (1 - cos 2 pi t/T)/2``, ``du/dt = (pi/T) sin(2 pi t/T)``, ``falling = sin(2 pi t/T) < 0``.
    """
    if not period > 0:
        raise ValueError(f"period must be > 0, found: {period}")
    phase = 2 * np.pi * np.asarray(t, dtype=float) / period
    u = 0.5 * (1 - np.cos(phase))
    udot = np.pi / period * np.sin(phase)
    return u, udot, udot < 0


def schedule(u, beta_min=BETA_MIN, beta_max=BETA_MAX):
    """Variance-preserving schedule: ``beta(u)`` and ``abar(u) = exp(-int_0^u beta)``."""
    u = np.asarray(u, dtype=float)
    beta = beta_min + (beta_max - beta_min) * u
    abar = np.exp(-beta_min * u - 0.5 * (beta_max - beta_min) * u**2)
    return beta, abar


# ----------------------------------------------------------------------------------------------------
# Gaussian mixtures with diagonal components
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Mixture:
    """Gaussian mixture with diagonal components.

    Attributes
    ----------
    weights : ndarray, shape (K,)
    means : ndarray, shape (K, d)
    variances : ndarray, shape (K, d)
    """

    weights: np.ndarray
    means: np.ndarray
    variances: np.ndarray

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        m = np.atleast_2d(np.asarray(self.means, dtype=float))
        v = np.asarray(self.variances, dtype=float)
        if v.ndim == 0:
            v = np.full(m.shape, float(v))
        elif v.ndim == 1:
            v = np.repeat(v[:, None], m.shape[1], axis=1)
        if w.shape != (m.shape[0],) or v.shape != m.shape:
            raise ValueError(f"inconsistent mixture shapes: weights {w.shape}, means {m.shape}, "
                             f"variances {v.shape}")
        if np.any(w <= 0) or abs(w.sum() - 1) > 1e-9:
            raise ValueError(f"mixture weights must be positive and sum to 1, found: {w}")
        if np.any(v <= 0):
            raise ValueError(f"mixture variances must be > 0, found: {v}")
        object.__setattr__(self, "weights", w)
        object.__setattr__(self, "means", m)
        object.__setattr__(self, "variances", v)

    @property
    def mean(self):
        """Mean of the mixture, shape (d,)."""
        return self.weights @ self.means

    @property
    def covariance(self):
        """Covariance of the mixture, shape (d, d)."""
        mu = self.mean
        cov = np.zeros((self.means.shape[1],) * 2)
        for w, m, v in zip(self.weights, self.means, self.variances):
            cov += w * (np.diag(v) + np.outer(m - mu, m - mu))
        return cov

    def log_components(self, x):
        """``log w_k + log N(x; m_k, diag v_k)``, shape (n, K)."""
        x = np.atleast_2d(x)
        diff = x[:, None, :] - self.means[None]
        return (np.log(self.weights)[None]
                - 0.5 * np.sum(diff**2 / self.variances[None] + np.log(2 * np.pi * self.variances[None]),
                               axis=2))

    def logpdf(self, x):
        """Log density at ``x`` (n, d)."""
        from scipy.special import logsumexp  # here, not at import: loading the task registry stays cheap

        return logsumexp(self.log_components(x), axis=1)

    def sample(self, n, rng):
        """Draw ``n`` samples; returns (x, component index)."""
        k = rng.choice(len(self.weights), size=n, p=self.weights)
        x = self.means[k] + np.sqrt(self.variances[k]) * rng.standard_normal((n, self.means.shape[1]))
        return x, k

    def bin_masses(self, edges):
        """Exact probability of each rectangle of a grid (2-D), normalised over the grid.

        ``edges`` is a pair of edge arrays; returns an array of shape (len(e0)-1, len(e1)-1).
        """
        from scipy.special import ndtr

        if self.means.shape[1] != 2:
            raise ValueError(f"bin_masses needs a 2-D mixture, found dimension {self.means.shape[1]}")
        total = 0.0
        for w, m, v in zip(self.weights, self.means, self.variances):
            c0 = np.diff(ndtr((np.asarray(edges[0]) - m[0]) / np.sqrt(v[0])))
            c1 = np.diff(ndtr((np.asarray(edges[1]) - m[1]) / np.sqrt(v[1])))
            total = total + w * np.outer(c0, c1)
        return total / total.sum()


PRIOR = Mixture(weights=np.array([0.5, 0.3, 0.2]),
                means=np.array([[-2.0, 0.0], [2.0, 0.0], [0.0, 2.5]]),
                variances=0.35**2)


def posterior_mixture(prior=PRIOR, gate_sensory=0, gate_context=0, y_sensory=0.6, sigma_sensory=0.8,
                      y_context=2.0, sigma_context=0.6):
    """Exact posterior of a diagonal Gaussian mixture under gated linear-Gaussian observations.

    The sensory observation is ``y_s ~ N(x1, sigma_s^2)``, the context cue ``y_c ~ N(x2, sigma_c^2)``.
    Each component stays Gaussian: its weight is multiplied by the marginal likelihood
    ``N(y; m_kd, s_kd^2 + sigma^2)``, its mean and variance along the observed dimension become the
    precision-weighted combination. This is what the input gates change in the dendritic branches.

    Returns
    -------
    Mixture
    """
    from scipy.special import logsumexp

    for name, g in (("gate_sensory", gate_sensory), ("gate_context", gate_context)):
        if g not in (0, 1, True, False):
            raise ValueError(f"{name} must be 0 or 1, found: {g}")
    for name, s in (("sigma_sensory", sigma_sensory), ("sigma_context", sigma_context)):
        if not s > 0:
            raise ValueError(f"{name} must be > 0, found: {s}")
    logw = np.log(prior.weights).copy()
    means = prior.means.copy()
    var = prior.variances.copy()
    for gate, dim, y, s in ((gate_sensory, 0, y_sensory, sigma_sensory),
                            (gate_context, 1, y_context, sigma_context)):
        if not gate:
            continue
        m, v = means[:, dim], var[:, dim]
        logw += -0.5 * (y - m) ** 2 / (v + s**2) - 0.5 * np.log(2 * np.pi * (v + s**2))
        new_v = 1.0 / (1.0 / v + 1.0 / s**2)
        means[:, dim] = new_v * (m / v + y / s**2)
        var[:, dim] = new_v
    w = np.exp(logw - logsumexp(logw))
    return Mixture(w, means, var)


def gate_patterns():
    """The four gate patterns ``(g_s, g_c)`` in the order the posterior scenario cycles through."""
    return [(0, 0), (1, 0), (0, 1), (1, 1)]


# ----------------------------------------------------------------------------------------------------
# sample statistics
# ----------------------------------------------------------------------------------------------------
def assign_modes(x, mixture=PRIOR):
    """Index of the most responsible component of ``mixture`` for each sample (shape (...,))."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1, x.shape[-1])
    return np.argmax(mixture.log_components(flat), axis=1).reshape(x.shape[:-1])


def mode_weights(modes, n_modes):
    """Fraction of samples in each mode."""
    modes = np.asarray(modes).ravel()
    if modes.size == 0:
        raise ValueError("mode_weights needs at least one sample, found none")
    return np.bincount(modes, minlength=n_modes)[:n_modes] / modes.size


def histogram_kl(samples, mixture, bins=30, limits=((-3.5, 3.5), (-1.5, 4.0))):
    """KL(empirical || target) between a 2-D sample histogram and the exact bin masses of a mixture.

    Both distributions are restricted to the grid and normalised there; empty empirical bins contribute
    zero. Returns the KL in nats.
    """
    samples = np.asarray(samples, dtype=float).reshape(-1, 2)
    if samples.shape[0] < 2:
        raise ValueError(f"histogram_kl needs samples, found {samples.shape[0]}")
    edges = [np.linspace(lo, hi, bins + 1) for lo, hi in limits]
    h, _, _ = np.histogram2d(samples[:, 0], samples[:, 1], bins=edges)
    if h.sum() == 0:
        return float("inf")
    p = h / h.sum()
    q = mixture.bin_masses(edges)
    nz = p > 0
    return float(np.sum(p[nz] * np.log(p[nz] / q[nz])))


def same_mode_probability(modes):
    """P(mode of cycle n+1 == mode of cycle n), ``modes`` of shape (n_cycles, n_chains)."""
    modes = np.asarray(modes)
    if modes.ndim != 2 or modes.shape[0] < 2:
        raise ValueError(f"modes must have shape (n_cycles >= 2, n_chains), found: {modes.shape}")
    return float(np.mean(modes[1:] == modes[:-1]))


def lag1_correlation(x):
    """Lag-1 autocorrelation across cycles per dimension; ``x`` of shape (n_cycles, n_chains, d).

    Each chain's samples are centred on the pooled mean; returns an array of shape (d,).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 3 or x.shape[0] < 2:
        raise ValueError(f"x must have shape (n_cycles >= 2, n_chains, d), found: {x.shape}")
    xc = x - x.reshape(-1, x.shape[2]).mean(axis=0)
    num = np.mean(xc[1:] * xc[:-1], axis=(0, 1))
    return num / np.mean(xc**2, axis=(0, 1))


def sliced_wasserstein(a, b, n_projections=200, seed=0):
    """Sliced 2-Wasserstein distance ``sqrt(E_theta W_2^2)`` between two 2-D point clouds.

    Quantile functions are compared on a common grid of ``min(len(a), len(b))`` levels; the
    projection directions are evenly spaced angles with a seeded random offset.
    """
    a = np.asarray(a, dtype=float).reshape(-1, 2)
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"sliced_wasserstein needs >= 2 points each, found {len(a)} and {len(b)}")
    rng = np.random.default_rng(seed)
    angles = (np.arange(n_projections) + rng.uniform()) * np.pi / n_projections
    dirs = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    n = min(len(a), len(b))
    levels = (np.arange(n) + 0.5) / n
    qa = _quantiles(a @ dirs.T, levels)
    qb = _quantiles(b @ dirs.T, levels)
    return float(np.sqrt(np.mean((qa - qb) ** 2)))


def _quantiles(values, levels):
    """Column-wise quantiles (linear interpolation between order statistics at ``level * n - 1/2``)."""
    s = np.sort(values, axis=0)
    n = s.shape[0]
    pos = np.clip(levels * n - 0.5, 0, n - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    frac = (pos - lo)[:, None]
    return s[lo] * (1 - frac) + s[hi] * frac


# ----------------------------------------------------------------------------------------------------
# swiss roll
# ----------------------------------------------------------------------------------------------------
def swiss_roll(n, rng, noise=SWISS_NOISE):
    """Swiss roll: ``t ~ U[1.5 pi, 4.5 pi]``, ``x = t (cos t, sin t) / 5 + N(0, noise^2)``."""
    t = rng.uniform(*SWISS_T_RANGE, size=n)
    x = SWISS_SCALE * t[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
    return x + noise * rng.standard_normal((n, 2))


def swiss_roll_curve(n=20000):
    """Points densely spaced on the noiseless swiss-roll curve."""
    t = np.linspace(*SWISS_T_RANGE, n)
    return SWISS_SCALE * t[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)


def manifold_distance(x):
    """Euclidean distance of each point to the noiseless swiss-roll curve."""
    from scipy.spatial import cKDTree

    x = np.asarray(x, dtype=float).reshape(-1, 2)
    d, _ = cKDTree(swiss_roll_curve()).query(x)
    return d


# ----------------------------------------------------------------------------------------------------
# epsilon-prediction dendritic denoiser
# ----------------------------------------------------------------------------------------------------
def _softplus(z):
    return np.logaddexp(0.0, z)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))


def _features(x, u, cond=None):
    """Inputs of the first dendritic layer: ``x`` (n, d), ``cos(pi u)``, ``sin(pi u)``, then ``cond`` (n, k)."""
    u = np.broadcast_to(np.asarray(u, dtype=float), (x.shape[0],))
    parts = [x, np.cos(np.pi * u)[:, None], np.sin(np.pi * u)[:, None]]
    if cond is not None:
        parts.append(np.broadcast_to(np.asarray(cond, dtype=float), (x.shape[0], np.shape(cond)[-1])))
    return np.concatenate(parts, axis=1)


def _init_params(rng, hidden, d=2, n_cond=0):
    sizes = [d + 2 + n_cond] + list(hidden)
    params = {"n_layers": np.array(len(hidden)), "d": np.array(d), "n_cond": np.array(n_cond)}
    for layer, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{layer}"] = rng.standard_normal((a, b)) * np.sqrt(2.0 / a)
        params[f"b{layer}"] = np.zeros(b)
    params["Wout"] = rng.standard_normal((sizes[-1], d)) * np.sqrt(1.0 / sizes[-1])
    params["bout"] = np.zeros(d)
    return params


def _forward(params, x, u, cond=None):
    n_layers = int(params["n_layers"])
    acts, pre = [_features(x, u, cond)], []
    for layer in range(1, n_layers + 1):
        z = acts[-1] @ params[f"W{layer}"] + params[f"b{layer}"]
        pre.append(z)
        acts.append(_softplus(z))
    return acts[-1] @ params["Wout"] + params["bout"], acts, pre


def denoiser_eps(params, x, u, cond=None):
    """Noise prediction ``eps_hat(x, u[, cond])`` of a softplus dendritic tree (NumPy), shape of ``x``."""
    return _forward(params, np.atleast_2d(np.asarray(x, dtype=float)), u, cond)[0]


def _loss_and_grads(params, x, u, eps, cond=None):
    n_layers = int(params["n_layers"])
    out, acts, pre = _forward(params, x, u, cond)
    err = out - eps
    loss = float(np.mean(np.sum(err**2, axis=1)))
    grads = {}
    d = 2 * err / x.shape[0]
    grads["Wout"] = acts[-1].T @ d
    grads["bout"] = d.sum(axis=0)
    d = d @ params["Wout"].T
    for layer in range(n_layers, 0, -1):
        d = d * _sigmoid(pre[layer - 1])
        grads[f"W{layer}"] = acts[layer - 1].T @ d
        grads[f"b{layer}"] = d.sum(axis=0)
        if layer > 1:
            d = d @ params[f"W{layer}"].T
    return loss, grads


def train_denoiser(seed, path=None, hidden=(64, 64), steps=30000, batch=512, lr=3e-3, n_data=20000,
                   u_min=1e-3, data=None, condition=None, n_cond=0):
    """Train an epsilon-prediction dendritic denoiser (NumPy, Adam).

    Loss ``E |eps_hat(sqrt(abar) x0 + sqrt(1-abar) eps, u[, c]) - eps|^2`` with ``u ~ U[u_min, 1]``,
    ``x0`` from a fixed data set (by default ``n_data`` swiss-roll points drawn from ``seed``); the
    learning rate decays with a cosine schedule. Fully determined by ``seed`` and the arguments.

    Parameters
    ----------
    seed : int
    path : str or Path or None
        Where to write the weights (``.npz``); not written when None.
    hidden : tuple of int
        Sizes of the softplus dendritic layers (one entry: the single-layer tree control).
    data : ndarray, shape (n, d), optional
        Training points (default: the swiss roll).
    condition : callable, optional
        ``condition(rng, x0) -> (batch, n_cond)`` inputs the tree receives besides ``x`` and the phase
        (a conditional denoiser: it learns the score of ``p(x0 | c)``); requires ``n_cond``.

    Returns
    -------
    params : dict
        The weights plus ``n_layers``, ``d``, ``n_cond``, ``seed``, ``steps`` and ``final_loss``.
    """
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, found: {seed}")
    hidden = tuple(int(h) for h in hidden)
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must list positive layer sizes, found: {hidden}")
    if steps < 1 or batch < 1:
        raise ValueError(f"steps and batch must be >= 1, found: steps={steps}, batch={batch}")
    if (condition is None) != (n_cond == 0):
        raise ValueError(f"a condition needs n_cond > 0 and n_cond > 0 a condition, found n_cond={n_cond}")
    rng = np.random.default_rng(seed)
    data = swiss_roll(n_data, rng) if data is None else np.asarray(data, dtype=float)
    n_data, d = data.shape
    params = _init_params(rng, hidden, d, n_cond)
    keys = [k for k in params if k not in ("n_layers", "d", "n_cond")]
    m = {k: np.zeros_like(params[k]) for k in keys}
    v = {k: np.zeros_like(params[k]) for k in keys}
    b1, b2, eps_adam = 0.9, 0.999, 1e-8
    losses = []
    for step in range(1, steps + 1):
        x0 = data[rng.integers(0, n_data, size=batch)]
        cond = condition(rng, x0) if condition is not None else None
        u = rng.uniform(u_min, 1.0, size=batch)
        _, abar = schedule(u)
        eps = rng.standard_normal((batch, d))
        x = np.sqrt(abar)[:, None] * x0 + np.sqrt(1 - abar)[:, None] * eps
        loss, grads = _loss_and_grads(params, x, u, eps, cond)
        losses.append(loss)
        rate = lr * 0.5 * (1 + np.cos(np.pi * step / steps))
        for k in keys:
            m[k] = b1 * m[k] + (1 - b1) * grads[k]
            v[k] = b2 * v[k] + (1 - b2) * grads[k] ** 2
            mh = m[k] / (1 - b1**step)
            vh = v[k] / (1 - b2**step)
            params[k] = params[k] - rate * mh / (np.sqrt(vh) + eps_adam)
        if step % 5000 == 0:
            logger.info("denoiser step %d loss %.4f", step, float(np.mean(losses[-1000:])))
    params["seed"] = np.array(seed)
    params["steps"] = np.array(steps)
    params["final_loss"] = np.array(np.mean(losses[-1000:]))
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **params)
    return params


def load_denoiser(path):
    """Load denoiser weights written by :func:`train_denoiser`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"denoiser weights not found: {path}; train them with "
                                f"`spikelearn train-denoiser --prior <name> --seed <k>`")
    with np.load(path) as f:
        params = {k: f[k] for k in f.files}
    params.setdefault("d", np.array(params["Wout"].shape[1]))
    params.setdefault("n_cond", np.array(params["W1"].shape[0] - int(params["d"]) - 2))
    return params
