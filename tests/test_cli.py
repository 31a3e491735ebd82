"""The command line: one-line errors with exit status 1, tracebacks only with --debug, instant --help."""

import subprocess
import sys

import pytest

from spikelearn.cli import main


def test_help_does_not_import_brian2():
    code = "import sys, spikelearn.cli as c; c.build_parser().format_help(); print('brian2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_user_error_is_one_line_exit_1(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\nduration = "-1*second"\n')
    assert main(["validate", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"spikelearn: error: {bad}: duration: must be > 0, found: '-1*second'"


def test_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndevice = "gpu"\n')
    from spikelearn.errors import ScenarioError

    with pytest.raises(ScenarioError):
        main(["--debug", "validate", str(bad)])


def test_list_and_validate_builtin(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in ("song-stdp", "stdp_additive", "lif_cond", "poisson", "song_stdp"):
        assert name in out
    assert main(["validate", "song-stdp"]) == 0
    assert "valid scenario 'song-stdp'" in capsys.readouterr().out


def test_unknown_plugin_file_is_a_user_error(capsys):
    assert main(["list", "--plugin", "/nonexistent/rule.py"]) == 1
    assert "plugin file /nonexistent/rule.py: not found" in capsys.readouterr().err


def test_run_prints_claims_and_strict_exit_code(tmp_path, capsys):
    # a 2-second Song run cannot be bimodal yet: the run completes (exit 0) and --strict turns the
    # failed claim into exit status 3 (2 is argparse's usage error)
    args = ["run", "song-stdp", "--device", "runtime", "--set", 'duration="2*second"', "--set",
            "populations.inputs.size=100", "--out", str(tmp_path), "--no-progress"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "[FAIL] bimodal_weights" in out and "run directory:" in out
    assert main(args + ["--strict"]) == 3


def test_run_without_figures_writes_metrics_and_no_figures(tmp_path, capsys):
    """``--no-figures``: the run is complete with its metrics and claims; figures and report.html are
    left to ``spikelearn inspect``."""
    import json
    from pathlib import Path

    args = ["run", "song-stdp", "--device", "runtime", "--set", 'duration="0.5*second"', "--set",
            "populations.inputs.size=50", "--out", str(tmp_path), "--no-progress", "--no-figures"]
    assert main(args) == 0
    [run] = list((tmp_path / "song-stdp").iterdir())
    assert json.loads((run / "status.json").read_text())["status"] == "complete"
    assert json.loads((run / "metrics.json").read_text())["claims"]
    assert not list(Path(run, "figures").glob("*")) and not (run / "report.html").exists()
