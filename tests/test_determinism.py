"""A model with several noise terms draws them in the same order in every process
(``spikelearn.brian2_patches.ordered_noise``, entered by every device session):
a run repeats bitwise in a new process whatever its hash seed; Brian2 is restored afterwards."""

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "reliability"))
from test_rel_repro import assert_bitwise_equal  # noqa: E402

TWO_NOISES = '''
name = "two-noises"
seed = 3
duration = "20*ms"
device = "{device}"
[models.ou2]
equations = """
dx1/dt = -x1/tau + sqrt(2/tau)*xi_1 : 1
dx2/dt = -x2/tau + 0.5*sqrt(2/tau)*xi_2 : 1
"""
parameters = {{ tau = "5*ms" }}
[populations.p]
model = "ou2"
size = 3
[record]
spikes = []
states = {{ p = {{ variables = ["x1", "x2"], indices = 3, dt = "0.1*ms" }} }}
'''


def test_sorted_iteration_set_iterates_sorted_and_brian2_is_restored():
    from brian2 import Equations

    from spikelearn.brian2_patches import SortedIterationSet, ordered_noise

    assert list(SortedIterationSet({"xi_2", "xi_10", "xi_1"})) == ["xi_1", "xi_10", "xi_2"]
    original = Equations.__dict__["stochastic_variables"]
    eqs = Equations("dx/dt = xi_2/second**.5 + xi_1/second**.5 : 1")
    with ordered_noise():
        assert list(eqs.stochastic_variables) == ["xi_1", "xi_2"]
    assert Equations.__dict__["stochastic_variables"] is original


def test_two_noise_terms_repeat_in_processes_with_other_hash_seeds(device, tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(TWO_NOISES.format(device=device))
    runs = []
    for hash_seed in ("1", "2", "3"):
        out = tmp_path / f"runs{hash_seed}"
        subprocess.run([sys.executable, "-m", "spikelearn.cli", "run", str(path), "--out", str(out), "--no-progress"],
                       check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": hash_seed})
        runs.append(next((out / "two-noises").iterdir()))
    assert_bitwise_equal(runs[0], runs[1])
    assert_bitwise_equal(runs[0], runs[2])
