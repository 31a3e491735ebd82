"""NumPy oracle of the task ``adversarial_inference`` (spikelearn.tasks.benjamin_kording.inference): the same
algorithm, one sample at a time, written from the task's docstring and not from its Brian2 code.

Per sample (four time steps of the network): wake, a clean pass then a noisy pass with learning; sleep, a
generated sample then learning. ``method``: ``"adversarial"`` (recognition by discriminator-gated node
perturbation), ``"classic"`` (recognition by the sleep delta rule), ``"ungated"`` (recognition fixed) or
``"frozen"`` (only the discriminator learns). Returns the final weights and the test-phase records.
"""

import numpy as np

METHODS = ("adversarial", "classic", "ungated", "frozen")


def init_weights(rng, n_x, n_h, n_z, n_feat, temporal, scale=1.0):
    """Initial weights: recognition W1 (h x), W2 (z h), R (h h); generative G1 (x h), G2 (h z), Q (h h),
    biases c1, c2; the discriminator's fixed features A_k, a_k per pair and readouts v_k (zero)."""
    w = {
        "W1": rng.normal(0, scale / np.sqrt(n_x), (n_h, n_x)),
        "W2": rng.normal(0, scale / np.sqrt(n_h), (n_z, n_h)),
        "G1": rng.normal(0, scale / np.sqrt(n_h), (n_x, n_h)),
        "G2": rng.normal(0, scale / np.sqrt(n_z), (n_h, n_z)),
        "c1": np.zeros(n_x), "c2": np.zeros(n_h),
    }
    pairs = [(n_x, n_h), (n_h, n_z)] + ([(n_h, n_h)] if temporal else [])
    if temporal:
        w["R"] = np.zeros((n_h, n_h))
        w["Q"] = np.zeros((n_h, n_h))
    for k, (a, b) in enumerate(pairs):
        w[f"A{k}"] = rng.normal(0, 1 / np.sqrt(a + b), (n_feat, a + b))
        w[f"a{k}"] = rng.normal(0, 0.5, n_feat)
        w[f"v{k}"] = np.zeros(n_feat)
    return w


def _features(w, states):
    phis = []
    for k, (lo, hi) in enumerate(states):
        phis.append(np.maximum(w[f"A{k}"] @ np.concatenate([lo, hi]) + w[f"a{k}"], 0.0))
    D = sum(float(w[f"v{k}"] @ phi) for k, phi in enumerate(phis))
    return phis, D


def run(w0, stream, starts, p, method, rng, plastic=None):
    """Run the algorithm over the image ``stream`` (rows; ``starts[k]`` true where a sequence starts).
    ``plastic[k]``: learning on at sample k (default all). Returns ``(w, rec)``; ``rec`` holds per sample the
    clean wake latents ``h``, ``z``, the clean wake ``D`` and the sleep sample ``x_sleep`` and its ``D``."""
    w = {k: v.copy() for k, v in w0.items()}
    temporal = "R" in w
    n_h, n_z = w["W1"].shape[0], w["W2"].shape[0]
    hw = np.zeros(n_h)
    hs = np.zeros(n_h)
    n = len(stream)
    plastic = np.ones(n, bool) if plastic is None else plastic
    rec = {"h": np.zeros((n, n_h)), "z": np.zeros((n, n_z)), "D_wake": np.zeros(n), "D_sleep": np.zeros(n),
           "x_sleep": np.zeros_like(stream)}
    sw, ss, sx = p["sigma_wake"], p["sigma_sleep"], p["sigma_x"]
    for k in range(n):
        if starts[k]:
            hw[:] = 0
            hs[:] = 0
        learn = bool(plastic[k])
        x = stream[k]
        # wake, clean pass
        lat = w["R"] @ hw if temporal else 0.0
        h0 = np.tanh(w["W1"] @ x + lat)
        z0 = w["W2"] @ h0
        st0 = [(x, h0), (h0, z0)] + ([(hw, h0)] if temporal else [])
        _, Dref = _features(w, st0)
        rec["h"][k], rec["z"][k], rec["D_wake"][k] = h0, z0, Dref
        # wake, noisy pass and learning
        xih = sw * rng.standard_normal(n_h) if learn else np.zeros(n_h)  # no perturbation once learning is off
        h = np.tanh(w["W1"] @ x + lat + xih)
        xiz = sw * rng.standard_normal(n_z) if learn else np.zeros(n_z)
        z = w["W2"] @ h + xiz
        st = [(x, h), (h, z)] + ([(hw, h)] if temporal else [])
        phis, D = _features(w, st)
        if learn:
            if method != "frozen":
                dx = np.tanh(w["G1"] @ h + w["c1"])
                ex = (x - dx) * (1 - dx ** 2)
                dh = np.tanh(w["G2"] @ z + (w["Q"] @ hw if temporal else 0.0) + w["c2"])
                eh = (h - dh) * (1 - dh ** 2)
            if method == "adversarial":
                mod = D - Dref
                w["W1"] -= p["eta_A"] * mod * np.outer(xih, x)
                w["W2"] -= p["eta_A"] * mod * np.outer(xiz, h)
                if temporal:
                    w["R"] -= p["eta_A"] * mod * np.outer(xih, hw)
            if method != "frozen":
                w["G1"] += p["eta_G"] * np.outer(ex, h)
                w["c1"] += p["eta_G"] * ex
                w["G2"] += p["eta_G"] * np.outer(eh, z)
                w["c2"] += p["eta_G"] * eh
                if temporal:
                    w["Q"] += p["eta_G"] * np.outer(eh, hw)
        if learn:
            for kk, phi in enumerate(phis):
                w[f"v{kk}"] += p["eta_D"] * phi - p["lam_D"] * w[f"v{kk}"]
        hw = h.copy()
        # sleep: generate, then learn
        zs = rng.standard_normal(n_z)
        hsl = np.tanh(w["G2"] @ zs + (w["Q"] @ hs if temporal else 0.0) + w["c2"] + ss * rng.standard_normal(n_h))
        xs = np.tanh(w["G1"] @ hsl + w["c1"]) + sx * rng.standard_normal(len(x))
        st = [(xs, hsl), (hsl, zs)] + ([(hs, hsl)] if temporal else [])
        phis, Ds = _features(w, st)
        rec["x_sleep"][k], rec["D_sleep"][k] = xs, Ds
        if learn and method == "classic":
            ph = np.tanh(w["W1"] @ xs + (w["R"] @ hs if temporal else 0.0))
            e1 = (hsl - ph) * (1 - ph ** 2)
            w["W1"] += p["eta_C"] * np.outer(e1, xs)
            if temporal:
                w["R"] += p["eta_C"] * np.outer(e1, hs)
            w["W2"] += p["eta_C"] * np.outer(zs - w["W2"] @ hsl, hsl)
        if learn:
            for kk, phi in enumerate(phis):
                w[f"v{kk}"] += -p["eta_D"] * phi - p["lam_D"] * w[f"v{kk}"]
        hs = hsl.copy()
    return w, rec
