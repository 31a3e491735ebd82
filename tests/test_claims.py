"""Claims a scenario states itself (``[claims.NAME]``, no task): validated with keyed one-line errors,
evaluated after the run beside the task's, with the value each statistic has on the recorded data."""

import json

import numpy as np
import pytest

from spikelearn.errors import ScenarioError
from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

SHORT = ['device="runtime"', 'device_options.target="numpy"', 'duration="2*second"', "populations.inputs.size=200"]


def _song(registry, claims):
    return load_scenario("song-stdp", registry, SHORT + [f"claims.{k}={v}" for k, v in claims.items()])


def test_scenario_claims_are_evaluated_beside_the_tasks(registry, tmp_path):
    sc = load_scenario("song-stdp", registry, SHORT + [
        'claims.inputs_rate.statistic="rate"', 'claims.inputs_rate.population="inputs"',
        'claims.inputs_rate.low="13*Hz"', 'claims.inputs_rate.high="17*Hz"',
        'claims.poisson_cv.statistic="cv_isi"', 'claims.poisson_cv.population="inputs"',
        'claims.poisson_cv.window="1*second"', "claims.poisson_cv.low=0.8", "claims.poisson_cv.high=1.2",
        'claims.too_fast.statistic="rate"', 'claims.too_fast.population="inputs"', 'claims.too_fast.low="100*Hz"',
        'claims.w.statistic="weight_mean"', 'claims.w.connection="inputs_to_out"', "claims.w.high=0.01"])
    outcome = run_scenario(sc, registry, out_root=tmp_path, progress=False, figures=False)
    c = {x["name"]: x for x in json.loads((outcome.path / "metrics.json").read_text())["claims"]}
    assert {"bimodal_weights", "output_rate_regulated", "inputs_rate", "poisson_cv", "too_fast", "w"} <= set(c)
    result = RunResult(outcome.path)
    _, t = result.spikes("inputs")
    assert c["inputs_rate"]["value"] == pytest.approx(len(t) / 2.0 / 200)
    assert c["inputs_rate"]["passed"] and c["poisson_cv"]["passed"] and c["w"]["passed"]
    assert not c["too_fast"]["passed"] and c["too_fast"]["threshold"] == [100.0, None]
    assert c["w"]["value"] == pytest.approx(np.mean(result.weights("inputs_to_out")["w_final"]))
    assert "[claims.poisson_cv]" in c["poisson_cv"]["statement"] and "last 1 s" in c["poisson_cv"]["statement"]


@pytest.mark.parametrize("claims, key, message", [
    ({"statistic": '"median"', "population": '"out"', "low": "1"}, "claims.c.statistic", "allowed: cv_isi, fano"),
    ({"statistic": '"rate"', "population": '"nope"', "low": '"1*Hz"'}, "claims.c.population", "no population"),
    ({"statistic": '"rate"', "population": '"out"', "low": "1"}, "claims.c.low", "expected"),
    ({"statistic": '"rate"', "population": '"out"'}, "claims.c", "give low, high or both"),
    ({"statistic": '"weight_mean"', "population": '"out"', "high": "1"}, "claims.c.population", "reads a connection"),
    ({"statistic": '"cv_isi"', "population": '"out"', "window": '"9*second"', "low": "0"}, "claims.c.window",
     "longer than the run"),
    ({"statistic": '"rate"', "population": '"out"', "bin": '"10*ms"', "low": '"1*Hz"'}, "claims.c.bin", "only"),
])
def test_bad_claims_are_one_line_errors_naming_the_key(registry, claims, key, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario("song-stdp", registry, SHORT + [f"claims.c.{k}={v}" for k, v in claims.items()])
    text = str(info.value)
    assert key in text and message in text and "\n" not in text


def test_a_claim_on_unrecorded_spikes_says_what_to_record(registry):
    with pytest.raises(ScenarioError, match="not recorded"):
        load_scenario("song-stdp", registry, SHORT + ['record.spikes=["inputs"]', 'claims.c.statistic="rate"',
                                                      'claims.c.population="out"', 'claims.c.low="1*Hz"'])
