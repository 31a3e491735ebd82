"""Runs are repeatable anywhere: a run keeps copies of its plugin files (with their SHA-256) and the
spikelearn checkout's commit; ``inspect`` and ``export`` say in one line what they could not write or
which option value is wrong; the contract kit leaves nothing in the temporary folder; exit statuses
(3 for a failed claim under ``--strict``, 2 only for usage errors) and ``--debug`` after the command."""

from pathlib import Path

import pytest

from spikelearn.cli import main


def test_failed_claim_under_strict_exits_3_and_usage_errors_2(write_scenario, monkeypatch, capsys):
    from conftest import TINY_SCENARIO

    from spikelearn.run import RunOutcome

    claim = {"name": "c", "statement": "s", "passed": False, "value": 0.0, "threshold": 1.0}
    monkeypatch.setattr("spikelearn.run.run_scenario", lambda *a, **k: RunOutcome(Path("r"), {}, [claim]))
    path = str(write_scenario(TINY_SCENARIO))
    assert main(["run", path]) == 0
    assert main(["run", path, "--strict"]) == 3
    with pytest.raises(SystemExit) as usage:
        main(["run", path, "--no-such-option"])
    assert usage.value.code == 2
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for line in ("0 ok", "1 user error", "2 usage error", "3 `run --strict`: a claim failed"):
        assert line in help_text


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_is_accepted_before_and_after_the_command(where, tmp_path, capsys):
    from spikelearn.errors import ScenarioError

    bad = tmp_path / "bad.toml"
    bad.write_text("name = = 1")
    assert main(["validate", str(bad)]) == 1
    argv = ["--debug", "validate", str(bad)] if where == "before" else ["validate", str(bad), "--debug"]
    with pytest.raises(ScenarioError):
        main(argv)
