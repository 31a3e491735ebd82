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

Coupled rings (``coupled_weights``, ``simulate_coupled``, ``coupled_statistics``): the authors'
``simExp/scanCoupledHawkesNet.m`` (flagTest 2 settings as defaults), ``simCoupledHawkesNet.m``,
``parsCoupledHawkesNet.m``, ``getNetMdlStat.m``, ``findPriorPrecision.m`` (which calls ``getKLDiv.m``,
deleted in ce3dffc; read from 652d51e): two rings, spiking feedforward input filtered like the recurrent
input, no internal variability; see the functions' docstrings.

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
    "coupled_weights",
    "simulate_coupled",
    "kl_divergence",
    "fit_prior_precision",
    "coupled_statistics",
    "coupled_mutual_information",
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


def _sparse_input(rb, w_rows, B, n):
    """(B, n) float32 sum of the weight rows ``w_rows[k]`` (k-th spike: batch row ``rb[k]``) — the arriving
    recurrent input ``W @ spikes`` computed from the few spikes of one step (float64 sums, as bincount)."""
    col = np.arange(n)
    return np.bincount((rb[:, None] * n + col).ravel(), weights=w_rows.ravel(),
                       minlength=B * n).reshape(B, n).astype(np.float32)


def _spike(prob, unif, step, last, tref_steps):
    """Spikes ``prob > U(0, 1)``, silenced within ``tref_steps`` of a neuron's last spike; updates ``last``."""
    spk = prob > unif
    spk &= (step - last) >= tref_steps
    last[spk] = step
    return spk


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
                    arrive = _sparse_input(rb, W1T[rj], B, n)
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
                spk = _spike(p_fwd + u, unif[i], step, last, tref_steps)
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


# ---------------------------------------------------------------------------------------------------------
# Two coupled rings (the authors' simExp/scanCoupledHawkesNet.m, linearHawkesProcess/simCoupledHawkesNet.m,
# parsCoupledHawkesNet.m, lib_InfoAns/getNetMdlStat.m, findPriorPrecision.m; ce3dffc)
# ---------------------------------------------------------------------------------------------------------

LAPLACIAN = np.array([[1.0, -1.0], [-1.0, 1.0]])
BATCHED_COUPLED = ("cross_ratio", "fano", "rand_wee", "u_fwd")


def _ee_kernel(n_exc, a):
    """The authors' ``Wee``: circulant ``2·width·g_a(d)`` (``gaussTuneKerl(PrefStim(1), a, ., 1)`` made
    circulant by ``gallery('circul', .)``, times ``2·width``), without the synaptic weight."""
    th = preferred(n_exc)
    d = _circ(th[:, None] - th[None, :])
    return 2 * WIDTH * np.exp(-d ** 2 / (2 * a * a)) / (math.sqrt(2 * math.pi) * a)


def coupled_weights(cross_ratio, jxe=0.01, n_exc=180, n_inh=45, a=40.0, ratio_ie=3.0, cut_ee=True,
                    share_inh=False, rand_wee=False, rng=None):
    """``W[post, pre]`` of the two coupled rings (ring 1's E, ring 1's I, ring 2's E, ring 2's I), in
    expected extra spikes per presynaptic spike; ``[[W11, W12], [W12, W11]]`` as in ``simCoupledHawkesNet.m``.

    ``J = jxe/sqrt(n_exc + n_inh)`` (the size of ONE ring). Within a ring: E<-E ``J·Wee`` (0 when ``cut_ee``,
    the authors' ``bCutRecConns = 1``), I<-E ``J``, E<-I and I<-I ``-ratio_ie·J``. Across rings
    (``share_inh=False``, the authors' ``bShareInhPool = 0``): E<-E ``cross_ratio·J·Wee``, I<-E
    ``cross_ratio·J``, nothing from I neurons. ``share_inh=True`` is the authors' other branch: across rings
    the within-ring block with only E<-E scaled by ``cross_ratio`` (I<-E ``J``, inhibition ``-ratio_ie·J``).

    ``rand_wee`` (the authors' ``bRandWee``): all ``n_exc²`` entries of ``Wee`` permuted once
    (``randperm(numel(Wee))``) with ``rng`` (a NumPy Generator); the same permuted ``Wee`` serves both
    directions (and the within-ring E<-E block if ``cut_ee`` is False), as in the authors' code.
    """
    n = n_exc + n_inh
    j = jxe / math.sqrt(n)
    wee = _ee_kernel(n_exc, a)
    if rand_wee:
        if rng is None:
            raise ValueError("rand_wee needs rng")
        wee = wee.ravel()[rng.permutation(wee.size)].reshape(wee.shape)
    w11 = np.empty((n, n))
    w11[:n_exc, :n_exc] = 0.0 if cut_ee else j * wee
    w11[n_exc:, :n_exc] = j
    w11[:, n_exc:] = -ratio_ie * j
    w12 = np.zeros((n, n))
    w12[:n_exc, :n_exc] = cross_ratio * j * wee
    if share_inh:
        w12[n_exc:, :n_exc] = j
        w12[:, n_exc:] = -ratio_ie * j
    else:
        w12[n_exc:, :n_exc] = cross_ratio * j
    return np.block([[w11, w12], [w12, w11]])


def _u_fwd_rows(u_fwd, kw):
    uf = np.asarray(u_fwd, float)
    if uf.ndim == 0:
        uf = np.array([uf, uf])
    if uf.ndim == 2:
        if uf.shape[1] != 2:
            raise ValueError("a per-row u_fwd must have shape (B, 2)")
        kw["u_fwd"] = [(float(p), float(q)) for p, q in uf]
    elif uf.shape != (2,):
        raise ValueError("u_fwd must be a scalar, a pair (ring 1, ring 2) or a (B, 2) array")
    B, rows = _rows(kw)
    if "u_fwd" not in rows:
        rows["u_fwd"] = [(float(uf[0]), float(uf[1]))] * B
    return B, rows


def simulate_coupled(cross_ratio, u_fwd=(30.0, 30.0), fano=0.0, rand_wee=False, posi=(-10.0, 10.0),
                     feedforward="spikes", duration=102.0, window=0.02, dt=1e-4, tau_syn=2e-3, tref=2e-3,
                     jxe=0.01, n_exc=180, n_inh=45, a=40.0, ratio_ie=3.0, ji0=0.8, cut_ee=True,
                     share_inh=False, seed=0, record_counts=True, block=64):
    """Simulate B pairs of coupled rings (one pair per row of the batched arguments ``cross_ratio``,
    ``fano``, ``rand_wee``, and ``u_fwd`` given as a (B, 2) array; a scalar or a pair is shared by all rows).

    The authors' (``simCoupledHawkesNet.m`` with ``scanCoupledHawkesNet.m`` flagTest 2 settings as
    defaults; ``duration`` = their ``tLen`` = 102 s): weights ``coupled_weights``; feedforward per-step
    probability ``feedforward_prob`` around each ring's own stimulus ``posi`` (degrees); one step:

    1. feedforward (``feedforward="spikes"``, ``bSample_ufwd = 1``): a Bernoulli spike per neuron with that
       probability, filtered in the same step, ``xfwd <- exp(-dt/tau)·xfwd + spike``, ``ufwd = xfwd·dt/tau``;
       ``feedforward="rate"``: ``ufwd`` = the probability;
    2. recurrent: ``xrec <- exp(-dt/tau)·xrec + W @ spikes[n-1]``, ``urec = xrec·dt/tau``;
    3. (NOT in the authors' coupled code; default off) internal variability as in the single ring's newest
       ordering, ``urec <- urec + sqrt(F·[urec]_+)·N(0, 1)``, for a negative control;
    4. spikes ``ufwd + urec > U(0, 1)``; refractory period ``tref`` for every neuron of both rings.
       (The authors' ``tSpk_LastTime`` has length ``Ncells``, not ``numNets·Ncells``: ``bSpk(mask) = 0``
       with the shorter mask silences ring 1 only, and ``tSpk_LastTime(bSpk) = iter`` GROWS the vector
       (zero-filled, checked in Octave) as soon as a ring-2 neuron spikes, so ring-2 neuron k is refractory
       once any neuron of index >= k has spiked — within the first milliseconds, since ring 2's last I
       neurons fire early; after the discarded 2 s it is the same as a refractory period for all.)
    5. the population vectors over the E neurons of the spikes of ring 1, ring 2, and of the probability
       ``ufwd + urec`` of ring 1, ring 2 (the authors' four ``popVec`` rows), summed over each window.

    My choices: one NumPy stream (``default_rng(seed)``, float32 uniforms/normals in blocks of steps) for
    the whole batch, rows independent (the authors rerun ``rng`` with the same seed for every grid point:
    common random numbers; note also that their ``rngNetSpk = rng(100)`` stores the state set by the
    preceding ``rng(0)``); the ``rand_wee`` permutation of row ``b`` is drawn from
    ``default_rng([seed, b])``; ``fano > 0`` rows are simulated first (contiguous slice) and normals are
    drawn only if some row has ``fano > 0``.

    Returns a dict: ``pv`` complex (4, B, n_windows) (s1, s2, rate1, rate2); ``counts`` uint8
    (B, n_windows, 2, n_exc) E spike counts per window and ring; ``n_spikes_inh`` (B, 2); ``p_fwd_exc``
    (B, 2, n_exc) the feedforward probabilities per step; ``rows`` and the scalar settings.
    """
    if feedforward not in ("spikes", "rate"):
        raise ValueError(f"feedforward must be 'spikes' or 'rate', found: {feedforward!r}")
    B, rows = _u_fwd_rows(u_fwd, dict(cross_ratio=cross_ratio, fano=fano, rand_wee=rand_wee))
    if min(rows["fano"]) < 0 or min(min(u) for u in rows["u_fwd"]) < 0 or min(rows["cross_ratio"]) < 0:
        raise ValueError("fano, u_fwd and cross_ratio must be >= 0")
    n = n_exc + n_inh
    N = 2 * n
    steps_per_window = int(round(window / dt))
    n_windows = int(round(duration / window))
    if n_windows < 1 or abs(steps_per_window * dt - window) > 1e-9 * window:
        raise ValueError(f"window {window} must be a multiple of dt {dt} and duration >= window")

    WT = np.empty((B, N, N), np.float32)  # [row, pre, post]
    p_fwd64 = np.empty((B, N))
    for b in range(B):
        prng = np.random.default_rng([seed, b]) if rows["rand_wee"][b] else None
        WT[b] = coupled_weights(rows["cross_ratio"][b], jxe, n_exc, n_inh, a, ratio_ie, cut_ee, share_inh,
                                bool(rows["rand_wee"][b]), prng).T
        u1, u2 = rows["u_fwd"][b]
        p_fwd64[b] = np.concatenate([feedforward_prob(u1, dt, n_exc, n_inh, a, ji0, posi[0]),
                                     feedforward_prob(u2, dt, n_exc, n_inh, a, ji0, posi[1])])
    has_f = np.array([f > 0 for f in rows["fano"]])
    order = np.argsort(~has_f, kind="stable")
    kf = int(has_f.sum())
    WT = WT[order]
    p_fwd = p_fwd64[order].astype(np.float32)
    f = np.asarray(rows["fano"], np.float32)[order][:kf, None]
    tref_steps = int(round(tref / dt))
    alpha = np.float32(math.exp(-dt / tau_syn))
    c = np.float32(dt / tau_syn)
    cir = np.exp(1j * np.deg2rad(preferred(n_exc)))
    sample_fwd = feedforward == "spikes"

    rng = np.random.default_rng(seed)
    x = np.zeros((B, N), np.float32)
    xf = np.zeros((B, N), np.float32)
    uf = p_fwd
    spk = np.zeros((B, N), bool)
    last = np.full((B, N), -(10 ** 9), np.int64)
    pv = np.zeros((4, B, n_windows), complex)
    counts = np.zeros((B, n_windows, 2, n_exc), np.uint8) if record_counts else None
    n_inh_spk = np.zeros((B, 2), np.int64)
    step = 0
    for w in range(n_windows):
        s_acc = np.zeros((B, N), np.float32)
        r_acc = np.zeros((B, N), np.float32)
        k = 0
        while k < steps_per_window:
            m = min(block, steps_per_window - k)
            unif = rng.random((m, B, N), dtype=np.float32)
            ufw = rng.random((m, B, N), dtype=np.float32) if sample_fwd else None
            gauss = rng.standard_normal((m, kf, N), dtype=np.float32) if kf else None
            for i in range(m):
                if sample_fwd:  # 1. feedforward spikes, filtered in the same step
                    xf *= alpha
                    xf += p_fwd > ufw[i]
                    uf = xf * c
                rb, rj = np.nonzero(spk)  # 2. recurrent input from the previous step's spikes
                x *= alpha
                if len(rb):
                    x += _sparse_input(rb, WT[rb, rj], B, N)
                u = x * c
                if kf:  # 3. optional internal variability (not the authors')
                    uq = u[:kf]
                    uq += np.sqrt(f * np.maximum(uq, 0)) * gauss[i]
                rate = uf + u
                spk = _spike(rate, unif[i], step, last, tref_steps)  # 4.
                s_acc += spk
                r_acc += rate
                step += 1
            k += m
        s3 = s_acc.reshape(B, 2, n)
        r3 = r_acc.reshape(B, 2, n)
        for ring in range(2):
            pv[ring, :, w] = s3[:, ring, :n_exc].astype(float) @ cir
            pv[2 + ring, :, w] = r3[:, ring, :n_exc].astype(float) @ cir
        n_inh_spk += s3[:, :, n_exc:].sum(2).astype(np.int64)
        if record_counts:
            counts[:, w] = s3[:, :, :n_exc]
    inv = np.argsort(order)
    return dict(pv=pv[:, inv], counts=counts[inv] if record_counts else None, n_spikes_inh=n_inh_spk[inv],
                rows=rows, duration=duration, window=window, dt=dt, n_exc=n_exc, n_inh=n_inh, a=a, jxe=jxe,
                posi=tuple(float(p) for p in posi), feedforward=feedforward, tref=tref, seed=seed,
                p_fwd_exc=p_fwd64.reshape(B, 2, n)[:, :, :n_exc].copy())


def kl_divergence(mu0, cov0, mu, cov):
    """KL(N(mu0, cov0) || N(mu, cov)) in nats (the authors' ``getKLDiv.m``, deleted in ce3dffc although
    ``findPriorPrecision.m`` still calls it; read from 652d51e)."""
    cov0 = np.asarray(cov0, float)
    cov = np.asarray(cov, float)
    dmu = np.asarray(mu, float) - np.asarray(mu0, float)
    return 0.5 * (math.log(np.linalg.det(cov)) - math.log(np.linalg.det(cov0))
                  + np.trace(cov0 @ np.linalg.inv(cov)) + dmu @ np.linalg.solve(cov, dmu) - len(cov0))


def _posterior(lam_c, pre_lh, posi):
    P = lam_c * LAPLACIAN + pre_lh
    S = np.linalg.inv(P)
    return S @ pre_lh @ posi, S


def fit_prior_precision(mean_sample, cov_sample, posi, pre_lh, n_grid=201, xatol=1e-7):
    """The authors' ``findPriorPrecision.m``: the coupling prior precision ``Λc`` in
    ``[0, 2·inv(cov_sample)[0, 0]]`` minimising KL(N(μpost, Σpost) || N(mean_sample, cov_sample)), with
    ``Σpost⁻¹ = Λc·[[1, -1], [-1, 1]] + pre_lh`` and ``μpost = Σpost·pre_lh·posi``.

    The authors use ``fmincon`` from ``-inv(cov_sample)[0, 1]`` with TolX 1e-4; my choice: a grid of
    ``n_grid`` points over the interval (guards against a local minimum), then
    ``scipy.optimize.minimize_scalar(method="bounded")`` between the grid neighbours of the best point with
    ``xatol = xatol·upper bound``. Returns ``(lam_c, kl, info)``; ``info["converged"]`` is True when the
    bounded search succeeded and did not end above the best grid point.
    """
    from scipy.optimize import minimize_scalar

    mean_sample = np.asarray(mean_sample, float)
    cov_sample = np.asarray(cov_sample, float)
    posi = np.asarray(posi, float)
    P0 = np.linalg.inv(cov_sample) if np.all(np.isfinite(cov_sample)) else np.full((2, 2), np.nan)
    hi = 2 * P0[0, 0]
    info = dict(lam_c0=float(-P0[0, 1]), upper=float(hi), converged=False, at_bound=False)
    if not (np.isfinite(hi) and hi > 0):
        return float("nan"), float("nan"), info

    def kl(lam):
        mu, S = _posterior(lam, pre_lh, posi)
        return kl_divergence(mu, S, mean_sample, cov_sample)

    grid = np.linspace(0.0, hi, n_grid)
    vals = np.array([kl(g) for g in grid])
    k = int(np.argmin(vals))
    lo_b, hi_b = grid[max(k - 1, 0)], grid[min(k + 1, n_grid - 1)]
    res = minimize_scalar(kl, bounds=(lo_b, hi_b), method="bounded", options=dict(xatol=xatol * hi))
    lam, val = float(res.x), float(res.fun)
    # a minimum at a bound is approached to within ~xatol by the bounded search, never evaluated on it
    ok = bool(res.success) and bool(val <= vals[k] + 1e-12 * max(1.0, abs(vals[k]))
                                    or abs(lam - grid[k]) <= 10 * xatol * hi)
    if val > vals[k]:
        lam, val = float(grid[k]), float(vals[k])
    info.update(converged=ok, at_bound=bool(lam <= xatol * hi * 10 or lam >= hi * (1 - 10 * xatol)),
                nfev=int(res.nfev))
    return lam, val, info


def _fit_tuning(rates, center, a):
    """Least-squares fit ``H·exp(-d²/(2W²)) + B`` (circular ``d`` from the fitted position), as the
    authors' ``lsFitTuneFunc.m`` (which uses fminsearch); here ``scipy.optimize.curve_fit``. Returns
    (H, position, W, B) or NaNs."""
    from scipy.optimize import curve_fit

    th = preferred(len(rates))

    def f(t, h, p, wd, bias):
        return h * np.exp(-_circ(t - p) ** 2 / (2 * wd * wd)) + bias

    p0 = [max(rates.max() - rates.min(), 1e-3), center, math.sqrt(2) * a, rates.min()]
    try:
        par, _ = curve_fit(f, th, rates, p0=p0, maxfev=5000)
    except (RuntimeError, ValueError):
        return (float("nan"),) * 4
    return tuple(float(v) for v in par)


def coupled_statistics(out, discard=2.0, seed=12345, near=20.0):
    """Per-row statistics of ``simulate_coupled`` output after ``discard`` seconds, as the authors'
    ``getNetMdlStat.m`` / ``scanCoupledHawkesNet.m`` compute them.

    Decoding (``popVectorDecoder.m`` conventions, via ``sample_covariance``) of the four rows
    (s1, s2, rate1, rate2): ``mean_sample`` (2) angles of the mean population vectors; ``cov_sample`` the
    (s1, s2) block; ``cov_cond_mean`` the (rate1, rate2) block (differential correlations, ``diff_corr``
    its diagonal); ``pre_lh = diag(Λx1, Λx2)``, ``Λx = window·Σ_E p_fwd/dt/(2a²)`` (deg⁻² per window);
    ``mean_sample_pred = cov_sample·pre_lh·posi``; ``lam_c``, ``kl`` (nats) from ``fit_prior_precision``;
    ``pre_sample = inv(cov_sample)``, ``pre_sample_pred = pre_lh + lam_c·[[1, -1], [-1, 1]]``,
    ``r_diag = diag(pre_sample)/diag(pre_sample_pred)``; ``lam_c_naive = -pre_sample[0, 1]``; the
    correlation of (s1, s2) in the samples (``corr_samples``) and in the fitted posterior (``corr_post``).

    Rates (mine where noted): ``rate_exc_mean`` (2) mean E rate per ring (Hz, after ``discard``);
    ``bump_height`` (2) MY measure, the mean rate of the E neurons within ±``near`` degrees of the ring's
    stimulus (baseline included); ``bump_fit`` (2, 4) a least-squares fit (H, position, W, B) as the
    authors' ``lsFitTuneFunc.m`` (``bump_height_fit`` = H, above the baseline B). Quirk: the authors' rates
    come from ``histcounts2`` with ONE time bin ``[tStat + dt, tLen]`` divided by ``tTrial`` = 20 ms,
    i.e. their ``ratePop``/``rateHeight`` are the rate in Hz times (tLen - tStat)/tTrial (5000 for their
    100 s), not rates.

    ``prior_pred``: the authors' prediction of the prior precision from the weights,
    ``mean(rateHeight)·[[1, -1], [-1, 1]]·ratiojrprc·sqrt(2π)·Ne·jxe/sqrt(Ncells)/a·T`` (reported: the
    scalar factor). Units: ``R`` (fitted height, Hz) × ``T`` (window, s) is a spike count; the cross
    E->E weight ``Jc·2·width·g_a`` is dimensionless, so ``Jc·2·width`` has units deg; ``Ne = 2·width·ρ``
    with ρ neurons/deg; hence ``R·T·Jc·sqrt(2π)·Ne/a = R·T·(Jc·2·width)·ρ·sqrt(2π)/a`` is in deg⁻² per
    window, comparable with ``lam_c``. The authors multiply by ``tBin·dt/1e3`` (ms·ms/1e3) instead of
    ``T = tBin/1e3`` s and their ``rateHeight`` carries the factor above: ``prior_pred_authors_literal``
    = ``prior_pred·(T_stat/window)·dt[ms]`` is what their script would print (×500 for 100 s).
    """
    rng = np.random.default_rng(seed)
    win, dt, a, ne = out["window"], out["dt"], out["a"], out["n_exc"]
    w0 = int(round(discard / win))
    pv = out["pv"][:, :, w0:]
    T_stat = pv.shape[2] * win
    posi = np.asarray(out["posi"], float)
    th = preferred(ne)
    rows = out["rows"]
    res = []
    for b in range(pv.shape[1]):
        mean, C, pos = sample_covariance(pv[:, b, :], rng)
        ms, cs, ccm = mean[:2], C[:2, :2], C[2:, 2:]
        lam_x = win * out["p_fwd_exc"][b].sum(axis=1) / dt / (2 * a * a)
        pre_lh = np.diag(lam_x)
        ms_pred = cs @ pre_lh @ posi
        lam_c, kl, info = fit_prior_precision(ms, cs, posi, pre_lh)
        pre_s = np.linalg.inv(cs)
        pre_pred = pre_lh + lam_c * LAPLACIAN
        mu_post, S_post = _posterior(lam_c, pre_lh, posi) if np.isfinite(lam_c) else (np.full(2, np.nan),) * 2
        r = dict(cross_ratio=float(rows["cross_ratio"][b]), fano=float(rows["fano"][b]),
                 rand_wee=bool(rows["rand_wee"][b]), u_fwd=[float(u) for u in rows["u_fwd"][b]],
                 n_windows=int(pv.shape[2]), lam_x=[float(v) for v in lam_x],
                 mean_sample=[float(v) for v in ms], mean_sample_pred=[float(v) for v in ms_pred],
                 cov_sample=cs.tolist(), cov_cond_mean=ccm.tolist(), diff_corr=[float(v) for v in np.diag(ccm)],
                 pre_sample=pre_s.tolist(), pre_sample_pred=pre_pred.tolist(),
                 r_diag=[float(v) for v in np.diag(pre_s) / np.diag(pre_pred)],
                 lam_c=float(lam_c), kl=float(kl), prior_fit=info, lam_c_naive=float(-pre_s[0, 1]),
                 corr_samples=float(cs[0, 1] / math.sqrt(cs[0, 0] * cs[1, 1])),
                 corr_post=float(S_post[0, 1] / math.sqrt(S_post[0, 0] * S_post[1, 1])),
                 mean_post=[float(v) for v in mu_post],
                 mean_rate_decoded=[float(v) for v in mean[2:]])
        if out["counts"] is not None:
            rates = out["counts"][b, w0:].sum(0, dtype=np.int64) / T_stat  # (2, n_exc) Hz
            heights, fits = [], []
            for ring in range(2):
                close = np.abs(_circ(th - posi[ring])) <= near
                heights.append(float(rates[ring, close].mean()))
                fits.append(_fit_tuning(rates[ring], posi[ring], a))
            h_fit = float(np.mean([ft[0] for ft in fits]))
            jc = rows["cross_ratio"][b] * out["jxe"] / math.sqrt(ne + out["n_inh"])
            prior_pred = h_fit * win * jc * math.sqrt(2 * math.pi) * ne / a
            r.update(rate_exc_mean=[float(v) for v in rates.mean(1)], bump_height=heights,
                     bump_fit=[list(ft) for ft in fits], bump_height_fit=[ft[0] for ft in fits],
                     rate_inh_mean=[float(v) for v in out["n_spikes_inh"][b] / (out["duration"] * out["n_inh"])],
                     prior_pred=float(prior_pred),
                     prior_pred_authors_literal=float(prior_pred * (T_stat / win) * dt * 1e3))
        res.append(r)
    return res


def coupled_mutual_information(ref, stat, L=2 * WIDTH, posi=(-10.0, 10.0)):
    """The authors' flagTest 2 mutual information (``scanCoupledHawkesNet.m`` + ``getMutualInfo.m``): the
    reference row ``ref`` (their ``IdxPost = 5``, ratio 2) defines the posterior, prior precision
    ``Λc_ref·[[1, -1], [-1, 1]]`` and ``PreMat_Post = prior + pre_lh_ref``, mean ``PreMat_Post⁻¹·pre_lh_ref·posi``;
    ``CovPrior = 1/Λc_ref``. Returns (cross entropy in nats, MI in bits per window, its upper bound in bits)
    for the sampling distribution of ``stat``."""
    pre_lh = np.diag(ref["lam_x"])
    lam = ref["lam_c"]
    mu0, C0 = _posterior(lam, pre_lh, np.asarray(posi, float))
    mu = np.asarray(stat["mean_sample"], float)
    C = np.asarray(stat["cov_sample"], float)
    dm = mu - mu0
    xent = 0.5 * (2 * math.log(2 * math.pi) + math.log(np.linalg.det(C)) + np.trace(np.linalg.solve(C, C0))
                  + dm @ np.linalg.solve(C, dm))
    ent_prior = 0.5 * (1 + math.log(2 * math.pi) + math.log(1.0 / lam)) + math.log(L)
    mi = (ent_prior - xent) / math.log(2)
    up = (ent_prior - (math.log(2 * math.pi) + 1) - 0.5 * math.log(np.linalg.det(C0))) / math.log(2)
    return float(xent), float(mi), float(up)
