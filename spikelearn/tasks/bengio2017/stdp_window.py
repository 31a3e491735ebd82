"""The STDP window of the gradient rule (Bengio et al. 2015/2017), measured two ways.

``stdp_window`` (:class:`StdpWindow`)
    Pairing protocol: presynaptic neuron *k* fires at ``Δt_k`` before a postsynaptic spike forced at
    1 Hz (``Δt`` from -100 to 100 ms in 5 ms steps), ``n_pairings`` times. The weight change per pairing
    is compared with the closed form of :mod:`spikelearn.plasticity.stdp_gradient`:
    ``A+ = eta*tau_r/(tau_x+tau_r)``, ``tau+ = tau_x``, ``A- = eta*tau_x/(tau_x+tau_r)``,
    ``tau- = tau_r``, so ``A+/A- = tau_r/tau_x`` and the window integrates to zero.

``stdp_window_ou`` (:class:`StdpWindowOU`)
    The statistical argument of Bengio et al. (2015): the postsynaptic potential ``V`` is an
    Ornstein–Uhlenbeck process, postsynaptic spikes are Poisson at a sigmoid of ``V``, presynaptic spikes
    are independent Poisson trains. The rule ``ΔW ∝ S_pre · dV/dt`` evaluated at each presynaptic spike
    and averaged over pre/post pairs binned by ``Δt = t_post - t_pre`` is positive when the postsynaptic
    spike follows (``V`` was rising towards the high values where spikes are likely) and negative when it
    precedes (``V`` decays after its peak): the STDP sign pattern appears without any timing rule.
"""

import logging

import numpy as np

from spikelearn.network import Population, Record
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome

__all__ = ["StdpWindow", "StdpWindowOU", "StdpWindowDvdt", "paired_window", "lobe_statistics", "pairing_schedule",
           "fit_window", "window_claims", "bi_poo_window", "triggered_dvdt", "BI_POO"]

logger = logging.getLogger(__name__)

# Exponential fit to Bi & Poo (1998) as usually quoted (Bi & Poo 2001 review; van Rossum et al. 2000):
# relative change 0.777*exp(-dt/16.8 ms) for dt > 0 and -0.273*exp(dt/33.7 ms) for dt < 0.
BI_POO = {"A_plus": 0.777, "tau_plus": 16.8e-3, "A_minus": 0.273, "tau_minus": 33.7e-3}


def bi_poo_window(delta_t, scale=1.0):
    """The Bi & Poo exponential fit at ``delta_t`` (s), multiplied by ``scale`` (shape reference only)."""
    d = np.asarray(delta_t, dtype=float)
    return scale * np.where(d >= 0, BI_POO["A_plus"] * np.exp(-np.abs(d) / BI_POO["tau_plus"]),
                            -BI_POO["A_minus"] * np.exp(-np.abs(d) / BI_POO["tau_minus"]))


def pairing_schedule(offsets, n_pairings, period, first_post):
    """Spike times of the pairing protocol.

    Parameters
    ----------
    offsets : array_like
        ``Δt = t_post - t_pre`` of each presynaptic neuron (s).
    n_pairings : int
        Number of postsynaptic spikes.
    period, first_post : float
        Interval between postsynaptic spikes and time of the first one (s).

    Returns
    -------
    pre_indices, pre_times, post_indices, post_times : ndarray
    """
    offsets = np.asarray(offsets, dtype=float)
    if n_pairings < 1:
        raise ValueError(f"n_pairings must be >= 1, found: {n_pairings}")
    if first_post - offsets.max() < 0:
        raise ValueError(f"first_post ({first_post} s) is earlier than the largest offset ({offsets.max()} s)")
    if period <= 2 * np.abs(offsets).max():
        raise ValueError(f"period ({period} s) must exceed twice the largest |offset| ({np.abs(offsets).max()} s)")
    post_times = first_post + period * np.arange(n_pairings)
    pre_times = (post_times[None, :] - offsets[:, None]).ravel()
    pre_indices = np.repeat(np.arange(len(offsets)), n_pairings)
    order = np.argsort(pre_times, kind="stable")
    return pre_indices[order], pre_times[order], np.zeros(n_pairings, dtype=int), post_times


def _fit_exp(x, y):
    """Least-squares fit of ``y = A*exp(-x/tau)`` (x >= 0, y > 0); returns ``(A, tau)``."""
    from scipy.optimize import curve_fit

    slope, icpt = np.polyfit(x, np.log(y), 1)
    p0 = (np.exp(icpt), -1.0 / slope if slope < 0 else 0.02)
    (a, tau), _ = curve_fit(lambda t, a, tau: a * np.exp(-t / tau), x, y, p0=p0, maxfev=20000)
    return float(a), float(tau)


def fit_window(delta_t, dw):
    """Fit ``A+ exp(-Δt/τ+)`` to the points with Δt > 0 and ``-A- exp(Δt/τ-)`` to those with Δt < 0.

    Returns a dict ``A_plus, tau_plus, A_minus, tau_minus`` (``A_minus`` positive), or NaNs for a side
    whose points do not all have the expected sign (an exponential cannot be fitted there).
    """
    d = np.asarray(delta_t, dtype=float)
    dw = np.asarray(dw, dtype=float)
    out = {}
    pos, neg = d > 0, d < 0
    if pos.sum() >= 2 and np.all(dw[pos] > 0):
        out["A_plus"], out["tau_plus"] = _fit_exp(d[pos], dw[pos])
    else:
        out["A_plus"] = out["tau_plus"] = float("nan")
    if neg.sum() >= 2 and np.all(dw[neg] < 0):
        out["A_minus"], out["tau_minus"] = _fit_exp(-d[neg], -dw[neg])
    else:
        out["A_minus"] = out["tau_minus"] = float("nan")
    return out


def _rel(a, b):
    return float(abs(a / b - 1.0)) if np.isfinite(a) else float("inf")


def window_claims(delta_t, dw, eta, tau_x, tau_r, tolerance=0.05, zero_fraction=0.05):
    """The claims of the window scenario for a measured window; returns ``(claims, metrics)``.

    ``delta_t`` (s) and ``dw`` (weight change per pairing) per presynaptic neuron; ``eta``, ``tau_x``,
    ``tau_r`` the parameters of the gradient rule whose closed form the window is compared with.
    """
    from spikelearn.plasticity.stdp_gradient import window_amplitudes

    d = np.asarray(delta_t, dtype=float)
    dw = np.asarray(dw, dtype=float)
    if d.shape != dw.shape:
        raise ValueError(f"delta_t and dw must have the same shape, found {d.shape} and {dw.shape}")
    a_p, t_p, a_m, t_m = window_amplitudes(eta, tau_x, tau_r)
    fit = fit_window(d, dw)
    pos, neg = d > 0, d < 0
    n_wrong = int(np.sum(dw[pos] <= 0) + np.sum(dw[neg] >= 0))
    errors = {
        "A_plus": _rel(fit["A_plus"], a_p), "tau_plus": _rel(fit["tau_plus"], t_p),
        "A_minus": _rel(fit["A_minus"], a_m), "tau_minus": _rel(fit["tau_minus"], t_m),
    }
    ratio = fit["A_plus"] / fit["A_minus"] if np.isfinite(fit["A_minus"]) else float("nan")
    ratio_err = _rel(ratio, tau_r / tau_x)
    nz = d != 0
    total, total_abs = float(np.sum(dw[nz])), float(np.sum(np.abs(dw[nz])))
    integral_fraction = abs(total) / total_abs if total_abs > 0 else float("inf")
    claims = [
        Claim("window_signs",
              "Δw > 0 for every Δt in (0, 100] ms and Δw < 0 for every Δt in [-100, 0)",
              {"points_with_wrong_sign": n_wrong, "min_dw_pre_first": float(dw[pos].min()),
               "max_dw_post_first": float(dw[neg].max())}, 0, n_wrong == 0),
        Claim("window_fit_matches_closed_form",
              f"fitted A+, A-, tau+, tau- each within {tolerance:.0%} of eta*tau_r/(tau_x+tau_r), "
              "eta*tau_x/(tau_x+tau_r), tau_x, tau_r",
              {k: round(v, 6) for k, v in errors.items()}, tolerance,
              all(v <= tolerance for v in errors.values())),
        Claim("amplitude_ratio",
              f"fitted A+/A- within {tolerance:.0%} of tau_r/tau_x = {tau_r / tau_x:.4f}",
              ratio, {"expected": tau_r / tau_x, "relative_tolerance": tolerance}, ratio_err <= tolerance),
        Claim("zero_integral",
              f"|sum of Δw| < {zero_fraction:.0%} of sum of |Δw| over the sampled Δt != 0",
              integral_fraction, zero_fraction, integral_fraction < zero_fraction),
    ]
    metrics = {
        "fit_A_plus": fit["A_plus"], "fit_tau_plus_ms": fit["tau_plus"] * 1e3,
        "fit_A_minus": fit["A_minus"], "fit_tau_minus_ms": fit["tau_minus"] * 1e3,
        "closed_A_plus": a_p, "closed_tau_plus_ms": t_p * 1e3,
        "closed_A_minus": a_m, "closed_tau_minus_ms": t_m * 1e3,
        "fit_relative_errors": errors,
        "fit_ratio_A_plus_over_A_minus": ratio, "closed_ratio_tau_r_over_tau_x": tau_r / tau_x,
        "sum_dw": total, "sum_abs_dw": total_abs, "integral_fraction": integral_fraction,
        "fit_integral_fraction": (abs(fit["A_plus"] * fit["tau_plus"] - fit["A_minus"] * fit["tau_minus"])
                                  / (fit["A_plus"] * fit["tau_plus"] + fit["A_minus"] * fit["tau_minus"])),
    }
    return claims, metrics


def _rule_values(result, connection, params):
    """``eta, tau_x, tau_r`` of the gradient rule on ``connection`` (else the task's reference values)."""
    from spikelearn.units import parse_quantity

    pl = result.scenario["connections"][connection].get("plasticity", {})
    values = []
    for key in ("eta", "tau_x", "tau_r"):
        if key in pl:
            values.append(float(parse_quantity(pl[key])))
        else:
            values.append(float(params[f"reference_{key}"]))
    return tuple(values)


class StdpWindow(Task):
    name = "stdp_window"
    description = "STDP window of a rule from a pairing protocol, against the gradient rule's closed form"
    reference = "Bengio, Mesnard, Fischer, Zhang & Wu (2017) Neural Comput. 29:555; Bi & Poo (1998) J. Neurosci. 18:10464"
    parameters = {
        "connection": Param("pre_to_post", "the plastic connection (pre population -> post population)", kind="str"),
        "pre": Param("pre", "presynaptic population (spike generator, one neuron per offset)", kind="str"),
        "post": Param("post", "postsynaptic population (spike generator, forced spikes)", kind="str"),
        "max_offset": Param("100*ms", "offsets Δt = t_post - t_pre run from -max_offset to max_offset"),
        "offset_step": Param("5*ms", "step between offsets"),
        "n_pairings": Param(10, "number of forced postsynaptic spikes", kind="int", min=1),
        "period": Param("1*second", "interval between forced postsynaptic spikes"),
        "first_post": Param("200*ms", "time of the first forced postsynaptic spike"),
        "tolerance": Param("0.05", "relative tolerance of fitted amplitudes, time constants and ratio"),
        "zero_fraction": Param("0.05", "|sum Δw| must be below this fraction of sum |Δw|"),
        "reference_eta": Param("0.01", "eta of the closed form when the rule on the connection has none"),
        "reference_tau_x": Param("16.8*ms", "tau_x of the closed form when the rule has none"),
        "reference_tau_r": Param("33.7*ms", "tau_r of the closed form when the rule has none"),
    }

    def _offsets(self, p):
        m, s = float(p["max_offset"]), float(p["offset_step"])
        if s <= 0 or m <= 0:
            raise ValueError(f"max_offset and offset_step must be > 0, found {m} s and {s} s")
        n = int(round(m / s))
        return np.arange(-n, n + 1) * s

    def prepare(self, ctx):
        from spikelearn.errors import BuildError

        p = ctx.params
        offsets = self._offsets(p)
        pre_size = ctx.scenario.populations[p["pre"]].size
        if pre_size != len(offsets):
            raise BuildError(f"task stdp_window: population '{p['pre']}' has {pre_size} neurons but the "
                             f"protocol has {len(offsets)} offsets")
        pi, pt, qi, qt = pairing_schedule(offsets, int(p["n_pairings"]), float(p["period"]), float(p["first_post"]))
        if qt[-1] + float(p["max_offset"]) > float(ctx.duration):
            raise BuildError(f"task stdp_window: the run ({float(ctx.duration)} s) ends before the last pairing "
                             f"({qt[-1] + float(p['max_offset'])} s)")
        ctx.spike_inputs[p["pre"]] = (pi, pt)
        ctx.spike_inputs[p["post"]] = (qi, qt)
        ctx.save_array("offsets", offsets)

    def measured(self, result):
        """Offsets (s) and weight change per pairing of each presynaptic neuron."""
        p = result.params
        offsets = result.array("offsets")
        wts = result.weights(p["connection"])
        dw = np.zeros(len(offsets))
        np.add.at(dw, wts["i"], wts["w_final"] - wts["w_initial"])
        return offsets, dw / int(p["n_pairings"])

    def evaluate(self, result):
        p = result.params
        offsets, dw = self.measured(result)
        eta, tau_x, tau_r = _rule_values(result, p["connection"], p)
        claims, metrics = window_claims(offsets, dw, eta, tau_x, tau_r, float(p["tolerance"]),
                                        float(p["zero_fraction"]))
        metrics["offsets_ms"] = (offsets * 1e3).tolist()
        metrics["dw_per_pairing"] = dw.tolist()
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        from spikelearn.plasticity.stdp_gradient import window

        p = result.params
        offsets, dw = self.measured(result)
        eta, tau_x, tau_r = _rule_values(result, p["connection"], p)
        d = np.linspace(offsets.min(), offsets.max(), 801)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        analytic = window(d, eta, tau_x, tau_r)
        ax.plot(d[d > 0] * 1e3, analytic[d > 0], color="C0", label="closed form (gradient rule)")
        ax.plot(d[d < 0] * 1e3, analytic[d < 0], color="C0")
        a_p = eta * tau_r / (tau_x + tau_r)
        bp = bi_poo_window(d, a_p / BI_POO["A_plus"])
        ax.plot(d[d > 0] * 1e3, bp[d > 0], "--", color="0.5", label="Bi & Poo (1998) fit, scaled to A+")
        ax.plot(d[d < 0] * 1e3, bp[d < 0], "--", color="0.5")
        ax.plot(offsets * 1e3, dw, "o", color="C3", ms=4, label=f"measured ({result.scenario['connections'][p['connection']].get('plasticity', {}).get('rule', '?')})")
        ax.set_xlabel("Δt = t_post − t_pre (ms)")
        ax.set_ylabel("Δw per pairing")
        ax.set_title("STDP window of dw/dt = η x dr/dt")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = outdir / "stdp_window.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]


def triggered_dvdt(V, dt, pre_times, post_times, h, edges, n_blocks, duration):
    """Average ``dV/dt`` at presynaptic spikes, over pre/post pairs binned by ``Δt = t_post - t_pre``.

    ``dV/dt`` at a presynaptic spike ``t`` is ``(V(t+h) - V(t-h)) / 2h`` from the sampled ``V`` (sample
    step ``dt``). Standard errors come from ``n_blocks`` consecutive blocks of the recording (the spread
    of the block means / sqrt(n_blocks)), which respects the correlations between nearby pairs.

    Returns
    -------
    centers, mean, sem, counts : ndarray (one entry per bin)
    """
    if h <= 0 or dt <= 0:
        raise ValueError(f"h and dt must be > 0, found h={h}, dt={dt}")
    if n_blocks < 2:
        raise ValueError(f"n_blocks must be >= 2, found: {n_blocks}")
    V = np.asarray(V, dtype=float)
    hs = int(round(h / dt))
    pre = np.sort(np.asarray(pre_times, dtype=float))
    idx = np.round(pre / dt).astype(int)
    ok = (idx - hs >= 0) & (idx + hs < len(V))
    pre, idx = pre[ok], idx[ok]
    slope = (V[idx + hs] - V[idx - hs]) / (2 * hs * dt)
    edges = np.asarray(edges, dtype=float)
    nb = len(edges) - 1
    block = np.minimum((pre / duration * n_blocks).astype(int), n_blocks - 1)
    sums = np.zeros((n_blocks, nb))
    counts = np.zeros((n_blocks, nb))
    reach = max(abs(edges[0]), abs(edges[-1]))
    for tp in np.asarray(post_times, dtype=float):
        lo, hi = np.searchsorted(pre, [tp - reach, tp + reach])
        d = tp - pre[lo:hi]
        b = np.searchsorted(edges, d, side="right") - 1
        m = (b >= 0) & (b < nb)
        np.add.at(sums, (block[lo:hi][m], b[m]), slope[lo:hi][m])
        np.add.at(counts, (block[lo:hi][m], b[m]), 1)
    return ((edges[:-1] + edges[1:]) / 2,) + _block_mean_sem(sums, counts)


def _block_mean_sem(sums, counts):
    """Per-bin mean, SEM over the blocks and total count from per-block sums and counts
    ``(n_blocks, n_bins)``; NaN where a bin has no pair (mean) or fewer than two blocks (SEM)."""
    total = counts.sum(0)
    mean = np.divide(sums.sum(0), total, out=np.full(total.shape, np.nan), where=total > 0)
    block_means = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    filled = np.sum(counts > 0, axis=0)  # blocks that contribute to each bin: a SEM needs two
    sem = np.full(total.shape, np.nan)
    many = filled >= 2
    sem[many] = np.nanstd(block_means[:, many], axis=0, ddof=1) / np.sqrt(filled[many])
    return mean, sem, total


class StdpWindowOU(Task):
    name = "stdp_window_ou"
    description = "STDP sign pattern from dV/dt: OU membrane potential, Poisson spikes at a sigmoid of V"
    reference = "Bengio, Lee, Bornschein, Mesnard & Lin (2015) arXiv:1502.04156, section 2"
    parameters = {
        "pre": Param("pre", "presynaptic population (independent Poisson trains)", kind="str"),
        "tau": Param("20*ms", "time constant of the Ornstein-Uhlenbeck potential V"),
        "sigma": Param("1.0", "stationary standard deviation of V"),
        "rate_max": Param("100*Hz", "maximal postsynaptic rate"),
        "gain": Param("2.0", "slope of the sigmoid: rate = rate_max / (1 + exp(-gain*(V - theta)))"),
        "theta": Param("1.0", "midpoint of the sigmoid"),
        "slope_window": Param("1*ms", "dV/dt at a pre spike is (V(t+h) - V(t-h))/2h with h = slope_window"),
        "bin": Param("1*ms", "width of the Δt bins"),
        "max_lag": Param("100*ms", "Δt range of the triggered average"),
        "test_lag": Param("5*ms", "the claim is tested at Δt = +test_lag and -test_lag"),
        "n_blocks": Param(20, "blocks of the recording for the standard errors", kind="int", min=2),
        "margin_se": Param("5.0", "required margin in standard errors"),
    }

    def prepare(self, ctx):
        from spikelearn.errors import BuildError

        p = ctx.params
        if p["pre"] not in ctx.net.populations:
            raise BuildError(f"task stdp_window_ou: no population '{p['pre']}'")
        ns = {"tau_V": p["tau"], "sigma_V": float(p["sigma"]), "rate_max": p["rate_max"],
              "gain": float(p["gain"]), "theta": float(p["theta"])}
        model = Model.from_code("ou_post", "dV/dt = -V/tau_V + sigma_V*sqrt(2/tau_V)*xi : 1",
                                threshold="rand() < rate_max*dt/(1 + exp(-gain*(V - theta)))", method="euler",
                                description="OU membrane potential, Poisson spiking with a sigmoid rate")
        origin = f"task {self.name}"
        ctx.net.add(Population("ou_post", "ou_post", 1, ns, definition=model,
                               initial={"V": f"{float(p['sigma'])!r}*randn()"}, origin=origin))
        ctx.net.add(Record("state", "ou_post", "ou_post", ("V",), [0], ctx.dt, origin=origin))
        ctx.net.add(Record("spikes", "ou_post", "ou_post", origin=origin))
        if p["pre"] not in ctx.scenario.record["spikes"]:
            ctx.net.add(Record("spikes", p["pre"], p["pre"], origin=origin))

    def _analysis(self, result):
        p = result.params
        st = result.state("ou_post")
        V = np.asarray(st["V"])[0]
        t = np.asarray(st["t"])
        dt = float(t[1] - t[0])
        _, pre_t = result.spikes(p["pre"])
        _, post_t = result.spikes("ou_post")
        b, m = float(p["bin"]), float(p["max_lag"])
        n = int(round(m / b))
        edges = (np.arange(-n, n + 2) - 0.5) * b
        centers, mean, sem, counts = triggered_dvdt(V, dt, pre_t, post_t, float(p["slope_window"]), edges,
                                                    int(p["n_blocks"]), result.duration)
        return centers, mean, sem, counts, pre_t, post_t, V

    def evaluate(self, result):
        p = result.params
        centers, mean, sem, counts, pre_t, post_t, V = self._analysis(result)
        lag = float(p["test_lag"])
        k_after = int(np.argmin(np.abs(centers - lag)))
        k_before = int(np.argmin(np.abs(centers + lag)))
        z_after = mean[k_after] / sem[k_after]
        z_before = mean[k_before] / sem[k_before]
        margin = float(p["margin_se"])
        pos = centers > 0
        claims = [
            Claim("dvdt_sign_pattern",
                  f"mean dV/dt at pre spikes is > {margin:g} SE above 0 when the post spike follows by "
                  f"{lag * 1e3:g} ms and > {margin:g} SE below 0 when it precedes by {lag * 1e3:g} ms",
                  {"z_post_after_pre": float(z_after), "z_post_before_pre": float(z_before),
                   "mean_after_per_s": float(mean[k_after]), "sem_after_per_s": float(sem[k_after]),
                   "mean_before_per_s": float(mean[k_before]), "sem_before_per_s": float(sem[k_before])},
                  margin, bool(z_after > margin and z_before < -margin)),
        ]
        metrics = {
            "post_rate_hz": len(post_t) / result.duration,
            "pre_spikes": int(len(pre_t)),
            "V_std": float(np.std(V)),
            "pairs_in_test_bins": [int(counts[k_before]), int(counts[k_after])],
            "fraction_positive_bins_post_after_pre": float(np.mean(mean[pos] > 0)),
            "fraction_negative_bins_post_before_pre": float(np.mean(mean[centers < 0] < 0)),
            "lags_ms": (centers * 1e3).tolist(),
            "mean_dvdt_per_s": mean.tolist(),
            "sem_dvdt_per_s": sem.tolist(),
        }
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        centers, mean, sem, *_ = self._analysis(result)
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        ax.fill_between(centers * 1e3, mean - 2 * sem, mean + 2 * sem, color="C0", alpha=0.25, label="± 2 SE")
        ax.plot(centers * 1e3, mean, color="C0", label="mean dV/dt at pre spikes")
        lag = float(result.params["test_lag"]) * 1e3
        for x in (-lag, lag):
            ax.axvline(x, color="C3", ls=":", lw=1)
        ax.set_xlabel("Δt = t_post − t_pre (ms)")
        ax.set_ylabel("dV/dt at the pre spike (1/s, V in units of its SD)")
        ax.set_title("ΔW ∝ S_pre·dV/dt gives the STDP sign pattern (OU potential)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = outdir / "stdp_window_ou.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]


def paired_window(dw, post_trial, post_time, t_pre, bin_width, max_lag, n_blocks):
    """Mean weight change per (pre, post) pair, binned by ``Δt = t_post - t_pre``.

    ``dw[k, j]``: the weight change caused by the presynaptic spike at ``t_pre[k]`` in trial ``j`` (one
    postsynaptic neuron per trial); ``post_trial``, ``post_time``: the postsynaptic spikes. Every pair of
    the same trial with ``|Δt| <= max_lag`` adds ``dw[k, j]`` to the bin whose centre (a multiple of
    ``bin_width``) is nearest to its Δt. Standard errors: the trials are split into ``n_blocks``
    consecutive blocks; SE = SD of the block means / sqrt(n_blocks).

    Returns
    -------
    centers, mean, sem, counts : ndarray (one entry per bin)
    """
    if bin_width <= 0 or max_lag <= 0:
        raise ValueError(f"bin_width and max_lag must be > 0, found {bin_width}, {max_lag}")
    if n_blocks < 2:
        raise ValueError(f"n_blocks must be >= 2, found: {n_blocks}")
    dw = np.asarray(dw, dtype=float)
    post_trial = np.asarray(post_trial, dtype=int)
    post_time = np.asarray(post_time, dtype=float)
    t_pre = np.asarray(t_pre, dtype=float)
    n_trials = dw.shape[1]
    nb = int(round(max_lag / bin_width))
    centers = np.arange(-nb, nb + 1) * bin_width
    sums = np.zeros((n_blocks, len(centers)))
    cnts = np.zeros((n_blocks, len(centers)))
    for start in range(0, len(post_time), 4096):  # bounded memory: (chunk, offsets) at a time
        j = post_trial[start:start + 4096]
        d = post_time[start:start + 4096, None] - t_pre[None, :]
        idx = np.floor(d / bin_width + 0.5).astype(int) + nb
        ok = (np.abs(d) <= max_lag + 1e-12) & (idx >= 0) & (idx < len(centers))
        blk = np.broadcast_to((j * n_blocks // n_trials)[:, None], d.shape)
        np.add.at(sums, (blk[ok], idx[ok]), dw[:, j].T[ok])
        np.add.at(cnts, (blk[ok], idx[ok]), 1)
    return (centers,) + _block_mean_sem(sums, cnts)


def lobe_statistics(centers, mean):
    """``width_plus``, ``width_minus`` (s) and ``area_ratio`` of a window: the |Δt|-centroid of each side
    (``Σ Δt W / Σ W`` over Δt > 0, ``Σ |Δt| (-W) / Σ (-W)`` over Δt < 0) and ``Σ_{Δt>0} W / Σ_{Δt<0} (-W)``.
    A side whose sum has the wrong sign (no potentiation, or no depression) gives NaN widths."""
    c, m = np.asarray(centers, dtype=float), np.nan_to_num(np.asarray(mean, dtype=float))
    pos, neg = c > 0, c < 0
    ap, am = float(m[pos].sum()), float(-m[neg].sum())
    wp = float((c[pos] * m[pos]).sum() / ap) if ap > 0 else float("nan")
    wm = float((-c[neg] * -m[neg]).sum() / am) if am > 0 else float("nan")
    ratio = ap / am if am > 0 else float("nan")
    return {"width_plus": wp, "width_minus": wm, "area_ratio": ratio}


def _within(value, band):
    return bool(np.isfinite(value) and band[0] <= value <= band[1])


class StdpWindowDvdt(Task):
    """The 2015 rule's window from the neuron's dynamics (see :func:`paired_window`)."""

    name = "stdp_window_dvdt"
    description = ("STDP window of ΔW = eta*dV_post/dt at pre spikes, post spikes evoked by a current step in "
                   "a sigmoid-Poisson neuron; against thresholds from an independent NumPy simulation")
    reference = "Bengio, Lee, Bornschein, Mesnard & Lin (2015) arXiv:1502.04156, section 2"
    parameters = {
        "pre": Param("pre", "presynaptic population (spike generator, one neuron per offset)", kind="str"),
        "connection": Param("pre_to_post", "plastic connection onto the trials at tau_m", kind="str"),
        "connection_slow": Param("pre_to_post_slow", "plastic connection onto the trials at 2 tau_m ('': none)",
                                 kind="str"),
        "t_on": Param("100*ms", "onset of the depolarising step (the TimedArray pairing_step(t) is 1 during it)"),
        "step": Param("5*ms", "duration of the step"),
        "offset_before": Param("60*ms", "the first presynaptic spike comes this long before the step's onset"),
        "offset_after": Param("100*ms", "the last one this long after the onset"),
        "offset_step": Param("1*ms", "interval between presynaptic spikes (one neuron each)"),
        "bin": Param("2*ms", "width of the Δt bins (centred on multiples of it)"),
        "max_lag": Param("60*ms", "pairs with |Δt| up to this"),
        "n_blocks": Param(20, "blocks of trials for the standard errors", kind="int", min=2),
        "margin_se": Param("5.0", "window_signs: required |mean| in standard errors"),
        "plus_range": Param("10*ms", "window_signs: bins with Δt in (0, plus_range] must be > 0"),
        "minus_range": Param("30*ms", "window_signs: bins with Δt in [-minus_range, 0) must be < 0"),
        "width_ratio_band": Param([1.39, 1.89], "width_minus at 2 tau_m over width_minus at tau_m", kind="list"),
        "width_plus_ms_band": Param([3.9, 6.9], "width_plus at tau_m (ms)", kind="list"),
        "width_minus_ms_band": Param([9.2, 12.9], "width_minus at tau_m (ms)", kind="list"),
        "area_ratio_band": Param([0.83, 0.98], "area ratio at tau_m", kind="list"),
        "slow_width_plus_ms_band": Param([6.2, 9.1], "width_plus at 2 tau_m (ms)", kind="list"),
        "slow_width_minus_ms_band": Param([17.2, 18.8], "width_minus at 2 tau_m (ms)", kind="list"),
        "slow_area_ratio_band": Param([0.87, 1.0], "area ratio at 2 tau_m", kind="list"),
    }

    def _t_pre(self, p):
        s = float(p["offset_step"])
        n0 = int(round(float(p["offset_before"]) / s))
        n1 = int(round(float(p["offset_after"]) / s))
        return float(p["t_on"]) + np.arange(-n0, n1 + 1) * s

    def _connections(self, p):
        return [c for c in (p["connection"], p["connection_slow"]) if c]

    def prepare(self, ctx):
        from brian2 import TimedArray, second

        from spikelearn.errors import BuildError

        p = ctx.params
        t_pre = self._t_pre(p)
        if t_pre[0] < 0:
            raise BuildError(f"task {self.name}: offset_before ({float(p['offset_before'])} s) is longer than t_on")
        if t_pre[-1] >= float(ctx.duration):
            raise BuildError(f"task {self.name}: the run ({float(ctx.duration)} s) ends before the last "
                             f"presynaptic spike ({t_pre[-1]} s)")
        size = ctx.scenario.populations[p["pre"]].size
        if size != len(t_pre):
            raise BuildError(f"task {self.name}: population '{p['pre']}' has {size} neurons but the protocol has "
                             f"{len(t_pre)} presynaptic spikes (offset_before, offset_after, offset_step)")
        for c in self._connections(p):
            if c not in ctx.scenario.connections:
                raise BuildError(f"task {self.name}: no connection '{c}'")
            if ctx.scenario.connections[c].source != p["pre"]:
                raise BuildError(f"task {self.name}: connection '{c}' does not start at '{p['pre']}'")
        dt = float(ctx.dt)
        n = int(np.ceil(float(ctx.duration) / dt)) + 1
        k = np.arange(n)
        on0, on1 = int(round(float(p["t_on"]) / dt)), int(round((float(p["t_on"]) + float(p["step"])) / dt))
        ctx.namespace["pairing_step"] = TimedArray(((k >= on0) & (k < on1)).astype(float), dt=dt * second,
                                                   name="pairing_step")
        ctx.spike_inputs[p["pre"]] = (np.arange(len(t_pre)), t_pre)
        ctx.save_array("t_pre", t_pre)
        origin = f"task {self.name}"
        for c in self._connections(p):
            target = ctx.scenario.connections[c].target
            if target not in ctx.scenario.record["spikes"]:
                ctx.net.add(Record("spikes", target, target, origin=origin))
            if c not in ctx.scenario.record.get("weights", {}):
                ctx.net.add(Record("weights", c, c, origin=origin))

    def windows(self, result):
        """``{connection: (centers, mean, sem, counts, n_trials, post spikes per trial)}``; ``mean`` is
        the weight change per pair."""
        p = result.params
        t_pre = result.array("t_pre")
        out = {}
        for c in self._connections(p):
            target = result.scenario["connections"][c]["target"]
            wts = result.weights(c)
            n_trials = int(wts["j"].max()) + 1
            dw = np.zeros((len(t_pre), n_trials))
            dw[wts["i"], wts["j"]] = wts["w_final"] - wts["w_initial"]
            pj, pt = result.spikes(target)
            centers, mean, sem, counts = paired_window(dw, pj, pt, t_pre, float(p["bin"]), float(p["max_lag"]),
                                                       int(p["n_blocks"]))
            out[c] = (centers, mean, sem, counts, n_trials, len(pt) / n_trials)
        return out

    def evaluate(self, result):
        p = result.params
        wins = self.windows(result)
        fast = p["connection"]
        centers, mean, sem, counts, n_trials, spt = wins[fast]
        z = mean / sem
        plus = (centers > 0) & (centers <= float(p["plus_range"]) + 1e-12)
        minus = (centers < 0) & (centers >= -float(p["minus_range"]) - 1e-12)
        k = float(p["margin_se"])
        z_plus, z_minus = float(np.nanmin(z[plus])), float(np.nanmax(z[minus]))
        signs_ok = bool(np.all(z[plus] > k) and np.all(z[minus] < -k))
        stats = {c: lobe_statistics(w[0], w[1]) for c, w in wins.items()}
        claims = [
            Claim("window_signs",
                  f"mean ΔW per pair > {k:g} SE above 0 in every bin with Δt in (0, "
                  f"{float(p['plus_range']) * 1e3:g}] ms (pre before post) and > {k:g} SE below 0 in every bin "
                  f"with Δt in [-{float(p['minus_range']) * 1e3:g}, 0) ms (post before pre), at tau_m",
                  {"min_z_pre_before_post": z_plus, "max_z_post_before_pre": z_minus}, k, signs_ok),
        ]
        s = stats[fast]
        checks = {"width_plus_ms": (s["width_plus"] * 1e3, p["width_plus_ms_band"]),
                  "width_minus_ms": (s["width_minus"] * 1e3, p["width_minus_ms_band"]),
                  "area_ratio": (s["area_ratio"], p["area_ratio_band"])}
        slow = p["connection_slow"]
        if slow:
            q = stats[slow]
            ratio = q["width_minus"] / s["width_minus"] if np.isfinite(s["width_minus"]) else float("nan")
            claims.append(Claim(
                "width_follows_tau_m",
                "width of the depression side (|Δt|-centroid) at 2 tau_m over that at tau_m within "
                f"[{p['width_ratio_band'][0]}, {p['width_ratio_band'][1]}] (independent NumPy simulation's seed "
                "band; a width fixed by the rule would give 1)",
                ratio, list(p["width_ratio_band"]), _within(ratio, p["width_ratio_band"])))
            checks.update({"slow_width_plus_ms": (q["width_plus"] * 1e3, p["slow_width_plus_ms_band"]),
                           "slow_width_minus_ms": (q["width_minus"] * 1e3, p["slow_width_minus_ms_band"]),
                           "slow_area_ratio": (q["area_ratio"], p["slow_area_ratio_band"])})
        outside = [name for name, (v, b) in checks.items() if not _within(v, b)]
        claims.append(Claim(
            "matches_oracle",
            "the window's side widths and potentiation/depression area ratio (at tau_m" + (" and 2 tau_m" if slow else "")
            + ") each within the band of an independent NumPy simulation's seeds",
            {name: round(float(v), 4) for name, (v, _) in checks.items()},
            {name: list(b) for name, (_, b) in checks.items()}, not outside))
        metrics = {"outside_band": outside}
        for c, (cs, m, se, n, nt, spt_c) in wins.items():
            metrics[c] = {"n_trials": nt, "post_spikes_per_trial": spt_c, "pairs": int(n.sum()),
                          **{key: float(v) for key, v in stats[c].items()},
                          "lags_ms": (cs * 1e3).round(6).tolist(), "mean_dw": m.tolist(), "sem_dw": se.tolist()}
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        wins = self.windows(result)
        rule = result.scenario["connections"][p["connection"]].get("plasticity", {}).get("rule", "?")
        fig, ax = plt.subplots(figsize=(7.0, 4.4))
        ax.axhline(0, color="0.7", lw=0.8)
        ax.axvline(0, color="0.7", lw=0.8)
        for color, c in zip(("C0", "C1"), self._connections(p)):
            cs, m, se, *_ = wins[c]
            post = result.scenario["connections"][c]["target"]
            tau = result.scenario["populations"][post].get("parameters", {}).get("tau_m", "10*ms")
            scale = np.nanmax(np.abs(m))
            ax.fill_between(cs * 1e3, (m - 2 * se) / scale, (m + 2 * se) / scale, color=color, alpha=0.25)
            ax.plot(cs * 1e3, m / scale, "o-", ms=3, color=color, label=f"{rule}, tau_m = {tau} (± 2 SE)")
        d = np.linspace(-float(p["max_lag"]), float(p["max_lag"]), 601)
        bp = bi_poo_window(d, 1 / BI_POO["A_plus"])
        ax.plot(d[d > 0] * 1e3, bp[d > 0], "--", color="0.5", label="Bi & Poo (1998) fit (shape only)")
        ax.plot(d[d < 0] * 1e3, bp[d < 0], "--", color="0.5")
        ax.set_xlabel("Δt = t_post − t_pre (ms)")
        ax.set_ylabel("mean ΔW per pair (normalised to its largest |value|)")
        ax.set_title("ΔW = η·dV/dt at presynaptic spikes: the window the neuron makes")
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = outdir / "stdp_window_dvdt.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
