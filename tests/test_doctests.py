"""Every ``>>>`` example in the package's docstrings runs (the API's examples run a short simulation)."""

import doctest
import importlib
import pkgutil

import pytest

import spikelearn


def _modules():
    names = ["spikelearn"]
    for info in pkgutil.walk_packages(spikelearn.__path__, "spikelearn."):
        names.append(info.name)
    return sorted(names)


def _with_examples(name):
    module = importlib.import_module(name)
    return any(t.examples for t in doctest.DocTestFinder(exclude_empty=True).find(module))


MODULES = [name for name in _modules() if _with_examples(name)]


def test_the_package_has_examples():
    assert "spikelearn.api" in MODULES and len(MODULES) >= 4


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write run directories write them here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (see above)"
