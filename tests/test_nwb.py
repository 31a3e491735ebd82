"""Tests of the NWB export (spikelearn.analysis.nwb) on a real, short run that records spikes, states,
weights (with a trace) and phases: a round trip of every array, the metadata options, and nwbinspector.
"""

import json
import logging

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

SCENARIO = '''
name = "nwb-small"
description = "small network for the NWB export tests"
seed = 2
dt = "0.1*ms"
duration = "200*ms"
device = "runtime"

[populations.inp]
model = "poisson"
size = 20
parameters = { rate = "50*Hz" }

[populations.out]
model = "lif_cond"
size = 3

[connections.c]
source = "inp"
target = "out"
connect = "all"
weight = "0.05 + rand()*0.05"
plasticity = { rule = "stdp_additive", wmax = 0.1 }

[phases]
kind = "blocks"
names = ["wake", "sleep"]
durations = ["50*ms", "30*ms"]

[record]
spikes = ["inp", "out"]
states = { out = { variables = ["v", "ge"], indices = [0, 2], dt = "1*ms" } }
weights = { c = { dt = "10*ms", indices = [1, 3, 4] } }
'''


@pytest.fixture(scope="module")
def run(tmp_path_factory, registry):
    """A finished 200 ms runtime run of SCENARIO (a few seconds)."""
    from spikelearn.runner import run_scenario
    from spikelearn.scenario import load_scenario

    root = tmp_path_factory.mktemp("nwb")
    path = root / "nwb_small.toml"
    path.write_text(SCENARIO)
    outcome = run_scenario(load_scenario(str(path), registry), registry, out_root=root / "runs", progress=False,
                           figures=False)
    return outcome.path


def _times(series):
    if series.timestamps is not None:
        return np.asarray(series.timestamps[:])
    return series.starting_time + np.arange(series.data.shape[0]) / series.rate


def test_round_trip_of_spikes_states_weights_and_phases(run, tmp_path):
    from pynwb import NWBHDF5IO

    from spikelearn.analysis.nwb import SIMULATED_SPECIES, export_nwb, read_nwb_spikes

    out = export_nwb(run, tmp_path / "run.nwb")
    data = run / "data"
    back = read_nwb_spikes(out)
    assert sorted(back) == ["inp", "out"]
    for pop in ("inp", "out"):
        with np.load(data / f"spikes_{pop}.npz") as f:
            i, t = f["i"], f["t"]
        assert i.size > 0
        order = np.lexsort((i, t))
        assert_array_equal(back[pop][0], i[order])
        assert_array_equal(back[pop][1], t[order])
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert nwb.units.resolution == pytest.approx(1e-4)  # the simulation dt
        assert len(nwb.units) == 23
        # states: one series per variable, (time, neuron), in the saved SI unit
        with np.load(data / "state_out.npz") as f:
            state = {k: f[k] for k in f.files}
        assert str(state["_unit_v"]) == "volt" and str(state["_unit_ge"]) == "1"
        columns = nwb.acquisition["trace_columns"].to_dataframe().set_index("series")
        for var, unit in (("v", "volt"), ("ge", "dimensionless")):
            series = nwb.acquisition[f"state_out_{var}"]
            assert series.unit == unit
            assert_array_equal(series.data[:], state[var].T)
            assert series.rate == 1000.0
            assert_allclose(_times(series), state["t"], rtol=0, atol=1e-12)
            assert list(columns.loc[f"state_out_{var}", "element"]) == [0, 2]
            assert (columns.loc[f"state_out_{var}", "source"], columns.loc[f"state_out_{var}", "variable"]) == ("out", var)
        # weights: the synapse table, and the trace with its synapse ids
        with np.load(data / "weights_c.npz") as f:
            weights = {k: f[k] for k in f.files}
        table = nwb.acquisition["weights_c"]
        assert_array_equal(table.id[:], np.arange(60))
        for column, key in (("pre", "i"), ("post", "j"), ("w_initial", "w_initial"), ("w_final", "w_final")):
            assert_array_equal(table[column].data[:], weights[key])
        trace = nwb.acquisition["weights_c_trace"]
        assert_array_equal(trace.data[:], weights["w_trace"].T)
        assert trace.unit == "dimensionless"
        assert_allclose(_times(trace), weights["t"], rtol=0, atol=1e-12)
        assert list(columns.loc["weights_c_trace", "element"]) == [1, 3, 4]
        # phases
        phases = json.loads((data / "phases.json").read_text())["intervals"]
        got = nwb.intervals["phases"].to_dataframe()
        assert [[p, a, b] for p, a, b in zip(got["phase"], got["start_time"], got["stop_time"])] == phases
        # the simulated subject
        assert (nwb.subject.subject_id, nwb.subject.species) == ("nwb-small", SIMULATED_SPECIES)
        assert (nwb.subject.sex, nwb.subject.age) == ("O", "P0D")
        assert "simulated" in nwb.subject.description
        assert nwb.session_description == "small network for the NWB export tests"


def _messages(path):
    from nwbinspector import inspect_nwbfile

    return list(inspect_nwbfile(nwbfile_path=str(path)))


def test_nwbinspector_finds_nothing_critical_nor_best_practice_violations(run, tmp_path):
    from nwbinspector import Importance

    from spikelearn.analysis.nwb import export_nwb

    out = export_nwb(run, tmp_path / "run.nwb", experimenter="Doe, Jane", institution="Simulation Institute")
    messages = _messages(out)
    serious = [m for m in messages if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION)]
    assert not serious, "\n".join(f"{m.importance.name} {m.check_function_name}: {m.message}" for m in serious)
    assert not {m.check_function_name for m in messages} & {"check_experimenter_exists", "check_institution"}
    # without the metadata options only those two suggestions remain
    bare = _messages(export_nwb(run, tmp_path / "bare.nwb"))
    assert sorted(m.check_function_name for m in bare) == ["check_experimenter_exists", "check_institution"]


def test_metadata_options_override_the_defaults(run, tmp_path):
    from pynwb import NWBHDF5IO

    from spikelearn.analysis.nwb import export_nwb

    out = export_nwb(run, tmp_path / "run.nwb", experimenter=["Doe, Jane", "Roe, Richard"], institution="EPFL",
                     lab="Neural Dynamics", subject_id="net-7", species="Mus musculus")
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert list(nwb.experimenter) == ["Doe, Jane", "Roe, Richard"]
        assert (nwb.institution, nwb.lab) == ("EPFL", "Neural Dynamics")
        assert (nwb.subject.subject_id, nwb.subject.species) == ("net-7", "Mus musculus")
    with pytest.raises(ValueError, match="must not contain '/'"):
        export_nwb(run, tmp_path / "bad.nwb", subject_id="a/b")


def test_cli_export_options(run, tmp_path, capsys):
    from pynwb import NWBHDF5IO

    from spikelearn.cli import main

    out = tmp_path / "cli.nwb"
    assert main(["export", str(run), "--nwb", str(out), "--experimenter", "Doe, Jane", "--experimenter",
                 "Roe, Richard", "--institution", "EPFL", "--lab", "Neural Dynamics", "--subject-id", "net-7",
                 "--species", "Mus musculus", "--populations", "out"]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert list(nwb.experimenter) == ["Doe, Jane", "Roe, Richard"]
        assert (nwb.institution, nwb.lab, nwb.subject.subject_id) == ("EPFL", "Neural Dynamics", "net-7")
        assert set(nwb.units["population"][:]) == {"out"}
    assert main(["export", str(run), "--nwb", str(tmp_path / "bad.nwb"), "--subject-id", "a/b"]) == 1
    err = capsys.readouterr().err.strip()
    assert "subject id must not contain '/'" in err and "\n" not in err


def test_runs_saved_without_units_export_unit_unknown(run, tmp_path, caplog):
    import shutil

    from pynwb import NWBHDF5IO

    from spikelearn.analysis.nwb import export_nwb

    old = tmp_path / "old"
    shutil.copytree(run, old)
    for name in ("state_out", "weights_c"):
        path = old / "data" / f"{name}.npz"
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files if not k.startswith("_unit_")}
        np.savez(path, **arrays)
    with caplog.at_level(logging.WARNING, logger="spikelearn.analysis.nwb"):
        out = export_nwb(old, tmp_path / "old.nwb")
    assert sum("no unit saved" in r.getMessage() for r in caplog.records) == 3  # v, ge, w
    with NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        assert nwb.acquisition["state_out_v"].unit == "unknown"
        assert nwb.acquisition["weights_c_trace"].unit == "unknown"
        assert "(unknown)" in nwb.acquisition["weights_c"]["w_final"].description
