"""Song, Miller & Abbott (2000): competitive Hebbian learning through additive STDP.

Many Poisson inputs drive one conductance-based LIF neuron through additive STDP whose depression
window is slightly larger than its potentiation window. The weights split into two groups, near 0 and
near ``wmax`` (a bimodal distribution), and the output rate is regulated into a band that does not
depend much on the input rate. With depression weaker than potentiation the competition is lost:
weights pile up at ``wmax`` and the output rate runs away.

What drives the competition is causality: an input whose spikes tend to precede the output's spikes is
potentiated. :func:`pre_before_post` measures this per input (the excess of its spikes in the
``window`` before an output spike over chance), and the figure plots the final weights against it.
"""

import numpy as np

from spikelearn.plugin import Claim, Param, Task, TaskOutcome

__all__ = ["SongSTDP", "bimodality", "late_rate", "pre_before_post"]


def bimodality(w, wmax, bins=10):
    """Fraction of synapses per bin of a ``bins``-bin histogram of ``w`` over ``[0, wmax]``."""
    if wmax <= 0:
        raise ValueError(f"wmax must be > 0, found: {wmax}")
    counts, _ = np.histogram(np.clip(w, 0, wmax), bins=bins, range=(0, wmax))
    return counts / max(len(w), 1)


def late_rate(t, n_neurons, t_start, t_stop):
    """Mean firing rate (Hz) of ``n_neurons`` over ``[t_start, t_stop)`` from spike times ``t``."""
    if t_stop <= t_start:
        raise ValueError(f"empty window [{t_start}, {t_stop})")
    return float(np.sum((t >= t_start) & (t < t_stop))) / (t_stop - t_start) / n_neurons


def pre_before_post(i_in, t_in, n_in, t_out, t_start, t_stop, window=0.02):
    """Per input, its spikes in the ``window`` (s) before each output spike, over the count expected by
    chance from its own rate (1 = independent, > 1 = tends to precede the output's spikes).

    Only spikes in ``[t_start, t_stop)`` count; inputs that did not fire there give NaN.
    """
    if t_stop - t_start <= window:
        raise ValueError(f"the interval [{t_start}, {t_stop}) must be longer than the window {window}")
    i_in, t_in, t_out = np.asarray(i_in), np.asarray(t_in, dtype=float), np.asarray(t_out, dtype=float)
    keep = (t_in >= t_start) & (t_in < t_stop)
    order = np.argsort(t_in[keep], kind="stable")
    i_in, t_in = i_in[keep][order], t_in[keep][order]
    t_out = t_out[(t_out >= t_start + window) & (t_out < t_stop)]
    lo = np.searchsorted(t_in, t_out - window, side="left")
    hi = np.searchsorted(t_in, t_out, side="left")  # strictly before the output spike
    before = np.zeros(n_in)
    for a, b in zip(lo, hi):
        before += np.bincount(i_in[a:b], minlength=n_in)
    rates = np.bincount(i_in, minlength=n_in) / (t_stop - t_start)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rates > 0, before / (rates * window * len(t_out)), np.nan)


def _ranks(x):
    """Ranks 1..n of ``x``, ties given their mean rank."""
    order = np.argsort(x, kind="stable")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, tie, counts = np.unique(x, return_inverse=True, return_counts=True)
    return (np.bincount(tie, weights=ranks) / counts)[tie]


def _spearman(x, y):
    """Spearman's rank correlation of the finite pairs (NaN below 3 pairs or for a constant side), in NumPy:
    ``scipy.stats`` alone took ~1 s to import, an eighth of a cached rerun."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() <= 2:
        return float("nan")
    rx, ry = _ranks(x[ok]), _ranks(y[ok])
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx @ rx) * (ry @ ry))
    return float(rx @ ry / denom) if denom > 0 else float("nan")


class SongSTDP(Task):
    name = "song_stdp"
    description = "Competitive STDP: bimodal weights and a regulated output rate (Song, Miller & Abbott 2000)"
    reference = "Song, Miller & Abbott (2000) Nat. Neurosci. 3:919-926"
    parameters = {
        "connection": Param("inputs_to_out", "the plastic connection to evaluate", kind="str"),
        "output": Param("out", "the output population", kind="str"),
        "min_end_bin": Param("0.15", "each end bin of the 10-bin weight histogram holds at least this fraction"),
        "max_middle_bin": Param("0.10", "each of the six middle bins (0.2-0.8 wmax) holds at most this fraction"),
        "rate_low": Param("15*Hz", "lower edge of the output-rate band"),
        "rate_high": Param("30*Hz", "upper edge of the output-rate band"),
        "rate_window": Param("10*second", "the output rate is measured over the last rate_window of the run"),
        "input": Param("inputs", "the input population (for the input-output correlation)", kind="str"),
    }

    def evaluate(self, result):
        p = result.params
        wmax = float(result.rule_params(p["connection"])["wmax"])
        weights = result.weights(p["connection"])
        frac = bimodality(weights["w_final"], wmax)
        frac0 = bimodality(weights["w_initial"], wmax)
        _, t = result.spikes(p["output"])
        n_out = result.spike_count_size(p["output"])
        duration = result.duration
        window = min(float(p["rate_window"]), duration)
        rate = late_rate(t, n_out, duration - window, duration)
        lo, hi = float(p["rate_low"]), float(p["rate_high"])
        ends = (float(frac[0]), float(frac[-1]))
        middle = frac[2:8]
        largest_two = set(np.argsort(frac)[-2:].tolist())
        claims = [
            Claim("bimodal_weights",
                  "the two end bins of the 10-bin weight histogram are the two largest, each holds "
                  f">= {float(p['min_end_bin']):.0%} of the synapses, and each middle bin (0.2-0.8 wmax) "
                  f"<= {float(p['max_middle_bin']):.0%}",
                  {"end_bins": ends, "max_middle_bin": float(middle.max()), "two_largest_bins": sorted(largest_two)},
                  {"min_end_bin": float(p["min_end_bin"]), "max_middle_bin": float(p["max_middle_bin"])},
                  largest_two == {0, 9} and min(ends) >= float(p["min_end_bin"])
                  and float(middle.max()) <= float(p["max_middle_bin"])),
            Claim("output_rate_regulated",
                  f"the output rate over the last {window:g} s lies in [{lo:g}, {hi:g}] Hz",
                  rate, [lo, hi], lo <= rate <= hi),
        ]
        metrics = {
            "weight_histogram_final": frac.tolist(),
            "weight_histogram_initial": frac0.tolist(),
            "fraction_near_zero": float(frac[0]),
            "fraction_near_wmax": float(frac[-1]),
            "mean_weight_over_wmax": float(np.mean(weights["w_final"]) / wmax),
            "output_rate_late_hz": rate,
            "output_rate_overall_hz": late_rate(t, n_out, 0.0, duration),
        }
        excess = self._excess(result, p, duration - window, duration)
        if excess is not None:
            metrics["weight_vs_pre_before_post_spearman"] = _spearman(*self._first_output(weights, excess))
        return TaskOutcome(metrics, claims)

    @staticmethod
    def _first_output(weights, excess):
        """The final weights onto output neuron 0 by input, and ``excess`` (measured against that neuron's
        spikes) of the same inputs: with several outputs each has its own weights."""
        onto = weights["j"] == 0
        return weights["w_final"][onto], excess[weights["i"][onto]]

    @staticmethod
    def _excess(result, p, t_start, t_stop):
        """`pre_before_post` of every input over ``[t_start, t_stop)``, or None where the inputs' spikes
        or enough output spikes were not recorded."""
        if p["input"] not in result.spike_recorders() or t_stop - t_start <= 0.02:
            return None
        i_in, t_in = result.spikes(p["input"])
        i_out, t_out = result.spikes(p["output"])
        t_out = t_out[i_out == 0]  # the first output neuron (see `_first_output`)
        if np.sum((t_out >= t_start) & (t_out < t_stop)) < 2:
            return None
        return pre_before_post(i_in, t_in, result.spike_count_size(p["input"]), t_out, t_start, t_stop)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        wmax = float(result.rule_params(p["connection"])["wmax"])
        weights = result.weights(p["connection"])
        _, t = result.spikes(p["output"])
        n_out = result.spike_count_size(p["output"])
        duration = result.duration
        window = min(float(p["rate_window"]), duration)
        excess = self._excess(result, p, duration - window, duration)
        fig, axes = plt.subplots(1, 3 if excess is not None else 2, figsize=(15 if excess is not None else 10, 3.6))
        ax1, ax2 = axes[:2]
        # the claim's view (the weights' own histograms are a standard figure): the fraction of synapses
        # per tenth of [0, wmax], with the bounds the bimodality claim puts on the end and middle bins
        frac = bimodality(weights["w_final"], wmax)
        ax1.bar(np.arange(10) / 10 + 0.05, frac, width=0.09, color="C3", label="final")
        ax1.hlines([float(p["min_end_bin"])] * 2, [0.0, 0.9], [0.1, 1.0], color="k", lw=1.5,
                   label=f"end bins >= {float(p['min_end_bin']):.0%}")
        ax1.hlines(float(p["max_middle_bin"]), 0.2, 0.8, color="k", lw=1.5, ls="--",
                   label=f"middle bins <= {float(p['max_middle_bin']):.0%}")
        ax1.set_xlabel("w / wmax")
        ax1.set_ylabel("fraction of synapses")
        ax1.set_title("Weights split into two groups (claim)")
        ax1.legend(fontsize=8)
        bin_s = max(duration / 50, 0.1)
        edges = np.arange(0, duration + bin_s, bin_s)
        counts, _ = np.histogram(t, bins=edges)
        ax2.plot(edges[:-1] + bin_s / 2, counts / bin_s / n_out, color="C0")
        ax2.axhspan(float(p["rate_low"]), float(p["rate_high"]), color="C2", alpha=0.15, label="claimed band")
        ax2.set_xlabel("time (s)")
        ax2.set_ylabel("output rate (Hz)")
        ax2.set_title("Output rate")
        ax2.legend()
        if excess is not None:
            ax3 = axes[2]
            w0, excess0 = self._first_output(weights, excess)
            ax3.scatter(excess0, w0 / wmax, s=4, color="C3", alpha=0.5)
            ax3.axvline(1.0, color="0.5", lw=0.8, ls="--")
            ax3.set_xlabel(f"input spikes < 20 ms before an output spike / chance (last {window:g} s)", fontsize=9)
            ax3.set_ylabel("final w / wmax" + (" (onto output 0)" if n_out > 1 else ""))
            ax3.set_title(f"Inputs that precede the output win (Spearman {_spearman(w0, excess0):.2f})")
        fig.tight_layout()
        path = outdir / "song_weights_rate.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
