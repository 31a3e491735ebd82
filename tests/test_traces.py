"""State-variable figures and the dense tiny-population view (spikelearn.analysis.traces), on run
directories written in the run-directory format."""

import numpy as np
import pytest

from spikelearn.analysis import standard_figures
from spikelearn.analysis import traces

from test_analysis import make_run


def _add_states(run, duration, units=True):
    t = np.arange(0, duration, 1e-3)
    v = -0.07 + 0.01 * np.sin(2 * np.pi * 5 * t)[None, :] * np.arange(1, 8)[:, None]
    arrays = {"t": t, "index": np.arange(7), "v": v, "ge": np.abs(v) * 10}
    if units:
        arrays.update(_unit_v=np.asarray("volt"), _unit_ge=np.asarray("1"))
    np.savez(run / "data" / "state_out.npz", **arrays)


def test_recorded_states_are_plotted_in_display_units(tmp_path, monkeypatch):
    run = make_run(tmp_path, duration=2.0)
    _add_states(run, 2.0)
    drawn = {}
    real = traces.state_figure

    def spy(data, title, **kw):
        fig = real(data, title, **kw)
        drawn.update({ax.get_ylabel(): [line.get_ydata() for line in ax.get_lines()] for ax in fig.axes})
        return fig

    monkeypatch.setattr("spikelearn.analysis.figures.state_figure", spy)
    names = [p.name for p in standard_figures(run, run / "figures", strict=True)]
    assert "state_out.png" in names
    assert set(drawn) == {"v (mV)", "ge"}
    assert len(drawn["v (mV)"]) == traces.MAX_TRACES  # 5 of the 7 recorded neurons
    assert np.isclose(np.min(drawn["v (mV)"][0]), -80.0, atol=0.1)  # -0.07 V - 0.01 V, shown in mV


def test_runs_recorded_without_units_still_get_their_state_figure(tmp_path):
    run = make_run(tmp_path, duration=20.0, rate=1.0)
    _add_states(run, 20.0, units=False)
    names = [p.name for p in standard_figures(run, run / "figures", strict=True)]
    assert {"state_out.png", "state_out_end.png"} <= set(names)  # a long run also gets its last 2 s


@pytest.mark.parametrize("rate, dense", [(200.0, True), (20.0, False)])
def test_a_dense_tiny_population_gets_rates_and_isis_instead_of_a_raster(tmp_path, monkeypatch, rate, dense):
    """One output neuron: 2 s at 200 Hz (400 spikes) would be a bar; at 20 Hz the raster stays."""
    run = make_run(tmp_path, n_out=1, duration=2.0, rate=rate, weights=False)
    called = []
    real = traces.isi_figure
    monkeypatch.setattr("spikelearn.analysis.figures.isi_figure",
                        lambda *a, **kw: called.append(kw["title"]) or real(*a, **kw))
    names = [p.name for p in standard_figures(run, run / "figures", strict=True)]
    assert "raster_out.png" in names
    assert ("out" in called) == dense
    assert "inputs" not in called  # 40 neurons: always a raster
