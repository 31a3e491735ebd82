"""Poisson-variability sampling in a spiking ring network (Zhang, Wu, Josić & Doiron 2023).

A ring of linear Hawkes (Poisson) E neurons plus uniform I neurons receives a frozen feedforward rate
profile centred on the stimulus s = 0. Every ``window`` (20 ms) the population vector of the E spikes
gives a sample of the stimulus s, that of the E recurrent input a sample of the context z. In the
hierarchical model p(x|s) p(s|z) p(z) (flat p(z)) the posterior precision over (s, z) is
``[[Λx + Λs, −Λs], [−Λs, Λs]]``: the recurrent weight w_E sets the prior precision Λs. Several
(w_E, U_fwd) conditions run as independent copies inside one Brian2 network (one build, one run).

Readouts are Brian2 code: each neuron integrates its recurrent drive in ``z_int`` (see
:mod:`spikelearn.models.poisson_hawkes`), recorded every ``window`` by a StateMonitor; spike counts come
from the SpikeMonitor. Decoding happens after the run, from the run directory only.

Tasks (the authors' scans, ``scanRecHawkesNet.m`` and ``scanCoupledHawkesNet.m`` of their newest code):

- ``poisson_sampling``: flagTest 2, w_E on a grid at U_fwd = 30 Hz, one ring per copy: the sampling
  precision matches the posterior's (P11 ≈ Λx + Λs, P22 ≈ Λs, Λs = −P12 read from the samples), Λs grows
  with w_E, the information about the world's posterior is best at the weakest prior of the grid, and
  internally generated differential correlations grow with w_E;
- ``poisson_sampling_prior_match``: the MI panel, a fine w_E grid: the information peaks where the stored
  prior matches the world's;
- ``poisson_sampling_input``: flagTest 1, U_fwd on a grid at w_E = 0.002: P11 tracks the likelihood;
- ``poisson_sampling_coupled``: two coupled rings per copy, the cross-ring coupling ratio on a grid: the
  samples' means and precisions match the posterior of the coupling prior the samples imply.

Thresholds are fixed from the NumPy oracle of the authors' code (``tests/oracles/zhang_hawkes.py``) before
any Brian2 run (``docs/papers/zhang2023-authors-code.md`` §11, §12).
"""

import logging

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Record
from spikelearn.plugin import Claim, Param, Task, TaskOutcome
from spikelearn.tasks.zhang2023 import ring as ref

__all__ = [
    "RingScan",
    "PoissonSampling",
    "PoissonSamplingPriorMatch",
    "PoissonSamplingInput",
    "PoissonSamplingCoupled",
    "window_data",
    "ring_samples",
    "differential_signature",
    "differential_profile",
]

logger = logging.getLogger(__name__)


_COMMON = {
    "population": Param("ring", "the poisson_hawkes population holding every copy", kind="str"),
    "n_exc": Param(180, "E neurons per ring", kind="int", min=1),
    "n_inh": Param(45, "I neurons per ring", kind="int", min=1),
    "w_E": Param([0.0, 0.01, 0.02, 0.04], "recurrent E weight w_E of each copy", kind="list"),
    "u_fwd": Param([30.0, 30.0, 30.0, 30.0], "peak feedforward rate (Hz) of each copy", kind="list"),
    "tuning_width": Param("40.0", "width a (degrees) of the E→E kernel; feedforward width is √2·a"),
    "ratio_ie": Param("5.0", "|J_xI| / J_xE"),
    "ji0": Param("0.8", "total feedforward rate to I over total to E"),
    "stimulus": Param("0.0", "the stimulus (degrees)"),
    "window": Param("20*ms", "readout window: one sample per window"),
    "discard": Param("2*second", "initial time left out of every statistic"),
}


def _floats(values, key):
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise BuildError(f"task parameter '{key}' must be a list of numbers, found: {values!r}") from None


def _setup(ctx, rings_per_copy, weights_fn, task, stimuli=None):
    """Describe per-neuron constants, frozen rates and the recurrent synapses of every copy; ``stimuli``:
    one stimulus (degrees) per ring of a copy (default: the ``stimulus`` parameter for every ring)."""
    from brian2 import Hz

    p = ctx.params
    pop = p["population"]
    if pop not in ctx.net.populations:
        raise BuildError(f"task population '{pop}' is not a population of the scenario")
    population = ctx.net.populations[pop]
    size = population.size
    w_e = _floats(p["w_E"], "w_E")
    u_fwd = _floats(p["u_fwd"], "u_fwd")
    if len(w_e) != len(u_fwd) or not w_e:
        raise BuildError(f"task parameters w_E ({len(w_e)} values) and u_fwd ({len(u_fwd)}) need the same non-zero length")
    n_e, n_i = int(p["n_exc"]), int(p["n_inh"])
    block = rings_per_copy * (n_e + n_i)
    if size != len(w_e) * block:
        raise BuildError(
            f"population '{pop}' has {size} neurons; {len(w_e)} copies × {rings_per_copy} ring(s) × "
            f"({n_e} E + {n_i} I) need {len(w_e) * block}: set its size to that"
        )
    width = float(p["tuning_width"])
    pref_ring = np.concatenate([ref.preferred_stimuli(n_e), np.zeros(n_i)])
    exc_ring = np.concatenate([np.ones(n_e), np.zeros(n_i)])
    preferred = np.tile(pref_ring, rings_per_copy * len(w_e))
    is_exc = np.tile(exc_ring, rings_per_copy * len(w_e))
    copy = np.repeat(np.arange(len(w_e)), block)
    ring = np.tile(np.repeat(np.arange(rings_per_copy), n_e + n_i), len(w_e))
    stimuli = [float(p["stimulus"])] * rings_per_copy if stimuli is None else stimuli
    rates = np.concatenate([
        np.concatenate([ref.feedforward_rates(n_e, n_i, u, st, width, float(p["ji0"])) for st in stimuli])
        for u in u_fwd
    ])
    population.initial.update(preferred=preferred, is_exc=is_exc, copy=copy, rate_fwd=rates * Hz)
    ii, jj, ww = [], [], []
    for c, w in enumerate(w_e):
        W = weights_fn(n_e, n_i, w, width, float(p["ratio_ie"]))  # W[post, pre]
        post, pre = np.nonzero(W)
        ii.append(pre + c * block)
        jj.append(post + c * block)
        ww.append(W[post, pre])
    ii, jj, ww = (np.concatenate(a) for a in (ii, jj, ww))
    origin = f"task {task}"
    if len(ii):
        ctx.net.add(Connection(f"{pop}_recurrent", pop, pop, i=ii.astype(int), j=jj.astype(int), weight=ww,
                               model="w : 1 (constant)", effect="u_in_post += w", origin=origin))
    exc_idx = np.flatnonzero(is_exc > 0)
    ctx.net.add(Record("state", f"{pop}_zint", pop, ("z_int",), exc_idx.tolist(), p["window"], origin=origin))
    # preferred: NaN for I neurons (untuned), so that rasters sorted by it put them last
    ctx.save_attributes(pop, preferred=np.where(is_exc > 0, preferred, np.nan), is_exc=is_exc, copy=copy,
                        ring=ring, rate_fwd=rates, preferred_period=360.0)
    ctx.save_array("w_E", np.asarray(w_e))
    ctx.save_array("u_fwd", np.asarray(u_fwd))


def window_data(result, population, window, discard):
    """Per-window E spike counts and recurrent-input integrals, from the run directory.

    Returns ``(counts, z, attributes, exc_index)``: ``counts`` and ``z`` are (n_windows, n_exc_total)
    for the E neurons ``exc_index`` (population indices), windows starting at ``discard``.
    """
    attrs = result.attributes(population)
    if not attrs:
        raise KeyError(f"run {result.path} has no attributes for population '{population}'")
    exc = np.flatnonzero(attrs["is_exc"] > 0)
    st = result.state(f"{population}_zint")
    t, zint = st["t"], st["z_int"]  # zint: (n_exc_total, n_t), integral up to t
    index = st["index"]
    if not np.array_equal(index, exc):
        raise ValueError("the recorded z_int indices are not the E neurons of the attributes")
    k0 = int(np.ceil(discard / window - 1e-9))
    n_win = len(t) - 1 - k0
    if n_win < 10:
        raise ValueError(f"only {n_win} readout windows after the discarded {discard} s")
    z = np.diff(zint[:, k0:], axis=1).T  # (n_win, n_exc)
    i, ts = result.spikes(population)
    edges = t[k0:]
    pos = np.full(len(attrs["is_exc"]), -1)
    pos[exc] = np.arange(len(exc))
    keep = (pos[i] >= 0) & (ts >= edges[0]) & (ts < edges[-1])
    k = np.searchsorted(edges, ts[keep], side="right") - 1
    counts = np.zeros((n_win, len(exc)))
    np.add.at(counts, (k, pos[i[keep]]), 1)
    return counts, z, attrs, exc


def ring_samples(counts, z, preferred, rate_fwd, window):
    """(s, z, r) samples (degrees) per window for one ring's E neurons (see `ref.window_samples`)."""
    return ref.window_samples(counts, z, preferred, rate_fwd, window)


def _merge(samples, n):
    """Sum consecutive groups of ``n`` windows."""
    m = (len(samples) // n) * n
    return samples[:m].reshape(-1, n, samples.shape[1]).sum(axis=1)


def _cvar(x):
    x = x[np.isfinite(x)]
    d = ref.circular_distance(x, np.rad2deg(np.angle(np.mean(np.exp(1j * np.deg2rad(x))))))
    return float(np.var(d, ddof=1))


class RingScan(Task):
    """Base of the single-ring scans: one ring per copy (``w_E``, ``u_fwd`` per copy), the per-copy samples and
    statistics (:meth:`conditions`, :meth:`metrics`) and the figures; the subclasses add the claims."""

    reference = "Zhang, Wu, Josic & Doiron (2023) Nat. Commun. 14:7074"
    parameters = dict(_COMMON)

    def prepare(self, ctx):
        _setup(ctx, 1, ref.ring_weights, self.name)

    # ---------------------------------------------------------------------------------------------
    def conditions(self, result):
        """Per copy: samples and statistics (the numbers behind every claim)."""
        p = result.params
        window, discard = float(p["window"]), float(p["discard"])
        counts, z, attrs, exc = window_data(result, p["population"], window, discard)
        w_e, u_fwd = _floats(p["w_E"], "w_E"), _floats(p["u_fwd"], "u_fwd")
        width = float(p["tuning_width"])
        out = []
        for c, (w, u) in enumerate(zip(w_e, u_fwd)):
            sel = attrs["copy"][exc] == c
            pref = attrs["preferred"][exc][sel]
            rf = attrs["rate_fwd"][exc][sel]
            cc, zz = counts[:, sel], z[:, sel]
            smp = ring_samples(cc, zz, pref, rf, window)
            smp2 = ring_samples(_merge(cc, 2), _merge(zz, 2), pref, rf, 2 * window)
            stats = {"w_E": w, "u_fwd": u, "samples": smp, "counts": cc, "z": zz, "preferred": pref,
                     "rate_fwd": rf,
                     "var_s": _cvar(smp["s"]), "var_s_2window": _cvar(smp2["s"]),
                     "var_r": _cvar(smp["r"]), "mean_rate_exc": float(cc.mean() / window),
                     "lambda_x_fisher": ref.fisher_information(rf, pref, float(p["stimulus"]), np.sqrt(2) * width, window),
                     "lambda_x_popvec": ref.popvec_precision(rf, pref, window)}
            if w > 0:
                P = ref.sampling_precision(np.column_stack([smp["s"], smp["z"]]))
                lam_s = -P[0, 1]
                stats.update(P=P, lambda_s=float(lam_s), p22_over_lambda_s=float(P[1, 1] / lam_s),
                             p11=float(P[0, 0]))
            out.append(stats)
        return out

    @staticmethod
    def metrics(conds):
        """The metrics of every copy, tagged ``wE<w_E>_U<u_fwd>``."""
        metrics = {}
        for c in conds:
            tag = f"wE{c['w_E']:g}_U{c['u_fwd']:g}"
            metrics[f"var_s_{tag}"] = c["var_s"]
            metrics[f"var_s_40ms_{tag}"] = c["var_s_2window"]
            metrics[f"var_rate_decoded_{tag}"] = c["var_r"]
            metrics[f"mean_rate_exc_hz_{tag}"] = c["mean_rate_exc"]
            metrics[f"lambda_x_fisher_{tag}"] = c["lambda_x_fisher"]
            metrics[f"lambda_x_popvec_{tag}"] = c["lambda_x_popvec"]
            if "P" in c:
                sig = differential_signature(c["z"], c["preferred"], c["rate_fwd"])
                metrics[f"differential_signature_r_{tag}"] = sig[2]
                metrics[f"gain_signature_r_{tag}"] = sig[3]
                metrics[f"sampling_precision_{tag}"] = c["P"].tolist()
                metrics[f"lambda_s_{tag}"] = c["lambda_s"]
                metrics[f"p22_over_lambda_s_{tag}"] = c["p22_over_lambda_s"]
                metrics[f"p11_{tag}"] = c["p11"]
                metrics[f"p11_over_lambda_x_fisher_plus_lambda_s_{tag}"] = c["p11"] / (c["lambda_x_fisher"] + c["lambda_s"])
                metrics[f"p11_over_lambda_x_popvec_plus_lambda_s_{tag}"] = c["p11"] / (c["lambda_x_popvec"] + c["lambda_s"])
        base = sorted((c for c in conds if c["w_E"] == 0), key=lambda c: c["u_fwd"])
        if base:
            metrics["precision_s_wE0_over_lambda_x_fisher"] = 1 / base[0]["var_s"] / base[0]["lambda_x_fisher"]
            metrics["precision_s_wE0_over_lambda_x_popvec"] = 1 / base[0]["var_s"] / base[0]["lambda_x_popvec"]
        return metrics

    # ---------------------------------------------------------------------------------------------
    def figures(self, result, outdir, conds=None):
        """Raster, sample clouds, Λs and P11 against w_E, correlations; ``conds``: the copies' statistics when
        the caller has them already (:meth:`conditions` otherwise)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        p = result.params
        conds = self.conditions(result) if conds is None else conds
        paths = []
        paths.append(_raster_figure(result, p, conds, outdir / "poisson_raster.png", plt))
        rec = sorted([c for c in conds if "P" in c], key=lambda c: c["w_E"])
        if rec:
            fig, axes = plt.subplots(1, len(rec), figsize=(4 * len(rec), 4), squeeze=False)
            for ax, c in zip(axes[0], rec):
                s, zz = c["samples"]["s"], c["samples"]["z"]
                ok = np.isfinite(s) & np.isfinite(zz)
                ax.plot(s[ok], zz[ok], ".", ms=2, alpha=0.4, color="C0", label="samples")
                lam_x = c["lambda_x_popvec"]
                P = ref.hierarchical_posterior_precision(lam_x, c["lambda_s"])
                _ellipse(ax, np.linalg.inv(P), "C3", "posterior (Λx popvec, Λs)")
                _ellipse(ax, np.cov(np.column_stack([s[ok], zz[ok]]).T), "k", "samples (2 sd)", ls="--")
                ax.set_xlabel("s sample (deg)")
                ax.set_ylabel("z sample (deg)")
                ax.set_title(f"w_E = {c['w_E']:g}")
                ax.set_aspect("equal", "datalim")
                ax.legend(fontsize=7)
            fig.tight_layout()
            path = outdir / "poisson_sample_clouds.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            paths.append(path)
            fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
            ws = [c["w_E"] for c in rec]
            ax1.plot(ws, [c["lambda_s"] for c in rec], "o-", label="Λs = −P12")
            ax1.plot(ws, [c["P"][1, 1] for c in rec], "s--", label="P22")
            ax1.set_xlabel("w_E")
            ax1.set_ylabel("precision (deg⁻²)")
            ax1.legend()
            ax1.set_title("Prior precision stored by the recurrence")
            ax2.plot(ws, [c["p11"] for c in rec], "o-", label="P11 (samples)")
            ax2.plot(ws, [c["lambda_x_fisher"] + c["lambda_s"] for c in rec], "s--", label="Λx (Fisher) + Λs")
            ax2.plot(ws, [c["lambda_x_popvec"] + c["lambda_s"] for c in rec], "^:", label="Λx (popvec) + Λs")
            ax2.set_xlabel("w_E")
            ax2.set_ylabel("precision (deg⁻²)")
            ax2.legend(fontsize=8)
            ax2.set_title("P11 vs Λx + Λs")
            fig.tight_layout()
            path = outdir / "poisson_lambda_s.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            paths.append(path)
        paths.append(_correlation_figure(conds, outdir / "poisson_correlations.png", plt))
        return paths


def _ellipse(ax, cov, color, label, ls="-", center=(0.0, 0.0)):
    """The 2-sd ellipse of covariance ``cov`` around ``center``."""
    vals, vecs = np.linalg.eigh(cov)
    a = np.linspace(0, 2 * np.pi, 200)
    pts = vecs @ (2 * np.sqrt(np.clip(vals, 0, None))[:, None] * np.vstack([np.cos(a), np.sin(a)]))
    ax.plot(pts[0] + center[0], pts[1] + center[1], color=color, ls=ls, label=label)


def _raster_figure(result, p, conds, path, plt, span=0.5):
    attrs = result.attributes(p["population"])
    i, t = result.spikes(p["population"])
    t0 = float(p["discard"])
    n = len(conds)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.6), squeeze=False, sharey=True)
    for ax, (c, cond) in zip(axes[0], enumerate(conds)):
        members = np.flatnonzero((attrs["copy"] == c) & (attrs["is_exc"] > 0))
        order = members[np.argsort(attrs["preferred"][members])]
        rank = np.full(len(attrs["copy"]), -1)
        rank[order] = np.arange(len(order))
        keep = (rank[i] >= 0) & (t >= t0) & (t < t0 + span)
        ax.plot(t[keep] - t0, attrs["preferred"][i[keep]], "|", ms=2, color="k")
        ax.set_title(f"w_E = {cond['w_E']:g}, U = {cond['u_fwd']:g} Hz", fontsize=9)
        ax.set_xlabel("time (s)")
    axes[0, 0].set_ylabel("preferred stimulus (deg)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _correlation_figure(conds, path, plt):
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 3.8))
    w_max = max(c["w_E"] for c in conds) or 1.0

    def color(c):  # one colour per w_E on a scale, so that an 11-point grid does not repeat a colour
        return plt.cm.viridis(0.9 * c["w_E"] / w_max)

    for c in conds:
        if c["u_fwd"] != conds[0]["u_fwd"]:
            continue
        with np.errstate(invalid="ignore", divide="ignore"):  # a silent neuron has NaN correlations
            C = np.corrcoef(c["counts"].T)
        pref = c["preferred"]
        d = np.abs(ref.circular_distance(pref[:, None], pref[None, :]))
        bins = np.arange(0, 181, 10)
        k = np.digitize(d, bins) - 1
        ok = ~np.eye(len(pref), dtype=bool) & np.isfinite(C)
        m = [C[(k == b) & ok].mean() if np.any((k == b) & ok) else np.nan for b in range(len(bins) - 1)]
        ax1.plot(bins[:-1] + 5, m, "o-", ms=3, color=color(c), label=f"w_E = {c['w_E']:g}")
    ax1.set_xlabel("|preferred-stimulus difference| (deg)")
    ax1.set_ylabel("spike-count correlation (20 ms)")
    ax1.axhline(0, color="0.6", lw=0.8)
    ax1.legend(fontsize=8)
    ax1.set_title("Noise correlation vs tuning difference")
    rec = sorted([c for c in conds if c["w_E"] > 0], key=lambda c: c["w_E"])
    if rec:
        c = rec[-1]
        B, _, score, score_gain = differential_signature(c["z"], c["preferred"], c["rate_fwd"])
        lim = np.abs(B).max()
        im = ax2.imshow(B, extent=[-180, 180, 180, -180], cmap="RdBu_r", vmin=-lim, vmax=lim)
        fig.colorbar(im, ax=ax2)
        ax2.set_title(f"recurrent-input covariance, gain projected out (20° bins, w_E = {c['w_E']:g});\n"
                      f"similarity to f'f'ᵀ (differential) r = {score:.2f}, to ffᵀ (gain) r = {score_gain:.2f}",
                      fontsize=8)
        ax2.set_xlabel("preferred (deg)")
        ax2.set_ylabel("preferred (deg)")
    for c in rec:
        x, y = differential_profile(c["z"], c["preferred"], c["rate_fwd"])
        ax3.plot(x, y, "o-", ms=3, color=color(c), label=f"w_E = {c['w_E']:g}")
    ax3.axhline(0, color="0.6", lw=0.8)
    ax3.axvline(0, color="0.6", lw=0.8)
    ax3.set_xlabel("f'ᵢ f'ⱼ / max (pairs binned)")
    ax3.set_ylabel("recurrent-input covariance, gain projected out")
    ax3.set_title("Differential correlations: covariance ∝ f'ᵢ f'ⱼ", fontsize=9)
    ax3.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def differential_profile(z, preferred, rate_fwd, n_bins=12):
    """Mean pair covariance of the gain-projected recurrent input against ``f'_i f'_j`` (binned).

    Differential correlations are ``Cov_ij = ε f'_i f'_j``: a line through 0 whose slope grows with the
    variance ε of the internally generated stimulus fluctuation. Returns bin centres (``f'_i f'_j``
    over its maximum) and the mean covariance of the pairs (i ≠ j) in each bin.
    """
    z = np.asarray(z, float)
    zc = z - z.mean(axis=0)
    g = z.mean(axis=0)
    g = g / np.linalg.norm(g)
    zc = zc - np.outer(zc @ g, g)
    C = np.cov(zc.T)
    fp = np.asarray(rate_fwd, float) * ref.circular_distance(preferred, 0.0)
    T = np.outer(fp, fp)
    T = T / np.abs(T).max()
    off = ~np.eye(len(fp), dtype=bool)
    edges = np.linspace(T[off].min(), T[off].max(), n_bins + 1)
    k = np.clip(np.digitize(T[off], edges) - 1, 0, n_bins - 1)
    cov = C[off]
    x = np.array([T[off][k == b].mean() for b in range(n_bins) if np.any(k == b)])
    y = np.array([cov[k == b].mean() for b in range(n_bins) if np.any(k == b)])
    return x, y


def differential_signature(z, preferred, rate_fwd, bin_deg=20.0, remove_gain=True):
    """Binned covariance of the recurrent-input fluctuations and its similarity to ``f' f'ᵀ``.

    ``z`` (n_windows, n) are per-window recurrent-input integrals. The covariance of neuron pairs
    (i ≠ j) is averaged in ``bin_deg`` bins of both preferred stimuli; the template is the same binning of
    ``f'_i f'_j`` with ``f' ∝ rate_fwd·d/width²`` (the shape of differential correlations for a shift of
    the stimulus). Returns ``(binned_cov, binned_template, pearson_r, pearson_r_gain)`` over off-diagonal
    bins; ``pearson_r_gain`` is the similarity to ``f fᵀ`` (a shared gain fluctuation), for comparison.
    With ``remove_gain`` the fluctuations along the mean recurrent-input profile (the gain direction,
    orthogonal to ``f'`` for a symmetric bump) are projected out first: the shared gain fluctuation of
    the recurrent input otherwise dominates the covariance and hides the differential part.
    """
    if bin_deg <= 0:
        raise ValueError(f"bin_deg must be > 0, found: {bin_deg}")
    z = np.asarray(z, float)
    zc = z - z.mean(axis=0)
    if remove_gain:
        g = z.mean(axis=0)
        g = g / np.linalg.norm(g)
        zc = zc - np.outer(zc @ g, g)
    C = np.cov(zc.T)
    np.fill_diagonal(C, np.nan)
    fp = np.asarray(rate_fwd, float) * ref.circular_distance(preferred, 0.0)
    T = np.outer(fp, fp)
    np.fill_diagonal(T, np.nan)
    G = np.outer(rate_fwd, rate_fwd).astype(float)
    np.fill_diagonal(G, np.nan)
    edges = np.arange(-180, 180 + bin_deg, bin_deg)
    k = np.clip(np.digitize(preferred, edges) - 1, 0, len(edges) - 2)
    nb = len(edges) - 1
    B, TB, GB = np.zeros((nb, nb)), np.zeros((nb, nb)), np.zeros((nb, nb))
    for a in range(nb):
        for b in range(nb):
            B[a, b] = np.nanmean(C[np.ix_(k == a, k == b)])
            TB[a, b] = np.nanmean(T[np.ix_(k == a, k == b)])
            GB[a, b] = np.nanmean(G[np.ix_(k == a, k == b)])
    off = ~np.eye(nb, dtype=bool)
    r = float(np.corrcoef(B[off], TB[off])[0, 1])
    r_gain = float(np.corrcoef(B[off], GB[off])[0, 1])
    return B, TB, r, r_gain


def _circular_mean(x):
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.rad2deg(np.angle(np.mean(np.exp(1j * np.deg2rad(x))))))


def _failures(values, low, high):
    return [i for i, v in enumerate(values) if not low <= v <= high]


def _inversions(values):
    return sum(b <= a for a, b in zip(values, values[1:]))


class PoissonSampling(RingScan):
    """The authors' flagTest-2 scan (``scanRecHawkesNet.m``): U_fwd = 30 Hz, w_E on a grid from 0, one copy
    per grid point, with the claims and thresholds fixed from the NumPy oracle of their newest code before
    any Brian2 run (``docs/papers/zhang2023-authors-code.md`` §11): at every w_E > 0 (at most
    ``max_failures`` points may fail a per-point claim) the sampling precision matches the posterior's,
    P11 ≈ Λx + Λs (Λx the authors' ``PreMat_LH``) and P22 ≈ Λs; Λs grows with w_E; the mutual information
    between samples and the world's posterior (world prior ``urec_world``) is largest at the smallest w_E > 0
    of the grid; the internally generated differential correlations are 0 at w_E = 0 and grow with w_E."""

    name = "poisson_sampling"
    description = "Zhang et al.'s w_E scan: sampling precision vs posterior precision, MI, differential correlations"
    parameters = {
        **RingScan.parameters,
        "w_E": Param([round(0.01 * k, 2) for k in range(11)], "recurrent E weight w_E of each copy", kind="list"),
        "u_fwd": Param([30.0] * 11, "peak feedforward rate (Hz) of each copy (one value on this grid)", kind="list"),
        "p11_low": Param("0.76", "lower bound of P11/(Λx + Λs)"),
        "p11_high": Param("1.0", "upper bound of P11/(Λx + Λs)"),
        "weak_w_E": Param("0.02", "w_E up to which the weak-recurrence bounds of P22/Λs apply"),
        "p22_low_weak": Param("0.98", "lower bound of P22/Λs at w_E <= weak_w_E"),
        "p22_high_weak": Param("1.12", "upper bound of P22/Λs at w_E <= weak_w_E"),
        "p22_low": Param("0.985", "lower bound of P22/Λs at larger w_E"),
        "p22_high": Param("1.045", "upper bound of P22/Λs at larger w_E"),
        "max_failures": Param(1, "grid points that may fail a per-point claim (a wandering bump)", kind="int", min=0),
        "lambda_s_growth_min": Param("4.0", "least Λs(largest w_E)/Λs(smallest w_E > 0)"),
        "dc_growth_min": Param("100.0", "least growth of the rate-decoded variance from the smallest to the largest w_E > 0"),
        "zero_var_max": Param("1e-6", "largest rate-decoded variance (deg²) counted as zero at w_E = 0"),
        "urec_world": Param("10.0", "the world's prior strength (the authors' UrecWorld; its precision is Λx·U_world/U)"),
    }

    @staticmethod
    def _world_posterior(p, u_fwd):
        rho = int(p["n_exc"]) / (2 * ref.WIDTH)
        return ref.world_posterior_covariance(u_fwd, float(p["urec_world"]), float(p["tuning_width"]),
                                              rho, float(p["window"]))

    def _information(self, conds, metrics, p):
        """Per copy: the authors' Λx, the mutual information and KL of the (s, z) samples against the world's
        posterior for the copy's U_fwd (sample mean and covariance of the circular deviations), into
        ``conds`` and ``metrics``. A window without recurrent input (always at w_E = 0) gives z a uniform
        random position, as the authors' ``popVectorDecoder.m`` does (fixed generator, seed 0)."""
        rng = np.random.default_rng(0)
        stim = float(p["stimulus"])
        for c in conds:
            cov_post = self._world_posterior(p, c["u_fwd"])
            c["lambda_x"] = ref.likelihood_precision(c["rate_fwd"], float(p["tuning_width"]), float(p["window"]))
            z = np.array(c["samples"]["z"], float)
            empty = ~np.isfinite(z)
            z[empty] = rng.uniform(-ref.WIDTH, ref.WIDTH, empty.sum())
            xy = np.column_stack([c["samples"]["s"], z])
            xy = xy[np.all(np.isfinite(xy), axis=1)]
            if len(xy) <= 3:
                continue
            mean = np.array([_circular_mean(xy[:, 0]), _circular_mean(xy[:, 1])]) - stim
            dev = np.column_stack([ref.circular_distance(xy[:, k], mean[k] + stim) for k in (0, 1)])
            c["mi"], c["mi_upper"], c["kl"] = ref.mutual_information(cov_post, mean, np.cov(dev.T))
            tag = f"wE{c['w_E']:g}_U{c['u_fwd']:g}"
            metrics[f"mutual_information_bits_{tag}"] = c["mi"]
            metrics[f"kl_bits_{tag}"] = c["kl"]
            metrics[f"mutual_information_upper_bound_bits_U{c['u_fwd']:g}"] = c["mi_upper"]
            if "P" in c:
                metrics[f"p11_over_lambda_x_plus_lambda_s_{tag}"] = c["p11"] / (c["lambda_x"] + c["lambda_s"])

    def scan(self, result, by="w_E"):
        """The copies sorted by ``by`` (``"w_E"`` or ``"u_fwd"``; the other one value for every copy), their
        metrics with the information measures against the world's posterior, and that posterior's prior
        precision at the first copy's U_fwd: ``(conds, metrics, lambda_s_world)``."""
        p = result.params
        fixed = "u_fwd" if by == "w_E" else "w_E"
        conds = sorted(self.conditions(result), key=lambda c: c[by])
        if len({c[fixed] for c in conds}) != 1:
            raise ValueError(f"task {self.name}: one {fixed} for every copy, found {sorted({c[fixed] for c in conds})}")
        metrics = self.metrics(conds)
        self._information(conds, metrics, p)
        metrics["lambda_s_world"] = float(np.linalg.inv(self._world_posterior(p, conds[0]["u_fwd"]))[1, 1])
        return conds, metrics, metrics["lambda_s_world"]

    def evaluate(self, result):
        p = result.params
        conds, metrics, _ = self.scan(result)
        rec = [c for c in conds if c["w_E"] > 0]
        allowed = int(p["max_failures"])
        grid = ", ".join(f"{c['w_E']:g}" for c in rec)
        p11 = [c["p11"] / (c["lambda_x"] + c["lambda_s"]) for c in rec]
        lo, hi = float(p["p11_low"]), float(p["p11_high"])
        bad = _failures(p11, lo, hi)
        claims = [Claim("p11_matches_posterior",
                        f"P11/(Λx + Λs) lies in [{lo:g}, {hi:g}] at w_E = {grid} (at most {allowed} point(s) outside)",
                        p11, [lo, hi], len(bad) <= allowed)]
        weak = float(p["weak_w_E"])
        bands = [(float(p["p22_low_weak"]), float(p["p22_high_weak"])) if c["w_E"] <= weak + 1e-12
                 else (float(p["p22_low"]), float(p["p22_high"])) for c in rec]
        p22 = [c["p22_over_lambda_s"] for c in rec]
        bad = [k for k, (v, (a, b)) in enumerate(zip(p22, bands)) if not a <= v <= b]
        claims.append(Claim("p22_matches_prior",
                            f"P22/Λs lies in [{p['p22_low_weak']}, {p['p22_high_weak']}] at w_E <= {weak:g} and in "
                            f"[{p['p22_low']}, {p['p22_high']}] above (at most {allowed} point(s) outside)",
                            p22, bands, len(bad) <= allowed))
        lam = [c["lambda_s"] for c in rec]
        gmin = float(p["lambda_s_growth_min"])
        growth = lam[-1] / lam[0] if len(lam) >= 2 and lam[0] > 0 else float("nan")
        claims.append(Claim("prior_precision_increases",
                            f"Λs = −P12 increases with w_E (at most {allowed} inversion(s)) and grows >= {gmin:g}x "
                            f"from w_E = {rec[0]['w_E']:g} to {rec[-1]['w_E']:g}",
                            {"lambda_s": lam, "growth": growth}, {"growth_min": gmin, "max_inversions": allowed},
                            len(lam) >= 2 and _inversions(lam) <= allowed and growth >= gmin))
        mi = [c.get("mi", float("nan")) for c in rec]
        claims.append(Claim("mutual_information_best_at_weakest_prior",
                            f"the mutual information with the world's posterior (U_world = {float(p['urec_world']):g}) "
                            f"is larger at w_E = {rec[0]['w_E']:g} than at every larger w_E of the grid",
                            mi, "mi[0] > max(mi[1:])", len(mi) >= 2 and mi[0] > max(mi[1:])))
        zero = [c for c in conds if c["w_E"] == 0]
        dc = [c["var_r"] for c in rec]
        dmin, vmax = float(p["dc_growth_min"]), float(p["zero_var_max"])
        dc_growth = dc[-1] / dc[0] if len(dc) >= 2 and dc[0] > 0 else float("nan")
        claims.append(Claim("internal_differential_correlations",
                            f"the variance of the stimulus decoded from the rate vector is <= {vmax:g} deg² at w_E = 0, "
                            f"increases with w_E (at most {allowed} inversion(s)) and grows >= {dmin:g}x over the grid",
                            {"var_wE0": zero[0]["var_r"] if zero else None, "var": dc, "growth": dc_growth},
                            {"zero_var_max": vmax, "growth_min": dmin},
                            bool(zero) and zero[0]["var_r"] <= vmax and _inversions(dc) <= allowed and dc_growth >= dmin))
        return TaskOutcome(metrics, claims)


    def figures(self, result, outdir):
        """The figures of every ring scan, and the information panel: MI with the world's posterior and its
        upper bound, KL, and Λs against the world prior's precision, over w_E."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        conds, _, lam_world = self.scan(result)
        paths = super().figures(result, outdir, conds)
        info = [c for c in conds if "mi" in c]
        ws = [c["w_E"] for c in info]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        ax1.plot(ws, [c["mi"] for c in info], "o-", label="MI (samples vs world posterior)")
        ax1.plot(ws, [c["mi_upper"] for c in info], "k--", label="upper bound")
        ax1.plot(ws, [c["kl"] for c in info], "s:", label="KL(posterior ‖ samples)")
        ax1.set_xlabel("w_E")
        ax1.set_ylabel("bit / window")
        ax1.legend(fontsize=8)
        ax1.set_title(f"Information, U_world = {float(result.params['urec_world']):g}")
        rec = [c for c in conds if "lambda_s" in c]
        ax2.semilogy([c["w_E"] for c in rec], [c["lambda_s"] for c in rec], "o-", label="Λs = −P12 (samples)")
        ax2.axhline(lam_world, color="C3", ls="--", label="world prior's precision")
        ax2.set_xlabel("w_E")
        ax2.set_ylabel("precision (deg⁻²)")
        ax2.legend(fontsize=8)
        ax2.set_title("Stored prior vs the world's")
        fig.tight_layout()
        path = outdir / "poisson_information.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return paths + [path]


class PoissonSamplingPriorMatch(PoissonSampling):
    """The fine w_E grid of the authors' MI panel (``plot_MutualInfo_IntDIffCorr.m``: w_E <= 0.005 at
    U_fwd = 30 Hz, bSample_ufwd = 0): the information the samples carry about the world's posterior
    (world prior ``urec_world``) peaks where the prior stored in the recurrence matches the world's. Claims
    and thresholds fixed from the oracle of the authors' newest code (22-s runs) before any Brian2 run
    (``docs/papers/zhang2023-authors-code.md`` §11, 4)."""

    name = "poisson_sampling_prior_match"
    description = "Zhang et al.'s MI panel: the samples' information peaks where the stored prior matches the world's"
    parameters = {
        **PoissonSampling.parameters,
        "w_E": Param([0.0, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.008, 0.01],
                     "recurrent E weight w_E of each copy", kind="list"),
        "u_fwd": Param([30.0] * 9, "peak feedforward rate (Hz) of each copy (one value on this grid)", kind="list"),
        "peak_w_E": Param([0.001, 0.002, 0.003], "w_E values where the MI may peak", kind="list"),
        "mi_peak_min": Param("2.9", "least MI (bit/window) at the peak"),
        "kl_peak_max": Param("0.4", "largest KL(posterior || samples) (bit) at the peak"),
        "world_factor": Param("2.5", "Λs at the peak lies within this factor of the world prior's precision"),
        "mi_ends_max": Param("1.6", "largest MI (bit/window) at the smallest and the largest w_E of the grid"),
    }

    def evaluate(self, result):
        p = result.params
        conds, metrics, lam_world = self.scan(result)
        mi = [c.get("mi", float("nan")) for c in conds]
        grid = [c["w_E"] for c in conds]
        best = conds[int(np.nanargmax(mi))]
        allowed = _floats(p["peak_w_E"], "peak_w_E")
        mi_min, kl_max = float(p["mi_peak_min"]), float(p["kl_peak_max"])
        claims = [Claim("mi_peaks_at_world_prior",
                        f"over w_E = {', '.join(f'{w:g}' for w in grid)} the MI with the world's posterior peaks at "
                        f"w_E in {{{', '.join(f'{w:g}' for w in allowed)}}}, with MI >= {mi_min:g} bit/window and "
                        f"KL <= {kl_max:g} bit there",
                        {"mi": mi, "peak_w_E": best["w_E"], "peak_mi": best["mi"], "peak_kl": best["kl"]},
                        {"peak_w_E": allowed, "mi_min": mi_min, "kl_max": kl_max},
                        any(np.isclose(best["w_E"], w) for w in allowed) and best["mi"] >= mi_min
                        and best["kl"] <= kl_max)]
        factor = float(p["world_factor"])
        lam = best.get("lambda_s", float("nan"))
        claims.append(Claim("prior_matches_world_at_peak",
                            f"Λs = −P12 at the MI peak lies within a factor {factor:g} of the world prior's "
                            f"precision {lam_world:.3g} deg⁻²", lam, [lam_world / factor, lam_world * factor],
                            lam_world / factor <= lam <= lam_world * factor))
        ends_max = float(p["mi_ends_max"])
        ends = [mi[0], mi[-1]]
        claims.append(Claim("mi_low_without_and_with_strong_prior",
                            f"the MI at w_E = {grid[0]:g} and at w_E = {grid[-1]:g} is <= {ends_max:g} bit/window",
                            ends, ends_max, max(ends) <= ends_max))
        return TaskOutcome(metrics, claims)


class PoissonSamplingInput(PoissonSampling):
    """The authors' flagTest-1 scan (``scanRecHawkesNet.m``): w_E = 0.002, U_fwd = 5, 10, …, 50 Hz, one copy per
    input strength: the sampling precision of s tracks the likelihood's, P11 rising with U_fwd and
    P11/(Λx + Λs) inside a band at U_fwd >= ``strong_u_fwd``. Claims and thresholds fixed from the oracle
    of the authors' newest code before any Brian2 run (``docs/papers/zhang2023-authors-code.md`` §11, 6)."""

    name = "poisson_sampling_input"
    description = "Zhang et al.'s U_fwd scan: the sampling precision of the stimulus tracks the likelihood's"
    parameters = {
        **PoissonSampling.parameters,
        "w_E": Param([0.002] * 10, "recurrent E weight w_E of each copy (one value on this grid)", kind="list"),
        "u_fwd": Param([5.0 * k for k in range(1, 11)], "peak feedforward rate (Hz) of each copy", kind="list"),
        "p11_low": Param("0.65", "lower bound of P11/(Λx + Λs) at U_fwd >= strong_u_fwd"),
        "strong_u_fwd": Param("20.0", "U_fwd (Hz) from which the band on P11/(Λx + Λs) applies"),
    }

    def evaluate(self, result):
        p = result.params
        conds, metrics, _ = self.scan(result, by="u_fwd")
        allowed = int(p["max_failures"])
        p11 = [c["p11"] for c in conds]
        grid = ", ".join(f"{c['u_fwd']:g}" for c in conds)
        claims = [Claim("p11_increases_with_input",
                        f"P11 increases with U_fwd = {grid} Hz (at most {allowed} inversion(s))",
                        p11, {"max_inversions": allowed}, _inversions(p11) <= allowed)]
        strong = [c for c in conds if c["u_fwd"] >= float(p["strong_u_fwd"])]
        ratio = [c["p11"] / (c["lambda_x"] + c["lambda_s"]) for c in strong]
        lo, hi = float(p["p11_low"]), float(p["p11_high"])
        strong_grid = ", ".join(f"{c['u_fwd']:g}" for c in strong)
        claims.append(Claim("p11_matches_posterior",
                            f"P11/(Λx + Λs) lies in [{lo:g}, {hi:g}] at U_fwd = {strong_grid} Hz "
                            f"(at most {allowed} point(s) outside)",
                            ratio, [lo, hi], len(_failures(ratio, lo, hi)) <= allowed))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        p = result.params
        conds, _, _ = self.scan(result, by="u_fwd")
        paths = [_raster_figure(result, p, conds, outdir / "poisson_raster.png", plt)]
        u = [c["u_fwd"] for c in conds]
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
        ax1.plot(u, [c["p11"] for c in conds], "o-", label="P11 (samples)")
        ax1.plot(u, [c["lambda_x"] + c["lambda_s"] for c in conds], "s--", label="Λx + Λs")
        ax1.plot(u, [c["lambda_x"] for c in conds], ":", color="grey", label="Λx")
        ax1.set_xlabel("U_fwd (Hz)")
        ax1.set_ylabel("precision (deg⁻²)")
        ax1.legend(fontsize=8)
        ax1.set_title(f"Sampling precision of s, w_E = {conds[0]['w_E']:g}")
        ax2.plot(u, [c["p11"] / (c["lambda_x"] + c["lambda_s"]) for c in conds], "o-")
        ax2.axhspan(float(p["p11_low"]), float(p["p11_high"]), color="C2", alpha=0.15, label="claimed band")
        ax2.axvline(float(p["strong_u_fwd"]), color="grey", lw=0.8)
        ax2.set_xlabel("U_fwd (Hz)")
        ax2.set_ylabel("P11 / (Λx + Λs)")
        ax2.legend(fontsize=8)
        fig.tight_layout()
        path = outdir / "poisson_input_scan.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return paths + [path]


class PoissonSamplingCoupled(Task):
    """Two coupled rings as the authors scanned them (``scanCoupledHawkesNet.m`` flagTest 2 and
    ``Cluster_code/scanCoupledNet_Cluster.m`` of their newest code): stimuli ±10°, the cross-ring coupling
    ratio on a grid, one copy (pair of rings) per ratio. The samples' statistics are the authors' (``getNetMdlStat.m``): the sample mean and
    covariance of (s1, s2), the posterior mean predicted with the samples' covariance (``meanSamplePred =
    C·Λx·stimuli``), and the coupling prior Λc the samples imply, fitted by KL (``findPriorPrecision.m``); the
    claims compare the samples with the posterior of that prior: the means and the diagonal precisions (the
    authors' figure), the growth of Λc with the coupling, and the correlation (not in their figure; it fails in
    their own code). Thresholds are fixed from the NumPy oracle of the authors' code (rate feedforward input,
    102 s, 3 replicates) before any Brian2 run (``docs/papers/zhang2023-authors-code.md`` §12)."""

    name = "poisson_sampling_coupled"
    description = "Zhang et al.'s coupled-ring scan: two rings sample the posterior of a coupling prior"
    reference = "Zhang, Wu, Josic & Doiron (2023) Nat. Commun. 14:7074"
    parameters = {
        **_COMMON,
        "within_ee": Param("0.0", "within-ring E→E weights over the kernel of scale w_E (the authors' coupled "
                                  "scan cuts them, bCutRecConns = 1: 0)"),
        "w_E": Param([0.01] * 11, "weight scale w_E of each copy (pair of rings)", kind="list"),
        "u_fwd": Param([30.0] * 11, "peak feedforward rate (Hz) of each copy, both rings", kind="list"),
        "cross_ratio": Param([0.5 * k for k in range(11)], "cross-ring E weights over the E kernel of scale "
                                                           "w_E, per copy", kind="list"),
        "ratio_ie": Param("3.0", "|J_xI| / J_xE (the authors' coupled scan: 3)"),
        "stimuli": Param([-10.0, 10.0], "the stimulus of each ring (degrees)", kind="list"),
        "random_kernel": Param(False, "the E→E kernel's entries randomly permuted (the authors' bRandWee)",
                               kind="bool"),
        "mean_tol": Param("1.7", "largest |sample mean − predicted posterior mean| (degrees) per ring"),
        "precision_low": Param("0.79", "lower bound of diag(P_samples)/diag(P_posterior)"),
        "precision_high": Param("1.06", "upper bound of diag(P_samples)/diag(P_posterior)"),
        "lambda_c_growth_min": Param("8.0", "least Λc(largest ratio)/Λc(smallest ratio > 0)"),
        "corr_tol": Param("0.056", "largest |correlation of (s1, s2) − the fitted posterior's|"),
        "max_failures": Param(1, "grid points that may fail a per-point claim", kind="int", min=0),
    }

    def prepare(self, ctx):
        p = ctx.params
        stimuli = _floats(p["stimuli"], "stimuli")
        if len(stimuli) != 2:
            raise BuildError(f"task parameter 'stimuli' needs one value per ring (2), found: {stimuli}")
        cross_list = _floats(p["cross_ratio"], "cross_ratio")
        if len(cross_list) != len(p["w_E"]) or min(cross_list, default=0.0) < 0:
            raise BuildError(f"task parameter cross_ratio ({cross_list}) needs one value >= 0 per w_E")
        n_e = int(p["n_exc"])
        shuffle = bool(p["random_kernel"])
        cross = iter(cross_list)

        def weights(ne, ni, w, width, rie):
            order = ctx.rng.permutation(n_e * n_e) if shuffle else None
            return ref.coupled_ring_weights(ne, ni, w, next(cross), width, rie, float(p["within_ee"]), order)

        _setup(ctx, 2, weights, self.name, stimuli=stimuli)

    def conditions(self, result):
        """Per copy (sorted by the coupling ratio): the decoded (s1, s2) per window (a window without E spikes
        gets a uniform random position, as the authors' decoder does; fixed generator), the sample mean
        (angle of the mean population vector) and covariance of the circular deviations from it, the
        likelihood precisions Λx (``PreMat_LH``), the predicted posterior mean ``C·Λx·stimuli``, and the fitted
        coupling prior with its posterior."""
        p = result.params
        window, discard = float(p["window"]), float(p["discard"])
        width = float(p["tuning_width"])
        counts, _, attrs, exc = window_data(result, p["population"], window, discard)
        stimuli = np.asarray(_floats(p["stimuli"], "stimuli"))
        rng = np.random.default_rng(0)
        out = []
        for c, (w, u, x) in enumerate(zip(_floats(p["w_E"], "w_E"), _floats(p["u_fwd"], "u_fwd"),
                                          _floats(p["cross_ratio"], "cross_ratio"))):
            pos, mean, lam_x, rate = [], [], [], []
            for r in (0, 1):
                sel = (attrs["copy"][exc] == c) & (attrs["ring"][exc] == r)
                pv = counts[:, sel] @ np.exp(1j * np.deg2rad(attrs["preferred"][exc][sel]))
                a = np.rad2deg(np.angle(pv))
                a[pv == 0] = rng.uniform(-ref.WIDTH, ref.WIDTH, int((pv == 0).sum()))
                pos.append(a)
                mean.append(float(np.rad2deg(np.angle(pv.mean()))))
                lam_x.append(ref.likelihood_precision(attrs["rate_fwd"][exc][sel], width, window))
                rate.append(float(counts[:, sel].mean() / window))
            dev = np.column_stack([ref.circular_distance(pos[r], mean[r]) for r in (0, 1)])
            C = np.cov(dev.T)
            P = np.linalg.inv(C)
            mean = np.array(mean)
            lam_c, kl, P_post, mu_post = ref.fit_coupling_prior(mean, C, stimuli, lam_x)
            out.append({"w_E": w, "u_fwd": u, "cross": x, "samples": np.column_stack(pos), "cov": C, "P": P,
                        "mean": mean, "mean_pred": C @ np.diag(lam_x) @ stimuli, "lam_x": np.array(lam_x),
                        "lam_c": lam_c, "kl": kl, "post": P_post, "mean_post": mu_post,
                        "lam_c_naive": float(-P[0, 1]), "precision_ratio": np.diag(P) / np.diag(P_post),
                        "corr": float(C[0, 1] / np.sqrt(C[0, 0] * C[1, 1])),
                        "corr_post": ref.precision_to_correlation(P_post), "rate_exc": rate})
        return sorted(out, key=lambda c: c["cross"])

    def evaluate(self, result):
        p = result.params
        conds = self.conditions(result)
        metrics = {}
        for c in conds:
            tag = f"cross{c['cross']:g}"
            metrics[f"mean_sample_{tag}"] = c["mean"].tolist()
            metrics[f"mean_posterior_predicted_{tag}"] = c["mean_pred"].tolist()
            metrics[f"sampling_precision_{tag}"] = c["P"].tolist()
            metrics[f"posterior_precision_{tag}"] = c["post"].tolist()
            metrics[f"precision_ratio_{tag}"] = c["precision_ratio"].tolist()
            metrics[f"lambda_x_{tag}"] = c["lam_x"].tolist()
            metrics[f"lambda_c_fit_{tag}"] = c["lam_c"]
            metrics[f"lambda_c_minus_p12_{tag}"] = c["lam_c_naive"]
            metrics[f"kl_nats_{tag}"] = c["kl"]
            metrics[f"corr_s1_s2_{tag}"] = c["corr"]
            metrics[f"corr_posterior_{tag}"] = c["corr_post"]
            metrics[f"rate_exc_hz_{tag}"] = c["rate_exc"]
        allowed = int(p["max_failures"])
        grid = ", ".join(f"{c['cross']:g}" for c in conds)
        tol = float(p["mean_tol"])
        err = [float(np.max(np.abs(c["mean"] - c["mean_pred"]))) for c in conds]
        claims = [Claim("mean_matches_posterior",
                        f"|sample mean − posterior mean C·Λx·stimuli| <= {tol:g}° for both rings at coupling ratio "
                        f"{grid} (at most {allowed} point(s) outside)",
                        err, tol, sum(e > tol for e in err) <= allowed)]
        lo, hi = float(p["precision_low"]), float(p["precision_high"])
        ratio = [c["precision_ratio"].tolist() for c in conds]
        bad = [k for k, r in enumerate(ratio) if not all(lo <= v <= hi for v in r)]
        claims.append(Claim("precision_matches_posterior",
                            f"the samples' precisions P11, P22 over those of the posterior with the fitted coupling "
                            f"prior lie in [{lo:g}, {hi:g}] at coupling ratio {grid} (at most {allowed} point(s) outside)",
                            ratio, [lo, hi], len(bad) <= allowed))
        coupled = [c for c in conds if c["cross"] > 0]
        lam = [c["lam_c"] for c in coupled]
        gmin = float(p["lambda_c_growth_min"])
        growth = lam[-1] / lam[0] if len(lam) >= 2 and lam[0] > 0 else float("nan")
        claims.append(Claim("coupling_prior_increases",
                            f"the fitted coupling prior Λc increases with the coupling ratio (at most {allowed} "
                            f"inversion(s)) and grows >= {gmin:g}x from ratio {coupled[0]['cross']:g} to "
                            f"{coupled[-1]['cross']:g}",
                            {"lambda_c": lam, "growth": growth}, {"growth_min": gmin, "max_inversions": allowed},
                            len(lam) >= 2 and _inversions(lam) <= allowed and growth >= gmin))
        ctol = float(p["corr_tol"])
        gap = [c["corr"] - c["corr_post"] for c in conds]
        claims.append(Claim("correlation_matches_posterior",
                            f"the correlation of (s1, s2) lies within ±{ctol:g} of the fitted posterior's at coupling "
                            f"ratio {grid} (at most {allowed} point(s) outside)",
                            {"sampled": [c["corr"] for c in conds], "posterior": [c["corr_post"] for c in conds]},
                            ctol, sum(abs(g) > ctol for g in gap) <= allowed))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        conds = self.conditions(result)
        stimuli = _floats(result.params["stimuli"], "stimuli")
        show = [conds[0], conds[len(conds) // 2], conds[-1]]
        fig, axes = plt.subplots(1, 3, figsize=(11, 3.8))
        for ax, c in zip(axes, show):
            s = c["samples"]
            ax.plot(s[:, 0], s[:, 1], ".", ms=2, alpha=0.3)
            _ellipse(ax, c["cov"], "k", "samples (2 sd)", "--", c["mean"])
            _ellipse(ax, np.linalg.inv(c["post"]), "C3", "posterior, fitted Λc", "-", c["mean_post"])
            ax.plot(*stimuli, "k+", ms=10)
            ax.set_title(f"ratio {c['cross']:g}: ρ = {c['corr']:.2f} (posterior {c['corr_post']:.2f})", fontsize=9)
            ax.set_xlabel("s1 (deg)")
            ax.set_ylabel("s2 (deg)")
            ax.set_aspect("equal", "datalim")
            ax.legend(fontsize=7)
        fig.tight_layout()
        clouds = outdir / "coupled_samples.png"
        fig.savefig(clouds, dpi=90)
        plt.close(fig)
        x = [c["cross"] for c in conds]
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(12, 3.6))
        for r in (0, 1):
            a1.plot(x, [c["mean"][r] for c in conds], "o-", color=f"C{r}", label=f"sample mean s{r + 1}")
            a1.plot(x, [c["mean_pred"][r] for c in conds], "--", color=f"C{r}", label=f"C·Λx·stimuli, s{r + 1}")
            a2.plot(x, [c["P"][r, r] for c in conds], "o-", color=f"C{r}", label=f"P{r + 1}{r + 1} samples")
            a2.plot(x, [c["post"][r, r] for c in conds], "--", color=f"C{r}", label="posterior (fitted Λc)")
        a3.plot(x, [c["lam_c"] for c in conds], "o-", label="Λc fitted (KL)")
        a3.plot(x, [c["lam_c_naive"] for c in conds], "s:", label="−P12 of the samples")
        for ax, yl in ((a1, "mean (deg)"), (a2, "precision (deg⁻²)"), (a3, "coupling prior (deg⁻²)")):
            ax.set_xlabel("cross-ring coupling ratio")
            ax.set_ylabel(yl)
            ax.legend(fontsize=7)
        fig.tight_layout()
        scan = outdir / "coupled_scan.png"
        fig.savefig(scan, dpi=90)
        plt.close(fig)
        return [clouds, scan]
