"""Pure-NumPy reference of the Poisson-sampling ring network and of its generative model.

Zhang, Wu, Josić & Doiron (2023) Nat. Commun. 14:7074. Everything here is independent of Brian2: the
connectivity (used by the task to build the network, and by the NumPy simulation), the frozen
feedforward rates, the population-vector decoder, the discrete-time linear Hawkes simulation with the
internal variability rule, and the posterior computations of the hierarchical model

    p(x | s) = N(s; x, Λx⁻¹),   p(s | z) = N(s; z, Λs⁻¹),   p(z) flat,

whose posterior precision over (s, z) is ``[[Λx + Λs, −Λs], [−Λs, Λs]]``; and of the coupled-ring
model ``p(s1, s2) ∝ exp(−Λc (s1 − s2)²/2)`` with likelihoods of precision Λx1, Λx2, whose posterior
precision is ``[[Λx1 + Λc, −Λc], [−Λc, Λx2 + Λc]]``. Angles are in degrees throughout.
"""

import numpy as np

__all__ = [
    "preferred_stimuli",
    "circular_distance",
    "ring_weights",
    "coupled_ring_weights",
    "feedforward_rates",
    "popvec_angle",
    "window_samples",
    "sampling_precision",
    "fisher_information",
    "likelihood_precision",
    "popvec_precision",
    "hierarchical_posterior_precision",
    "coupled_posterior_precision",
    "precision_to_correlation",
    "world_posterior_covariance",
    "mutual_information",
    "gaussian_kl",
    "fit_coupling_prior",
]

WIDTH = 180.0  # the ring is (-WIDTH, WIDTH] degrees


def preferred_stimuli(n_exc):
    """Preferred stimuli (degrees) of ``n_exc`` neurons evenly spaced on (−180, 180]."""
    if n_exc < 1:
        raise ValueError(f"n_exc must be >= 1, found: {n_exc}")
    return np.linspace(-WIDTH, WIDTH, n_exc + 1)[1:]


def circular_distance(a, b):
    """Signed circular difference ``a − b`` wrapped into (−180, 180] degrees."""
    d = np.angle(np.exp(1j * np.deg2rad(np.asarray(a, float) - np.asarray(b, float))))
    return np.rad2deg(d)


def _gauss_pdf(d, width):
    return np.exp(-d ** 2 / (2 * width ** 2)) / (np.sqrt(2 * np.pi) * width)


def ring_weights(n_exc, n_inh, w_e, width=40.0, ratio_ie=5.0):
    """Weight matrix ``W[post, pre]`` of one ring (E first, then I), in expected extra spikes.

    ``J = w_e/sqrt(N)·[[1, −ratio_ie], [1, −ratio_ie]]``; E→E is ``J_EE·2·180·g(d)`` with ``g`` the
    normalised Gaussian of circular distance ``d`` (width ``width`` degrees); E→I, I→E, I→I uniform.
    """
    if n_exc < 1 or n_inh < 0:
        raise ValueError(f"need n_exc >= 1 and n_inh >= 0, found: {n_exc}, {n_inh}")
    if width <= 0:
        raise ValueError(f"width must be > 0, found: {width}")
    n = n_exc + n_inh
    j = w_e / np.sqrt(n)
    pref = preferred_stimuli(n_exc)
    d = circular_distance(pref[:, None], pref[None, :])
    W = np.empty((n, n))
    W[:n_exc, :n_exc] = j * 2 * WIDTH * _gauss_pdf(d, width)
    W[n_exc:, :n_exc] = j
    W[:, n_exc:] = -ratio_ie * j
    return W


def coupled_ring_weights(n_exc, n_inh, w_e, cross_ratio=0.5, width=40.0, ratio_ie=5.0, within_ee=1.0,
                         kernel_order=None):
    """Weight matrix of two coupled rings (ring 1: E, I; ring 2: E, I).

    Within a ring: :func:`ring_weights`, its E→E block scaled by ``within_ee`` (the authors' coupled-ring
    simulations cut it, ``bCutRecConns``: ``within_ee = 0``). Across rings (as in the authors'
    ``simCoupledHawkesNet.m`` without a shared inhibitory pool): E→E ``cross_ratio`` × the within-ring
    E→E kernel of weight scale ``w_e``, E→I ``cross_ratio·J_EE`` uniform, no inhibitory connection
    across rings. ``kernel_order``: a permutation of the ``n_exc²`` entries of the E→E kernel, applied
    before it is used within and across rings (the authors' ``bRandWee``: same weights, no ring structure).
    """
    if cross_ratio < 0 or within_ee < 0:
        raise ValueError(f"cross_ratio and within_ee must be >= 0, found: {cross_ratio}, {within_ee}")
    W = ring_weights(n_exc, n_inh, w_e, width, ratio_ie)
    if kernel_order is not None:
        order = np.asarray(kernel_order)
        if sorted(order.tolist()) != list(range(n_exc * n_exc)):
            raise ValueError(f"kernel_order must be a permutation of range({n_exc * n_exc})")
        W[:n_exc, :n_exc] = W[:n_exc, :n_exc].ravel()[order].reshape(n_exc, n_exc)
    Wx = cross_ratio * W
    Wx[:, n_exc:] = 0.0
    W1 = W.copy()
    W1[:n_exc, :n_exc] *= within_ee
    return np.block([[W1, Wx], [Wx, W1]])


def feedforward_rates(n_exc, n_inh, u_fwd, stimulus=0.0, width=40.0, ji0=0.8):
    """Frozen feedforward rates (Hz): E ``u_fwd·exp(−d²/(2(√2·width)²))``, I ``ji0·ΣE/n_inh`` each."""
    if u_fwd < 0:
        raise ValueError(f"u_fwd must be >= 0, found: {u_fwd}")
    d = circular_distance(preferred_stimuli(n_exc), stimulus)
    r_e = u_fwd * np.exp(-d ** 2 / (2 * (np.sqrt(2) * width) ** 2))
    r_i = np.full(n_inh, ji0 * r_e.sum() / n_inh) if n_inh else np.zeros(0)
    return np.concatenate([r_e, r_i])


def popvec_angle(activity, preferred):
    """Population-vector angle (degrees) of ``activity`` (..., n) over neurons with ``preferred`` angles.

    NaN where the vector is zero (no activity).
    """
    activity = np.asarray(activity, float)
    vec = activity @ np.exp(1j * np.deg2rad(np.asarray(preferred, float)))
    out = np.rad2deg(np.angle(vec))
    return np.where(np.abs(vec) > 0, out, np.nan)


def window_samples(counts, z, preferred, rate_fwd_exc=None, window=0.02):
    """Samples per window: ``s`` (spikes), ``z`` (recurrent input), ``r`` (rate vector) in degrees."""
    s = popvec_angle(counts, preferred)
    zs = popvec_angle(z, preferred) if np.any(z) else np.full(len(counts), np.nan)
    out = {"s": s, "z": zs}
    if rate_fwd_exc is not None:
        out["r"] = popvec_angle(np.asarray(rate_fwd_exc)[None, :] * window + z, preferred)
    return out


def sampling_precision(samples):
    """Inverse of the sample covariance of the columns of ``samples`` (n_samples, k); NaN rows dropped."""
    samples = np.asarray(samples, float)
    samples = samples[np.all(np.isfinite(samples), axis=1)]
    if len(samples) < samples.shape[1] + 2:
        raise ValueError(f"too few finite samples ({len(samples)}) for a {samples.shape[1]}-d covariance")
    return np.linalg.inv(np.atleast_2d(np.cov(samples.T)))


def fisher_information(rates, preferred, stimulus=0.0, width=40.0, window=0.02):
    """Fisher information (deg⁻²) about the stimulus of Poisson counts in ``window`` with Gaussian tuning.

    ``rates`` are the mean rates at ``stimulus``; tuning ``f_j(s) ∝ exp(−d_j²/(2·width²))`` so that
    ``f_j' = f_j·d_j/width²`` and ``I = window·Σ f_j'²/f_j``.
    """
    d = circular_distance(preferred, stimulus)
    rates = np.asarray(rates, float)
    return float(window * np.sum(rates * d ** 2) / width ** 4)


def likelihood_precision(rates_exc, width=40.0, window=0.02):
    """Precision (deg⁻²) of the likelihood p(x|s) carried by the feedforward input in one window.

    The feedforward E rates have Gaussian tuning of width ``√2·width``, so their expected spike count
    ``window·Σ rates`` locates the stimulus with precision ``window·Σ rates/(2·width²)`` (the
    authors' ``PreMat_LH``, ``scanRecHawkesNet.m``/``scanCoupledHawkesNet.m``).
    """
    if width <= 0 or window <= 0:
        raise ValueError(f"width and window must be > 0, found: {width}, {window}")
    return float(window * np.sum(rates_exc) / (2 * width ** 2))


def popvec_precision(rates, preferred, window=0.02):
    """1/variance (deg⁻²) of the population-vector angle of independent Poisson counts (delta method)."""
    th = np.deg2rad(np.asarray(preferred, float))
    lam = np.asarray(rates, float) * window
    mean = np.sum(lam * np.exp(1j * th))
    phi = np.angle(mean)
    var_perp = np.sum(lam * np.sin(th - phi) ** 2)
    var = var_perp / np.abs(mean) ** 2
    return float(1.0 / np.rad2deg(np.sqrt(var)) ** 2)


def hierarchical_posterior_precision(lam_x, lam_s):
    """Posterior precision over (s, z) of the hierarchical model with flat p(z)."""
    if lam_x < 0 or lam_s < 0:
        raise ValueError(f"precisions must be >= 0, found: {lam_x}, {lam_s}")
    return np.array([[lam_x + lam_s, -lam_s], [-lam_s, lam_s]])


def coupled_posterior_precision(lam_x1, lam_x2, lam_c):
    """Posterior precision over (s1, s2) of two stimuli with a Gaussian coupling prior of precision Λc."""
    if min(lam_x1, lam_x2, lam_c) < 0:
        raise ValueError(f"precisions must be >= 0, found: {lam_x1}, {lam_x2}, {lam_c}")
    return np.array([[lam_x1 + lam_c, -lam_c], [-lam_c, lam_x2 + lam_c]])


def precision_to_correlation(P):
    """Correlation coefficient of the 2-d Gaussian with precision matrix ``P``."""
    C = np.linalg.inv(np.asarray(P, float))
    return float(C[0, 1] / np.sqrt(C[0, 0] * C[1, 1]))


def world_posterior_covariance(u_fwd, urec_world=10.0, width=40.0, rho=0.5, window=0.02):
    """Covariance (deg²) over (s, z) of the posterior of the world the network is tested in (the authors'
    ``getPosteriorHierMdl.m``): likelihood precision ``Λx = U·√π·ρ·T/a`` (``U`` the peak feedforward rate
    in Hz, ``ρ`` E neurons per degree, ``T`` the window in s, ``a`` the kernel width) and world prior
    precision ``Λx·U_world/U``; flat p(z)."""
    if min(u_fwd, urec_world, width, rho, window) <= 0:
        raise ValueError("u_fwd, urec_world, width, rho and window must be > 0, found: "
                         f"{u_fwd}, {urec_world}, {width}, {rho}, {window}")
    lam_x = u_fwd * np.sqrt(np.pi) * rho * window / width
    lam_s = lam_x * urec_world / u_fwd
    return np.linalg.inv(hierarchical_posterior_precision(lam_x, lam_s))


def mutual_information(cov_post, mean_sample, cov_sample, span=2 * WIDTH):
    """Mutual information (bits per window) that the sampling distribution N(mean, cov) of (s, z)
    carries, as the authors' ``getMutualInfo.m`` computes it: the entropy of the prior (z uniform on
    ``span`` degrees, s | z Gaussian with the world prior's variance ``C0[1,1] - C0[0,0]``) minus the
    cross-entropy of the samples' Gaussian under the posterior N(0, ``cov_post``). Returns ``(mi,
    upper, kl)``: the upper bound H(prior) - H(posterior), reached when the samples follow the posterior,
    and KL(posterior || samples) = upper - mi."""
    c0, c, mu = (np.asarray(x, float) for x in (cov_post, cov_sample, mean_sample))
    prior_var = c0[1, 1] - c0[0, 0]
    if prior_var <= 0:
        raise ValueError(f"the posterior's z variance must exceed its s variance, found: {c0.tolist()}")
    cross = 0.5 * (2 * np.log(2 * np.pi) + np.log(np.linalg.det(c)) + np.trace(np.linalg.solve(c, c0))
                   + mu @ np.linalg.solve(c, mu))
    h_prior = 0.5 * (1 + np.log(2 * np.pi) + np.log(prior_var)) + np.log(span)
    h_post = np.log(2 * np.pi) + 1 + 0.5 * np.log(np.linalg.det(c0))
    mi, upper = (h_prior - cross) / np.log(2), (h_prior - h_post) / np.log(2)
    return float(mi), float(upper), float(upper - mi)


def gaussian_kl(mu0, cov0, mu, cov):
    """KL(N(mu0, cov0) ‖ N(mu, cov)) in nats (the authors' ``getKLDiv.m`` of 652d51e)."""
    mu0, cov0, mu, cov = (np.atleast_1d(np.asarray(x, float)) for x in (mu0, cov0, mu, cov))
    cov0, cov = np.atleast_2d(cov0), np.atleast_2d(cov)
    d = mu - mu0
    return float(0.5 * (np.log(np.linalg.det(cov)) - np.log(np.linalg.det(cov0))
                        + np.trace(np.linalg.solve(cov, cov0)) + d @ np.linalg.solve(cov, d) - len(mu0)))


def fit_coupling_prior(mean_sample, cov_sample, stimuli, lam_x):
    """The coupling prior the samples of two rings imply (the authors' ``findPriorPrecision.m``): the Λc in
    ``[0, 2·P11]`` (P the samples' precision) whose posterior ``N(μ, Σ)``, ``Σ⁻¹ = Λc·[[1, −1], [−1, 1]] +
    diag(lam_x)``, ``μ = Σ·diag(lam_x)·stimuli``, is closest to the samples' Gaussian in KL(posterior ‖
    samples). Returns ``(lam_c, kl, posterior_precision, posterior_mean)``."""
    from scipy.optimize import minimize_scalar

    lam_lh = np.diag(np.asarray(lam_x, float))
    stimuli = np.asarray(stimuli, float)
    cov_sample = np.asarray(cov_sample, float)
    upper = 2 * np.linalg.inv(cov_sample)[0, 0]

    def post(lam_c):
        P = lam_c * np.array([[1.0, -1.0], [-1.0, 1.0]]) + lam_lh
        return P, np.linalg.solve(P, lam_lh @ stimuli)

    def kl(lam_c):
        P, mu = post(lam_c)
        return gaussian_kl(mu, np.linalg.inv(P), mean_sample, cov_sample)

    res = minimize_scalar(kl, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-6 * upper})
    P, mu = post(res.x)
    return float(res.x), float(res.fun), P, mu
