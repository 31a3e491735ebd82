"""Shared fixtures: the registry, scenario-file writing, and the ``--device`` option.

``--device`` selects the device of device-parametrised tests (default: both ``runtime`` and ``cpp``).
"""

import sys
import textwrap
from pathlib import Path

import pytest

# the NumPy oracles that only tests use (tests/oracles/*.py) import by module name
sys.path.insert(0, str(Path(__file__).parent / "oracles"))

# a small valid scenario that tests mutate (tests/test_scenario.py, tests/reliability/test_rel_bad_input.py)
TINY_SCENARIO = '''
name = "tiny"
seed = 3
dt = "0.1*ms"
duration = "50*ms"
device = "runtime"

[populations.inp]
model = "poisson"
size = 5
parameters = { rate = "20*Hz" }

[populations.out]
model = "lif_cond"
size = 2

[connections.c]
source = "inp"
target = "out"
weight = 0.005
plasticity = { rule = "stdp_additive", tau_pre = "10*ms" }

[record]
spikes = ["inp", "out"]
'''


def pytest_addoption(parser):
    parser.addoption("--device", action="append", default=[], choices=("runtime", "cpp", "cuda"),
                     help="device(s) for device-parametrised tests (default: runtime and cpp)")


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        devices = metafunc.config.getoption("device") or ["runtime", "cpp"]
        metafunc.parametrize("device", devices)


@pytest.fixture(scope="session")
def registry():
    from spikelearn.registry import default_registry

    return default_registry()


@pytest.fixture
def write_scenario(tmp_path):
    """Write a scenario file from TOML text (dedented) and return its path."""
    counter = {"n": 0}

    def write(text, name=None):
        counter["n"] += 1
        path = tmp_path / (name or f"scenario_{counter['n']}.toml")
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def deterministic_network(write_scenario):
    """A network without random numbers (explicit input spikes -> 3 LIF neurons with additive STDP):
    every device must give the same spikes and weights. Returns ``make(device) -> scenario path``."""
    import numpy as np

    def make(device):
        rng = np.random.default_rng(5)
        n, n_spikes = 40, 4000
        cells = rng.choice(n * 5000, size=n_spikes, replace=False)  # distinct (neuron, 0.1 ms step) pairs
        idx, steps = cells % n, cells // n
        times = [f"{t}*second" for t in np.round(steps * 1e-4, 4)]
        return write_scenario(f'''
            name = "det"
            dt = "0.1*ms"
            duration = "500*ms"
            device = "{device}"
            [populations.inp]
            model = "spike_generator"
            size = {n}
            parameters = {{ indices = {idx.tolist()}, times = {times} }}
            [populations.out]
            model = "lif_cond"
            size = 3
            [connections.c]
            source = "inp"
            target = "out"
            weight = "0.008 + 0.004*(i % 3) + 0.001*j"
            plasticity = {{ rule = "stdp_additive", wmax = 0.03, A_pre = 0.05 }}
            [record]
            spikes = ["out"]
            weights = {{ c = {{}} }}
        '''.replace("'", '"'))

    return make
