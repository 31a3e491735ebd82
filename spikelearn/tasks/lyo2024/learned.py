"""Learned dendritic priors (Lyo & Savin, ICLR 2024): the data, the gated inputs, the trained trees and
their NumPy references.

The swiss roll's prior (``swissroll``: a two-layer tree and its single-layer control, the
``dendritic_swissroll`` scenario) and two more learned priors, each trained offline as an epsilon-prediction dendritic tree
(:func:`spikelearn.tasks.lyo2024.mixtures.train_denoiser`) and sampled in Brian2 with the oscillation:

- **The gated swiss roll.** A two-layer tree whose first layer also receives two gated input streams: a
  sensory observation ``y`` of ``x1`` (``y ~ N(x1, sigma_s^2)``, inputs ``g_s y`` and ``g_s``) and a
  context cue ``c = +-1`` saying which half-plane ``x2`` lies in (``P(c | x) = sigmoid(c x2 / tau)``, inputs
  ``g_c c`` and ``g_c``). Trained with the gates drawn at random and the inputs drawn from their
  generative model, the tree learns the score of ``p(x | gated inputs)``: with both gates off it is the
  prior, and each gate pattern selects another inference task on the same tree. The reference
  posterior of a gate pattern is the data re-weighted by that pattern's likelihood
  (:func:`reference_posterior`).
- **Handwritten digits** (scikit-learn's 8x8 digits) in a whitened ``DIGITS_DIM``-dimensional PCA space
  fitted on a training split (:func:`digits_pca`); a three-layer tree and the single-layer control with
  the same number of dendritic units.

Weights are written by ``spikelearn train-denoiser --prior NAME --seed K`` into the user cache
(``~/.cache/spikelearn/denoisers``); the package ships seed 0 (:func:`tree_path` looks in the cache
first). :func:`sample_tree` is the NumPy simulation of the oscillation-gated sampler driven by a tree,
the oracle the Brian2 circuits are compared with.
"""

import logging
from pathlib import Path

import numpy as np

from spikelearn.cache import cache_root
from spikelearn.errors import BuildError
from spikelearn.tasks.lyo2024 import mixtures as ref

__all__ = [
    "SENSORY_SIGMA",
    "CONTEXT_TAU",
    "DIGITS_DIM",
    "PRIORS",
    "gated_inputs",
    "draw_gated_inputs",
    "likelihood_weights",
    "reference_posterior",
    "digits_pca",
    "train_prior",
    "tree_path",
    "load_tree",
    "cache_dir",
    "sample_tree",
    "likelihood_gradient",
    "frechet_distance",
    "sliced_wasserstein_nd",
]

logger = logging.getLogger(__name__)

SENSORY_SIGMA = 0.25
CONTEXT_TAU = 0.2
DIGITS_DIM = 12
DIGITS_HELD_OUT = 400

# prior -> its trees (name -> softplus layer sizes), Adam steps and batch size
PRIORS = {
    "swissroll": {"trees": {"deep": (48, 48), "shallow": (96,)}, "steps": 40000, "batch": 512},
    "swissroll-gated": {"trees": {"deep": (96, 96)}, "steps": 60000, "batch": 512},
    "digits": {"trees": {"deep": (128, 128, 128), "shallow": (384,)}, "steps": 40000, "batch": 256},
}


# ----------------------------------------------------------------------------------------------------
# the gated swiss roll
# ----------------------------------------------------------------------------------------------------
def gated_inputs(gate_sensory, y, gate_context, c):
    """The four conditioning inputs of the gated tree: ``(g_s y, g_s, g_c c, g_c)`` (broadcast arrays)."""
    g_s, g_c = np.asarray(gate_sensory, dtype=float), np.asarray(gate_context, dtype=float)
    return np.stack(np.broadcast_arrays(g_s * y, g_s, g_c * c, g_c), axis=-1)


def draw_gated_inputs(rng, x0):
    """Training inputs for data points ``x0`` (n, 2): gates on with probability 1/2 each, the observation
    ``y ~ N(x1, SENSORY_SIGMA^2)`` and the cue ``c = +1`` with probability ``sigmoid(x2 / CONTEXT_TAU)``."""
    n = x0.shape[0]
    g_s = rng.integers(0, 2, size=n)
    g_c = rng.integers(0, 2, size=n)
    y = x0[:, 0] + SENSORY_SIGMA * rng.standard_normal(n)
    c = np.where(rng.uniform(size=n) < ref._sigmoid(x0[:, 1] / CONTEXT_TAU), 1.0, -1.0)
    return gated_inputs(g_s, y, g_c, c)


def likelihood_weights(x, gate_sensory, y, gate_context, c):
    """``p(y | x)^g_s p(c | x)^g_c`` for points ``x`` (n, 2), up to a constant."""
    x = np.asarray(x, dtype=float)
    w = np.ones(len(x))
    if gate_sensory:
        w = w * np.exp(-0.5 * (x[:, 0] - y) ** 2 / SENSORY_SIGMA**2)
    if gate_context:
        w = w * ref._sigmoid(c * x[:, 1] / CONTEXT_TAU)
    return w


def reference_posterior(n, seed, gate_sensory, y, gate_context, c, pool=400000):
    """``n`` points of the posterior of a gate pattern: swiss-roll data drawn with ``seed``, resampled
    with probabilities proportional to the likelihood weights (exact up to Monte-Carlo error).

    Returns the points and the effective sample size of the weights.
    """
    rng = np.random.default_rng(seed)
    data = ref.swiss_roll(pool, rng)
    w = likelihood_weights(data, gate_sensory, y, gate_context, c)
    p = w / w.sum()
    ess = float(1.0 / np.sum(p**2))
    return data[rng.choice(pool, size=n, p=p)], ess


# ----------------------------------------------------------------------------------------------------
# digits in a whitened PCA space
# ----------------------------------------------------------------------------------------------------
def digits_pca(dim=DIGITS_DIM, held_out=DIGITS_HELD_OUT, split_seed=0):
    """scikit-learn's 8x8 digits, split into training and held-out images, projected on the first ``dim``
    principal components of the training images and whitened (unit variance per component).

    Returns a dict: ``train``, ``test`` (whitened coordinates), ``train_labels``, ``test_labels``,
    ``mean`` (64,), ``components`` (dim, 64), ``scale`` (dim,) with ``image = mean + (z * scale) @ components``.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = digits.data / 16.0
    labels = digits.target
    order = np.random.default_rng(split_seed).permutation(len(X))
    test_idx, train_idx = order[:held_out], order[held_out:]
    mean = X[train_idx].mean(axis=0)
    _, s, vt = np.linalg.svd(X[train_idx] - mean, full_matrices=False)
    components = vt[:dim]
    scale = s[:dim] / np.sqrt(len(train_idx) - 1)
    project = lambda A: (A - mean) @ components.T / scale  # noqa: E731
    return {"train": project(X[train_idx]), "test": project(X[test_idx]), "train_labels": labels[train_idx],
            "test_labels": labels[test_idx], "mean": mean, "components": components, "scale": scale}


# ----------------------------------------------------------------------------------------------------
# training, and where the weights live
# ----------------------------------------------------------------------------------------------------
def cache_dir():
    """The user cache of trained trees: ``$SPIKELEARN_CACHE/denoisers`` or ``~/.cache/spikelearn/denoisers``."""
    return cache_root() / "denoisers"


def _file_name(prior, tree, seed):
    return f"{prior}_{tree}_seed{int(seed)}.npz"


def tree_path(prior, tree, seed):
    """The weights of tree ``tree`` of ``prior`` trained from ``seed``: the user cache's copy if there is
    one, otherwise the package's (seed 0 ships with the package)."""
    _check_prior(prior, tree)
    cached = cache_dir() / _file_name(prior, tree, seed)
    packaged = Path(__file__).parent / "data" / _file_name(prior, tree, seed)
    return cached if cached.exists() or not packaged.exists() else packaged


def load_tree(prior, tree, seed):
    """The weights of a trained tree (:func:`tree_path`); a missing file is a `BuildError` naming the
    command that trains it."""
    path = tree_path(prior, tree, seed)
    if not path.exists():
        raise BuildError(f"no trained {prior} tree '{tree}' for seed {int(seed)} in {cache_dir()} or the package; "
                         f"train it: spikelearn train-denoiser --prior {prior} --seed {int(seed)}")
    params = ref.load_denoiser(path)
    logger.info("%s tree '%s', seed %d: %s (%d Adam steps, final loss %.4f)", prior, tree, int(seed), path,
                int(params.get("steps", -1)), float(params.get("final_loss", float("nan"))))
    return params


def _check_prior(prior, tree=None):
    if prior not in PRIORS:
        raise ValueError(f"prior must be one of {', '.join(PRIORS)}, found: {prior!r}")
    if tree is not None and tree not in PRIORS[prior]["trees"]:
        raise ValueError(f"tree of prior {prior!r} must be one of {', '.join(PRIORS[prior]['trees'])}, "
                         f"found: {tree!r}")


def train_prior(prior, seed, directory=None, steps=None):
    """Train every tree of ``prior`` from ``seed`` (what ``spikelearn train-denoiser --prior`` runs) into
    ``directory`` (default: the user cache); returns the paths written."""
    _check_prior(prior)
    spec = PRIORS[prior]
    steps = int(spec["steps"] if steps is None else steps)
    directory = cache_dir() if directory is None else Path(directory)
    paths = []
    for tree, hidden in spec["trees"].items():
        path = directory / _file_name(prior, tree, seed)
        if prior == "swissroll":
            ref.train_denoiser(seed, path, hidden=hidden, steps=steps, batch=spec["batch"])
        elif prior == "swissroll-gated":
            ref.train_denoiser(seed, path, hidden=hidden, steps=steps, batch=spec["batch"],
                               condition=draw_gated_inputs, n_cond=4)
        else:
            ref.train_denoiser(seed, path, hidden=hidden, steps=steps, batch=spec["batch"],
                               data=digits_pca()["train"])
        paths.append(path)
    return paths


# ----------------------------------------------------------------------------------------------------
# the NumPy sampler driven by a tree (the oracle)
# ----------------------------------------------------------------------------------------------------
def sample_tree(params, n_chains, n_cycles, period, dt, rng, cond=None, schedule="oscillation",
                langevin_u=0.05, langevin_rate=10.0, likelihood_score=None):
    """Euler-Maruyama simulation of the oscillation-gated sampler whose score is a tree's
    ``-eps_hat / sqrt(1 - abar)``: the same equations as the Brian2 soma.

    Parameters
    ----------
    params : dict
        Tree weights (:func:`spikelearn.tasks.lyo2024.mixtures.load_denoiser`).
    cond : callable or None
        ``cond(cycle) -> (n_cond,)`` inputs during each cycle (gated trees).
    likelihood_score : callable or None
        ``likelihood_score(x, cycle) -> (n_chains, d)`` added to the tree's score (the authors' estimator).
    schedule : {'oscillation', 'constant'}
        'constant' is the negative control: Langevin dynamics ``dx = r s dt + sqrt(2 r) dW`` with the
        tree's score at the fixed noise level ``langevin_u`` (rate ``r = langevin_rate``).

    Returns
    -------
    ndarray, shape (n_cycles + 1, n_chains, d)
        The state at each trough ``t = k T`` (index 0: the initial state).
    """
    d = int(params.get("d", 2))
    steps = int(round(period / dt))
    x = rng.standard_normal((n_chains, d))
    out = [x.copy()]
    for k in range(n_cycles):
        c = None if cond is None else cond(k)
        for s in range(steps):
            t = (k * steps + s) * dt
            if schedule == "oscillation":
                u, udot, falling = ref.oscillation(t, period)
                beta, abar = ref.schedule(u)
                g2 = beta * abs(udot)
                if falling:
                    score = -ref.denoiser_eps(params, x, u, c) / np.sqrt(1 - abar + 1e-6)
                    if likelihood_score is not None:
                        score = score + likelihood_score(x, k)
                    drift = 0.5 * g2 * x + g2 * score
                else:
                    drift = -0.5 * g2 * x
            else:
                _, abar = ref.schedule(langevin_u)
                g2 = 2 * langevin_rate
                drift = 0.5 * g2 * (-ref.denoiser_eps(params, x, langevin_u, c) / np.sqrt(1 - abar + 1e-6))
            x = x + drift * dt + np.sqrt(g2 * dt) * rng.standard_normal(x.shape)
        out.append(x.copy())
    return np.array(out)


def likelihood_gradient(x, gate_sensory, y, gate_context, c):
    """Gradient of ``log p(y | x)^g_s p(c | x)^g_c`` at ``x`` (n, 2): the authors' additive estimator's term."""
    g = np.zeros_like(x)
    g[:, 0] = gate_sensory * (y - x[:, 0]) / SENSORY_SIGMA**2
    g[:, 1] = gate_context * (c / CONTEXT_TAU) * (1 - ref._sigmoid(c * x[:, 1] / CONTEXT_TAU))
    return g


# ----------------------------------------------------------------------------------------------------
# distances between point clouds in d dimensions
# ----------------------------------------------------------------------------------------------------
def frechet_distance(a, b):
    """Fréchet distance between Gaussians fitted to two point clouds (n, d): ``|mu_a - mu_b|^2 +
    tr(S_a + S_b - 2 (S_a S_b)^(1/2))``."""
    from scipy.linalg import sqrtm

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ma, mb = a.mean(axis=0), b.mean(axis=0)
    sa, sb = np.cov(a.T), np.cov(b.T)
    covmean = sqrtm(sa @ sb).real
    return float(np.sum((ma - mb) ** 2) + np.trace(sa + sb - 2 * covmean))


def sliced_wasserstein_nd(a, b, n_projections=500, seed=0):
    """Sliced 2-Wasserstein distance between point clouds in d dimensions (random unit directions drawn
    from ``seed``; quantiles compared on ``min(len(a), len(b))`` levels)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    dirs = rng.standard_normal((n_projections, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    n = min(len(a), len(b))
    levels = (np.arange(n) + 0.5) / n
    qa = ref._quantiles(a @ dirs.T, levels)
    qb = ref._quantiles(b @ dirs.T, levels)
    return float(np.sqrt(np.mean((qa - qb) ** 2)))
