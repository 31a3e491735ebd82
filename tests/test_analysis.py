"""Tests of spikelearn.analysis: Elephant-based statistics against known answers and NumPy references,
figures on synthetic (and degenerate) run directories, report.html, run comparison, NWB round trip.

Synthetic run directories are written here by hand, following the run-directory format, so these
tests do not depend on running a simulation.
"""

import json
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from spikelearn.analysis import correlations as corr
from spikelearn.analysis import standard_figures
from spikelearn.analysis.rasters import default_bin_size, neuron_order, population_rate, raster_figure

RUN_ID = "20260101-000000-abcdef"


# --------------------------------------------------------------------------------------------------
# synthetic data
# --------------------------------------------------------------------------------------------------
def poisson_times(rng, rate, duration):
    return np.sort(rng.uniform(0.0, duration, rng.poisson(rate * duration)))


def shared_pair(rng, rate, c, duration, shift=0.0):
    """Two Poisson trains of rate ``rate`` sharing a fraction ``c`` of their spikes (the shared ones
    delayed by ``shift`` in the second train). Their spike-count correlation is ``c`` in expectation at any
    bin size much larger than ``shift``: cov = c*rate*bin, var = rate*bin."""
    common = poisson_times(rng, c * rate, duration)
    a = np.sort(np.r_[common, poisson_times(rng, (1 - c) * rate, duration)])
    b = np.sort(np.r_[common + shift, poisson_times(rng, (1 - c) * rate, duration)])
    b = b[b < duration]
    return a, b, common.size


def as_trains(trains, duration):
    i = np.concatenate([np.full(len(t), k) for k, t in enumerate(trains)])
    t = np.concatenate(trains)
    return corr.to_spiketrains(i, t, len(trains), 0.0, duration)


SCENARIO = '''name = "{name}"
description = "synthetic run for analysis tests"
seed = 1
dt = "0.1*ms"
duration = "{duration}*second"
device = "runtime"

[populations.inputs]
model = "poisson"
size = {n_in}

[populations.out]
model = "lif_cond"
size = {n_out}

[connections.c]
source = "inputs"
target = "out"
connect = "all"
plasticity = {{ rule = "stdp_additive", wmax = 0.01 }}
'''


def make_run(root, name="synth", n_in=40, n_out=3, duration=2.0, rate=10.0, seed=0, spikes=True, weights=True,
             phases=True, attributes=True, metrics=True, empty_spikes=False, n_synapses=None):
    """Write a run directory following the format of spikelearn.results; return its path."""
    rng = np.random.default_rng(seed)
    run = Path(root) / name / RUN_ID
    (run / "data").mkdir(parents=True)
    (run / "figures").mkdir()
    (run / "scenario.toml").write_text(SCENARIO.format(name=name, duration=duration, n_in=n_in, n_out=n_out))
    (run / "provenance.json").write_text(json.dumps({"seed": 1, "device": "runtime", "command": "synthetic",
                                                     "started": "2026-01-01T00:00:00+00:00", "run_id": RUN_ID}))
    (run / "status.json").write_text(json.dumps({"status": "complete", "reason": ""}))
    if metrics:
        (run / "metrics.json").write_text(json.dumps({
            "scenario": name, "metrics": {"rate_hz": 10.2, "hist": [0.1, 0.2, 0.7]},
            "claims": [{"name": "rate_ok", "statement": "rate in [5, 15] Hz", "value": 10.2,
                        "threshold": [5, 15], "passed": True},
                       {"name": "bimodal", "statement": "end bins >= 0.15", "value": 0.1,
                        "threshold": 0.15, "passed": False}]}))
    if spikes:
        for pop, n in (("inputs", n_in), ("out", n_out)):
            k = 0 if empty_spikes else rng.poisson(rate * n * duration)
            np.savez(run / "data" / f"spikes_{pop}.npz", i=rng.integers(0, max(n, 1), k).astype(np.int32),
                     t=np.sort(rng.uniform(0, duration, k)), N=n)
    if weights:
        ii, jj = np.meshgrid(np.arange(n_in), np.arange(n_out), indexing="ij")
        ii, jj = ii.ravel()[:n_synapses], jj.ravel()[:n_synapses]
        w0 = rng.uniform(0, 0.01, ii.size)
        w1 = np.where(rng.random(ii.size) < 0.5, 0.0, 0.01)
        n_rec = min(10, ii.size)
        np.savez(run / "data" / "weights_c.npz", i=ii.astype(np.int32), j=jj.astype(np.int32), w_initial=w0,
                 w_final=w1, t=np.linspace(0, duration, 11), trace_index=np.arange(n_rec),
                 w_trace=np.linspace(w0[:n_rec], w1[:n_rec], 11).T)
    if phases:
        intervals = [["wake" if k % 2 == 0 else "sleep", k * 0.1, (k + 1) * 0.1] for k in range(int(duration / 0.1))]
        (run / "data" / "phases.json").write_text(json.dumps({"names": ["wake", "sleep"], "intervals": intervals}))
    if attributes:
        np.savez(run / "data" / "attributes_inputs.npz", preferred=rng.uniform(0, np.pi, n_in))
    return run


@pytest.fixture
def no_warnings():
    """Turn warnings into errors, except the two upstream ones that Elephant itself triggers when these
    tests call it directly (the analysis functions silence them; see silence_upstream_warnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        corr.silence_upstream_warnings()
        yield


# --------------------------------------------------------------------------------------------------
# correlations: known answers, NumPy references, equality with Elephant
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("c", [0.2, 0.5])
def test_shared_fraction_gives_correlation_c(c, no_warnings):
    # 60 s at 20 Hz, 10 ms bins: 6000 bins, standard error of r about (1 - c^2)/sqrt(6000) < 0.013;
    # tolerance 0.05 is about 4 standard errors.
    rng = np.random.default_rng(1)
    a, b, _ = shared_pair(rng, 20.0, c, 60.0)
    cc, active = corr.correlation_matrix(as_trains([a, b], 60.0), bin_size=0.01)
    assert active.tolist() == [0, 1]
    assert abs(cc[0, 1] - c) < 0.05, cc[0, 1]


def test_independent_trains_are_uncorrelated(no_warnings):
    rng = np.random.default_rng(2)
    trains = [poisson_times(rng, 20.0, 60.0) for _ in range(6)]
    cc, _ = corr.correlation_matrix(as_trains(trains, 60.0), bin_size=0.01)
    values = corr.pairwise_values(cc)
    assert values.size == 15
    assert np.all(np.abs(values) < 0.05), values
    assert abs(values.mean()) < 0.02


def test_correlation_matrix_matches_numpy_and_elephant(no_warnings):
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import correlation_coefficient

    rng = np.random.default_rng(3)
    a, b, _ = shared_pair(rng, 15.0, 0.3, 20.0)
    trains_t = [a, b, poisson_times(rng, 15.0, 20.0)]
    trains = as_trains(trains_t, 20.0)
    cc, _ = corr.correlation_matrix(trains, bin_size=0.005)
    direct = correlation_coefficient(BinnedSpikeTrain(trains, bin_size=5 * pq.ms))
    assert_allclose(cc, direct, rtol=0, atol=1e-12)
    edges = np.linspace(0.0, 20.0, 4001)
    counts = np.array([np.histogram(t, edges)[0] for t in trains_t])
    assert_allclose(cc, np.corrcoef(counts), atol=1e-9)


def test_spikes_on_the_dt_grid_bin_like_numpy_without_log_messages(no_warnings):
    """Simulated spike times are multiples of dt, so many sit on a bin edge up to rounding: Elephant
    moves them into the following bin (as numpy.histogram does), and says nothing about it here."""
    import logging

    from spikelearn.analysis.correlations import _elephant_rounding_logger

    rng = np.random.default_rng(11)
    dt, duration = 1e-4, 20.0
    trains_t = [np.unique(rng.integers(0, int(duration / dt), 300)) * dt for _ in range(3)]
    trains_t[1] = np.unique(np.r_[trains_t[1], np.arange(1, 1000) * 0.02])  # spikes on every edge
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep(level=logging.DEBUG)
    rounding = _elephant_rounding_logger()
    rounding.addHandler(handler)
    try:
        cc, _ = corr.correlation_matrix(as_trains(trains_t, duration), bin_size=0.02)
    finally:
        rounding.removeHandler(handler)
    assert not [r for r in records if r.levelno >= logging.WARNING], [r.getMessage() for r in records]
    edges = np.arange(0, 1000 + 1) * 0.02
    counts = np.array([np.histogram(t, edges)[0] for t in trains_t])
    assert counts[1].sum() == len(trains_t[1])
    assert_allclose(cc, np.corrcoef(counts), atol=1e-9)


def test_correlation_matrix_leaves_out_silent_and_constant_trains(no_warnings):
    rng = np.random.default_rng(4)
    trains = [poisson_times(rng, 10.0, 10.0), np.array([]), poisson_times(rng, 10.0, 10.0),
              np.arange(0.005, 10.0, 0.01)]  # one spike in every 10 ms bin: zero variance
    cc, active = corr.correlation_matrix(as_trains(trains, 10.0), bin_size=0.01)
    assert active.tolist() == [0, 2]
    assert cc.shape == (2, 2) and np.isfinite(cc).all()
    cc, active = corr.correlation_matrix(as_trains([trains[0], trains[1]], 10.0), bin_size=0.01)
    assert active.tolist() == [0] and cc.shape == (1, 1)


def test_cross_correlogram_peak_lag_sign_and_jitter_correction(no_warnings):
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram

    rng = np.random.default_rng(5)
    a, b, n_common = shared_pair(rng, 20.0, 0.3, 50.0, shift=0.0035)  # j fires 3.5 ms after i
    trains = as_trains([a, b], 50.0)
    res = corr.cross_correlogram(trains[0], trains[1], bin_size=0.001, max_lag=0.02, surrogate="jitter",
                                 n_surrogates=30, dither=0.01, seed=0)
    # the peak is at +3 or +4 ms (the 3.5 ms delay straddles a bin edge), never negative
    peak = res["lags"][np.argmax(res["cch"])]
    assert 0.0025 < peak < 0.0045, peak
    # the corrected correlogram around the peak recovers the shared spikes; far lags are ~ 0
    near = np.abs(res["lags"] - 0.0035) <= 0.0011
    # jitter surrogates smear the n_common shared coincidences over +-10 ms: the baseline holds about
    # n_common*(2 bins)/(20 bins), so the corrected peak recovers about 90 % of them
    assert 0.8 * n_common < res["corrected"][near].sum() < 1.05 * n_common, (res["corrected"][near].sum(), n_common)
    far = np.abs(res["lags"]) >= 0.015
    chance = len(a) * len(b) * 0.001 / 50.0
    assert abs(res["corrected"][far].mean()) < 0.25 * chance + 3
    bi = BinnedSpikeTrain(trains[0], bin_size=1 * pq.ms)
    bj = BinnedSpikeTrain(trains[1], bin_size=1 * pq.ms)
    direct, lags = cross_correlation_histogram(bi, bj, window=[-20, 20], border_correction=False, binary=False)
    assert_allclose(res["cch"], np.asarray(direct.magnitude).ravel())
    assert_allclose(res["lags"], lags * 0.001)


def test_shuffle_baseline_of_independent_trains_is_flat(no_warnings):
    rng = np.random.default_rng(6)
    trains = as_trains([poisson_times(rng, 20.0, 50.0), poisson_times(rng, 20.0, 50.0)], 50.0)
    res = corr.cross_correlogram(trains[0], trains[1], 0.002, 0.02, surrogate="shuffle", n_surrogates=20, seed=1)
    chance = len(trains[0]) * len(trains[1]) * 0.002 / 50.0
    assert_allclose(res["baseline"], chance, rtol=0.15)
    assert abs(res["corrected"].mean()) < 0.1 * chance
    again = corr.cross_correlogram(trains[0], trains[1], 0.002, 0.02, surrogate="shuffle", n_surrogates=20, seed=1)
    assert_array_equal(res["baseline"], again["baseline"])
    with pytest.raises(ValueError, match="surrogate"):
        corr.cross_correlogram(trains[0], trains[1], 0.002, 0.02, surrogate="bogus")


def test_fano_factor_and_cv_match_numpy_and_poisson(no_warnings):
    from elephant.statistics import cv, fanofactor, isi

    rng = np.random.default_rng(7)
    poisson = poisson_times(rng, 20.0, 100.0)
    regular = np.arange(0.01, 100.0, 0.05) + rng.uniform(-1e-4, 1e-4, 2000)
    trains = as_trains([poisson, regular], 100.0)
    ff = corr.fano_factors(trains, counting_window=0.5)
    counts = np.histogram(poisson, np.arange(0, 100.0001, 0.5))[0]
    assert_allclose(ff[0], counts.var() / counts.mean(), rtol=1e-12)
    assert_allclose(ff[0], fanofactor(corr._window_counts_segments(trains[0], 0.5)), rtol=1e-12)
    assert abs(ff[0] - 1.0) < 0.25  # 200 windows: standard error of the Fano factor ~ 0.1
    assert ff[1] < 0.05  # regular train: almost no count variability
    cvs = corr.cv_isis(trains)
    assert_allclose(cvs[0], np.std(np.diff(poisson)) / np.mean(np.diff(poisson)), rtol=1e-12)
    assert_allclose(cvs[0], cv(isi(trains[0]).magnitude), rtol=1e-12)
    assert abs(cvs[0] - 1.0) < 0.1
    assert cvs[1] < 0.01
    assert np.isnan(corr.cv_isis(as_trains([np.array([1.0, 2.0])], 10.0))[0])


def test_correlation_vs_tuning_distance():
    # correlation falls linearly with circular distance in preferred orientation (period pi)
    pref = np.linspace(0, np.pi, 24, endpoint=False)
    d = np.abs(pref[:, None] - pref[None, :])
    d = np.minimum(d, np.pi - d)
    cc = 0.3 - 0.2 * d / (np.pi / 2)
    np.fill_diagonal(cc, 1.0)
    centres, mean, sem, count = corr.correlation_vs_tuning(cc, pref, n_bins=4, period=np.pi)
    assert count.sum() == 24 * 23 // 2
    assert_allclose(mean, 0.3 - 0.2 * centres / (np.pi / 2), atol=0.03)
    assert np.all(np.diff(mean) < 0)
    # untuned neurons (preferred NaN) are left out, not turned into NaN distances
    untuned = pref.copy()
    untuned[::6] = np.nan
    centres2, mean2, _, count2 = corr.correlation_vs_tuning(cc, untuned, n_bins=4, period=np.pi)
    assert count2.sum() == 20 * 19 // 2
    assert_allclose(centres2, centres)
    assert_allclose(mean2, 0.3 - 0.2 * centres / (np.pi / 2), atol=0.03)
    with pytest.raises(ValueError, match="cc must be"):
        corr.correlation_vs_tuning(cc[:3, :3], pref)


def test_to_spiketrains_round_trip_and_window():
    i = np.array([2, 0, 2, 1, 0])
    t = np.array([0.5, 0.1, 0.2, 3.0, 0.05])
    trains = corr.to_spiketrains(i, t, 3, 0.0, 1.0)
    assert [st.annotations["neuron"] for st in trains] == [0, 1, 2]
    assert_allclose(trains[0].magnitude, [0.05, 0.1])
    assert len(trains[1]) == 0  # its spike at 3 s is outside the window
    assert_allclose(trains[2].magnitude, [0.2, 0.5])
    with pytest.raises(ValueError, match="neuron indices"):
        corr.to_spiketrains(i, t, 3, 0.0, 1.0, neurons=[5])


# --------------------------------------------------------------------------------------------------
# rasters and rates
# --------------------------------------------------------------------------------------------------
def test_population_rate_matches_elephant_time_histogram(no_warnings):
    import quantities as pq
    from elephant.statistics import time_histogram

    rng = np.random.default_rng(8)
    trains_t = [poisson_times(rng, 12.0, 5.0) for _ in range(7)]
    centres, rate = population_rate(np.concatenate(trains_t), 7, 0.0, 5.0, 0.1)
    trains = as_trains(trains_t, 5.0)
    direct = time_histogram(trains, bin_size=100 * pq.ms, output="rate")
    assert_allclose(rate, np.asarray(direct.rescale("Hz").magnitude).ravel() / 1.0, rtol=1e-12)
    assert_allclose(centres[:2], [0.05, 0.15])
    # a last partial bin is divided by its true width
    _, rate = population_rate(np.array([0.95, 0.99]), 1, 0.0, 1.0, 0.3)
    assert_allclose(rate[-1], 2 / 0.1)


def test_neuron_order_and_bins():
    rows, n = neuron_order(5, neurons=[4, 1, 3], sort_by=[0, 9, 0, 1, 5])
    assert n == 3 and rows.tolist() == [-1, 2, -1, 0, 1]
    with pytest.raises(ValueError, match="one value per neuron"):
        neuron_order(5, sort_by=[1, 2])
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        neuron_order(5, neurons=[7])
    assert default_bin_size(100.0) == 0.5
    assert default_bin_size(2.0) == 0.01
    with pytest.raises(ValueError, match="bin_size"):
        population_rate([0.1], 1, 0.0, 1.0, 0.0)


def test_million_spike_raster_is_drawn_as_a_density_image(tmp_path):
    """A million spikes are drawn as an image of counts, not as a million markers: the figure holds one
    image, no line of markers, and small files (how long it takes is measured in bench/raster_bench.py)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(9)
    i = rng.integers(0, 1000, 1_000_000)
    t = np.sort(rng.uniform(0, 100.0, 1_000_000))
    fig = raster_figure(i, t, 1000, 0.0, 100.0, title="1e6")
    ax = fig.axes[0]
    assert len(ax.images) == 1 and not ax.lines
    counts = np.asarray(ax.images[0].get_array())
    assert counts.sum() == 1_000_000  # every spike is in the image, in the right (row, time) bin
    expected, _, _ = np.histogram2d(i, t, bins=counts.shape, range=((-0.5, 999.5), (0.0, 100.0)))
    assert_array_equal(counts, expected)
    assert "density image" in ax.get_title()
    for fmt in ("png", "svg"):
        fig.savefig(tmp_path / f"r.{fmt}", dpi=110)
        assert (tmp_path / f"r.{fmt}").stat().st_size < 5 * 2**20
    plt.close(fig)
    few = raster_figure(i[:1000], t[:1000], 1000, 0.0, 100.0)
    assert not few.axes[0].images and len(few.axes[0].lines) >= 1
    plt.close(few)


# --------------------------------------------------------------------------------------------------
# standard figures on synthetic run directories, including degenerate ones
# --------------------------------------------------------------------------------------------------
def test_standard_figures_of_a_full_run(tmp_path, no_warnings):
    run = make_run(tmp_path)
    paths = standard_figures(run, run / "figures", strict=True)
    assert [p.name for p in paths] == ["raster_inputs.png", "raster_out.png", "weights_c.png", "weights_c_time.png"]
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from spikelearn.results import RunResult

    paths = standard_figures(RunResult(run), tmp_path / "svg", fmt="svg", populations=["out"], strict=True)
    assert [p.name for p in paths] == ["raster_out.svg", "weights_c.svg", "weights_c_time.svg"]
    with pytest.raises(ValueError, match="nope"):
        standard_figures(run, tmp_path / "x", populations=["nope"])
    with pytest.raises(ValueError, match="fmt"):
        standard_figures(run, tmp_path / "x", fmt="jpg")


@pytest.mark.parametrize("case", [
    dict(empty_spikes=True),                      # populations that never fired
    dict(n_in=1, n_out=1),                        # one neuron each
    dict(spikes=False),                           # no spike recorder at all
    dict(weights=False, phases=False, attributes=False, metrics=False),
    dict(n_synapses=0),                           # a recorded connection without synapses
    dict(duration=0.0),                           # zero duration in the scenario
])
def test_standard_figures_never_fail_on_degenerate_runs(tmp_path, case, no_warnings):
    run = make_run(tmp_path, **case)
    paths = standard_figures(run, run / "figures", strict=True)
    n_weight_figures = 0 if case.get("weights") is False else 1 if case.get("n_synapses") == 0 else 2
    expected = (0 if case.get("spikes") is False else 2) + n_weight_figures  # nothing traced: no time plot
    assert len(paths) == expected
    assert all(p.stat().st_size > 0 for p in paths)


def test_standard_figures_constant_weights_and_long_run_zoom(tmp_path, no_warnings):
    run = make_run(tmp_path, duration=30.0, rate=2.0)
    with np.load(run / "data" / "weights_c.npz") as f:
        data = dict(f)
    data["w_initial"][:] = 0.005
    data["w_final"][:] = 0.005
    np.savez(run / "data" / "weights_c.npz", **data)
    names = [p.name for p in standard_figures(run, run / "figures", strict=True)]
    assert "raster_inputs_end.png" in names  # runs > 10 s also get their last 2 s


def test_standard_figures_logs_instead_of_raising(tmp_path, caplog):
    run = make_run(tmp_path)
    (run / "data" / "spikes_inputs.npz").write_bytes(b"not an npz")
    paths = standard_figures(run, run / "figures")
    assert "raster_out.png" in [p.name for p in paths]
    assert "raster figure of 'inputs' failed" in caplog.text
    with pytest.raises(Exception):
        standard_figures(run, run / "figures", strict=True)


# --------------------------------------------------------------------------------------------------
# report, comparison, CLI wiring
# --------------------------------------------------------------------------------------------------
def _images(html):
    import re

    return re.findall(r'<img [^>]*src="([^"]*)"', html)


def test_inspect_report_is_self_contained(tmp_path, no_warnings):
    from spikelearn.analysis import inspect_run

    run = make_run(tmp_path, n_in=30, duration=4.0, rate=15.0)
    report = inspect_run([run], window="0:3", neurons=list(range(20)), bin_size=0.05)
    assert report == run / "inspect" / "report.html"
    html = report.read_text()
    images = _images(html)
    figures = sorted(p.name for p in (run / "inspect").glob("*.png"))
    assert len(images) == len(figures) >= 8
    assert all(src.startswith("data:image/png;base64,") for src in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    for name in ("correlations_inputs.png", "variability_inputs.png", "correlograms_inputs.png",
                 "weights_c_matrix.png"):
        assert name in figures
    assert "class='pass'>pass" in html and "class='fail'>FAIL" in html
    assert "rate_ok" in html and "synthetic run for analysis tests" in html  # claims and scenario
    assert "&quot;command&quot;: &quot;synthetic&quot;" in html  # provenance
    assert "mean pairwise r" in html


def test_run_report_embeds_the_run_figures(tmp_path, no_warnings):
    """The report written at the end of every run: the figures of RUN/figures, sorted into sections."""
    import matplotlib.pyplot as plt

    from spikelearn.runner import write_run_report

    run = make_run(tmp_path, n_in=10, n_out=2)
    standard_figures(run, run / "figures", strict=True)
    fig = plt.figure()
    fig.savefig(run / "figures" / "task_curve.png")
    plt.close(fig)
    html = write_run_report(run).read_text()
    figures = sorted(p.name for p in (run / "figures").glob("*.png"))
    assert len(_images(html)) == len(figures) == 5
    assert html.index("raster_inputs.png") < html.index("weights_c.png") < html.index("task_curve.png")
    assert f"run <code>{RUN_ID}</code>" in html and "status <b>complete</b>" in html
    assert f"spikelearn inspect {run}" in html


def test_compare_two_runs(tmp_path, no_warnings):
    from spikelearn.analysis import inspect_run
    from spikelearn.analysis.compare import scenario_differences

    a = make_run(tmp_path / "a", n_in=10, n_out=2, seed=1)
    b = make_run(tmp_path / "b", n_in=10, n_out=2, seed=2, rate=20.0)
    scenario = (b / "scenario.toml").read_text().replace('device = "runtime"', 'device = "cpp"')
    (b / "scenario.toml").write_text(scenario)
    report = inspect_run([a, b], out=tmp_path / "cmp")
    html = report.read_text()
    assert "overlay_rate_inputs.png" in html and "overlay_weights_c.png" in html
    assert (tmp_path / "cmp" / "A" / "raster_inputs.png").exists()
    assert (tmp_path / "cmp" / "B" / "raster_inputs.png").exists()
    assert all(src.startswith("data:image/png;base64,") for src in _images(html))
    assert "<td>device</td>" in html  # the scenario difference is listed
    assert scenario_differences({"a": {"b": 1}, "c": 2}, {"a": {"b": 2}, "c": 2}) == [("a.b", 1, 2)]
    with pytest.raises(ValueError, match="one run directory, or two"):
        inspect_run([a, b, a])


def test_cli_wiring(tmp_path, capsys):
    import argparse

    from spikelearn.analysis import add_export_arguments, add_inspect_arguments
    from spikelearn.errors import SpikelearnError

    run = make_run(tmp_path, n_in=10, n_out=2)
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_inspect_arguments(sub.add_parser("inspect"))
    add_export_arguments(sub.add_parser("export"))
    args = parser.parse_args(["inspect", str(run), "--window", "0:1*second", "--neurons", "0-4,7",
                              "--populations", "inputs", "--bin-size", "20*ms", "--format", "pdf",
                              "--out", str(tmp_path / "o")])
    assert args.func(args) == 0
    assert "report:" in capsys.readouterr().out
    assert (tmp_path / "o" / "raster_inputs.pdf").read_bytes()[:4] == b"%PDF"
    assert not (tmp_path / "o" / "raster_out.pdf").exists()
    # the report embeds the PNG copies of the PDF figures
    images = _images((tmp_path / "o" / "report.html").read_text())
    assert len(images) == len(list((tmp_path / "o").glob("*.pdf"))) > 0
    args = parser.parse_args(["inspect", str(run), "--window", "2:1"])
    with pytest.raises(SpikelearnError, match="window stop must be after start"):
        args.func(args)
    args = parser.parse_args(["export", str(run), "--nwb", str(tmp_path / "x.nwb")])
    assert args.func(args) == 0
    with pytest.raises(SpikelearnError, match="exists"):
        args.func(args)


# --------------------------------------------------------------------------------------------------
# NWB
# --------------------------------------------------------------------------------------------------
def test_nwb_round_trip(tmp_path, no_warnings):
    from pynwb import NWBHDF5IO

    from spikelearn.analysis import export_nwb
    from spikelearn.analysis.nwb import read_nwb_spikes

    run = make_run(tmp_path, n_in=12, n_out=2, duration=3.0)
    out = export_nwb(run, tmp_path / "run.nwb")
    back = read_nwb_spikes(out)
    assert sorted(back) == ["inputs", "out"]
    for pop in ("inputs", "out"):
        with np.load(run / "data" / f"spikes_{pop}.npz") as f:
            i, t = f["i"], f["t"]
        order = np.lexsort((i, t))
        bi, bt = back[pop]
        assert_array_equal(bi, i[order])
        assert_array_equal(bt, t[order])  # float64 seconds survive exactly
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert len(nwb.units) == 14  # every neuron is a unit, silent ones included
        with np.load(run / "data" / "spikes_out.npz") as f:
            expected = np.sort(f["t"][f["i"] == 1])
        rows = [k for k in range(14) if nwb.units["population"][k] == "out" and nwb.units["neuron_index"][k] == 1]
        assert_array_equal(nwb.units.get_unit_spike_times(rows[0]), expected)  # pynwb's own per-unit read
        assert nwb.protocol == (run / "scenario.toml").read_text()
        assert json.loads(nwb.notes)["command"] == "synthetic"
        assert nwb.session_id == RUN_ID
        assert nwb.session_description == "synthetic run for analysis tests"
    with pytest.raises(FileExistsError):
        export_nwb(run, out)


# --------------------------------------------------------------------------------------------------
# long: the report in a real browser; a real run
# --------------------------------------------------------------------------------------------------
CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)

_CHECK_IMAGES = """<script>
window.addEventListener("load", function () {
  var bad = Array.from(document.images).filter(function (im) { return !(im.complete && im.naturalWidth > 0); });
  var p = document.createElement("p"); p.id = "image-check";
  p.textContent = "IMAGES " + document.images.length + " BROKEN " + bad.length;
  document.body.appendChild(p);
});
</script></body>"""


def _decoded_images(html):
    """Every <img> of ``html`` decoded from its data: URI, as (mime, bytes); fails on any other source."""
    import base64
    import re

    out = []
    for src in _images(html):
        m = re.fullmatch(r"data:(image/png|image/svg\+xml);base64,([A-Za-z0-9+/=]+)", src)
        assert m, f"image not embedded as a base64 data: URI: {src[:80]}"
        out.append((m.group(1), base64.b64decode(m.group(2), validate=True)))
    return out


@pytest.mark.long
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (Debian package `chromium`)")
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_report_renders_in_headless_chromium(tmp_path, fmt):
    """report.html opened from disk by headless Chromium: every image is an embedded data: URI that the
    browser decodes (naturalWidth > 0), and the screenshot shows a page with figures, not a blank one."""
    import matplotlib.image as mpimg

    from spikelearn.analysis import inspect_run

    run = make_run(tmp_path, n_in=20, duration=3.0, rate=15.0)
    report = inspect_run([run], fmt=fmt)
    html = report.read_text()
    images = _decoded_images(html)
    assert len(images) >= 8
    for mime, data in images:  # what Python decodes is a whole image of the stated type
        if mime == "image/png":
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[-8:-4] == b"IEND"
        else:
            assert data.lstrip().startswith(b"<?xml") and data.rstrip().endswith(b"</svg>")
    probe = tmp_path / "probe.html"  # a copy with a script that counts the images the browser decoded
    probe.write_text(html.replace("</body>", _CHECK_IMAGES))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert f"IMAGES {len(images)} BROKEN 0" in dom, dom[-500:]
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1280,2000", report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = mpimg.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2000, 1280)
    # the page is mostly white, but the first screen holds tables and a raster: many dark pixels
    dark = (pixels.mean(axis=2) < 0.3).mean()
    assert 0.002 < dark < 0.5, dark


@pytest.mark.long
def test_song_stdp_short_run_figures_and_report(tmp_path):
    """A real (short, runtime-device) song-stdp run: its figures and report without errors or warnings."""
    import sys

    exe = Path(sys.executable).with_name("spikelearn")
    if not exe.exists():
        pytest.skip(f"spikelearn command not installed next to {sys.executable}")
    subprocess.run([str(exe), "run", "song-stdp", "--set", 'duration="2*second"', "--device", "runtime",
                    "--out", str(tmp_path), "--no-progress"], check=True, capture_output=True, timeout=600)
    (run,) = [p for p in (tmp_path / "song-stdp").iterdir() if not p.name.startswith(".")]
    assert (run / "figures" / "raster_inputs.png").exists()
    assert len(_images((run / "report.html").read_text())) == len(list((run / "figures").glob("*.png")))
    from spikelearn.analysis import inspect_run

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = inspect_run([run])
    html = report.read_text()
    assert "song_weights_rate.png" in html  # the task's own figure is included
    assert len(_images(html)) >= 8
    shutil.rmtree(run)
