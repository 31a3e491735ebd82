"""`spikelearn reproduce`: the manifest covers every built-in scenario, verdicts of runs and controls, the
results page generated from records, resumption, and one short run end to end."""

import json

import pytest

from spikelearn.errors import ScenarioError
from spikelearn.reproduce import Job, current_record, load_manifest, plan, reproduce, verdict, write_results_page
from spikelearn.scenario import builtin_scenarios


def _claim(name, passed, value=1.0):
    return {"name": name, "statement": f"{name} holds", "value": value, "threshold": [0, 1], "passed": passed}


def test_manifest_covers_every_builtin_scenario_with_claims_controls_and_references():
    manifest = load_manifest()
    assert sorted(manifest["scenarios"]) == sorted(builtin_scenarios())
    for name, entry in manifest["scenarios"].items():
        assert entry["seeds"], name
        for control in entry.get("controls", {}).values():
            assert control["set"] and (control.get("must_fail") or control.get("must_pass")), name


@pytest.mark.parametrize("text, message", [
    ("[papers.p]\ntitle='x'\n[scenarios.song-stdp]\npaper='q'\n", "scenarios.song-stdp.paper: 'q'; allowed: p"),
    ("[papers.p]\n[scenarios.no-such]\npaper='p'\n", "scenarios.no-such: no built-in scenario 'no-such'"),
    ("[papers.p]\n[scenarios.song-stdp]\npaper='p'\nseed=[1]\n", "scenarios.song-stdp: unknown key 'seed'"),
    ("[papers.p]\n[scenarios.song-stdp]\npaper='p'\n[scenarios.song-stdp.controls.c]\nset=['seed=2']\n",
     "scenarios.song-stdp.controls.c: a control needs"),
    ("[papers.p]\n[scenarios.song-stdp]\npaper='p'\ndevice='gpu'\n", "device: 'gpu'; allowed: runtime, cpp, cuda"),
])
def test_manifest_errors_name_the_key(text, message):
    with pytest.raises(ScenarioError, match="papers.toml: ") as info:
        load_manifest(text, source="papers.toml")
    assert message in str(info.value)


def test_plan_selects_papers_or_scenarios_with_their_seeds_and_controls():
    manifest = load_manifest("[papers.p]\n[scenarios.song-stdp]\npaper='p'\nseeds=[3, 5]\n"
                             "[scenarios.song-stdp.controls.c]\nset=['duration=\"1*second\"']\nmust_fail=['x']\n"
                             "[scenarios.stdp-window-ou]\npaper='p'\n")
    jobs = plan(manifest, ["song-stdp"])
    assert [(j.variant, j.seed, j.device) for j in jobs] == [("main", 3, "cpp"), ("main", 5, "cpp"), ("c", 1, "cpp")]
    assert [j.seed for j in plan(manifest, ["song_stdp"], seeds=3, controls=False)] == [3, 5, 1]
    assert {j.scenario for j in plan(manifest, ["p"], device="runtime")} == {"song-stdp", "stdp-window-ou"}
    with pytest.raises(Exception, match="neither a paper nor a scenario"):
        plan(manifest, ["song"])


def test_verdicts_of_runs_and_controls():
    main = Job("song-stdp", "main", 1, "cpp", not_reproduced=["b"])
    assert verdict(main, "complete", [_claim("a", True), _claim("b", False)]) == (
        True, "1/1 claims pass; not reproduced, as reported: b")
    assert not verdict(main, "complete", [_claim("a", False), _claim("b", False)])[0]
    assert not verdict(main, "incomplete", [])[0]
    control = Job("song-stdp", "c", 1, "cpp", overrides=["x=1"], must_fail=["a"])
    assert verdict(control, "complete", [_claim("a", False)]) == (True, "fails a, as a control must")
    ok, text = verdict(control, "complete", [_claim("a", True)])
    assert not ok and "PASSES a" in text
    assert not verdict(control, "complete", [_claim("z", False)])[0]  # a renamed claim is not a pass


def _record(tmp_path, **kw):
    record = {"scenario": "song-stdp", "variant": "main", "seed": 1, "device": "cpp", "overrides": [],
              "must_fail": [], "not_reproduced": [], "status": "complete", "reason": None, "ok": True,
              "verdict": "1/1 claims pass", "claims": [_claim("late_rate", True, 19.6)], "metrics": {},
              "fingerprint": "x", "commit": {"commit": "abcdef0123", "dirty": False}, "machine": {"cores": 2, "cpu": "c"},
              "started": "2026-12-05T00:00:00+00:00", "finished": "2026-12-05T00:01:00+00:00",
              "wall_s": 60.0, "cpu_s": 55.0, "run_dir": None}
    record.update(kw)
    path = tmp_path / "records" / record["scenario"] / f"{record['variant']}-seed{record['seed']}-{record['device']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_results_page_is_generated_from_the_records(tmp_path):
    manifest = load_manifest("[papers.song2000]\ncite='Song et al. 2000'\n[scenarios.song-stdp]\npaper='song2000'\n"
                             "seeds=[1]\n[scenarios.song-stdp.reference]\nlate_rate='Fig. 2: ~20 Hz'\n"
                             "[scenarios.stdp-window-ou]\npaper='song2000'\n")
    _record(tmp_path)
    _record(tmp_path, variant="dep", seed=1, overrides=["a=1"], must_fail=["late_rate"],
            claims=[_claim("late_rate", True, 40.0)], ok=False, verdict="control PASSES late_rate, which it must fail")
    write_results_page(manifest, tmp_path)
    page = (tmp_path / "results.md").read_text()
    assert "do not edit" in page and "## Song et al. 2000" in page
    assert "| `late_rate` | late_rate holds | [0, 1] | Fig. 2: ~20 Hz | pass: 19.6 |" in page
    assert "| dep | --set a=1 | late_rate | 1 (cpp) | control PASSES late_rate, which it must fail (late_rate = 40) |" in page
    assert "0/1 fail as required" in page and "2026-12-05, abcdef01" in page
    assert "No record yet: `spikelearn reproduce stdp-window-ou`" in page


def test_a_short_run_end_to_end_writes_its_record_and_is_not_rerun(tmp_path):
    """One run (song-stdp, 1 s on runtime) through the child process: its record, the page; a second call
    keeps the record; an edited scenario (another fingerprint) or --force would rerun it."""
    manifest = load_manifest("[papers.p]\n[scenarios.song-stdp]\npaper='p'\n")
    job = Job("song-stdp", "short", 1, "runtime", overrides=['duration="1*second"', 'device_options.target="numpy"'],
              must_fail=["output_rate_regulated"])
    lines = []
    records, stopped = reproduce([job], tmp_path, tmp_path / "runs", manifest, echo=lines.append)
    record = records[job.label]
    assert stopped is None and record["status"] == "complete", record
    assert {c["name"] for c in record["claims"]} == {"bimodal_weights", "output_rate_regulated"}
    assert record["cpu_s"] > 0 and record["machine"]["cores"] and record["fingerprint"]
    assert current_record(job, tmp_path / "records") is not None
    assert "short" in (tmp_path / "results.md").read_text()
    lines.clear()
    reproduce([job], tmp_path, tmp_path / "runs", manifest, echo=lines.append)
    assert lines == [f"{job.label}: {record['verdict']} (record of {record['finished'][:10]}, kept)"]


def test_a_control_with_its_own_claims_must_pass_them():
    control = Job("nudged-gradient", "feedback-none", 1, "cpp", must_pass=["no_feedback_no_hidden_change"])
    assert verdict(control, "complete", [_claim("no_feedback_no_hidden_change", True)]) == (
        True, "passes its own no_feedback_no_hidden_change, as a control must")
    assert verdict(control, "complete", [_claim("no_feedback_no_hidden_change", False)])[1] == (
        "control FAILS its own claim no_feedback_no_hidden_change")


@pytest.mark.parametrize("args, message", [
    (["--jobs", "0"], "reproduce: --jobs: 0; allowed: a whole number >= 1"),
    (["--seeds", "0"], "reproduce: --seeds: 0; allowed: a whole number >= 1"),
    (["--limit-minutes", "-1"], "reproduce: --limit-minutes: -1.0; allowed: a number of minutes > 0"),
    (["song"], "'song' is neither a paper nor a scenario"),
    (["--docs", "no/such/dir"], "reproduce: --docs: no/such/dir: no such directory"),
])
def test_cli_errors_are_one_line(args, message, tmp_path, capsys, monkeypatch):
    from spikelearn.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "papers").mkdir(parents=True)
    assert main(["reproduce", "--list", *args]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("spikelearn: error: ") and message in err and "\n" not in err, err


def test_cli_list_shows_every_run_and_pages_only_writes_the_page(tmp_path, capsys, monkeypatch):
    from spikelearn.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "papers").mkdir(parents=True)
    assert main(["reproduce", "--list", "song2000"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("song-stdp main seed 1 cpp") and lines[0].endswith("to run")
    assert any("song-stdp depression-0.9 seed 1 cpp" in line for line in lines)
    assert main(["reproduce", "--pages-only"]) == 0
    assert "No record yet" in (tmp_path / "docs" / "papers" / "results.md").read_text()
