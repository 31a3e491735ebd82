"""Shared fixtures: the registry, scenario-file writing, and the ``--device`` option.

``--device`` selects the device of device-parametrised tests (default: both ``runtime`` and ``cpp``).
"""

import textwrap

import pytest


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
