"""Oscillation-gated sampling with dendritic nonlinearities (Lyo & Savin, ICLR 2024): the tasks.

Three scenarios (see ``scenarios/dendritic_*.toml``), all read from the run directory only:

- :class:`DendriticPrior` (``dendritic_prior``): chains of :class:`~spikelearn.models.dendritic.
  DendriticMixtureSampler` sample a 2-D Gaussian-mixture prior, one sample per oscillation cycle read
  at the troughs. Claims: mode weights, 30x30 histogram KL against the exact bin masses, P(same mode
  next cycle) = sum_k w_k^2 (independence), lag-1 correlation, N(0, I) at the oscillation peaks. Optional
  spiking readout (``readout_units > 0``): each chain drives a grid of Poisson units with Gaussian
  tuning to the somatic state; the state is decoded by maximum likelihood from the spikes around each
  trough, with looser claims.
- :class:`DendriticPosterior` (``dendritic_posterior``): two gates (sensory observation of x1, context
  cue on x2) cycle through the four patterns, one pattern per oscillation cycle (TimedArrays
  ``dendritic_gate_sensory(t)``, ``dendritic_gate_context(t)`` that the scenario's gate parameters
  name). The exact population switches branch parameters (claims: mode weights and posterior mean per
  pattern); the additive population adds a likelihood drift (its bias is measured and reported).
- :class:`DendriticSwissRoll` (``dendritic_swissroll``): a learned epsilon-prediction dendritic tree
  (weights from :func:`spikelearn.tasks.lyo2024.mixtures.train_denoiser`; seed 0 packaged) built as
  ``somas -> layer 1 -> layer 2 -> somas`` with summed-variable Synapses; a single-layer tree of the same
  number of units is the negative control. Claims: sliced Wasserstein distance and median distance to
  the manifold for the deep tree; the single-layer tree fails at least one of them.

References are in :mod:`spikelearn.tasks.lyo2024.mixtures`.
"""

import logging

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.network import Connection, Population, Record
from spikelearn.plugin import Claim, Model, Param, Task, TaskOutcome
from spikelearn.tasks.lyo2024 import learned
from spikelearn.tasks.lyo2024 import mixtures as ref

__all__ = [
    "DendriticPrior",
    "DendriticPosterior",
    "DendriticSwissRoll",
    "split_cycles",
    "gate_sequence",
    "pattern_samples",
    "prior_claims",
    "decode_readout",
    "within_mode_stats",
    "readout_centres",
]

logger = logging.getLogger(__name__)

GATE_NAMES = ("dendritic_gate_sensory", "dendritic_gate_context")
MODE_COLOURS = ("C0", "C1", "C2", "C3")


# ----------------------------------------------------------------------------------------------------
# shared helpers (pure functions of recorded arrays)
# ----------------------------------------------------------------------------------------------------
def split_cycles(t, values, period):
    """Split states recorded every ``period/2`` into troughs and peaks.

    Parameters
    ----------
    t : ndarray, shape (n_t,)
        Recording times (s), multiples of ``period/2``.
    values : sequence of ndarray, each (n_rec, n_t)
        One array per coordinate.
    period : float

    Returns
    -------
    troughs : ndarray, shape (n_troughs, n_rec, d)
        States at ``t = k T``, ``k = 0, 1, ...``.
    peaks : ndarray, shape (n_peaks, n_rec, d)
        States at ``t = (k + 1/2) T``.
    """
    if not period > 0:
        raise ValueError(f"period must be > 0, found: {period}")
    t = np.asarray(t, dtype=float)
    half = np.round(t / (period / 2)).astype(int)
    if np.any(np.abs(t / (period / 2) - half) > 1e-6):
        raise ValueError("recording times are not multiples of period/2; record the sampler with dt = period/2")
    x = np.stack([np.asarray(v, dtype=float) for v in values], axis=-1).transpose(1, 0, 2)
    return x[half % 2 == 0], x[half % 2 == 1]


def gate_sequence(n_cycles):
    """Gate pattern of each cycle: (0,0), (1,0), (0,1), (1,1), repeating; shape (n_cycles, 2)."""
    return np.array([ref.gate_patterns()[c % 4] for c in range(n_cycles)], dtype=float)


def pattern_samples(troughs, discard):
    """Trough samples grouped by the gate pattern of the cycle they end (trough ``k+1`` ends cycle ``k``;
    cycles before ``discard`` left out): dict pattern -> array (n_cycles_of_pattern, n_chains, d)."""
    patterns = gate_sequence(troughs.shape[0] - 1)
    out = {}
    for pattern in ref.gate_patterns():
        sel = [c for c in range(troughs.shape[0] - 1) if c >= discard and tuple(patterns[c].astype(int)) == pattern]
        if not sel:
            raise ValueError(f"no complete cycle of gate pattern {pattern} after discard_cycles = {discard}; "
                             f"the run needs at least {discard + 4} cycles")
        out[pattern] = troughs[np.array(sel) + 1]
    return out


def _prior_of(params):
    return ref.Mixture(np.asarray(params["weights"], dtype=float), np.asarray(params["means"], dtype=float),
                       float(params["sigma"]) ** 2)


def _posterior_of(params, gates):
    return ref.posterior_mixture(_prior_of(params), gates[0], gates[1], float(params["y_sensory"]),
                                 float(params["sigma_sensory"]), float(params["y_context"]),
                                 float(params["sigma_context"]))


def prior_claims(samples, peaks, mixture, p, label=""):
    """Metrics and claims of prior sampling from trough samples and peak states.

    Parameters
    ----------
    samples : ndarray, shape (n_cycles, n_chains, 2)
        Trough samples in cycle order (already without the discarded cycles).
    peaks : ndarray, shape (n_peaks, n_chains, 2)
    mixture : spikelearn.tasks.lyo2024.mixtures.Mixture
        The target prior.
    p : dict
        Thresholds: ``weight_tolerance``, ``kl_max``, ``same_mode_tolerance``, ``lag1_max``,
        ``peak_mean_max``, ``peak_cov_max``, ``bins``.
    label : str
        Prefix of metric and claim names (e.g. ``"T50_"``).

    Returns
    -------
    metrics : dict
    claims : list of Claim
    """
    K = len(mixture.weights)
    modes = ref.assign_modes(samples, mixture)
    w = ref.mode_weights(modes, K)
    werr = float(np.max(np.abs(w - mixture.weights)))
    kl = ref.histogram_kl(samples, mixture, bins=int(p["bins"]))
    same = ref.same_mode_probability(modes)
    same_expected = float(np.sum(mixture.weights**2))
    lag1 = ref.lag1_correlation(samples)
    pk = peaks.reshape(-1, peaks.shape[-1])
    peak_mean = pk.mean(axis=0)
    peak_cov = np.cov(pk.T)
    cov_err = float(np.max(np.abs(peak_cov - np.eye(pk.shape[1]))))
    wt, klm, st, lm = (float(p["weight_tolerance"]), float(p["kl_max"]), float(p["same_mode_tolerance"]),
                       float(p["lag1_max"]))
    pmm, pcm = float(p["peak_mean_max"]), float(p["peak_cov_max"])
    metrics = {
        f"{label}n_samples": int(samples.shape[0] * samples.shape[1]),
        f"{label}mode_weights": w.tolist(),
        f"{label}mode_weights_target": mixture.weights.tolist(),
        f"{label}mode_weight_max_error": werr,
        f"{label}histogram_kl": kl,
        f"{label}p_same_mode": same,
        f"{label}p_same_mode_independent": same_expected,
        f"{label}lag1_correlation": lag1.tolist(),
        f"{label}sample_mean": samples.reshape(-1, 2).mean(axis=0).tolist(),
        f"{label}target_mean": mixture.mean.tolist(),
        f"{label}peak_mean": peak_mean.tolist(),
        f"{label}peak_covariance": peak_cov.tolist(),
    }
    claims = [
        Claim(f"{label}mode_weights", f"trough samples' mode weights within +-{wt:g} of {mixture.weights.tolist()}",
              werr, wt, werr <= wt),
        Claim(f"{label}histogram_kl", f"KL(samples || prior) of {int(p['bins'])}x{int(p['bins'])} histograms "
              f"< {klm:g} nats", kl, klm, kl < klm),
        Claim(f"{label}independent_modes", f"P(same mode next cycle) within {same_expected:.3f} +- {st:g} "
              "(independent samples)", same, [same_expected - st, same_expected + st],
              abs(same - same_expected) <= st),
        Claim(f"{label}lag1_correlation", f"|lag-1 correlation| of x1 and x2 across cycles < {lm:g}",
              float(np.max(np.abs(lag1))), lm, float(np.max(np.abs(lag1))) < lm),
        Claim(f"{label}peak_standard_normal", f"at the oscillation peak the state is N(0, I): |mean| < {pmm:g} "
              f"and |cov - I| < {pcm:g} entrywise",
              {"max_abs_mean": float(np.max(np.abs(peak_mean))), "max_abs_cov_error": cov_err},
              {"mean": pmm, "cov": pcm}, float(np.max(np.abs(peak_mean))) < pmm and cov_err < pcm),
    ]
    return metrics, claims


def within_mode_stats(x, mixture, dim=0, min_count=50):
    """Per-mode sample mean and variance of coordinate ``dim`` next to the mixture component's.

    Samples are assigned to their most responsible component; modes with fewer than ``min_count``
    samples are left out. Returns a dict of arrays: ``mode``, ``count``, ``mean``, ``variance``,
    ``target_mean``, ``target_variance``.
    """
    x = np.asarray(x, dtype=float).reshape(-1, mixture.means.shape[1])
    modes = ref.assign_modes(x, mixture)
    rows = []
    for k in range(len(mixture.weights)):
        xs = x[modes == k, dim]
        if len(xs) >= min_count:
            rows.append((k, len(xs), xs.mean(), xs.var(), mixture.means[k, dim], mixture.variances[k, dim]))
    if not rows:
        raise ValueError(f"no mode holds >= {min_count} samples")
    cols = np.array(rows, dtype=float).T
    return {"mode": cols[0].astype(int), "count": cols[1], "mean": cols[2], "variance": cols[3],
            "target_mean": cols[4], "target_variance": cols[5]}


def readout_centres(n_units):
    """Preferred positions of the spiking readout: a square grid over [-3, 3] x [-1, 3.5]."""
    side = int(round(np.sqrt(n_units)))
    if side * side != n_units or side < 2:
        raise ValueError(f"readout_units must be a square number >= 4, found: {n_units}")
    c1, c2 = np.meshgrid(np.linspace(-3, 3, side), np.linspace(-1, 3.5, side), indexing="ij")
    return np.stack([c1.ravel(), c2.ravel()], axis=1)


def decode_readout(counts, centres, rate_max, width, window, grid_step=0.1,
                   limits=((-3.5, 3.5), (-1.5, 4.0))):
    """Maximum-likelihood decoding of positions from Poisson spike counts of Gaussian-tuned units.

    ``log L(x) = sum_m c_m log lambda_m(x) - window sum_m lambda_m(x)``,
    ``lambda_m(x) = rate_max exp(-|x - c_m|^2 / (2 width^2))``, maximised on a grid.

    Parameters
    ----------
    counts : ndarray, shape (n, M)
    centres : ndarray, shape (M, 2)

    Returns
    -------
    ndarray, shape (n, 2)
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != len(centres):
        raise ValueError(f"counts must have shape (n, {len(centres)}), found: {counts.shape}")
    g1 = np.arange(limits[0][0], limits[0][1] + 1e-9, grid_step)
    g2 = np.arange(limits[1][0], limits[1][1] + 1e-9, grid_step)
    grid = np.stack(np.meshgrid(g1, g2, indexing="ij"), axis=-1).reshape(-1, 2)
    d2 = np.sum((grid[:, None, :] - centres[None]) ** 2, axis=2)  # (G, M)
    log_rate = np.log(rate_max) - d2 / (2 * width**2)
    expected = window * np.exp(log_rate).sum(axis=1)  # (G,)
    out = np.empty((counts.shape[0], 2))
    for start in range(0, counts.shape[0], 2000):
        ll = counts[start:start + 2000] @ log_rate.T - expected[None]
        out[start:start + 2000] = grid[np.argmax(ll, axis=1)]
    return out


def _population_params(result_or_ctx, pop):
    """The parsed parameters of population ``pop``: from a run directory, or while the network is described."""
    if hasattr(result_or_ctx, "population_params"):
        populations = result_or_ctx.resolved["populations"]
        if pop in populations:
            return result_or_ctx.population_params(pop)
    else:
        populations = result_or_ctx.net.populations
        if pop in populations:
            return populations[pop].params
    raise BuildError(f"dendritic task: no population '{pop}'; populations: {', '.join(populations)}")


def _check_model(ctx, pop, models):
    model = ctx.net.populations[pop].model if pop in ctx.net.populations else None
    if model not in models:
        raise BuildError(f"dendritic task: population '{pop}' must use model {' or '.join(models)}, found: {model}")


def _record_sampler(ctx, pop, period, trace_chains, trace_dt, origin="", variables=("x1", "x2")):
    """Records of a sampler population: every chain at each trough and peak (``<pop>_cycles``, every
    ``period/2``) and the first ``trace_chains`` chains every ``trace_dt`` (``<pop>_trace``)."""
    ctx.net.add(Record("state", f"{pop}_cycles", pop, tuple(variables), True, period / 2, origin=origin))
    n = min(int(trace_chains), ctx.net.populations[pop].size)
    if n > 0:
        ctx.net.add(Record("state", f"{pop}_trace", pop, tuple(variables)[:2], list(range(n)), trace_dt,
                           origin=origin))


def _cycle_samples(result, pop, period, discard, variables=("x1", "x2")):
    st = result.state(f"{pop}_cycles")
    troughs, peaks = split_cycles(st["t"], [st[v] for v in variables], period)
    if troughs.shape[0] <= discard + 2:
        raise ValueError(f"population '{pop}': {troughs.shape[0]} troughs recorded; need more than "
                         f"discard_cycles + 2 = {discard + 2}")
    return troughs, peaks


_PRIOR_THRESHOLDS = {
    "weight_tolerance": Param("0.03", "mode weights within this of the prior weights"),
    "kl_max": Param("0.03", "KL(samples || prior) of the 2-D histograms below this (nats)"),
    "bins": Param(30, "histogram bins per dimension", kind="int"),
    "same_mode_tolerance": Param("0.04", "P(same mode next cycle) within this of sum_k w_k^2"),
    "lag1_max": Param("0.05", "|lag-1 correlation| across cycles below this"),
    "peak_mean_max": Param("0.05", "|mean| of the state at the oscillation peaks below this"),
    "peak_cov_max": Param("0.05", "|cov - I| of the state at the peaks below this (entrywise)"),
}


# ----------------------------------------------------------------------------------------------------
# scenario 1: prior sampling (+ spiking readout)
# ----------------------------------------------------------------------------------------------------
class DendriticPrior(Task):
    name = "dendritic_prior"
    description = ("Oscillation-gated sampling of a Gaussian-mixture prior with an exact dendritic score: "
                   "one independent sample per cycle")
    reference = ("Lyo & Savin (2024) Complex priors and flexible inference in recurrent circuits with dendritic "
                 "nonlinearities, ICLR")
    parameters = {
        "sampler": Param("soma", "the dendritic_mixture population", kind="str"),
        "discard_cycles": Param(2, "cycles discarded at the start", kind="int"),
        "trace_chains": Param(5, "chains whose trajectory is recorded finely (figure)", kind="int"),
        "trace_dt": Param("1*ms", "sampling step of the trajectory traces"),
        **_PRIOR_THRESHOLDS,
        "readout_units": Param(0, "spiking readout: Poisson units per chain (square number; 0 = none)",
                               kind="int"),
        "readout_rate": Param("400*Hz", "peak rate of a readout unit"),
        "readout_width": Param("1.0", "tuning width of a readout unit (state units)"),
        "readout_window": Param("10*ms", "spikes counted in a window centred on each trough"),
        "readout_weight_tolerance": Param("0.06", "readout: mode weights within this of the prior weights"),
        "readout_same_mode_tolerance": Param("0.06", "readout: P(same mode) within this of sum_k w_k^2"),
        "readout_agreement_min": Param("0.9", "readout: decoded mode equals the somatic mode at least this often"),
    }

    def prepare(self, ctx):
        p = ctx.params
        pop = p["sampler"]
        _check_model(ctx, pop, ("dendritic_mixture",))
        params = ctx.net.populations[pop].params
        if str(params["schedule"]) != "oscillation":
            logger.warning("dendritic_prior: population '%s' uses schedule '%s' (the negative control); samples "
                           "are still read every period", pop, params["schedule"])
        origin = f"task {self.name}"
        _record_sampler(ctx, pop, params["period"], p["trace_chains"], p["trace_dt"], origin)
        if int(p["readout_units"]) > 0:
            self._add_readout(ctx, pop, int(p["readout_units"]), origin)

    def _add_readout(self, ctx, pop, n_units, origin):
        """``readout_units`` Poisson units per chain of ``pop`` (population ``<pop>_readout``, unit
        ``k*n_units + m`` reads chain k through linked variables), with Gaussian tuning to its state."""
        n_chains = ctx.net.populations[pop].size
        centres = readout_centres(n_units)
        model = Model.from_code(
            "dendritic_readout",
            """rate = readout_rate*exp(-((x1 - c1)**2 + (x2 - c2)**2)/(2*readout_width**2)) : Hz
            x1 : 1 (linked)
            x2 : 1 (linked)
            c1 : 1 (constant)
            c2 : 1 (constant)""",
            threshold="rand() < rate*dt",
            description="Poisson units with Gaussian tuning to the somatic state of one chain",
        )
        chain = np.repeat(np.arange(n_chains), n_units)
        ns = {"readout_rate": ctx.params["readout_rate"], "readout_width": float(ctx.params["readout_width"])}
        ctx.net.add(Population(f"{pop}_readout", "dendritic_readout", n_chains * n_units, ns, definition=model,
                               links={"x1": (pop, "x1", chain), "x2": (pop, "x2", chain)},
                               initial={"c1": np.tile(centres[:, 0], n_chains), "c2": np.tile(centres[:, 1], n_chains)},
                               origin=origin))
        ctx.net.add(Record("spikes", "readout", f"{pop}_readout", origin=origin))
        ctx.save_array("readout_centres", centres)

    def evaluate(self, result):
        p = result.params
        pop = p["sampler"]
        params = _population_params(result, pop)
        period = float(params["period"])
        discard = int(p["discard_cycles"])
        troughs, peaks = _cycle_samples(result, pop, period, discard)
        mixture = _prior_of(params)
        samples = troughs[discard + 1:]
        metrics, claims = prior_claims(samples, peaks[discard:], mixture, p)
        metrics["period_s"] = period
        metrics["n_chains"] = int(troughs.shape[1])
        if int(p["readout_units"]) > 0:
            m2, c2 = self._evaluate_readout(result, p, troughs, period, discard, mixture)
            metrics.update(m2)
            claims += c2
        return TaskOutcome(metrics, claims)

    def _readout_counts(self, result, p, n_chains, n_troughs, period):
        i, t = result.spikes("readout")
        n_units = int(p["readout_units"])
        half = float(p["readout_window"]) / 2
        k = np.round(t / period).astype(int)
        near = (np.abs(t - k * period) <= half) & (k < n_troughs)
        counts = np.zeros((n_troughs, n_chains, n_units))
        np.add.at(counts, (k[near], i[near] // n_units, i[near] % n_units), 1)
        return counts

    def _evaluate_readout(self, result, p, troughs, period, discard, mixture):
        n_tr, n_chains = troughs.shape[:2]
        counts = self._readout_counts(result, p, n_chains, n_tr, period)
        centres = result.array("readout_centres")
        sel = slice(discard + 1, n_tr)
        # the last trough's window extends past the end of the run when it is the final time step
        window = float(p["readout_window"])
        decoded = decode_readout(counts[sel].reshape(-1, centres.shape[0]), centres, float(p["readout_rate"]),
                                 float(p["readout_width"]), window).reshape(-1, n_chains, 2)
        modes_soma = ref.assign_modes(troughs[sel], mixture)
        modes_dec = ref.assign_modes(decoded, mixture)
        w = ref.mode_weights(modes_dec, len(mixture.weights))
        werr = float(np.max(np.abs(w - mixture.weights)))
        same = ref.same_mode_probability(modes_dec)
        same_expected = float(np.sum(mixture.weights**2))
        agree = float(np.mean(modes_dec == modes_soma))
        err = float(np.median(np.linalg.norm(decoded - troughs[sel], axis=-1)))
        wt, st, am = (float(p["readout_weight_tolerance"]), float(p["readout_same_mode_tolerance"]),
                      float(p["readout_agreement_min"]))
        metrics = {
            "readout_mode_weights": w.tolist(),
            "readout_p_same_mode": same,
            "readout_mode_agreement": agree,
            "readout_median_decoding_error": err,
            "readout_mean_spikes_per_window": float(counts[sel].sum(axis=-1).mean()),
        }
        claims = [
            Claim("readout_mode_weights", f"spiking readout: decoded mode weights within +-{wt:g} of the prior",
                  werr, wt, werr <= wt),
            Claim("readout_independent_modes", f"spiking readout: P(same decoded mode next cycle) within "
                  f"{same_expected:.3f} +- {st:g}", same, [same_expected - st, same_expected + st],
                  abs(same - same_expected) <= st),
            Claim("readout_mode_agreement", f"spiking readout: decoded mode = somatic mode in >= {am:.0%} of "
                  "the samples", agree, am, agree >= am),
        ]
        return metrics, claims

    def figures(self, result, outdir):
        p = result.params
        pop = p["sampler"]
        params = _population_params(result, pop)
        period = float(params["period"])
        discard = int(p["discard_cycles"])
        troughs, peaks = _cycle_samples(result, pop, period, discard)
        mixture = _prior_of(params)
        paths = [_cloud_figure(outdir / "dendritic_samples.png", [troughs[discard + 1:]], [mixture],
                               [f"prior samples, T = {period * 1e3:g} ms"])]
        paths.append(_trace_figure(outdir / "dendritic_trace.png", result.state(f"{pop}_trace"), period,
                                   float(params["beta_min"]), float(params["beta_max"])))
        modes = ref.assign_modes(troughs[1:], mixture)
        paths.append(_mode_raster(outdir / "dendritic_mode_raster.png", modes, period, len(mixture.weights)))
        return paths


# ----------------------------------------------------------------------------------------------------
# scenario 2: gated posteriors
# ----------------------------------------------------------------------------------------------------
class DendriticPosterior(Task):
    name = "dendritic_posterior"
    description = ("Input gates switch dendritic branch parameters: exact posterior sampling for each of "
                   "4 gate patterns; the additive-drift variant's bias is measured")
    reference = DendriticPrior.reference
    parameters = {
        "exact": Param("exact", "population with likelihood = 'branch'", kind="str"),
        "additive": Param("additive", "population with likelihood = 'additive' ('' = none)", kind="str"),
        "discard_cycles": Param(2, "cycles discarded at the start", kind="int"),
        "trace_chains": Param(3, "chains whose trajectory is recorded finely", kind="int"),
        "trace_dt": Param("1*ms", "sampling step of the trajectory traces"),
        "weight_tolerance": Param("0.03", "per pattern: mode weights within this of the posterior weights"),
        "mean_tolerance": Param("0.1", "per pattern: |sample mean - posterior mean| (Euclidean) below this"),
    }

    def _pops(self, p):
        return [x for x in (p["exact"], p["additive"]) if x]

    def prepare(self, ctx):
        from brian2 import TimedArray

        p = ctx.params
        pops = self._pops(p)
        periods = {float(ctx.scenario.populations[x].params["period"]) for x in pops if x in ctx.scenario.populations}
        if len(periods) != 1:
            raise BuildError(f"dendritic_posterior: populations {pops} must exist and share one period, found: {periods}")
        period = periods.pop()
        n_cycles = int(np.ceil(float(ctx.duration) / period)) + 1
        patterns = gate_sequence(n_cycles)
        from brian2 import second

        for k, name in enumerate(GATE_NAMES):
            ctx.namespace[name] = TimedArray(patterns[:, k], dt=period * second, name=name)
        ctx.save_array("gate_patterns", patterns)
        for pop in pops:
            _check_model(ctx, pop, ("dendritic_mixture",))
            params = ctx.net.populations[pop].params
            expected = "branch" if pop == p["exact"] else "additive"
            if params["likelihood"] != expected:
                raise BuildError(f"dendritic_posterior: population '{pop}' must have likelihood = '{expected}', "
                                 f"found: {params['likelihood']!r}")
            _record_sampler(ctx, pop, params["period"], p["trace_chains"], p["trace_dt"], f"task {self.name}")

    def _per_pattern(self, result, pop, discard):
        params = _population_params(result, pop)
        period = float(params["period"])
        troughs, _ = _cycle_samples(result, pop, period, discard)
        try:
            return params, pattern_samples(troughs, discard)
        except ValueError as e:  # a run too short for every pattern to get a whole cycle after the discarded ones
            raise ValueError(f"population '{pop}': {e} ({(discard + 4) * period:g} s)") from None

    def evaluate(self, result):
        p = result.params
        discard = int(p["discard_cycles"])
        wt, mt = float(p["weight_tolerance"]), float(p["mean_tolerance"])
        metrics, claims = {}, []
        params, samples = self._per_pattern(result, p["exact"], discard)
        for pattern, x in samples.items():
            tag = f"gs{pattern[0]}_gc{pattern[1]}"
            post = _posterior_of(params, pattern)
            flat = x.reshape(-1, 2)
            w = ref.mode_weights(ref.assign_modes(flat, post), len(post.weights))
            werr = float(np.max(np.abs(w - post.weights)))
            mean = flat.mean(axis=0)
            merr = float(np.linalg.norm(mean - post.mean))
            metrics.update({
                f"{tag}_n_samples": int(flat.shape[0]),
                f"{tag}_mode_weights": w.tolist(), f"{tag}_posterior_weights": post.weights.tolist(),
                f"{tag}_mean": mean.tolist(), f"{tag}_posterior_mean": post.mean.tolist(),
                f"{tag}_variance": flat.var(axis=0).tolist(),
                f"{tag}_posterior_variance": np.diag(post.covariance).tolist(),
                f"{tag}_histogram_kl": ref.histogram_kl(flat, post),
            })
            claims.append(Claim(f"{tag}_mode_weights", f"gates (sensory={pattern[0]}, context={pattern[1]}): mode "
                                f"weights within +-{wt:g} of the analytic posterior {np.round(post.weights, 3).tolist()}",
                                werr, wt, werr <= wt))
            claims.append(Claim(f"{tag}_posterior_mean", f"gates (sensory={pattern[0]}, context={pattern[1]}): "
                                f"|sample mean - posterior mean {np.round(post.mean, 3).tolist()}| < {mt:g}",
                                merr, mt, merr < mt))
        if p["additive"]:
            aparams, asamples = self._per_pattern(result, p["additive"], discard)
            y = float(aparams["y_sensory"])
            for pattern, x in asamples.items():
                tag = f"additive_gs{pattern[0]}_gc{pattern[1]}"
                post = _posterior_of(aparams, pattern)
                flat = x.reshape(-1, 2)
                w = ref.mode_weights(ref.assign_modes(flat, post), len(post.weights))
                mean, var = flat.mean(axis=0), flat.var(axis=0)
                metrics.update({
                    f"{tag}_mode_weights": w.tolist(), f"{tag}_mean": mean.tolist(), f"{tag}_variance": var.tolist(),
                    f"{tag}_mean_bias": (mean - post.mean).tolist(),
                    f"{tag}_mode_weight_max_error": float(np.max(np.abs(w - post.weights))),
                    f"{tag}_variance_ratio": (var / np.diag(post.covariance)).tolist(),
                })
                if pattern[0] == 1:
                    stats = within_mode_stats(flat, post, dim=0)
                    exact_within = within_mode_stats(samples[pattern].reshape(-1, 2), post, dim=0)
                    ratio = float(np.sum(stats["count"] * stats["variance"] / stats["target_variance"])
                                  / np.sum(stats["count"]))
                    toward = np.abs(stats["mean"] - y) < np.abs(stats["target_mean"] - y)
                    metrics.update({
                        f"{tag}_within_mode_x1_mean": stats["mean"].tolist(),
                        f"{tag}_within_mode_x1_variance": stats["variance"].tolist(),
                        f"{tag}_within_mode_posterior_x1_mean": stats["target_mean"].tolist(),
                        f"{tag}_within_mode_posterior_x1_variance": stats["target_variance"].tolist(),
                        f"{tag}_within_mode_x1_variance_ratio": ratio,
                        f"exact_gs{pattern[0]}_gc{pattern[1]}_within_mode_x1_variance_ratio": float(
                            np.sum(exact_within["count"] * exact_within["variance"] / exact_within["target_variance"])
                            / np.sum(exact_within["count"])),
                    })
                    claims.append(Claim(f"{tag}_variance_falls", "additive likelihood drift: within each mode, var(x1) "
                                        "falls below the exact posterior component's (count-weighted variance ratio < 1)",
                                        ratio, 1.0, ratio < 1.0))
                    claims.append(Claim(f"{tag}_mean_toward_y", "additive likelihood drift: within every mode "
                                        f"(>= 50 samples) mean(x1) lies closer to y = {y:g} than the exact posterior "
                                        "component mean (biased toward y)",
                                        np.abs(stats["mean"] - y).tolist(), np.abs(stats["target_mean"] - y).tolist(),
                                        bool(np.all(toward))))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        p = result.params
        discard = int(p["discard_cycles"])
        params, samples = self._per_pattern(result, p["exact"], discard)
        pats = ref.gate_patterns()
        clouds = [samples[q] for q in pats]
        mixtures = [_posterior_of(params, q) for q in pats]
        titles = [f"sensory={q[0]}, context={q[1]}" for q in pats]
        extra = None
        if p["additive"]:
            _, asamples = self._per_pattern(result, p["additive"], discard)
            extra = [asamples[q] for q in pats]
        paths = [_cloud_figure(outdir / "dendritic_posterior_samples.png", clouds, mixtures, titles, extra=extra)]
        pop = p["exact"]
        period = float(params["period"])
        troughs, _ = _cycle_samples(result, pop, period, discard)
        modes = ref.assign_modes(troughs[1:], _prior_of(params))
        paths.append(_mode_raster(outdir / "dendritic_posterior_mode_raster.png", modes, period,
                                  len(params["weights"]), patterns=result.array("gate_patterns")))
        paths.append(_trace_figure(outdir / "dendritic_posterior_trace.png", result.state(f"{pop}_trace"), period,
                                   float(params["beta_min"]), float(params["beta_max"])))
        return paths


# ----------------------------------------------------------------------------------------------------
# scenario 3: learned dendritic denoiser on the swiss roll
# ----------------------------------------------------------------------------------------------------
class DendriticSwissRoll(Task):
    name = "dendritic_swissroll"
    description = ("A learned epsilon-prediction dendritic tree (somas -> 2 softplus layers -> somas) samples "
                   "a swiss roll; a single-layer tree of the same size does not")
    reference = DendriticPrior.reference
    parameters = {
        "deep": Param("deep", "dendritic_tree_soma population driven by the two-layer tree", kind="str"),
        "shallow": Param("shallow", "population driven by the single-layer tree ('' = none)", kind="str"),
        "weights_seed": Param(0, "seed of the trained trees (spikelearn train-denoiser --prior swissroll)", kind="int"),
        "discard_cycles": Param(1, "cycles discarded at the start", kind="int"),
        "trace_chains": Param(3, "chains whose trajectory is recorded finely", kind="int"),
        "trace_dt": Param("1*ms", "sampling step of the trajectory traces"),
        "sw_max": Param("0.08", "sliced Wasserstein distance to the data below this"),
        "manifold_max": Param("0.08", "median distance to the swiss-roll curve below this"),
        "reference_seed": Param(12345, "seed of the swiss-roll sample the samples are compared with", kind="int"),
    }

    def _trees(self, p):
        out = [(p["deep"], 2)]
        if p["shallow"]:
            out.append((p["shallow"], 1))
        return out

    def prepare(self, ctx):
        p = ctx.params
        for pop, layers in self._trees(p):
            _check_model(ctx, pop, ("dendritic_tree_soma",))
            weights = learned.load_tree("swissroll", "deep" if layers == 2 else "shallow", int(p["weights_seed"]))
            if int(weights["n_layers"]) != layers:
                raise BuildError(f"dendritic_swissroll: weights for '{pop}' have {int(weights['n_layers'])} layers, "
                                 f"expected {layers}")
            params = ctx.net.populations[pop].params
            build_tree(ctx, pop, weights, params["period"])
            _record_sampler(ctx, pop, params["period"], p["trace_chains"], p["trace_dt"], f"task {self.name}")

    def evaluate(self, result):
        p = result.params
        discard = int(p["discard_cycles"])
        data = ref.swiss_roll(20000, np.random.default_rng(int(p["reference_seed"])))
        swm, mm = float(p["sw_max"]), float(p["manifold_max"])
        metrics, claims = {}, []
        data_sw = ref.sliced_wasserstein(data[:10000], data[10000:])
        metrics["data_vs_data_sliced_wasserstein"] = data_sw
        metrics["data_median_manifold_distance"] = float(np.median(ref.manifold_distance(data)))
        for pop, layers in self._trees(p):
            params = _population_params(result, pop)
            troughs, _ = _cycle_samples(result, pop, float(params["period"]), discard)
            x = troughs[discard + 1:].reshape(-1, 2)
            finite = np.all(np.isfinite(x), axis=1)
            x = x[finite]
            sw = ref.sliced_wasserstein(x, data) if len(x) > 1 else float("inf")
            md = float(np.median(ref.manifold_distance(x))) if len(x) else float("inf")
            metrics.update({f"{pop}_layers": layers, f"{pop}_n_samples": int(len(x)),
                            f"{pop}_non_finite": int((~finite).sum()),
                            f"{pop}_sliced_wasserstein": sw, f"{pop}_median_manifold_distance": md})
            if layers == 2:
                claims.append(Claim(f"{pop}_sliced_wasserstein", f"two-layer tree: sliced Wasserstein distance to "
                                    f"the data < {swm:g}", sw, swm, sw < swm))
                claims.append(Claim(f"{pop}_manifold_distance", f"two-layer tree: median distance to the swiss-roll "
                                    f"curve < {mm:g}", md, mm, md < mm))
            else:
                fails = sw >= swm or md >= mm
                claims.append(Claim(f"{pop}_single_layer_fails", "single-layer tree of the same size fails: sliced "
                                    f"Wasserstein >= {swm:g} or median manifold distance >= {mm:g}",
                                    {"sliced_wasserstein": sw, "median_manifold_distance": md},
                                    {"sw": swm, "manifold": mm}, fails))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        discard = int(p["discard_cycles"])
        data = ref.swiss_roll(5000, np.random.default_rng(int(p["reference_seed"])))
        trees = self._trees(p)
        fig, axes = plt.subplots(1, len(trees) + 1, figsize=(4.2 * (len(trees) + 1), 4.2))
        axes[0].scatter(data[:, 0], data[:, 1], s=1, color="0.3")
        axes[0].set_title("data (swiss roll)")
        paths = []
        for ax, (pop, layers) in zip(axes[1:], trees):
            params = _population_params(result, pop)
            troughs, _ = _cycle_samples(result, pop, float(params["period"]), discard)
            x = troughs[discard + 1:].reshape(-1, 2)
            curve = ref.swiss_roll_curve(2000)
            ax.plot(curve[:, 0], curve[:, 1], color="0.7", lw=1)
            ax.scatter(x[:, 0], x[:, 1], s=1, color="C3" if layers == 1 else "C0")
            ax.set_title(f"{pop}: {layers}-layer dendritic tree")
        for ax in axes:
            ax.set_xlim(-3.2, 3.2)
            ax.set_ylim(-3.2, 3.2)
            ax.set_aspect("equal")
        fig.tight_layout()
        path = outdir / "dendritic_swissroll_samples.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
        pop = p["deep"]
        params = _population_params(result, pop)
        paths.append(_trace_figure(outdir / "dendritic_swissroll_trace.png", result.state(f"{pop}_trace"),
                                   float(params["period"]), float(params["beta_min"]), float(params["beta_max"])))
        return paths


def build_tree(ctx, soma, weights, period, inputs=(), phase_u=None):
    """Describe the dendritic tree of population ``soma`` (its name) from denoiser ``weights``: adds the
    layers and their connections to ``ctx.net`` (a `NetworkDescription`) and the output biases to the
    soma's initial values; returns the added populations and connections. Creates no Brian2 object.

    ``soma -> layer 1`` (``z_in = wa1 x1 + ... + wad xd``), ``layer l -> layer l+1`` (``z_in = w h``, all
    units of one chain), ``last layer -> soma`` (``eps_in<i> = w<i> h``), all summed variables; the
    layers' ``order`` makes the summed updates run in sequence within one time step. ``inputs`` are the
    Brian2 expressions of a conditional tree's further inputs (one per row of ``W1`` after ``x`` and the
    phase); ``phase_u`` the expression of the noise level the first layer reads (default: the oscillation).
    """
    from spikelearn.models.dendritic import phase_expr

    net = ctx.net
    origin = f"dendritic tree of {soma}"
    n = net.populations[soma].size
    n_layers = int(weights["n_layers"])
    d = int(weights.get("d", 2))
    inputs = list(inputs)
    if weights["W1"].shape[0] != d + 2 + len(inputs):
        raise BuildError(f"dendritic tree of '{soma}': its first layer has {weights['W1'].shape[0]} inputs, "
                         f"found {d} coordinates + 2 phase inputs + {len(inputs)} further inputs")
    layer_model = ctx.registry.get("models", "dendritic_layer")
    layers = []
    for layer in range(1, n_layers + 1):
        W, b = weights[f"W{layer}"], weights[f"b{layer}"]
        H = W.shape[1]
        first = layer == 1
        # one small model per layer: only the first reads the oscillation phase and the further inputs
        eq_params = {"phase_input": first, "phase_u": phase_u or phase_expr(), "inputs": inputs if first else []}
        model = Model.from_code(f"dendritic_layer{layer}", layer_model.equations_for(eq_params),
                                description=layer_model.description, reference=layer_model.reference)
        initial = {"bias": np.tile(b, n)}
        if first:
            initial.update(w_cos=np.tile(W[d], n), w_sin=np.tile(W[d + 1], n))
            initial.update({f"w_in{k}": np.tile(W[d + 2 + k], n) for k in range(len(inputs))})
        initial["chain"] = np.repeat(np.arange(n), H)
        layers.append(Population(f"{soma}_layer{layer}", "dendritic_layer", n * H, {"period": period},
                                 definition=model, initial=initial, order=-2 * (n_layers - layer + 2),
                                 origin=origin))
    conns = []
    # soma -> layer 1
    W1 = weights["W1"]
    H1 = W1.shape[1]
    dims = range(1, d + 1)
    model = "\n".join([f"wa{i} : 1 (constant)" for i in dims]
                      + ["z_in_post = " + " + ".join(f"wa{i}*x{i}_pre" for i in dims) + " : 1 (summed)"])
    conns.append(Connection(f"{soma}_to_layer1", soma, layers[0].name, weight=None, model=model,
                            i=np.repeat(np.arange(n), H1), j=np.arange(n * H1),
                            initial={f"wa{i}": np.tile(W1[i - 1], n) for i in dims}, origin=origin))
    for layer in range(2, n_layers + 1):
        W = weights[f"W{layer}"]
        Ha, Hb = W.shape
        pre = (np.arange(n)[:, None, None] * Ha + np.arange(Ha)[None, :, None] + 0 * np.arange(Hb)[None, None, :]).ravel()
        post = (np.arange(n)[:, None, None] * Hb + 0 * np.arange(Ha)[None, :, None] + np.arange(Hb)[None, None, :]).ravel()
        conns.append(Connection(f"{soma}_layer{layer - 1}_to_layer{layer}", layers[layer - 2].name,
                                layers[layer - 1].name, weight=np.tile(W.ravel(), n),
                                model="w : 1 (constant)\nz_in_post = w*h_pre : 1 (summed)", i=pre, j=post,
                                namespace={"period": period}, origin=origin))
    Wout = weights["Wout"]
    HL = Wout.shape[0]
    model = "\n".join([f"w{i} : 1 (constant)" for i in dims] + [f"eps_in{i}_post = w{i}*h_pre : 1 (summed)" for i in dims])
    conns.append(Connection(f"{soma}_tree_to_soma", layers[-1].name, soma, weight=None, model=model,
                            i=np.arange(n * HL), j=np.repeat(np.arange(n), HL),
                            initial={f"w{i}": np.tile(Wout[:, i - 1], n) for i in dims},
                            namespace={"period": period}, origin=origin))
    for item in layers + conns:
        net.add(item)
    net.populations[soma].initial.update({f"eps_bias{i}": float(weights["bout"][i - 1]) for i in dims})
    return layers + conns


# ----------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------
def _density_image(ax, mixture, limits=((-3.5, 3.5), (-1.5, 4.0))):
    g1 = np.linspace(*limits[0], 200)
    g2 = np.linspace(*limits[1], 160)
    X = np.stack(np.meshgrid(g1, g2, indexing="xy"), axis=-1).reshape(-1, 2)
    dens = np.exp(mixture.logpdf(X)).reshape(len(g2), len(g1))
    ax.contourf(g1, g2, dens, levels=12, cmap="Greys", alpha=0.6)
    ax.contour(g1, g2, dens, levels=np.max(dens) * np.array([0.02, 0.1, 0.3, 0.6]), colors="k", linewidths=0.7,
               zorder=3)


def _cloud_figure(path, clouds, mixtures, titles, extra=None):
    import matplotlib.pyplot as plt

    n = len(clouds)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.8), squeeze=False)
    for k, (ax, x, mix, title) in enumerate(zip(axes[0], clouds, mixtures, titles)):
        _density_image(ax, mix)
        pts = x.reshape(-1, 2)[:3000]
        ax.scatter(pts[:, 0], pts[:, 1], s=1.0, color="C0", alpha=0.35,
                   label="exact branches" if extra is not None else "samples")
        if extra is not None:
            e = extra[k].reshape(-1, 2)[:3000]
            ax.scatter(e[:, 0], e[:, 1], s=1.5, color="C3", alpha=0.35, label="additive drift")
            ax.legend(loc="upper right", fontsize=7, markerscale=4)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        ax.set_xlim(-3.5, 3.5)
        ax.set_ylim(-1.5, 4.0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _trace_figure(path, trace, period, beta_min, beta_max):
    import matplotlib.pyplot as plt

    t = trace["t"]
    u, _, _ = ref.oscillation(t, period)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    show = t <= 6 * period + 1e-9
    troughs = np.isclose(t / period, np.round(t / period), atol=1e-6) & show
    for k in range(min(2, trace["x1"].shape[0])):
        ax.plot(t[show], trace["x1"][k, show], lw=0.9, color=f"C{k}", label=f"chain {k}: x1")
        ax.plot(t[show], trace["x2"][k, show], lw=0.9, ls="--", color=f"C{k}", alpha=0.6, label=f"chain {k}: x2")
        ax.plot(t[troughs], trace["x1"][k, troughs], "o", color=f"C{k}", ms=4)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("somatic state")
    ax2 = ax.twinx()
    ax2.fill_between(t[show], 0, u[show], color="C7", alpha=0.15, step="mid")
    ax2.set_ylabel("oscillation u(t)")
    ax2.set_ylim(0, 1.05)
    ax.set_title("Trajectories: noise grows on the rising half, dendrites denoise on the falling half; "
                 "samples at the troughs", fontsize=9)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _mode_raster(path, modes, period, n_modes, patterns=None, n_chains=60):
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    m = modes[:, :n_chains].T
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.imshow(m, aspect="auto", interpolation="nearest", cmap=ListedColormap(MODE_COLOURS[:n_modes]),
              extent=(0.5, m.shape[1] + 0.5, m.shape[0] - 0.5, -0.5), vmin=-0.5, vmax=n_modes - 0.5)
    ax.set_xlabel(f"cycle (sample at each trough, T = {period * 1e3:g} ms)")
    ax.set_ylabel("chain")
    title = "Mode of each sample (colour = mixture component): modes switch freely between cycles"
    if patterns is not None:
        labels = [f"{int(patterns[c][0])}{int(patterns[c][1])}" for c in range(m.shape[1])]
        ax.set_xticks(np.arange(1, m.shape[1] + 1))
        ax.set_xticklabels(labels, fontsize=5, rotation=90)
        ax.set_xlabel("cycle, labelled by its gate pattern (sensory, context)")
        title = "Mode of each sample; the gate pattern changes every cycle"
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=MODE_COLOURS[k], label=f"mode {k}") for k in range(n_modes)],
              loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
