"""Morrison, Aertsen & Diesmann (2007): spike-timing dependent plasticity in balanced random networks.

A sparse random network of excitatory and inhibitory LIF neurons, inhibition-dominated and driven by a
Poisson background, fires asynchronously and irregularly (the AI state of Brunel 2000): low rates,
Poisson-like spike trains (CV of the inter-spike intervals and Fano factor of the counts near 1), and
nearly uncorrelated neurons. With power-law STDP on the E->E synapses (potentiation ~ w^mu,
multiplicative depression), the weights keep a unimodal distribution around a stable mean, and the
network stays in the AI state: the rule's weight dependence holds the weights at a fixed point that, for
uncorrelated firing, does not depend on the rates. Without it (the additive rule) the mean weight has no
fixed point and drifts.

The activity statistics are measured over the last ``window`` of the run, on spike counts in ``bin``
bins; the pairwise correlation over the first ``n_pairs_neurons`` excitatory neurons.
"""

import numpy as np

from spikelearn.analysis.spike_statistics import fano_factor, isi_cv, mean_pairwise_correlation, spike_counts
from spikelearn.plugin import Claim, Param, Task, TaskOutcome

__all__ = ["BalancedSTDP"]


class BalancedSTDP(Task):
    name = "balanced_stdp"
    description = ("Balanced random E/I network with STDP on E->E: asynchronous irregular activity and a "
                   "stable unimodal weight distribution (Morrison, Aertsen & Diesmann 2007)")
    reference = "Morrison, Aertsen & Diesmann (2007) Neural Comput. 19:1437-1467; Brunel (2000) J. Comput. Neurosci. 8:183-208"
    parameters = {
        "connection": Param("ee", "the plastic E->E connection", kind="str"),
        "excitatory": Param("E", "the excitatory population", kind="str"),
        "inhibitory": Param("I", "the inhibitory population", kind="str"),
        "window": Param("10*second", "the activity statistics are measured over the last window of the run"),
        "bin": Param("100*ms", "bin of the spike counts (Fano factor, pairwise correlation)"),
        "n_pairs_neurons": Param("500", "excitatory neurons whose pairwise count correlations are averaged"),
        "rate_low": Param("2*Hz", "lower edge of the excitatory-rate band"),
        "rate_high": Param("20*Hz", "upper edge of the excitatory-rate band"),
        "cv_low": Param("0.7", "lower edge of the mean ISI CV band"),
        "cv_high": Param("1.5", "upper edge of the mean ISI CV band"),
        "fano_low": Param("0.5", "lower edge of the mean Fano factor band"),
        "fano_high": Param("2.0", "upper edge of the mean Fano factor band"),
        "max_correlation": Param("0.05", "largest mean pairwise count correlation of an asynchronous state"),
        "max_mean_drift": Param("0.05", "largest |change| of the mean E->E weight over the run, relative"),
        "max_outliers": Param("0.01", "largest fraction of E->E weights farther than 50 % from the median"),
    }

    def statistics(self, result):
        """The activity and weight statistics the claims read (a dict)."""
        p = result.params
        duration = result.duration
        window = min(float(p["window"]), duration)
        t0, bin_s = duration - window, float(p["bin"])
        out = {}
        for key, pop in (("E", p["excitatory"]), ("I", p["inhibitory"])):
            i, t = result.spikes(pop)
            n = result.spike_count_size(pop)
            out[f"rate_{key}_hz"] = float(np.sum(t >= t0)) / window / n
            out[f"rate_{key}_first_second_hz"] = float(np.sum(t < min(1.0, duration))) / min(1.0, duration) / n
        i, t = result.spikes(p["excitatory"])
        n = result.spike_count_size(p["excitatory"])
        out["cv_isi_E"] = isi_cv(i, t, n, t0, duration)
        counts = spike_counts(i, t, n, t0, duration, bin_s)
        out["fano_E"] = fano_factor(counts)
        out["pairwise_correlation_E"] = mean_pairwise_correlation(counts[: int(float(p["n_pairs_neurons"]))])
        w = result.weights(p["connection"])
        w0, w1 = np.asarray(w["w_initial"], float), np.asarray(w["w_final"], float)
        out.update(n_plastic_synapses=int(w1.size), w_mean_initial=float(w0.mean()), w_mean_final=float(w1.mean()),
                   w_sd_initial=float(w0.std()), w_sd_final=float(w1.std()),
                   w_mean_drift=float(w1.mean() / w0.mean() - 1))
        med = np.median(w1)
        out["w_outlier_fraction"] = float(np.mean(np.abs(w1 - med) > 0.5 * abs(med)))
        out["window_s"] = window
        return out

    def evaluate(self, result):
        p = result.params
        s = self.statistics(result)
        f = {k: float(p[k]) for k in ("rate_low", "rate_high", "cv_low", "cv_high", "fano_low", "fano_high",
                                      "max_correlation", "max_mean_drift", "max_outliers")}
        w = f"over the last {s['window_s']:g} s"
        claims = [
            Claim("excitatory_rate_low", f"the excitatory neurons fire at {f['rate_low']:g}-{f['rate_high']:g} Hz {w}",
                  s["rate_E_hz"], [f["rate_low"], f["rate_high"]], f["rate_low"] <= s["rate_E_hz"] <= f["rate_high"]),
            Claim("irregular_spiking", f"the mean CV of the excitatory inter-spike intervals lies in "
                  f"[{f['cv_low']:g}, {f['cv_high']:g}] {w}", s["cv_isi_E"], [f["cv_low"], f["cv_high"]],
                  f["cv_low"] <= s["cv_isi_E"] <= f["cv_high"]),
            Claim("poisson_like_counts", f"the mean Fano factor of the excitatory spike counts "
                  f"({float(p['bin']) * 1e3:g}-ms bins) lies in [{f['fano_low']:g}, {f['fano_high']:g}] {w}",
                  s["fano_E"], [f["fano_low"], f["fano_high"]], f["fano_low"] <= s["fano_E"] <= f["fano_high"]),
            Claim("asynchronous", f"the mean pairwise correlation of excitatory spike counts is <= "
                  f"{f['max_correlation']:g} {w}", s["pairwise_correlation_E"], f["max_correlation"],
                  s["pairwise_correlation_E"] <= f["max_correlation"]),
            Claim("stable_mean_weight", f"the mean E->E weight changes by at most {f['max_mean_drift']:.0%} over "
                  "the run", s["w_mean_drift"], f["max_mean_drift"], abs(s["w_mean_drift"]) <= f["max_mean_drift"]),
            Claim("unimodal_weights", f"at most {f['max_outliers']:.0%} of the final E->E weights lie farther "
                  "than 50 % from their median", s["w_outlier_fraction"], f["max_outliers"],
                  s["w_outlier_fraction"] <= f["max_outliers"]),
        ]
        return TaskOutcome(s, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        s = result.metrics.get("metrics") or self.statistics(result)  # evaluate wrote them just before
        duration = result.duration
        i, t = result.spikes(p["excitatory"])
        w = result.weights(p["connection"])
        fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 3.6))
        t0 = max(duration - 1.0, 0.0)
        sel = (t >= t0) & (i < 200)
        a1.plot(t[sel], i[sel], "|", ms=2, color="C0")
        a1.set_xlabel("time (s)")
        a1.set_ylabel("excitatory neuron")
        a1.set_title(f"AI state: {s['rate_E_hz']:.1f} Hz, CV {s['cv_isi_E']:.2f}, FF {s['fano_E']:.2f}")
        edges = np.arange(0, duration + 0.01, max(duration / 200, 0.01))
        counts, _ = np.histogram(t, bins=edges)
        a2.plot(edges[:-1], counts / np.diff(edges) / result.spike_count_size(p["excitatory"]), color="C0")
        a2.axhspan(float(p["rate_low"]), float(p["rate_high"]), color="C2", alpha=0.15, label="claimed band")
        a2.set_xlabel("time (s)")
        a2.set_ylabel("excitatory rate (Hz)")
        a2.legend()
        w0, w1 = np.asarray(w["w_initial"]), np.asarray(w["w_final"])
        lo, hi = min(w0.min(), w1.min()), max(w0.max(), w1.max())
        a3.hist(w0, bins=80, range=(lo, hi), histtype="step", color="0.5", label="initial")
        a3.hist(w1, bins=80, range=(lo, hi), histtype="step", color="C3", label="final")
        a3.set_xlabel("E->E weight (pA)")
        a3.set_ylabel("synapses")
        a3.set_title(f"Mean weight {s['w_mean_drift']:+.1%} over {duration:g} s")
        a3.legend()
        fig.tight_layout()
        path = outdir / "balanced_stdp.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
