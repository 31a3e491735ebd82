"""Why the three-unit adversarial wake/sleep toy was retired (issue: "give the local predictor the input C
really receives in sleep").

The toy (removed; its last version is in git history, ``scenarios/adversarial_wake_sleep.toml``): latent
T ~ Gamma(2, 0.5) - 1; wake A = T, B = T + e_B, C = 0.5 T + 0.8 B + e_C (noise s.d. 0.3); sleep B = a_B A + e_B,
C = a_C A + 0.8 B + e_C. Its Stage 1 predicted C from A alone, so it learned the regression of C on A,
a_C = 0.5 + 0.8 = 1.3, counting the B -> C recurrence twice in sleep; Stage 2's discriminator fixed that.

A fair local predictor sees what C receives in sleep, A and the known B -> C input: it predicts C from
a_C A + 0.8 B, and its delta rule da_C = eta <(C - 0.8 B - a_C A) A> has the fixed point a_C = 0.5 exactly,
since C - 0.8 B = 0.5 T + e_C in wake. This script runs that rule with the toy's own Stage-1 settings
(500 replicas, eta_P 0.02, 2 000 steps, wake every other step) and prints |a - a*|, to compare with the
adversarial Stage 2 (cpp records, seeds 1/2/3: 0.007 / 0.021 / 0.013).

    python bench/benjamin_kording_toy_fair.py
"""

import numpy as np


def fair_stage1(seed, replicas=500, eta=0.02, steps=2000, noise=0.3):
    rng = np.random.default_rng(seed)
    a = np.zeros(2)
    for step in range(steps):
        if step % 2:  # sleep: the predictive rule learns in wake only
            continue
        T = rng.gamma(2.0, 0.5, replicas) - 1.0
        B = T + noise * rng.standard_normal(replicas)
        C = 0.5 * T + 0.8 * B + noise * rng.standard_normal(replicas)
        a[0] += eta * np.mean((B - a[0] * T) * T)
        a[1] += eta * np.mean((C - 0.8 * B - a[1] * T) * T)
    return float(np.hypot(a[0] - 1.0, a[1] - 0.5))


if __name__ == "__main__":
    for seed in (1, 2, 3):
        print(f"seed {seed}: fair Stage 1 |a - a*| = {fair_stage1(seed):.4f}")
