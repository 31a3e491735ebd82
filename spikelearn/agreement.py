"""When a scenario's run on ``cuda`` agrees with its run on ``cpp`` (same file, same seed): the tolerance
stated for each built-in scenario before any GPU run, and the check. Used by the ``cuda`` tests and by
``bench/gpu_agree.py`` on a lent GPU machine.

``exact``: the network draws no random numbers (checked in its generated cuda code: no ``_rand``/
``_randn``/``_poisson`` call outside the unused sampling helpers of all-to-all connections; inputs are
NumPy arrays made from the seed), so every metric agrees to ``rtol`` (double precision on both devices;
the GPU sums in another order and contracts multiply-adds). Otherwise cuRAND and the CPU generator give
different streams: each claim's value agrees within ``rtol`` relative to the larger of its cpp value and
its threshold (sampling noise of a statistic the claim's threshold already allows for), and every claim
that passes on cpp passes on cuda. ``long``: all but the cheapest, so that the default ``cuda`` selection
(``cuda and not long``) stays short.
"""

import numpy as np

__all__ = ["GPU_AGREEMENT", "disagreements", "song_disagreements"]

GPU_AGREEMENT = {
    # claims are differences between circuits of the same run; the NumPy oracle's spread over seeds (sd/|mean|
    # 0.25 for the one expected claim, separability_vs_untrained on digits) sets rtol; the claims reported as
    # not reproduced lie within their seed spread of 0 and may pass on one device and fail on the other
    "adversarial-digits": dict(exact=False, rtol=0.5, long=True),
    "adversarial-mnist": dict(exact=False, rtol=0.5, long=True),
    "adversarial-moving-digits": dict(exact=False, rtol=0.5, long=True),
    "balanced-stdp": dict(exact=False, rtol=0.25, long=True),
    "balanced-stdp-1e8": dict(exact=False, rtol=0.25, long=True),
    # its weight-error claims (max |w - w_posterior|, threshold 0.03) spread by ~0.5 of the threshold
    # across cpp seeds alone (seeds 2-5 on one machine: 0.0016-0.012; seed 2 on another CPU: 0.0157);
    # 0.25 failed on the H200 with every claim passing on both devices (bench/results/h200-2026-12-04-*)
    "dendritic-posterior": dict(exact=False, rtol=0.5, long=True),
    "dendritic-prior": dict(exact=False, rtol=0.25, long=True),
    "dendritic-prior-T50": dict(exact=False, rtol=0.25, long=True),
    "dendritic-swissroll": dict(exact=False, rtol=0.25, long=True),
    "dendritic-swissroll-posterior": dict(exact=False, rtol=0.25, long=True),
    "dendritic-digits": dict(exact=False, rtol=0.25, long=True),
    "dynamic-inversion": dict(exact=True, rtol=1e-6, long=False),
    # no random numbers; 10 000 online updates on tiny weights: rounding differences could grow, and the
    # error ratios of the claims are far from their thresholds
    "dynamic-inversion-mnist": dict(exact=True, rtol=0.01, long=True),
    "dynamic-inversion-mnist-1000": dict(exact=True, rtol=0.01, long=True),
    "dynamic-inversion-regression": dict(exact=True, rtol=0.01, long=True),
    "dynamic-inversion-regression-spiking": dict(exact=False, rtol=0.25, long=True),
    "dynamic-inversion-spiking": dict(exact=False, rtol=0.25, long=True),
    "nudged-gradient": dict(exact=True, rtol=1e-6, long=True),
    "nudged-train": dict(exact=True, rtol=0.01, long=True),  # 18k learning steps: rounding may flip a test digit (0.3 %)
    "nudged-gradient-mnist": dict(exact=True, rtol=1e-6, long=True),
    "nudged-train-mnist": dict(exact=True, rtol=0.01, long=True),  # 16k learning steps, as nudged-train
    "poisson-sampling": dict(exact=False, rtol=0.25, long=True),  # its cpp seed spread not yet measured
    "poisson-sampling-coupled": dict(exact=False, rtol=0.25, long=True),  # as poisson-sampling
    "poisson-sampling-prior-match": dict(exact=False, rtol=0.25, long=True),  # as poisson-sampling
    "poisson-sampling-input": dict(exact=False, rtol=0.25, long=True),  # as poisson-sampling
    "reward-discrimination": dict(exact=False, rtol=0.25, long=True),
    "reward-discrimination-k10": dict(exact=False, rtol=0.25, long=True),
    "reward-estimation": dict(exact=False, rtol=0.25, long=True),
    "reward-estimation-k10": dict(exact=False, rtol=0.25, long=True),
    "reward-estimation-prior-change": dict(exact=False, rtol=0.25, long=True),
    "stdp-window-dvdt": dict(exact=False, rtol=0.25, long=True),  # Poisson spikes and noise: cuda's own random numbers
    "stdp-window-gradient": dict(exact=True, rtol=1e-6, long=False),
    "stdp-window-ou": dict(exact=False, rtol=0.25, long=True),
}


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _numbers(metrics):
    return {k: float(v) for k, v in metrics.items() if _number(v)}


def disagreements(name, a, b):
    """What disagrees between ``a`` (the cpp `RunResult`) and ``b`` (cuda) of built-in scenario ``name``:
    a list of messages, empty when they agree."""
    if name == "song-stdp":
        return song_disagreements(a, b)
    spec = GPU_AGREEMENT[name]
    ca, cb = a.metrics["claims"], b.metrics["claims"]
    if [c["name"] for c in ca] != [c["name"] for c in cb]:
        return [f"{name}: different claims on cpp ({[c['name'] for c in ca]}) and cuda ({[c['name'] for c in cb]})"]
    out = [f"{name}: claim {x['name']} passes on cpp ({x['value']}) but fails on cuda ({y['value']})"
           for x, y in zip(ca, cb) if x["passed"] and not y["passed"]]
    if spec["exact"]:
        ma, mb = _numbers(a.metrics["metrics"]), _numbers(b.metrics["metrics"])
        if ma.keys() != mb.keys() or not ma:
            return out + [f"{name}: different metrics on cpp and cuda"]
        out += [f"{name}: {k}: cpp {ma[k]}, cuda {mb[k]} (rtol {spec['rtol']})" for k in ma
                if abs(mb[k] - ma[k]) > spec["rtol"] * abs(ma[k]) + 1e-12]
    else:
        for x, y in zip(ca, cb):
            if _number(x.get("value")) and _number(y.get("value")):
                scale = max(abs(x["value"]), abs(x["threshold"]) if _number(x.get("threshold")) else 0)
                if abs(y["value"] - x["value"]) > spec["rtol"] * scale:
                    out.append(f"{name}: claim {x['name']}: cpp {x['value']}, cuda {y['value']} (rtol {spec['rtol']})")
    return out


def song_disagreements(a, b):
    """Song-Miller-Abbott, 100 s, seed 1, Poisson input (cuRAND vs CPU streams differ). Tolerances:
    input spike counts within 5 standard errors of each other; output rates within 25 % (one neuron,
    driven by the learned weights); final weights: mean within 0.1 wmax, fraction of weights above
    wmax/2 within 0.1 (the bimodal split); every claim passes on both."""
    out = []
    na, nb = len(a.spikes("inputs")[1]), len(b.spikes("inputs")[1])
    if abs(na - nb) > 5 * np.sqrt(na + nb):
        out.append(f"input spikes: cpp {na}, cuda {nb}")
    ra, rb = len(a.spikes("out")[1]), len(b.spikes("out")[1])
    if not (ra > 0 and abs(ra - rb) <= 0.25 * ra):
        out.append(f"output spikes: cpp {ra}, cuda {rb}")
    wmax = 0.01
    wa, wb = a.weights("inputs_to_out")["w_final"], b.weights("inputs_to_out")["w_final"]
    if abs(wa.mean() - wb.mean()) > 0.1 * wmax:
        out.append(f"mean weight: cpp {wa.mean()}, cuda {wb.mean()}")
    if abs(np.mean(wa > wmax / 2) - np.mean(wb > wmax / 2)) > 0.1:
        out.append(f"fraction above wmax/2: cpp {np.mean(wa > wmax / 2)}, cuda {np.mean(wb > wmax / 2)}")
    for device, result in (("cpp", a), ("cuda", b)):
        out += [f"claim {c['name']} fails on {device}: {c['value']}" for c in result.metrics["claims"] if not c["passed"]]
    return out
