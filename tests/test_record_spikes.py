"""Spike recording limited to the first n neurons and/or a time window (`[record.spikes.POP]`): the same
spikes as an unlimited recording, restricted; keyed errors; the analysis uses the recorded window."""

import numpy as np
import pytest

from spikelearn.analysis import _io
from spikelearn.analysis.compare import activity_summary
from spikelearn.errors import ScenarioError
from spikelearn.registry import default_registry
from spikelearn.results import RunResult
from spikelearn.runner import estimate_memory, run_scenario
from spikelearn.scenario import load_scenario

BASE = '''
name = "limited"
seed = 4
dt = "0.1*ms"
duration = "400*ms"
device = "{device}"

[populations.inp]
model = "poisson"
size = 50
parameters = {{ rate = "40*Hz", method = "bernoulli" }}

[populations.out]
model = "lif_cond"
size = 4

[connections.c]
source = "inp"
target = "out"
weight = 0.03

{record}
'''
WHOLE = '[record]\nspikes = ["inp", "out"]\n'
LIMITED = '''[record.spikes]
inp = { indices = 20, start = "100*ms", stop = "250*ms" }
out = { start = "200*ms" }
'''


def _run(tmp_path, record, device="runtime", name="x"):
    registry = default_registry()
    path = tmp_path / f"{name}.toml"
    path.write_text(BASE.format(device=device, record=record))
    scenario = load_scenario(path, registry)
    return run_scenario(scenario, registry, out_root=tmp_path / name, progress=False, figures=False).path


def test_limited_recording_keeps_exactly_the_spikes_in_the_window(tmp_path, device):
    whole, limited = RunResult(_run(tmp_path, WHOLE, device, "whole")), RunResult(_run(tmp_path, LIMITED, device, "lim"))
    i, t = whole.spikes("inp")
    keep = (i < 20) & (t >= 0.1 - 1e-12) & (t < 0.25 - 1e-12)
    li, lt = limited.spikes("inp")
    assert keep.sum() > 20
    np.testing.assert_array_equal(li, i[keep])
    np.testing.assert_array_equal(lt, t[keep])  # the same network: recording does not change the spikes
    i, t = whole.spikes("out")
    li, lt = limited.spikes("out")
    np.testing.assert_array_equal(lt, t[t >= 0.2 - 1e-12])
    assert limited.spike_count_size("inp") == 20


def test_analysis_uses_the_recorded_window(tmp_path):
    run = RunResult(_run(tmp_path, LIMITED))
    assert _io.spike_window(run, "inp") == (0.1, 0.25)
    assert _io.spike_window(run, "out") == (0.2, 0.4)
    summary = activity_summary(run)["inp"]
    assert summary["neurons"] == 20
    assert summary["mean rate (Hz)"] == pytest.approx(summary["spikes"] / (20 * 0.15))
    assert 20 < summary["mean rate (Hz)"] < 60  # ~40 Hz, not diluted over the 0.4-s run


@pytest.mark.parametrize("entry, key, words", [
    ('inp = { indices = [1, 2] }', "record.spikes.inp.indices", "expected a count >= 1"),
    ('inp = { start = "300*ms", stop = "200*ms" }', "record.spikes.inp", "the window is empty"),
    ('inp = { stop = "2*second" }', "record.spikes.inp.stop", "must lie within the run"),
    ('inp = { begin = "1*ms" }', "record.spikes.inp.begin", "unknown key; allowed: indices, start, stop"),
    ('inp = { start = "10*mV" }', "record.spikes.inp.start", "expected a time"),
])
def test_bad_limits_are_keyed_errors(tmp_path, entry, key, words):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.format(device="runtime", record=f"[record.spikes]\n{entry}\n"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, default_registry())
    assert f": {key}: " in str(info.value) and words in str(info.value), str(info.value)


def test_a_claim_must_read_inside_the_recorded_window(tmp_path):
    path = tmp_path / "claim.toml"
    claim = '\n[claims.late]\nstatistic = "rate"\npopulation = "out"\nwindow = "300*ms"\nlow = "0*Hz"\n'
    path.write_text(BASE.format(device="runtime", record=LIMITED) + claim)
    with pytest.raises(ScenarioError, match=r"claims.late.window: the claim reads the last 0.3 s of the run, "
                                            r"but record.spikes.out keeps only \[0.2, 0.4\) s"):
        load_scenario(path, default_registry())
    path.write_text(BASE.format(device="runtime", record=LIMITED) + claim.replace("300*ms", "200*ms"))
    load_scenario(path, default_registry())


def test_the_memory_estimate_counts_only_what_is_kept(tmp_path):
    registry = default_registry()
    sizes = {}
    for name, record in (("whole", WHOLE), ("limited", LIMITED)):
        path = tmp_path / f"{name}.toml"
        path.write_text(BASE.format(device="runtime", record=record))
        parts = dict(estimate_memory(load_scenario(path, registry))[1])
        sizes[name] = parts["spikes of inp"]
    assert sizes["limited"] == pytest.approx(sizes["whole"] * (20 / 50) * (0.15 / 0.4))


def test_spikes_of_a_population_without_threshold_are_a_one_line_error(registry, tmp_path):
    """Found by tests/reliability/test_rel_properties.py (a mutated scenario recording a rate population's
    spikes): an error naming the file and record.spikes, not Brian2's traceback."""
    from spikelearn.errors import SpikelearnError
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    path = tmp_path / "nospk.toml"
    path.write_text('name = "nospk"\nseed = 1\ndt = "1*ms"\nduration = "10*ms"\ndevice = "runtime"\n'
                    '[models.ou]\nequations = "dv/dt = -v/(5*ms) : 1"\n[populations.a]\nmodel = "ou"\nsize = 3\n'
                    '[record]\nspikes = ["a"]\n')
    with pytest.raises(SpikelearnError, match="record.spikes: population 'a' does not spike"):
        run_scenario(load_scenario(path, registry), registry, out_root=tmp_path / "runs", progress=False, figures=False)
