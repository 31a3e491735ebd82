"""Learned dendritic priors sampled with the oscillation (Lyo & Savin, ICLR 2024): the paper's result.

- :class:`DendriticSwissRollPosterior` (``dendritic_swissroll_posterior``): the gated swiss-roll tree
  (:mod:`spikelearn.tasks.lyo2024.learned`) with its two input streams switched by gates that cycle
  through the four patterns, one pattern per oscillation cycle. Claims for every pattern: sliced
  Wasserstein distance and mean error against the importance-weighted reference posterior; the same at
  twice the oscillation frequency (twice the independent samples per second). Controls: the gate ignored
  (the prior's samples scored against each posterior) and the inputs applied with the wrong sign.
- :class:`DendriticDigits` (``dendritic_digits``): a three-layer tree that learned scikit-learn's digits
  in a whitened 12-dimensional PCA space, sampled in Brian2. Claims against held-out digits: Fréchet
  distance, a classifier's confidence, class coverage, independent classes across cycles. Controls in the
  same run: constant-noise Langevin on the same tree, a single-layer tree of the same size.

Thresholds (the parameters' defaults) come from the NumPy oracle of the same trees and schedule
(:func:`~spikelearn.tasks.lyo2024.learned.sample_tree`), mean +- 3 SD over 5 seeds, fixed before the
Brian2 runs (``bench/lyo2024_oracle.py``, ``bench/results/lyo2024-oracle.json``).
"""

import numpy as np

from spikelearn.errors import BuildError
from spikelearn.plugin import Claim, Param, Task, TaskOutcome
from spikelearn.tasks.lyo2024 import learned
from spikelearn.tasks.lyo2024 import mixtures as ref
from spikelearn.tasks.lyo2024.task import (DendriticPrior, _check_model, _cycle_samples, _population_params,
                                           _record_sampler, build_tree, gate_sequence,
                                           pattern_samples)

__all__ = ["DendriticSwissRollPosterior", "DendriticDigits", "lag1_residual_correlation"]


def lag1_residual_correlation(troughs, discard):
    """Lag-1 correlation across cycles of each chain's samples after removing each gate pattern's mean
    (consecutive cycles have different patterns), averaged over the coordinates."""
    x = troughs[discard + 1:].astype(float).copy()
    patterns = gate_sequence(troughs.shape[0] - 1)[discard:]
    for pattern in ref.gate_patterns():
        rows = np.all(patterns == pattern, axis=1)
        if rows.any():
            x[rows] -= x[rows].reshape(-1, x.shape[-1]).mean(axis=0)
    num = np.mean(x[1:] * x[:-1], axis=(0, 1))
    return float(np.mean(num / np.mean(x**2, axis=(0, 1))))


def _score(x, reference):
    """Sliced Wasserstein distance and mean error (Euclidean) of samples ``x`` (..., 2) against reference points."""
    flat = np.asarray(x, dtype=float).reshape(-1, 2)
    return (ref.sliced_wasserstein(flat, reference),
            float(np.linalg.norm(flat.mean(axis=0) - reference.mean(axis=0))))


def _gate_names(pop):
    return f"lyo_gate_sensory_{pop}", f"lyo_gate_context_{pop}"


# ----------------------------------------------------------------------------------------------------
# the posterior of the learned swiss roll under gated inputs
# ----------------------------------------------------------------------------------------------------
class DendriticSwissRollPosterior(Task):
    name = "dendritic_swissroll_posterior"
    description = ("A learned dendritic tree with gated sensory and context inputs samples the swiss roll's "
                   "posterior for each gate pattern, one pattern per oscillation cycle")
    reference = DendriticPrior.reference
    parameters = {
        "main": Param("main", "dendritic_tree_soma population of the gated tree (T = 100 ms)", kind="str"),
        "fast": Param("fast", "the same tree at a shorter period ('' = none)", kind="str"),
        "wrong_sign": Param("wrong_sign", "control: the inputs with the wrong sign, y -> -y, c -> -c ('' = none)",
                            kind="str"),
        "additive": Param("additive", "the authors' estimator, measured without claims: the unconditional swiss-roll "
                          "tree with the gated likelihood gradients added to its score at the noisy state ('' = none)",
                          kind="str"),
        "y": Param("0.5", "the sensory observation of x1"),
        "c": Param(1, "the context cue: +1 upper half-plane (x2 > 0), -1 lower", kind="int", min=-1, max=1),
        "weights_seed": Param(0, "seed of the trained tree (spikelearn train-denoiser --prior swissroll-gated)",
                              kind="int"),
        "discard_cycles": Param(1, "cycles discarded at the start", kind="int"),
        "trace_chains": Param(3, "chains whose trajectory is recorded finely", kind="int"),
        "trace_dt": Param("1*ms", "sampling step of the trajectory traces"),
        "reference_seed": Param(12345, "seed of the importance-weighted reference posterior", kind="int"),
        "sw_max": Param("0.2", "per pattern: sliced Wasserstein distance to the reference posterior below this"),
        "mean_tolerance": Param("0.12", "per pattern: |sample mean - reference mean| below this"),
        "lag1_max": Param("0.05", "|lag-1 residual correlation| across cycles below this"),
        "rate_ratio_min": Param("1.8", "fast / main independent samples per second at least this"),
    }

    ROLES = ("main", "fast", "wrong_sign", "additive")

    def _pops(self, p):
        return [(role, p[role]) for role in self.ROLES if p[role]]

    def prepare(self, ctx):
        from brian2 import TimedArray, second

        p = ctx.params
        if int(p["c"]) not in (-1, 1):
            raise BuildError(f"dendritic_swissroll_posterior: c must be -1 or 1, found: {p['c']}")
        gated = learned.load_tree("swissroll-gated", "deep", int(p["weights_seed"]))
        y, c = float(p["y"]), float(p["c"])
        for role, pop in self._pops(p):
            _check_model(ctx, pop, ("dendritic_tree_soma",))
            params = ctx.net.populations[pop].params
            period = float(params["period"])
            n_cycles = int(np.ceil(float(ctx.duration) / period)) + 1
            gates = gate_sequence(n_cycles)
            gs, gc = _gate_names(pop)
            ctx.namespace[gs] = TimedArray(gates[:, 0], dt=period * second, name=gs)
            ctx.namespace[gc] = TimedArray(gates[:, 1], dt=period * second, name=gc)
            if role == "additive":
                # d/dx1 log N(y; x1, sigma^2) and d/dx2 log sigmoid(c x2 / tau), at the noisy state
                k = c / learned.CONTEXT_TAU
                params["likelihood_score"] = [f"{gs}(t)*({y!r} - x1)/{learned.SENSORY_SIGMA**2!r}",
                                              f"{gc}(t)*{k!r}*(1 - 1/(1 + exp(-{k!r}*x2)))"]
                build_tree(ctx, pop, learned.load_tree("swissroll", "deep", 0), params["period"])
            else:
                sign = -1.0 if role == "wrong_sign" else 1.0
                inputs = [f"{gs}(t)*{sign * y!r}", f"{gs}(t)", f"{gc}(t)*{sign * c!r}", f"{gc}(t)"]
                build_tree(ctx, pop, gated, params["period"], inputs=inputs)
            _record_sampler(ctx, pop, params["period"], p["trace_chains"] if role == "main" else 0, p["trace_dt"],
                            f"task {self.name}")

    def _samples(self, result, pop, discard):
        params = _population_params(result, pop)
        period = float(params["period"])
        troughs, _ = _cycle_samples(result, pop, period, discard)
        return period, troughs, pattern_samples(troughs, discard)

    def references(self, p, size, offset=0):
        """``size`` points of the reference posterior of each pattern (``offset`` shifts the seeds: an
        independent draw)."""
        y, c = float(p["y"]), float(p["c"])
        return {q: learned.reference_posterior(size, int(p["reference_seed"]) + offset + k, q[0], y, q[1], c)[0]
                for k, q in enumerate(ref.gate_patterns())}

    def evaluate(self, result):
        p = result.params
        discard = int(p["discard_cycles"])
        swm, mt = float(p["sw_max"]), float(p["mean_tolerance"])
        metrics, claims = {}, []
        pops = dict(self._pops(p))
        refs = self.references(p, 20000)
        rates = {}
        for role in ("main", "fast"):
            if role not in pops:
                continue
            period, troughs, samples = self._samples(result, pops[role], discard)
            if role == "main":
                main = samples
            for q, x in samples.items():
                tag = f"{role}_gs{q[0]}_gc{q[1]}"
                flat = x.reshape(-1, 2)
                sw, merr = _score(flat, refs[q])
                # Monte-Carlo floor: an independent draw of as many exact posterior samples, scored the same way
                floor = ref.sliced_wasserstein(self.references(p, len(flat), offset=100)[q], refs[q])
                metrics.update({f"{tag}_n_samples": int(len(flat)), f"{tag}_sliced_wasserstein": sw,
                                f"{tag}_monte_carlo_sliced_wasserstein": floor,
                                f"{tag}_mean": flat.mean(axis=0).tolist(),
                                f"{tag}_reference_mean": refs[q].mean(axis=0).tolist(), f"{tag}_mean_error": merr})
                what = f"T = {period * 1e3:g} ms, gates (sensory={q[0]}, context={q[1]})"
                claims.append(Claim(f"{tag}_sliced_wasserstein", f"{what}: sliced Wasserstein distance to the "
                                    f"importance-weighted posterior < {swm:g}", sw, swm, sw < swm))
                claims.append(Claim(f"{tag}_mean", f"{what}: |sample mean - posterior mean| < {mt:g}", merr, mt,
                                    merr < mt))
            r1 = lag1_residual_correlation(troughs, discard)
            rates[role] = (1 - r1) / (1 + r1) / period
            metrics.update({f"{role}_period_s": period, f"{role}_lag1_residual_correlation": r1,
                            f"{role}_independent_samples_per_second": rates[role]})
            lm = float(p["lag1_max"])
            claims.append(Claim(f"{role}_independent_cycles", f"T = {period * 1e3:g} ms: |lag-1 correlation across "
                                f"cycles| (pattern means removed) < {lm:g}", abs(r1), lm, abs(r1) < lm))
        if "fast" in rates:
            ratio = rates["fast"] / rates["main"]
            rmin = float(p["rate_ratio_min"])
            metrics["independent_sample_rate_ratio"] = ratio
            claims.append(Claim("sample_rate_doubles", f"independent samples per second at the shorter period / at "
                                f"the longer >= {rmin:g} (period ratio "
                                f"{metrics['main_period_s'] / metrics['fast_period_s']:g})", ratio, rmin, ratio >= rmin))
        # the controls: the gates ignored (the prior's samples, pattern (0,0), scored against each posterior)
        # and the inputs applied with the wrong sign; the additive population (the authors' estimator) is measured
        controls = {"gate_ignored": ("gates ignored (prior samples)", {q: main[(0, 0)] for q in main})}
        for role, label in (("wrong_sign", "inputs with the wrong sign"), ("additive", None)):
            if role in pops:
                controls[role] = (label, self._samples(result, pops[role], discard)[2])
        for role, (label, samples) in controls.items():
            for q in (ref.gate_patterns() if label is None else ref.gate_patterns()[1:]):
                sw, merr = _score(samples[q], refs[q])
                metrics.update({f"{role}_gs{q[0]}_gc{q[1]}_sliced_wasserstein": sw,
                                f"{role}_gs{q[0]}_gc{q[1]}_mean_error": merr})
                if label is not None:
                    claims.append(Claim(f"{role}_gs{q[0]}_gc{q[1]}_fails", f"control, {label} vs the posterior of "
                                        f"(sensory={q[0]}, context={q[1]}): fails SW < {swm:g} or mean < {mt:g}",
                                        {"sliced_wasserstein": sw, "mean_error": merr}, {"sw": swm, "mean": mt},
                                        sw >= swm or merr >= mt))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        discard = int(p["discard_cycles"])
        pops = dict(self._pops(p))
        rows = [(role, pops[role]) for role in self.ROLES if role in pops]
        refs = self.references(p, 3000)
        pats = ref.gate_patterns()
        fig, axes = plt.subplots(len(rows) + 1, 4, figsize=(13, 3.2 * (len(rows) + 1)), squeeze=False)
        curve = ref.swiss_roll_curve(2000)
        titles = {(0, 0): "prior (no gate)", (1, 0): f"sensory: y = {float(p['y']):g}",
                  (0, 1): f"context: c = {int(p['c']):+d}", (1, 1): "both"}
        for k, q in enumerate(pats):
            axes[0][k].scatter(refs[q][:, 0], refs[q][:, 1], s=1, color="0.3")
            axes[0][k].set_title(f"reference: {titles[q]}", fontsize=9)
        for r, (role, pop) in enumerate(rows, start=1):
            period, _, samples = self._samples(result, pop, discard)
            for k, q in enumerate(pats):
                x = samples[q].reshape(-1, 2)[:3000]
                axes[r][k].scatter(x[:, 0], x[:, 1], s=1, color={"wrong_sign": "C3", "additive": "C2"}.get(role, "C0"))
                axes[r][k].set_title(f"{role} (T = {period * 1e3:g} ms): {titles[q]}", fontsize=9)
        for ax in axes.ravel():
            ax.plot(curve[:, 0], curve[:, 1], color="0.8", lw=0.8, zorder=0)
            ax.set_xlim(-3.2, 3.2)
            ax.set_ylim(-3.2, 3.2)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        path = outdir / "dendritic_swissroll_posterior.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return [path]


# ----------------------------------------------------------------------------------------------------
# a higher-dimensional learned prior: digits in a whitened PCA space
# ----------------------------------------------------------------------------------------------------
def digit_classifier(data):
    """Logistic regression on the training digits' whitened PCA coordinates (deterministic)."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=5000).fit(data["train"], data["train_labels"])


def digit_metrics(x, data, classifier):
    """Fréchet distance to the held-out digits, the classifier's mean confidence, class fractions, the
    median distance to the nearest training digit relative to the held-out digits' (memorisation) and,
    for samples of shape (n_cycles, n_chains, d), P(same class next cycle) with its independent value."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1, x.shape[-1])
    proba = classifier.predict_proba(flat)
    classes = proba.argmax(axis=1)
    frac = np.bincount(classes, minlength=10)[:10] / len(classes)
    from scipy.spatial import cKDTree

    train = cKDTree(data["train"])
    out = {"frechet_distance": learned.frechet_distance(flat, data["test"]),
           # memorisation check: 1 when samples lie as far from the training digits as held-out digits do
           "nearest_training_distance_ratio": float(np.median(train.query(flat)[0])
                                                    / np.median(train.query(data["test"])[0])),
           "sliced_wasserstein": learned.sliced_wasserstein_nd(flat, data["test"]),
           "confidence": float(proba.max(axis=1).mean()), "class_fractions": frac.tolist(),
           "min_class_fraction": float(frac.min())}
    if x.ndim == 3 and x.shape[0] > 1:
        cl = classes.reshape(x.shape[:2])
        out["p_same_class"] = float(np.mean(cl[1:] == cl[:-1]))
        out["p_same_class_independent"] = float(np.sum(frac**2))
    return out


class DendriticDigits(Task):
    name = "dendritic_digits"
    description = ("A learned three-layer dendritic tree samples handwritten digits in a 12-D PCA space with the "
                   "oscillation; constant-noise Langevin on the same tree and a single-layer tree are the controls")
    reference = DendriticPrior.reference
    parameters = {
        "deep": Param("deep", "dendritic_tree_soma population driven by the three-layer tree", kind="str"),
        "shallow": Param("shallow", "control: the single-layer tree of the same size ('' = none)", kind="str"),
        "langevin": Param("langevin", "control: the three-layer tree with schedule 'constant' ('' = none)", kind="str"),
        "weights_seed": Param(0, "seed of the trained trees (spikelearn train-denoiser --prior digits)", kind="int"),
        "discard_cycles": Param(1, "cycles discarded at the start", kind="int"),
        "frechet_max": Param("0.3", "Fréchet distance to the held-out digits below this (whitened PCA space)"),
        "confidence_min": Param("0.9", "the classifier's mean confidence on the samples at least this"),
        "class_fraction_min": Param("0.05", "every digit class at least this fraction of the samples"),
        "same_class_tolerance": Param("0.04", "P(same class next cycle) at most its independent value plus this"),
    }

    def _pops(self, p):
        return [(role, p[role]) for role in ("deep", "shallow", "langevin") if p[role]]

    def prepare(self, ctx):
        p = ctx.params
        for role, pop in self._pops(p):
            _check_model(ctx, pop, ("dendritic_tree_soma",))
            tree = "shallow" if role == "shallow" else "deep"
            weights = learned.load_tree("digits", tree, int(p["weights_seed"]))
            params = ctx.net.populations[pop].params
            if int(params["dimensions"]) != int(weights["d"]):
                raise BuildError(f"dendritic_digits: population '{pop}' has dimensions = {params['dimensions']}, "
                                 f"the tree {int(weights['d'])}")
            expected = "constant" if role == "langevin" else "oscillation"
            if str(params["schedule"]) != expected:
                raise BuildError(f"dendritic_digits: population '{pop}' must have schedule = '{expected}', "
                                 f"found: {params['schedule']!r}")
            phase_u = f"({float(params['langevin_u'])!r})" if role == "langevin" else None
            build_tree(ctx, pop, weights, params["period"], phase_u=phase_u)
            variables = tuple(f"x{i}" for i in range(1, int(weights["d"]) + 1))
            _record_sampler(ctx, pop, params["period"], 0, params["period"], f"task {self.name}", variables)

    def _samples(self, result, pop, discard):
        params = _population_params(result, pop)
        variables = tuple(f"x{i}" for i in range(1, int(params["dimensions"]) + 1))
        troughs, _ = _cycle_samples(result, pop, float(params["period"]), discard, variables)
        return troughs[discard + 1:]

    def evaluate(self, result):
        p = result.params
        discard = int(p["discard_cycles"])
        data = learned.digits_pca()
        clf = digit_classifier(data)
        fm, cm, fr, st = (float(p["frechet_max"]), float(p["confidence_min"]), float(p["class_fraction_min"]),
                          float(p["same_class_tolerance"]))
        metrics = {f"held_out_{k}": v for k, v in digit_metrics(data["test"], data, clf).items()}
        metrics["train_vs_held_out_frechet_distance"] = learned.frechet_distance(data["train"], data["test"])
        claims = []
        for role, pop in self._pops(p):
            x = self._samples(result, pop, discard)
            finite = np.all(np.isfinite(x), axis=(0, 2))
            m = digit_metrics(x[:, finite], data, clf) if finite.any() else None
            metrics[f"{role}_non_finite_chains"] = int((~finite).sum())
            if m is not None:
                metrics.update({f"{role}_{k}": v for k, v in m.items()})
            passes = {
                "frechet": m is not None and m["frechet_distance"] < fm,
                "confidence": m is not None and m["confidence"] >= cm,
                "coverage": m is not None and m["min_class_fraction"] >= fr,
                "independent": m is not None and m["p_same_class"] <= m["p_same_class_independent"] + st,
            }
            got = {} if m is None else {"frechet_distance": m["frechet_distance"], "confidence": m["confidence"],
                                        "min_class_fraction": m["min_class_fraction"], "p_same_class": m["p_same_class"]}
            if role == "deep":
                claims += [
                    Claim("deep_frechet", f"Fréchet distance to the held-out digits < {fm:g}", got.get("frechet_distance"),
                          fm, passes["frechet"]),
                    Claim("deep_confidence", f"the digit classifier's mean confidence on the samples >= {cm:g}",
                          got.get("confidence"), cm, passes["confidence"]),
                    Claim("deep_class_coverage", f"every digit class >= {fr:g} of the samples", got.get("min_class_fraction"),
                          fr, passes["coverage"]),
                    Claim("deep_independent_classes", f"P(same class next cycle) <= its independent value + {st:g}",
                          got.get("p_same_class"), None if m is None else m["p_same_class_independent"] + st,
                          passes["independent"]),
                ]
            else:
                label = ("single-layer tree of the same size" if role == "shallow"
                         else "constant-noise Langevin on the same tree")
                claims.append(Claim(f"{role}_fails", f"control, {label}: fails at least one of the deep tree's claims",
                                    got, {"frechet": fm, "confidence": cm, "class_fraction": fr, "same_class": st},
                                    not all(passes.values())))
        return TaskOutcome(metrics, claims)

    def figures(self, result, outdir):
        import matplotlib.pyplot as plt

        p = result.params
        discard = int(p["discard_cycles"])
        data = learned.digits_pca()
        clf = digit_classifier(data)
        pops = self._pops(p)
        fig, axes = plt.subplots(len(pops) + 1, 1, figsize=(10, 1.5 * (len(pops) + 1)), squeeze=False)
        to_image = lambda z: np.clip(data["mean"] + (z * data["scale"]) @ data["components"], 0, 1)  # noqa: E731
        rows = [("held-out digits", data["test"][:20])]
        for role, pop in pops:
            x = self._samples(result, pop, discard)
            rows.append((f"{role}: chain 0, cycles 1-10; chains 1-10, last cycle",
                         np.concatenate([x[:10, 0], x[-1, 1:11]])))
        for ax, (title, z) in zip(axes[:, 0], rows):
            imgs = to_image(np.nan_to_num(z))
            strip = np.concatenate([np.pad(im.reshape(8, 8), 1) for im in imgs], axis=1)  # white gaps
            ax.imshow(strip, cmap="gray_r", vmin=0, vmax=1)
            labels = clf.predict(np.nan_to_num(z))
            ax.set_title(f"{title}  (classified: {''.join(str(v) for v in labels)})", fontsize=8)
            ax.axis("off")
        fig.tight_layout()
        path = outdir / "dendritic_digits_samples.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return [path]
