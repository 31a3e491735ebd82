"""The shortened form of every built-in scenario (``short`` in ``spikelearn/papers.toml``): a run of
seconds to a minute whose listed claims must pass, with the scenario's own thresholds. The full-length
runs, every seed and the negative controls are ``spikelearn reproduce`` (docs/papers/results.md); a
scenario whose claims cannot hold in a shortened run lists none and is only run."""

import pytest

from spikelearn.reproduce import load_manifest
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

MANIFEST = load_manifest()
SHORT = {name: entry["short"] for name, entry in MANIFEST["scenarios"].items() if "short" in entry}


def test_every_builtin_scenario_has_a_short_form_or_a_reason():
    missing = [n for n, e in MANIFEST["scenarios"].items() if "short" not in e]
    assert not missing, f"no short form in spikelearn/papers.toml: {missing}"


@pytest.mark.parametrize("name", sorted(n for n, s in SHORT.items() if s.get("device", "cpp") != "cuda"))
def test_short_form_claims_pass(name, registry, tmp_path):
    short = SHORT[name]
    device = short.get("device", "cpp")
    scenario = load_scenario(name, registry, list(short.get("set", [])) + [f'device="{device}"'])
    outcome = run_scenario(scenario, registry, out_root=tmp_path, progress=False, figures=False)
    claims = {c["name"]: c for c in outcome.claims}
    for claim in short.get("claims", []):
        assert claim in claims, f"{name}: no claim {claim}; the run has {sorted(claims)}"
        assert claims[claim]["passed"], f"{name}: {claim}: {claims[claim]}"
