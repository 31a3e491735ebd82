"""NumPy reference of reward-modulated Hebbian learning of task-specific codes.

Bredenberg, Simoncelli & Savin (2020) "Learning efficient task-dependent representations with synaptic
plasticity", NeurIPS 33. A stochastic recurrent rate circuit (Euler-Maruyama, one step ``dt`` in time
units)::

    r <- clip(r + dt*(-finv(r) + W r + W_in s + b) + sigma*sqrt(dt)*xi, r_min, r_max)

with the sharp softplus inverse ``finv(r) = r + log(1 - exp(-gamma*r))/gamma``. Inputs
``s_k = gain*[cos(theta - phi_k)]_+`` (12 units); theta is constant within a block and drawn per block from
the von Mises prior (mean 0, kappa). A readout ``y = D r`` learns by its own delta rule; the reward is

- estimation: ``R = -||(cos theta, sin theta) - D r||^2``;
- discrimination: ``R = t log y + (1-t) log(1-y)``, ``y = sigmoid(slope * D r)``, ``t = [theta in [0, pi)]``,
  with ``y`` kept within ``[y_tol, 1 - y_tol]`` as in the authors' code (``R >= log(y_tol)``).

Three-factor updates (gated off during the first ``t_settle`` of every block and in test blocks)::

    W    += eta*dt*[(R - baseline*Rbar)*(r r^T - C)  - lam*W]
    W_in += eta*dt*[(R - baseline*Rbar)*(r s^T - C_in) - lam_in*W_in]
    b    += eta*dt*[(R - baseline*Rbar)*(r - c_b)    - lam_b*b]

``C``, ``C_in``, ``c_b`` and ``Rbar`` are running averages (time constants ``tau_c`` and ``tau_r``). The order
of one step is the order of the Brian2 task (:mod:`spikelearn.tasks.bredenberg2020.task`): rates, readout and
reward, weight updates, running averages. The defaults are those of ``scenarios/reward_estimation.toml``:
from the authors' code (Bredenberg et al., ``pl_exp_params_cr.py``) the initial weights ``W ~ U(-0.3,
0.3)/sqrt(N)``, ``W_in ~ U(-0.5, 0.5)/sqrt(n_in)``, unit-gain inputs and the recurrent decay; a learning rate
30x theirs (0.015 per time unit, for 2000 blocks; their runs are ~4x longer); a reward baseline with short
running averages (``tau_c = tau_r = 2``, so that both have settled within ``t_settle`` after a block switch)
and no decay of ``W_in`` and ``b``. (Brian2, seed 1: at 4x the rate for 500 blocks, the same ``eta T``, the
shuffled-reward control lowered the refitted error by 32 %; at 0.015 x 2000 blocks it changes it by +3 %
while learning still lowers it by 81 %: the uninformative third factor only diffuses the weights, an effect
~ eta^2 T. ``reward-discrimination`` uses the same rule settings at 0.0015 x 2000 blocks with weaker initial
input weights, ``U(-0.2, 0.2)/sqrt(n_in)``; at 0.006 x 500 blocks its shuffled control ran away, and at 0.02
learning did.)
Measured alternatives (NumPy, seed 1, 500 blocks): without a baseline the refitted-decoder error does not fall
(+4 %); with a baseline but ``tau = 20/3`` (the authors' value) the shuffled-reward control runs away (the
lagging ``Rbar`` and ``C`` correlate after block switches); with the authors' input/bias decays the error
falls less (-25 % in Brian2 at ``eta = 0.03``, -30 % at 0.06) and the shuffled control destroys the code.
"""

import numpy as np

__all__ = [ "schedule", "decoder_error", "classification_accuracy",
           "discriminability", "region_mean"]


def schedule(rng, n_train, n_test_angles=16, n_repeats=3, kappa=0.75, offset=0.0):
    """Block angles and learning gates: test blocks, training blocks from the prior, test blocks.

    Returns ``theta`` (n_blocks,), ``learn`` (n_blocks,) 0/1 and ``phase`` (n_blocks,) with 0 = test
    before, 1 = training, 2 = test after. Test angles are ``2*pi*(k + offset)/n_test_angles`` in a shuffled
    order, each ``n_repeats`` times (``offset = 0.5`` keeps them off the category boundaries 0 and pi).
    """
    if n_train < 0 or n_test_angles < 2 or n_repeats < 2:
        raise ValueError(f"bad schedule sizes: n_train={n_train}, n_test_angles={n_test_angles}, "
                         f"n_repeats={n_repeats} (n_repeats >= 2 for held-out decoding)")
    test = np.tile(2 * np.pi * (np.arange(n_test_angles) + offset) / n_test_angles, n_repeats)
    before = rng.permutation(test)
    after = rng.permutation(test)
    train = rng.vonmises(0.0, kappa, size=n_train) % (2 * np.pi)
    theta = np.concatenate([before, train, after])
    learn = np.concatenate([np.zeros(len(test)), np.ones(n_train), np.zeros(len(test))])
    phase = np.concatenate([np.zeros(len(test)), np.ones(n_train), 2 * np.ones(len(test))]).astype(int)
    return theta, learn, phase


def _design(R):
    return np.hstack([R, np.ones((len(R), 1))])


def prior_weights(theta, kappa):
    """Von Mises prior density at ``theta`` (the weights of the decoder fits)."""
    from scipy.special import i0

    return np.exp(kappa * np.cos(theta)) / (2 * np.pi * i0(kappa))


def decoder_error(rates, theta, repeat, kappa=0.75, ridge=1e-6):
    """Held-out error of a linear decoder of ``(cos theta, sin theta)`` (prior-weighted least squares).

    For each repeat, a decoder (with intercept) is fitted on the samples of the other repeats, weighted by
    the prior density of their angle, and tested on the held-out repeat; the result is the prior-weighted
    mean squared error over all held-out samples.
    """
    rates, theta, repeat = np.asarray(rates, float), np.asarray(theta, float), np.asarray(repeat)
    if not (len(rates) == len(theta) == len(repeat)):
        raise ValueError(f"rates, theta, repeat lengths differ: {len(rates)}, {len(theta)}, {len(repeat)}")
    Y = np.stack([np.cos(theta), np.sin(theta)], axis=1)
    w = prior_weights(theta, kappa)
    X = _design(rates)
    num = den = 0.0
    for rep in np.unique(repeat):
        tr, te = repeat != rep, repeat == rep
        sw = np.sqrt(w[tr])[:, None]
        A = X[tr] * sw
        coef = np.linalg.solve(A.T @ A + ridge * np.eye(X.shape[1]), A.T @ (Y[tr] * sw))
        e = np.sum((X[te] @ coef - Y[te]) ** 2, axis=1)
        num += np.sum(w[te] * e)
        den += np.sum(w[te])
    return float(num / den)


def classification_accuracy(rates, theta, repeat, kappa=0.75, ridge=1e-3, iters=200):
    """Held-out accuracy of a logistic decoder of ``[theta in [0, pi)]`` (prior-weighted, by repeat)."""
    rates, theta, repeat = np.asarray(rates, float), np.asarray(theta, float), np.asarray(repeat)
    t = ((theta % (2 * np.pi)) < np.pi).astype(float)
    w = prior_weights(theta, kappa)
    X = _design(rates)
    mu, sd = X[:, :-1].mean(0), X[:, :-1].std(0) + 1e-9
    X = np.hstack([(X[:, :-1] - mu) / sd, X[:, -1:]])
    correct = total = 0.0
    for rep in np.unique(repeat):
        tr, te = repeat != rep, repeat == rep
        beta = np.zeros(X.shape[1])
        for _ in range(iters):  # Newton's method on the weighted, ridge-regularised log-likelihood
            z = X[tr] @ beta
            pz = 1 / (1 + np.exp(-z))
            g = X[tr].T @ (w[tr] * (t[tr] - pz)) - ridge * beta
            H = (X[tr] * (w[tr] * pz * (1 - pz))[:, None]).T @ X[tr] + ridge * np.eye(X.shape[1])
            step = np.linalg.solve(H, g)
            beta += step
            if np.max(np.abs(step)) < 1e-8:
                break
        pred = (X[te] @ beta) > 0
        correct += np.sum(w[te] * (pred == (t[te] > 0.5)))
        total += np.sum(w[te])
    return float(correct / total)


def discriminability(rates, theta, n_angles=16, offset=0.0):
    """Local discriminability per test angle: ``sum_i (dmu_i/dtheta)^2 / var_i`` (diagonal linear Fisher).

    ``mu`` and ``var`` are the mean and variance of each unit's rate at each of the ``n_angles`` test angles
    ``2*pi*(k + offset)/n_angles``; the derivative is the central difference between the neighbouring angles.
    Returns (angles, fisher).
    """
    step = 2 * np.pi / n_angles
    angles = step * (np.arange(n_angles) + offset)
    idx = np.round(np.asarray(theta) / step - offset).astype(int) % n_angles
    mu = np.array([rates[idx == k].mean(0) for k in range(n_angles)])
    var = np.array([rates[idx == k].var(0) for k in range(n_angles)]) + 1e-6
    dmu = (np.roll(mu, -1, axis=0) - np.roll(mu, 1, axis=0)) / (2 * step)
    return angles, np.sum(dmu ** 2 / var, axis=1)


def region_mean(values, angles, centre):
    """Mean of ``values`` over the test ``angles`` within 1.5 grid steps of ``centre`` (circular distance)."""
    angles = np.asarray(angles, dtype=float)
    step = 2 * np.pi / len(angles)
    d = np.abs((angles - centre + np.pi) % (2 * np.pi) - np.pi)
    return float(np.mean(np.asarray(values)[d <= 1.5 * step + 1e-9]))
