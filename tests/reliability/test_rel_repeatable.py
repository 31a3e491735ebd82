"""Runs are repeatable anywhere: a run keeps copies of its plugin files (with their SHA-256) and the
spikelearn checkout's commit; ``inspect`` and ``export`` say in one line what they could not write or
which option value is wrong; the contract kit leaves nothing in the temporary folder; exit statuses
(3 for a failed claim under ``--strict``, 2 only for usage errors) and ``--debug`` after the command."""

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from test_rel_repro import SMALL, assert_bitwise_equal

from spikelearn.cli import main

ROOT = Path(__file__).resolve().parents[2]
TRIPLET = ROOT / "examples" / "triplet_stdp.py"


def _runs(root):
    return sorted(p for p in root.iterdir() if not p.name.startswith("."))


def _triplet_run(tmp_path, monkeypatch):
    """A finished runtime run that used ``--plugin <tmp>/src/triplet_stdp.py``; returns (run, plugin)."""
    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])
    plugin = tmp_path / "src" / "triplet_stdp.py"
    plugin.parent.mkdir()
    shutil.copy(TRIPLET, plugin)
    path = tmp_path / "src" / "triplet.toml"
    path.write_text(SMALL.format(device="runtime").replace('name = "repro"', 'name = "triplet"').replace(
        'rule = "stdp_additive", wmax = 0.02', 'rule = "triplet_stdp", wmax = 0.02'))
    out = tmp_path / "runs"
    assert main(["run", str(path), "--plugin", str(plugin), "--out", str(out), "--no-progress"]) == 0
    (run,) = _runs(out / "triplet")
    return run, plugin


def test_run_repeats_from_a_moved_run_directory_without_the_plugin_file(tmp_path, capsys, monkeypatch):
    run, plugin = _triplet_run(tmp_path, monkeypatch)
    digest = hashlib.sha256(plugin.read_bytes()).hexdigest()
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["plugins"] == [{"file": "plugins/triplet_stdp.py", "source": str(plugin), "sha256": digest}]
    assert (run / "plugins" / "triplet_stdp.py").read_bytes() == plugin.read_bytes()

    # the original plugin file is gone, the run directory moved, the command runs from elsewhere
    shutil.rmtree(plugin.parent)
    moved = tmp_path / "archive" / run.name
    moved.parent.mkdir()
    shutil.move(run, moved)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["run", str(moved / "scenario.toml"), "--out", "again", "--no-progress"]) == 0
    (second,) = _runs(elsewhere / "again" / "triplet")
    assert_bitwise_equal(moved, second)
    # the repeat keeps its own copy: it repeats too
    again = json.loads((second / "provenance.json").read_text())["plugins"]
    assert again == [{"file": "plugins/triplet_stdp.py", "source": str(moved / "plugins" / "triplet_stdp.py"),
                      "sha256": digest}]
    assert (second / "plugins" / "triplet_stdp.py").read_bytes() == (moved / "plugins" / "triplet_stdp.py").read_bytes()
    capsys.readouterr()

    # a copy edited after the run is used, with a warning naming it
    with open(moved / "plugins" / "triplet_stdp.py", "a") as f:
        f.write("# edited\n")
    assert main(["validate", str(moved / "scenario.toml")]) == 0
    err = capsys.readouterr().err
    assert f"spikelearn: warning: {moved / 'plugins' / 'triplet_stdp.py'}: differs from the plugin file the run used" in err


def test_provenance_records_the_source_checkout_commit(tmp_path, monkeypatch):
    if not (ROOT / ".git").exists():
        pytest.skip("spikelearn is not installed from a git checkout here")
    run, _ = _triplet_run(tmp_path, monkeypatch)

    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()

    from spikelearn.runner import NOT_RUN

    recorded = json.loads((run / "provenance.json").read_text())["spikelearn_git"]
    changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
    code = [line for line in changed if not line[3:].startswith(tuple(f"{p}/" for p in NOT_RUN))]
    assert recorded == {"commit": git("rev-parse", "HEAD"), "dirty": bool(code)}


def test_failed_claim_under_strict_exits_3_and_usage_errors_2(write_scenario, monkeypatch, capsys):
    from conftest import TINY_SCENARIO

    from spikelearn.runner import RunOutcome

    claim = {"name": "c", "statement": "s", "passed": False, "value": 0.0, "threshold": 1.0}
    monkeypatch.setattr("spikelearn.runner.run_scenario", lambda *a, **k: RunOutcome(Path("r"), {}, [claim]))
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


def test_contract_checks_leave_nothing_in_the_temporary_folder(tmp_path, monkeypatch, capsys, plasticity_kit):
    import tempfile

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert main(["check-plugin", "stdp_additive", "--device", "runtime"]) == 0
    assert "passes every check" in capsys.readouterr().out
    from spikelearn.testing import run_pairs

    run_pairs("stdp_additive", deltas_ms=[-10.0, 10.0])
    # the pytest fixture writes its runs under the test's tmp_path, whichever function is called
    plasticity_kit.run_pairs("stdp_additive", deltas_ms=[-10.0, 10.0])
    # (Brian2's own per-process log and script copy, brian_debug_*.log and brian_script_*.py, go there too)
    assert [p.name for p in temp.iterdir() if not p.name.startswith("brian_")] == []
    assert any(p.name == "check-stdp_additive" for p in tmp_path.iterdir())


# -- inspect and export: what cannot be written, and option values -----------------------------------

@pytest.fixture
def tiny_run(write_scenario, tmp_path, monkeypatch, capsys):
    """A finished short runtime run directory (no figures)."""
    from conftest import TINY_SCENARIO

    monkeypatch.setattr("spikelearn.runner.make_figures", lambda result, task: [])
    assert main(["run", str(write_scenario(TINY_SCENARIO)), "--out", str(tmp_path / "runs"), "--no-progress"]) == 0
    capsys.readouterr()
    (run,) = _runs(tmp_path / "runs" / "tiny")
    return run


def _read_only(monkeypatch, root):
    """Storage under ``root`` refuses writes like a read-only file system (tests run as root, where
    permission bits do not stop writes): new folders and written files fail with EROFS."""
    import errno
    import os

    root = Path(root).resolve()
    real_mkdir, real_write_text = Path.mkdir, Path.write_text

    def refused(path):
        return Path(path).resolve().is_relative_to(root)

    def mkdir(self, *args, **kwargs):
        if refused(self) and not self.is_dir():
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    def write_text(self, *args, **kwargs):
        if refused(self):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(Path, "write_text", write_text)


def _one_error_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("spikelearn: error: ") and "Traceback" not in err, err
    return lines[0]


def test_inspect_of_a_run_on_read_only_storage_names_the_folder_and_the_out_option(tiny_run, tmp_path, monkeypatch,
                                                                                 capsys):
    _read_only(monkeypatch, tiny_run)
    assert main(["inspect", str(tiny_run)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line == (f"spikelearn: error: inspect: --out: cannot write to {tiny_run / 'inspect'} (Read-only file "
                    "system); by default the report goes inside the run directory: choose a writable folder with "
                    "--out DIR")
    # a comparison's default folder is inside the first run too
    assert main(["inspect", str(tiny_run), str(tiny_run)]) == 1
    assert f"cannot write to {tiny_run / ('compare-' + tiny_run.name)}" in _one_error_line(capsys.readouterr().err)
    # an existing but read-only output folder is refused too
    assert main(["inspect", str(tiny_run), "--out", str(tiny_run / "data")]) == 1
    assert f"inspect: --out: cannot write to {tiny_run / 'data'} (Read-only" in _one_error_line(capsys.readouterr().err)
    # --out elsewhere works
    assert main(["inspect", str(tiny_run), "--out", str(tmp_path / "elsewhere")]) == 0
    assert (tmp_path / "elsewhere" / "report.html").is_file()


def test_export_to_unwritable_storage_names_the_path_and_the_nwb_option(tiny_run, tmp_path, monkeypatch, capsys):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    _read_only(monkeypatch, read_only)
    for target in (read_only / "sub" / "x.nwb", read_only / "x.nwb"):
        assert main(["export", str(tiny_run), "--nwb", str(target)]) == 1
        line = _one_error_line(capsys.readouterr().err)
        assert line == (f"spikelearn: error: export: --nwb: cannot write to {target.parent} (Read-only file system); "
                        "choose a writable path with --nwb OUT.nwb")


def test_export_that_fails_while_writing_leaves_no_partial_file(tiny_run, tmp_path, monkeypatch, capsys):
    import errno

    from pynwb import NWBHDF5IO

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(NWBHDF5IO, "write", full)
    assert main(["export", str(tiny_run), "--nwb", str(tmp_path / "out" / "x.nwb")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"spikelearn: error: export: --nwb: cannot write {tmp_path / 'out' / 'x.nwb'} (No space")
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("option, value, words", [
    ("--bin-size", "5*mV", ["inspect: --bin-size: '5*mV' is a voltage", "expected a time", "5*ms"]),
    ("--bin-size", "5*msec", ["inspect: --bin-size: unknown unit 'msec'", "expected a time"]),
    ("--corr-bin", "20*Hz", ["inspect: --corr-bin: '20*Hz' is a rate", "expected a time"]),
    ("--sort-by", "prefered", ["inspect: --sort-by: no per-neuron attribute 'prefered'", "allowed: none saved",
                               "'' for index order"]),
])
def test_inspect_option_with_a_wrong_value_is_one_line_naming_option_value_and_allowed(option, value, words, tiny_run,
                                                                                      capsys):
    assert main(["inspect", str(tiny_run), option, value]) == 1
    line = _one_error_line(capsys.readouterr().err)
    for w in words:
        assert w in line, line
    assert not (tiny_run / "inspect").exists()


def test_inspect_sort_by_names_the_attributes_a_run_saved(tiny_run, capsys):
    import numpy as np

    np.savez(tiny_run / "data" / "attributes_out.npz", preferred=np.array([1.0, 0.0]), tuning=np.array([0.5, 0.2]))
    assert main(["inspect", str(tiny_run), "--sort-by", "tunning"]) == 1
    assert "allowed: preferred, tuning, or '' for index order" in _one_error_line(capsys.readouterr().err)
    assert main(["inspect", str(tiny_run), "--sort-by", "tuning"]) == 0
