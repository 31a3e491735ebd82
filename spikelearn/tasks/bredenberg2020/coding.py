"""The protocol and the analysis of reward-modulated Hebbian codes (Bredenberg, Simoncelli & Savin 2020).

The protocol is the authors' (``normative_plasticity_cr.py`` and ``pl_exp_params_cr.py`` of
colinbredenberg/Efficient-Plasticity-Camera-Ready, commit c3f6cc4; docs/papers/bredenberg2020-authors-code.md):
training trials of ``t_trial`` time units, each starting from ``r = r_init`` with the running averages reset and
an angle drawn from the von Mises prior that then drifts (their ``mv_vonmises_update``); learning gated off for
the first ``t_transient`` of every trial. Tests (no learning) hold each of the ``n_angles`` angles
``-pi + 2 pi k/n_angles`` (the inputs' preferred angles) ``n_repeats`` times for ``t_hold``, in a shuffled
order, without resets between holds. Optionally a second training session with the prior's mode moved and a
third test (the prior-change experiment).

The analysis works on test responses shaped ``(n_angles, n_repeats, n_samples, d)`` (population rates or the
network's readout), the same arrays for the Brian2 task, the NumPy oracle and the authors' code
(``bench/bredenberg2020_authors.py``).
"""

import math

import numpy as np

__all__ = ["test_angles", "protocol", "wrap", "linear_fisher", "region_ratio", "allocation_ratio", "readout_errors",
           "prior_weighted", "refit_error", "readout_accuracy", "trial_curve", "current_ratio"]


def test_angles(n):
    """The ``n`` test angles ``-pi + 2 pi k/n`` (for 12: the preferred angles of the authors' inputs)."""
    return -np.pi + 2 * np.pi * np.arange(n) / n


def wrap(theta):
    """Angles wrapped to ``[-pi, pi)``."""
    return (np.asarray(theta, dtype=float) + np.pi) % (2 * np.pi) - np.pi


def protocol(rng, steps, n_trials, n_angles=12, n_repeats=3, kappa=0.75, mu=0.0, n_trials_shift=0, mu_shift=0.0,
             n_streams=1):
    """The run's sessions as segments of ``steps["segment"]`` time steps.

    ``steps`` gives ``trial``, ``hold``, ``transient`` and ``segment`` in time steps (``segment`` divides the
    others). Sessions: test, train (``n_trials`` trials, prior mode ``mu``), test, and when ``n_trials_shift``
    > 0 a second training session with the mode at ``mu + mu_shift`` and a third test. ``n_streams``
    independent angle streams are drawn for training (the second one is the shuffled control's target).

    Returns a dict of per-segment arrays: ``set`` (1: the angle is set at the segment's start), ``theta``
    (n_segments, n_streams; the value set), ``move`` (1: the angle drifts), ``mu`` (the prior mode),
    ``reset`` (1: rates and running averages restart), ``learn`` (1: plasticity on), ``session`` (0, 1, 2,
    ...: test, train, test, train, test); and per session: ``test_order`` (list of angle arrays, one per
    test session) and ``sessions`` (list of ``(kind, first segment, n_segments)``).
    """
    seg = int(steps["segment"])
    per_trial, per_hold = int(steps["trial"]) // seg, int(steps["hold"]) // seg
    transient = int(steps["transient"]) // seg
    angles = test_angles(n_angles)
    rows, sessions, orders = [], [], []

    def add(kind, n, fill):
        first = sum(len(r["set"]) for r in rows)
        block = {k: np.zeros(n) for k in ("set", "move", "mu", "reset", "learn")}
        block["theta"] = np.zeros((n, n_streams))
        block["session"] = np.full(n, len(sessions), dtype=int)
        fill(block)
        rows.append(block)
        sessions.append((kind, first, n))

    def test(block):
        order = rng.permutation(np.tile(angles, n_repeats))
        orders.append(order)
        starts = np.arange(len(order)) * per_hold
        block["set"][starts] = 1
        block["theta"][starts] = order[:, None]
        block["reset"][0] = 1

    def train(m):
        def fill(block):
            starts = np.arange(n_trials if m == mu else n_trials_shift) * per_trial
            block["set"][starts] = 1
            block["reset"][starts] = 1
            block["theta"][starts] = wrap(rng.vonmises(m, kappa, size=(len(starts), n_streams)))
            block["move"][:] = 1
            block["mu"][:] = m
            block["learn"][:] = 1
            for s in starts:
                block["learn"][s:s + transient] = 0
        return fill

    add("test", n_angles * n_repeats * per_hold, test)
    add("train", n_trials * per_trial, train(mu))
    add("test", n_angles * n_repeats * per_hold, test)
    if n_trials_shift > 0:
        add("train", n_trials_shift * per_trial, train(mu + mu_shift))
        add("test", n_angles * n_repeats * per_hold, test)
    out = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    out["test_order"] = orders
    out["sessions"] = sessions
    return out


def linear_fisher(X, spacing, thin=1):
    """Linear Fisher information ``f'^T Sigma^-1 f'`` per test angle, with the noise correlations.

    ``X`` has shape ``(n_angles, n_repeats, n_samples, d)`` on equally spaced angles (``spacing`` rad,
    circular). At angle k, ``f'`` is the central difference of the means at k - 1 and k + 1 and ``Sigma``
    the mean of their covariances; ``thin`` keeps every thin-th sample (so that samples are close to
    independent). The estimate is bias-corrected for ``n`` samples per angle in ``d`` dimensions
    (Kanitscheider et al. 2015): ``I (2n - d - 3)/(2n - 2) - 2d/(n dtheta^2)``, ``dtheta = 2 spacing``;
    Dimensions without variance at the two angles (units pinned at a clip) are left out (``d`` counts the
    others); NaN where ``n <= d + 2`` (too few samples for the covariance's inverse).
    """
    X = np.asarray(X, dtype=float)[:, :, ::thin]
    n_ang, _, _, d_all = X.shape
    flat = X.reshape(n_ang, -1, d_all)
    n = flat.shape[1]
    mean = flat.mean(axis=1)
    cov = np.array([np.cov(f, rowvar=False).reshape(d_all, d_all) for f in flat])
    out = np.full(n_ang, np.nan)
    for k in range(n_ang):
        lo, hi = (k - 1) % n_ang, (k + 1) % n_ang
        S = 0.5 * (cov[lo] + cov[hi])
        # dimensions that do not vary (units pinned at a clip) carry no information: left out
        var = np.diag(S)
        live = var > 1e-12 * max(float(var.max()), 1e-300)
        d = int(live.sum())
        if d == 0 or n <= d + 2:
            continue
        df = (mean[hi] - mean[lo])[live]
        naive = float(df @ np.linalg.solve(S[np.ix_(live, live)], df)) / (2 * spacing) ** 2
        out[k] = naive * (2 * n - d - 3) / (2 * n - 2) - 2 * d / (n * (2 * spacing) ** 2)
    return out


def region_ratio(values, angles, centre, other, width=np.pi / 6):
    """Mean of ``values`` at the angles within ``width`` (circular) of ``centre``, over the mean near ``other``
    (each a sequence of centres, or one)."""
    angles = np.asarray(angles, dtype=float)

    def near(cs):
        d = np.min([np.abs(wrap(angles - c)) for c in np.atleast_1d(cs)], axis=0)
        return float(np.mean(np.asarray(values)[d <= width + 1e-9]))

    num, den = near(centre), near(other)
    return num / den if den > 0 and np.isfinite(num) else float("nan")


def allocation_ratio(objective, fisher, angles, mode=0.0):
    """The allocation of Fisher information: near the prior's ``mode`` over near its antipode (estimation), or
    at the category boundaries 0, pi over at +-pi/2 (discrimination / classification)."""
    if objective == "estimation":
        return region_ratio(fisher, angles, mode, mode + np.pi)
    return region_ratio(fisher, angles, (0.0, np.pi), (np.pi / 2, -np.pi / 2))


def prior_density(theta, kappa, mu=0.0):
    """Von Mises density (mode ``mu``, concentration ``kappa``) at ``theta``."""
    return np.exp(kappa * np.cos(np.asarray(theta) - mu)) / (2 * np.pi * np.i0(kappa))


def prior_weighted(values, angles, kappa, mu=0.0):
    """The prior-weighted mean of per-angle ``values`` (their ``mean_error``)."""
    w = prior_density(angles, kappa, mu)
    return float(np.sum(w * np.asarray(values)) / np.sum(w))


def readout_errors(out, angles):
    """Mean squared error of the network's readout ``D r`` (``out``: (n_angles, n_rep, n_samples, 2))
    against ``(cos theta, sin theta)``, per angle."""
    target = np.stack([np.cos(angles), np.sin(angles)], axis=1)[:, None, None, :]
    return np.mean(np.sum((np.asarray(out) - target) ** 2, axis=-1), axis=(1, 2))


def category(angles):
    """The authors' classification target: 1 for theta in [0, pi] or theta <= -pi."""
    a = np.asarray(angles, dtype=float)
    return ((a >= 0) | (a <= -np.pi + 1e-12)).astype(float)


def readout_accuracy(out, angles, kappa, mu=0.0):
    """Prior-weighted accuracy of the network's own classifier ``D r > 0`` (``out``: (..., 1)), over the
    angles off the category boundaries (0 and pi, where the target flips)."""
    angles = np.asarray(angles, dtype=float)
    off = np.minimum(np.abs(wrap(angles)), np.abs(np.abs(wrap(angles)) - np.pi)) > 1e-9
    correct = np.mean((np.asarray(out)[..., 0] > 0) == (category(angles)[:, None, None] > 0.5), axis=(1, 2))
    return prior_weighted(correct[off], angles[off], kappa, mu)


def refit_error(X, angles, kappa, mu=0.0, ridge=1e-6):
    """Held-out error of a refitted linear decoder of ``(cos theta, sin theta)`` from the responses ``X``
    (n_angles, n_repeats, n_samples, d): for each repeat, a least-squares decoder (with intercept) fitted on
    the other repeats and tested on it; per-angle mean squared errors, prior-weighted."""
    X = np.asarray(X, dtype=float)
    n_ang, n_rep, n_s, d = X.shape
    Y = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    err = np.zeros(n_ang)
    for rep in range(n_rep):
        train = np.delete(X, rep, axis=1).reshape(-1, d)
        yt = np.repeat(Y, (n_rep - 1) * n_s, axis=0)
        A = np.hstack([train, np.ones((len(train), 1))])
        coef = np.linalg.solve(A.T @ A + ridge * np.eye(d + 1), A.T @ yt)
        test = X[:, rep]
        pred = np.concatenate([test, np.ones(test.shape[:-1] + (1,))], axis=-1) @ coef
        err += np.mean(np.sum((pred - Y[:, None, :]) ** 2, axis=-1), axis=1) / n_rep
    return prior_weighted(err, angles, kappa, mu), err


def current_ratio(X, W, W_in, S):
    """Recurrent over input current (the authors' ``mean_current_breakdown`` and ``current_ratio_plot``): per
    test angle and unit the mean recurrent current ``W r`` and input current ``W_in s``, then mean |recurrent|
    over mean |input|. ``X`` (n_angles, n_repeats, n_samples, N) rates, ``W`` (N, N), ``W_in`` (N, n_in),
    ``S`` (n_angles, n_in) the input rates at each test angle."""
    mean_r = np.asarray(X, dtype=float).mean(axis=(1, 2))              # (n_angles, N)
    rec = mean_r @ np.asarray(W).T
    inp = np.asarray(S, dtype=float) @ np.asarray(W_in).T
    return float(np.mean(np.abs(rec)) / np.mean(np.abs(inp)))


def trial_curve(t, values, learn, t_trial, t_start):
    """Mean of a recorded signal over the learning steps of each training trial (the learning curve).

    ``t`` sample times (s), ``values`` the samples, ``learn`` the gate at each sample, trials of ``t_trial``
    from ``t_start``."""
    t, values, learn = (np.asarray(a, dtype=float) for a in (t, values, learn))
    trial = np.floor((t - t_start) / t_trial + 1e-9).astype(int)
    keep = (learn > 0) & (trial >= 0)
    n = trial[keep].max() + 1 if keep.any() else 0
    sums = np.bincount(trial[keep], weights=values[keep], minlength=n)
    counts = np.bincount(trial[keep], minlength=n)
    return sums / np.maximum(counts, 1)


def gcd_steps(*steps):
    """The greatest common divisor of step counts (the segment length of the protocol)."""
    return math.gcd(*[int(s) for s in steps])
