"""The default ``poisson`` input (next spike drawn from an exponential when a neuron fires) is a Poisson
process: exponential inter-spike intervals (KS test), Poisson counts (Fano factor 1, mean r*T), the same
statistics as the per-step Bernoulli draw (``method = "bernoulli"``), and independent neurons.

On a time grid the exponential method gives ISI = ceil(E/dt)*dt with E ~ Exp(r), so P(ISI <= k*dt) =
1 - exp(-r*k*dt) exactly; the Bernoulli method gives P(ISI <= k*dt) = 1 - (1 - r*dt)^k. Both CDFs are
tested at the observed values (KS on a discrete law is conservative). Negative control: a process with
the same mean rate but a 20 ms dead time (a renewal process that is not Poisson) must fail every check.
"""

import numpy as np
from spikelearn.build import create_group
import pytest
from scipy import stats

from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

RATE, N, DURATION, DT = 15.0, 2000, 2.0, 1e-4
WINDOW = 0.1  # s, counting window of the Fano factor
HORIZON = 0.5  # s; P(ISI > HORIZON) = exp(-7.5) = 0.06 %


def _run_inputs(registry, write_scenario, tmp_path, method):
    path = write_scenario(f'''
        name = "poisson-{method}"
        seed = 7
        dt = "0.1*ms"
        duration = "{DURATION}*second"
        device = "runtime"
        [populations.inp]
        model = "poisson"
        size = {N}
        parameters = {{ rate = "{RATE}*Hz", method = "{method}" }}
        [record]
        spikes = ["inp"]
    '''.replace("'", '"'))
    outcome = run_scenario(load_scenario(path, registry), registry, out_root=tmp_path, progress=False, figures=False)
    return RunResult(outcome.path).spikes("inp")


def _isis(i, t):
    """ISIs that start before T - HORIZON: all of them are observed up to HORIZON (a longer one may run
    past T and counts as +inf), so, unlike the ISIs completed inside [0, T], they are not biased towards
    short intervals (a 2 s window would shorten the mean ISI by ~3 %)."""
    order = np.lexsort((t, i))
    i, t = i[order], t[order]
    nxt = np.full(len(t), np.inf)
    same = i[1:] == i[:-1]
    nxt[:-1][same] = t[1:][same]
    start = t < DURATION - HORIZON
    return (nxt - t)[start]


def _statistics(i, t, isi_cdf):
    """KS p-value of the ISIs against ``isi_cdf``, Fano factor of 100 ms counts with its standard error,
    rate z-score against r*T, and the mean pairwise count correlation (independence)."""
    isi = _isis(i, t)
    # grid values: round to the step so that k*dt compares exactly with the CDF's steps
    isi = np.where(np.isfinite(isi), np.rint(isi / DT) * DT, np.inf)
    ks = stats.kstest(isi, isi_cdf)
    n_win = int(round(DURATION / WINDOW))
    counts = np.zeros((N, n_win))
    np.add.at(counts, (i, np.minimum((t / WINDOW).astype(int), n_win - 1)), 1)
    c = counts.ravel()
    fano = c.var(ddof=1) / c.mean()
    # var(sample variance / mean) for Poisson counts: fano_se^2 ~ 2/(n-1) + 1/(n*mu)
    fano_se = np.sqrt(2.0 / (c.size - 1) + 1.0 / (c.size * c.mean()))
    total = len(t)
    expected = RATE * DURATION * N
    rate_z = (total - expected) / np.sqrt(expected)
    corr = np.corrcoef(counts[:200])
    mean_corr = corr[np.triu_indices(200, 1)].mean()
    return ks.pvalue, fano, fano_se, rate_z, mean_corr, isi


def _exponential_cdf(x):
    return 1.0 - np.exp(-RATE * x)


def _bernoulli_cdf(x):
    return 1.0 - (1.0 - RATE * DT) ** np.rint(np.minimum(x, 1e3) / DT)


def _assert_poisson(p, fano, fano_se, rate_z, mean_corr):
    assert p > 1e-3, f"ISIs are not exponential (KS p = {p:.2g})"
    assert abs(fano - 1.0) < 4 * fano_se, f"Fano factor {fano:.4f} != 1 (SE {fano_se:.4f})"
    assert abs(rate_z) < 4, f"spike count {rate_z:.1f} SE away from r*T*N"
    # mean of 19900 pairwise correlations of independent trains: SE ~ 1/sqrt(20 windows * 19900)
    assert abs(mean_corr) < 4 / np.sqrt((DURATION / WINDOW) * 19900), f"neurons correlated ({mean_corr:.4f})"


def test_exponential_method_is_a_poisson_process_like_bernoulli(registry, write_scenario, tmp_path):
    i_exp, t_exp = _run_inputs(registry, write_scenario, tmp_path, "exponential")
    i_ber, t_ber = _run_inputs(registry, write_scenario, tmp_path, "bernoulli")
    p, fano, fano_se, rate_z, corr, isi_exp = _statistics(i_exp, t_exp, _exponential_cdf)
    _assert_poisson(p, fano, fano_se, rate_z, corr)
    p_b, fano_b, fano_se_b, rate_z_b, corr_b, isi_ber = _statistics(i_ber, t_ber, _bernoulli_cdf)
    _assert_poisson(p_b, fano_b, fano_se_b, rate_z_b, corr_b)
    # the two methods give the same ISI law (two-sample KS) and Fano factors within their errors
    assert stats.ks_2samp(isi_exp, isi_ber).pvalue > 1e-3
    assert abs(fano - fano_b) < 4 * np.hypot(fano_se, fano_se_b)
    # the exponential method's default is the one the `poisson` model uses
    path = write_scenario('''
        name = "poisson-default"
        duration = "1*ms"
        [populations.inp]
        model = "poisson"
        size = 1
    '''.replace("'", '"'))
    assert load_scenario(path, registry).populations["inp"].params["method"] == "exponential"


def test_dead_time_process_fails_the_same_checks():
    """Negative control: same mean rate, ISI = 20 ms + Exp, on the same grid: the checks must fail."""
    from brian2 import NeuronGroup, Network, SpikeMonitor, defaultclock, second, seed

    dead = 0.02
    rate_after = 1.0 / (1.0 / RATE - dead)
    seed(7)
    defaultclock.dt = DT * second
    g = NeuronGroup(N, "next_spike : second", threshold="t >= next_spike",
                    reset="next_spike = t + dead + (-log(rand()))/rate_after", method="euler",
                    namespace={"dead": dead * second, "rate_after": rate_after / second})
    g.next_spike = "(-log(rand()))/rate_after"
    mon = SpikeMonitor(g)
    Network(g, mon).run(DURATION * second)
    i, t = np.asarray(mon.i), np.asarray(mon.t / second)
    p, fano, fano_se, rate_z, corr, _ = _statistics(i, t, _exponential_cdf)
    assert p < 1e-6
    assert fano < 1.0 - 4 * fano_se
    with pytest.raises(AssertionError):
        _assert_poisson(p, fano, fano_se, rate_z, corr)


@pytest.mark.parametrize("rate, threshold", [
    ("15*Hz", "t >= next_spike"),
    ("5*Hz*(1 + i)", "t >= next_spike"),
    ("15*Hz*(1 + sin(2*pi*t/second))", "rand() < rate*dt"),
])
def test_only_rates_constant_in_time_use_the_exponential_method(registry, rate, threshold):
    """A rate that changes with t cannot be drawn once per interval: it uses the per-step draw. A rate
    fixed in time is a constant per neuron, set once (no per-step update)."""
    from brian2 import Hz

    group = create_group(registry.get("models", "poisson"), "inp", 4, {"rate": rate, "method": "exponential"})
    assert group.events["spike"] == threshold
    if threshold.startswith("t >="):
        assert group.variables["rate"].constant
        assert np.allclose(group.rate[:] / Hz, [15] * 4 if "i" not in rate else [5, 10, 15, 20])
