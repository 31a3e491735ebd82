"""The Song–Miller–Abbott scenario: its claims hold at 100 s on cpp, and the negative control
(depression weaker than potentiation) fails them the way the paper describes: weights pile up at wmax
and the output rate runs away."""

import pytest

from spikelearn.results import RunResult
from spikelearn.run import run_scenario
from spikelearn.scenario import load_scenario

pytestmark = pytest.mark.standalone


def run_song(registry, tmp_path, overrides=()):
    sc = load_scenario("song-stdp", registry, list(overrides))
    return run_scenario(sc, registry, out_root=tmp_path, progress=False)


def claims(outcome):
    return {c["name"]: c for c in outcome.claims}


def test_song_claims_hold(registry, tmp_path):
    outcome = run_song(registry, tmp_path)
    c = claims(outcome)
    assert c["bimodal_weights"]["passed"], c["bimodal_weights"]
    assert c["output_rate_regulated"]["passed"], c["output_rate_regulated"]
    assert (outcome.path / "figures").is_dir()
    w = RunResult(outcome.path).weights("inputs_to_out")
    assert w["w_final"].min() >= 0 and w["w_final"].max() <= 0.01 + 1e-12


def test_negative_control_fails_like_the_paper(registry, tmp_path):
    outcome = run_song(registry, tmp_path, ["connections.inputs_to_out.plasticity.depression_ratio=0.9"])
    c = claims(outcome)
    assert not c["bimodal_weights"]["passed"]
    assert not c["output_rate_regulated"]["passed"]
    m = outcome.metrics
    assert m["fraction_near_wmax"] > 0.5, "weights pile up at wmax"
    assert m["fraction_near_zero"] < 0.15
    assert m["output_rate_late_hz"] > 30, "the output rate runs away"


@pytest.mark.long
@pytest.mark.parametrize("seed", [2, 3, 4])
def test_song_claims_hold_for_other_seeds(seed, registry, tmp_path):
    outcome = run_song(registry, tmp_path, [f"seed={seed}"])
    assert all(c["passed"] for c in outcome.claims), outcome.claims
