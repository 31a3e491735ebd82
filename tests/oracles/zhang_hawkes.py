"""Independent NumPy oracle of the ring network of Zhang, Wu, Josić & Doiron (2023, Nat. Commun. 14:7074),
written from reading the authors' newest MATLAB code (``wenhao-z/Sampling_PoissSpk_Neuron`` commit
ce3dffc, 2021-10-06: ``linearHawkesProcess/simHawkesNet.m``, ``parsHawkesNet.m``,
``simExp/scanRecHawkesNet.m``, ``popVectorDecoder.m``, ``lib_InfoAns/getMutualInfo.m``,
``getPosteriorHierMdl.m``), described step by step in ``docs/papers/zhang2023-authors-code.md``. No code is
copied from the authors' repository, and nothing here imports spikelearn (so that the oracle stays
independent of ``spikelearn/tasks/zhang2023/ring.py``).

Network. ``n_exc`` E neurons on a ring (preferred stimuli evenly spaced on (-180, 180] degrees) and
``n_inh`` uniform I neurons. ``J = w_E/sqrt(N)``; ``W[post, pre]``: E<-E ``J·360·g_a(d)`` (``g_a`` the
normalised Gaussian of the circular distance ``d``, width ``a = 40``), I<-E ``J``, E<-I and I<-I
``-5·J``. Weights are in expected extra spikes per presynaptic spike (a linear Hawkes kernel of total mass
``w``). Feedforward: a frozen probability per step, ``U_fwd·exp(-d²/(2(√2·a)²))·dt`` for E and
``ji0·Σ_E/n_inh`` for every I neuron (the scan script's ``bSample_ufwd = 0``: no feedforward spikes).

One step ``n`` (``dt = 0.1 ms``), ordering ``"filter_then_noise"`` (the newest code, ce3dffc):

1. arriving recurrent input ``a = W @ spikes[n-1]``;
2. filter: ``x <- exp(-dt/tau)·x + a``; per-step recurrent probability ``u = x·dt/tau`` (``tau = 2 ms``);
3. internal variability: ``u <- u + sqrt(F·[u]_+)·N(0, 1)``;
4. spikes: ``spikes[n] = (u_fwd + u + u_bkg) > U(0, 1)``;
5. refractory period: a neuron whose last spike was fewer than ``tref/dt`` steps ago (``tref = 2 ms``)
   does not spike;
6. samples: the population vectors of ``spikes[n]`` (s), of the *noisy* ``u`` (z), of the probability
   ``u_fwd + u + u_bkg`` (the rate, used for the internally generated differential correlations) and of
   ``u_fwd`` (x) over the E neurons, summed over each window (20 ms).

Ordering ``"noise_before_filter"`` (the authors' 85a3904, 2021-02-05, which spikelearn's
``models/poisson_hawkes.py`` implements today): the variability is added to the arriving input,
``a <- a + sqrt(F·[a]_+)·N(0, 1)``, *before* the filter, ``u = x·dt/tau`` is not perturbed again, and
there is no refractory period (``tref`` defaults to 0 for this ordering). ``tref`` can be set for either
ordering (e.g. ``ordering="filter_then_noise", tref=0`` is the authors' intermediate 652d51e).

Batching: every argument in ``BATCHED`` may be a sequence; all rows are simulated together (one
(B, N) state, one random stream), which is what makes a whole grid × seeds affordable in NumPy. Rows are
statistically independent replicates; ``seed`` seeds the stream of the whole batch.

Choices that are mine (not the authors'), documented:

* random numbers: NumPy ``default_rng(seed)`` (PCG64), float32 uniforms/normals drawn in blocks of steps;
  the authors use MATLAB's ``rng(100)`` (Mersenne twister) — streams cannot match, only statistics;
* one normal draw per neuron and step serves whichever ordering a row uses (the other ordering's noise
  term is multiplied by 0 for that row);
* the 200-ms spike counts for rates/Fano factors are taken after the discarded 2 s (the authors'
  ``tSpk2nSpk`` bins the whole run).
"""

import math

import numpy as np

__all__ = [
    "AUTHORS_COMMIT",
    "ORDERINGS",
    "preferred",
    "ring_weights",
    "feedforward_prob",
    "simulate_ring",
    "decode_positions",
    "sample_covariance",
    "posterior_covariance",
    "mutual_information",
    "statistics",
    "run_grid",
]

AUTHORS_COMMIT = "ce3dffcb7586787f96a0d649513b103c9f197679"  # 2021-10-06, newest change of simHawkesNet.m
ORDERINGS = ("filter_then_noise", "noise_before_filter")
WIDTH = 180.0
BATCHED = ("w_E", "u_fwd", "fano", "ordering", "tref")


def preferred(n_exc):
    """Preferred stimuli (degrees): ``n_exc`` points evenly spaced on (-180, 180]."""
    return np.linspace(-WIDTH, WIDTH, n_exc + 1)[1:]


def _circ(d):
    return (np.asarray(d, float) + WIDTH) % (2 * WIDTH) - WIDTH


def ring_weights(w_E, n_exc=180, n_inh=45, a=40.0, ratio_ie=5.0):
    """``W[post, pre]`` of one ring (E first), in expected extra spikes per presynaptic spike."""
    n = n_exc + n_inh
    j = w_E / math.sqrt(n)
    th = preferred(n_exc)
    d = _circ(th[:, None] - th[None, :])
    W = np.empty((n, n))
    W[:n_exc, :n_exc] = j * 2 * WIDTH * np.exp(-d ** 2 / (2 * a * a)) / (math.sqrt(2 * math.pi) * a)
    W[n_exc:, :n_exc] = j
    W[:, n_exc:] = -ratio_ie * j
    return W


def feedforward_prob(u_fwd, dt=1e-4, n_exc=180, n_inh=45, a=40.0, ji0=0.8, stimulus=0.0):
    """Frozen feedforward spike probability per step (E: Gaussian of width √2·a; I: uniform)."""
    d = _circ(preferred(n_exc) - stimulus)
    pe = u_fwd * np.exp(-d ** 2 / (2 * 2 * a * a)) * dt
    return np.concatenate([pe, np.full(n_inh, ji0 * pe.sum() / n_inh)])


def _rows(kwargs):
    lens = {len(v) for k, v in kwargs.items() if isinstance(v, (list, tuple, np.ndarray))}
    if len(lens) > 1:
        raise ValueError(f"batched arguments must have one common length, found lengths {sorted(lens)}")
    B = lens.pop() if lens else 1
    out = {}
    for k, v in kwargs.items():
        out[k] = list(v) if isinstance(v, (list, tuple, np.ndarray)) else [v] * B
    return B, out


def simulate_ring(w_E, u_fwd=30.0, fano=0.7, ordering="filter_then_noise", tref=None, duration=52.0,
                  window=0.02, dt=1e-4, tau_syn=2e-3, n_exc=180, n_inh=45, a=40.0, ratio_ie=5.0, ji0=0.8,
                  stimulus=0.0, rate_bkg=0.0, seed=0, record_counts=True, block=64):
    """Simulate B rings (one per row of the batched arguments) for ``duration`` seconds.

    ``tref=None`` means 2 ms for ``filter_then_noise`` and 0 for ``noise_before_filter``.

    Returns a dict: ``pv`` complex (4, B, n_windows) window sums of the population vectors of
    (spikes, noisy recurrent probability u, rate probability, feedforward probability) over the E
    neurons; ``counts`` uint8 (B, n_windows, n_exc) E spike counts per window (if ``record_counts``);
    ``n_spikes_inh`` (B,) total I spikes; ``rows`` (the per-row parameters) and the scalar settings.
    """
    B, rows = _rows(dict(w_E=w_E, u_fwd=u_fwd, fano=fano, ordering=ordering, tref=tref))
    for o in rows["ordering"]:
        if o not in ORDERINGS:
            raise ValueError(f"ordering must be one of {ORDERINGS}, found: {o!r}")
    if min(rows["fano"]) < 0 or min(rows["u_fwd"]) < 0:
        raise ValueError("fano and u_fwd must be >= 0")
    rows["tref"] = [(2e-3 if o == "filter_then_noise" else 0.0) if t is None else float(t)
                    for t, o in zip(rows["tref"], rows["ordering"])]
    n = n_exc + n_inh
    steps_per_window = int(round(window / dt))
    n_windows = int(round(duration / window))
    if n_windows < 1 or abs(steps_per_window * dt - window) > 1e-9 * window:
        raise ValueError(f"window {window} must be a multiple of dt {dt} and duration >= window")

    # rows with the noise before the filter first, so that each rule acts on a contiguous slice
    is_pre = np.array([o == "noise_before_filter" for o in rows["ordering"]])
    order = np.argsort(~is_pre, kind="stable")
    k_pre = int(is_pre.sum())
    W1T = ring_weights(1.0, n_exc, n_inh, a, ratio_ie).T.astype(np.float32)  # [pre, post], scaled by w_E
    jxe = np.asarray(rows["w_E"], np.float32)[order][:, None]
    p_fwd = np.stack([feedforward_prob(u, dt, n_exc, n_inh, a, ji0, stimulus) for u in rows["u_fwd"]])[order]
    p_fwd = (p_fwd + rate_bkg * dt).astype(np.float32)
    f = np.asarray(rows["fano"], np.float32)[order][:, None]
    tref_steps = np.array([round(t / dt) for t in rows["tref"]])[order][:, None]
    alpha = np.float32(math.exp(-dt / tau_syn))
    c = np.float32(dt / tau_syn)
    cir = np.exp(1j * np.deg2rad(preferred(n_exc)))
    col = np.arange(n)

    rng = np.random.default_rng(seed)
    x = np.zeros((B, n), np.float32)
    spk = np.zeros((B, n), bool)
    last = np.full((B, n), -(10 ** 9), np.int64)
    pv = np.zeros((4, B, n_windows), complex)
    counts = np.zeros((B, n_windows, n_exc), np.uint8) if record_counts else None
    n_inh_spk = np.zeros(B, np.int64)
    pv_fwd = p_fwd[:, :n_exc].astype(float) @ cir * steps_per_window
    step = 0
    for w in range(n_windows):
        s_acc = np.zeros((B, n_exc), np.float32)
        u_acc = np.zeros((B, n_exc), np.float32)
        k = 0
        while k < steps_per_window:
            m = min(block, steps_per_window - k)
            unif = rng.random((m, B, n), dtype=np.float32)
            gauss = rng.standard_normal((m, B, n), dtype=np.float32)
            for i in range(m):
                # 1. arriving recurrent input W @ spikes of the previous step (sparse: few spikes per step)
                rb, rj = np.nonzero(spk)
                if len(rb):
                    arrive = np.bincount((rb[:, None] * n + col).ravel(), weights=W1T[rj].ravel(),
                                         minlength=B * n).reshape(B, n).astype(np.float32)
                    arrive *= jxe
                    if k_pre:  # 85a3904 ordering: variability on the arriving input, before the filter
                        ap = arrive[:k_pre]
                        ap += np.sqrt(f[:k_pre] * np.maximum(ap, 0)) * gauss[i, :k_pre]
                    # 2. filter
                    x *= alpha
                    x += arrive
                else:
                    x *= alpha
                u = x * c
                if k_pre < B:  # ce3dffc ordering: variability on the filtered per-step probability
                    uq = u[k_pre:]
                    uq += np.sqrt(f[k_pre:] * np.maximum(uq, 0)) * gauss[i, k_pre:]
                # 4. spikes, 5. refractory period
                spk = (p_fwd + u) > unif[i]
                spk &= (step - last) >= tref_steps
                last[spk] = step
                s_acc += spk[:, :n_exc]
                u_acc += u[:, :n_exc]
                n_inh_spk += spk[:, n_exc:].sum(1)
                step += 1
            k += m
        pv[0, :, w] = s_acc.astype(float) @ cir
        pv[1, :, w] = u_acc.astype(float) @ cir
        pv[2, :, w] = pv_fwd + pv[1, :, w]
        pv[3, :, w] = pv_fwd
        if record_counts:
            counts[:, w] = s_acc
    inv = np.argsort(order)
    pv = pv[:, inv]
    counts = counts[inv] if record_counts else None
    n_inh_spk = n_inh_spk[inv]
    p_fwd = p_fwd[inv]
    return dict(pv=pv, counts=counts, n_spikes_inh=n_inh_spk, rows=rows, duration=duration, window=window,
                dt=dt, n_exc=n_exc, n_inh=n_inh, a=a, seed=seed, p_fwd_exc=p_fwd[:, :n_exc].astype(float))


def decode_positions(pv, rng):
    """Angle (degrees) of each window's population vector; a zero vector gets a uniform random angle
    on (-180, 180) (the authors' ``popVectorDecoder.m``, ce3dffc)."""
    pos = np.rad2deg(np.angle(pv))
    zero = pv == 0
    pos[zero] = (2 * rng.random(int(zero.sum())) - 1) * WIDTH
    return pos


def sample_covariance(pv_rows, rng):
    """Mean angle and covariance of the decoded positions of ``pv_rows`` (k, n_windows), as the authors
    compute them: the mean is the angle of the mean population vector; deviations from it are shifted
    with the authors' two lines (``dev > 180 -> dev - 360``, then ``dev < 180 -> dev + 360``, the second
    line presumably meant ``< -180``; it adds a constant 360 to all but the deviations > 180, i.e. it wraps
    only deviations above +180); then the ordinary covariance (normalised by n - 1)."""
    pos = decode_positions(pv_rows, rng)
    mean = np.rad2deg(np.angle(pv_rows.mean(axis=1)))
    dev = pos - mean[:, None]
    dev = np.where(dev > WIDTH, dev - 2 * WIDTH, dev)
    dev = np.where(dev < WIDTH, dev + 2 * WIDTH, dev)
    return mean, np.cov(dev), pos


def posterior_covariance(u_fwd, urec_world=10.0, a=40.0, rho=0.5, window=0.02):
    """Covariance of the world's posterior p(s, z | x) (the authors' ``getPosteriorHierMdl.m``):
    ``([[1/U, 1/U], [1/U, 1/U + 1/U_world]])·a/(√π·ρ)/T_window``; ρ = n_exc/360 neurons per degree."""
    S = np.full((2, 2), 1.0 / u_fwd)
    S[1, 1] += (WIDTH ** 2 / 3) if urec_world == 0 else 1.0 / urec_world
    return S * a / (math.sqrt(math.pi) * rho) / window


def mutual_information(cov_post, mean_sample, cov_sample, L=360.0):
    """The authors' ``getMutualInfo.m``: H(prior) - cross-entropy of the sampling Gaussian under the
    posterior, in bits per window; also the upper bound H(prior) - H(posterior) and the KL divergence
    KL(posterior || sampling distribution) = upper bound - MI (bits). Posterior mean 0."""
    C0 = np.asarray(cov_post, float)
    C = np.asarray(cov_sample, float)
    mu = np.asarray(mean_sample, float)
    cov_prior = C0[1, 1] - C0[0, 0]
    xent = 0.5 * (2 * math.log(2 * math.pi) + math.log(np.linalg.det(C)) + np.trace(np.linalg.solve(C, C0))
                  + mu @ np.linalg.solve(C, mu))
    ent_prior = 0.5 * (1 + math.log(2 * math.pi) + math.log(cov_prior)) + math.log(L)
    mi = (ent_prior - xent) / math.log(2)
    up = (ent_prior - (math.log(2 * math.pi) + 1) - 0.5 * math.log(np.linalg.det(C0))) / math.log(2)
    return mi, up, up - mi


def statistics(out, discard=2.0, urec_world=10.0, trial=0.2, seed=12345):
    """Per-row statistics the authors compute (``scanRecHawkesNet.m``), plus rates and Fano factors.

    For each row: the 4×4 covariance of the decoded (s, z, rate, x) positions over the windows after
    ``discard``; the sampling precision ``P = inv(C[:2, :2])``; ``lam_x`` (``PreMat_LH`` = window·Σ_E
    feedforward rate/(2a²)); ``lam_s = -P12`` (the prior stored in the network, read from the samples);
    ``r11 = P11/(lam_x + lam_s)``, ``r22 = P22/lam_s``; the world's prior precision
    ``lam_s_world = lam_x·U_world/U_fwd``; MI, its upper bound and KL (bits per window, and MI in bit/s);
    the internally generated differential correlations ``C[2, 2]`` (variance of the rate-vector angle);
    E rates, and the Fano factor and mean pairwise correlation of ``trial``-long E spike counts (neurons
    within ±45° of the stimulus).
    """
    rng = np.random.default_rng(seed)
    w0 = int(round(discard / out["window"]))
    pv = out["pv"][:, :, w0:]
    rows = out["rows"]
    res = []
    for b in range(pv.shape[1]):
        mean, C, pos = sample_covariance(pv[:, b, :], rng)
        P = np.linalg.inv(C[:2, :2])
        lam_x = out["window"] * out["p_fwd_exc"][b].sum() / out["dt"] / (2 * out["a"] ** 2)
        lam_s = -P[0, 1]
        u = rows["u_fwd"][b]
        cov_post = posterior_covariance(u, urec_world, out["a"], out["n_exc"] / 360.0, out["window"])
        mi, up, kl = mutual_information(cov_post, mean[:2], C[:2, :2])
        r = dict(w_E=float(rows["w_E"][b]), u_fwd=float(u), fano=float(rows["fano"][b]),
                 ordering=rows["ordering"][b], tref=float(rows["tref"][b]),
                 n_windows=int(pv.shape[2]), P11=float(P[0, 0]), P12=float(P[0, 1]), P22=float(P[1, 1]),
                 lam_x=float(lam_x), lam_s=float(lam_s),
                 r11=float(P[0, 0] / (lam_x + lam_s)), r22=float(P[1, 1] / lam_s) if lam_s != 0 else float("nan"),
                 lam_s_world=float(lam_x * urec_world / u), mean_s=float(mean[0]), mean_z=float(mean[1]),
                 var_s=float(C[0, 0]), var_z=float(C[1, 1]), corr_sz=float(C[0, 1] / math.sqrt(C[0, 0] * C[1, 1])),
                 diff_corr=float(C[2, 2]), mi_bits=float(mi), mi_bits_per_s=float(mi / out["window"]),
                 mi_upper_bits=float(up), kl_bits=float(kl),
                 s_quantiles=[float(q) for q in np.quantile(pos[0], [0.05, 0.25, 0.5, 0.75, 0.95])],
                 z_quantiles=[float(q) for q in np.quantile(pos[1], [0.05, 0.25, 0.5, 0.75, 0.95])])
        if out["counts"] is not None:
            cnt = out["counts"][b, w0:].astype(float)
            k = int(round(trial / out["window"]))
            nt = cnt.shape[0] // k
            ct = cnt[: nt * k].reshape(nt, k, -1).sum(1)
            T = pv.shape[2] * out["window"]
            rates = cnt.sum(0) / T
            near = np.abs(_circ(preferred(out["n_exc"]))) <= 45
            m = ct[:, near].mean(0)
            v = ct[:, near].var(0, ddof=1)
            cc = np.corrcoef(ct[:, near].T)
            off = cc[~np.eye(len(cc), dtype=bool)]
            r.update(rate_exc_mean=float(rates.mean()), rate_exc_peak=float(rates[near].mean()),
                     rate_inh_mean=float(out["n_spikes_inh"][b] / (out["duration"] * out["n_inh"])),
                     fano_200ms=float(np.mean(v[m > 0] / m[m > 0])),
                     fano_20ms=float(np.mean(cnt[:, near].var(0, ddof=1) / np.maximum(cnt[:, near].mean(0), 1e-12))),
                     corr_200ms=float(np.nanmean(off)))
        res.append(r)
    return res


def run_grid(w_E_values, seeds, variants, duration=52.0, discard=2.0, u_fwd=30.0, base_seed=0, **kw):
    """Simulate the grid ``w_E_values`` × ``seeds`` replicates × ``variants`` (list of dicts with
    ``fano``, ``ordering``, optionally ``tref``/``name``) as ONE batch; return the per-row statistics,
    each tagged with its replicate index and variant name."""
    tags, W, F, O, T, U = [], [], [], [], [], []
    for v in variants:
        for r in range(seeds):
            for w in w_E_values:
                tags.append((v.get("name", v["ordering"]), r))
                W.append(w)
                F.append(v["fano"])
                O.append(v["ordering"])
                T.append(v.get("tref"))
                U.append(v.get("u_fwd", u_fwd))
    out = simulate_ring(W, u_fwd=U, fano=F, ordering=O, tref=T, duration=duration, seed=base_seed, **kw)
    st = statistics(out, discard=discard)
    for s, (name, r) in zip(st, tags):
        s["variant"] = name
        s["replicate"] = r
    return st
