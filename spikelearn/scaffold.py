"""``spikelearn new-plugin NAME``: a small installable package for a new plasticity rule.

The package holds the rule (a documented, working skeleton: multiplicative STDP with soft bounds, with
its NumPy reference), a test that runs the contract check kit on it, a scenario that uses it, and a
``setup.cfg`` registering it under the ``spikelearn.plasticity`` entry-point group.
"""

import keyword
from pathlib import Path

from .errors import SpikelearnError

__all__ = ["write_plugin_package"]

SETUP_CFG = """[metadata]
name = spikelearn-{dashed}
version = 0.1.0
description = The '{name}' plasticity rule for spikelearn

[options]
packages = {name}
install_requires =
    spikelearn

[options.entry_points]
spikelearn.plasticity =
    {name} = {name}.rule:{cls}
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"
"""

RULE = '''"""The '{name}' plasticity rule.

Start from this skeleton: multiplicative STDP with soft bounds (van Rossum, Bi & Turrigiano 2000).
Each synapse keeps two traces that jump by 1 at a spike and decay exponentially; a postsynaptic spike
potentiates by ``eta_plus*Apre*(wmax - w)`` and a presynaptic spike depresses by ``eta_minus*Apost*w``,
so ``w`` stays within [0, wmax] without clipping doing the work.

Rules of the contract (see spikelearn's docs/authoring.md):
- every name in the code that is not a variable is a declared parameter (with units), and every
  declared parameter is used;
- ``w`` is declared by the framework; write only how it changes;
- neuron-side variables go in ``pre_variables``/``post_variables`` (read as ``x_pre``/``x_post``),
  global signals (reward, phase gates) in ``signals``;
- nothing runs in Python during the simulation: this code is all there is.
"""

import numpy as np

from spikelearn.plugin import Param, PlasticityRule


class {cls}(PlasticityRule):
    name = "{name}"
    description = "Multiplicative STDP with soft bounds (edit me)"
    reference = "van Rossum, Bi & Turrigiano (2000) J. Neurosci. 20:8812"
    parameters = {{
        "tau_plus": Param("16.8*ms", "decay of the presynaptic trace"),
        "tau_minus": Param("33.7*ms", "decay of the postsynaptic trace"),
        "eta_plus": Param("0.01", "potentiation rate"),
        "eta_minus": Param("0.005", "depression rate"),
        "wmax": Param("0.01", "upper soft bound"),
    }}
    model = """
    dApre/dt = -Apre/tau_plus : 1 (event-driven)
    dApost/dt = -Apost/tau_minus : 1 (event-driven)
    """
    on_pre = """
    Apre += 1
    w = clip(w - eta_minus*Apost*w, 0, wmax)
    """
    on_post = """
    Apost += 1
    w = clip(w + eta_plus*Apre*(wmax - w), 0, wmax)
    """

    def reference_update(self, params, pre_times, post_times, w0, **_):
        """The same update, event by event, in NumPy (pre before post at equal times, as Brian2)."""
        events = sorted([(t, 0) for t in pre_times] + [(t, 1) for t in post_times])
        w, apre, apost, last = float(w0), 0.0, 0.0, 0.0
        for t, kind in events:
            apre *= np.exp(-(t - last) / params["tau_plus"])
            apost *= np.exp(-(t - last) / params["tau_minus"])
            last = t
            if kind == 0:
                apre += 1
                w = min(max(w - params["eta_minus"] * apost * w, 0.0), params["wmax"])
            else:
                apost += 1
                w = min(max(w + params["eta_plus"] * apre * (params["wmax"] - w), 0.0), params["wmax"])
        return w
'''

TEST = '''"""Contract checks for '{name}' (the same kit spikelearn's own rules pass)."""


def test_contract(plasticity_kit):
    plasticity_kit.assert_passes("{name}", devices=["runtime"])


def test_potentiation_for_pre_before_post(plasticity_kit):
    deltas, dw = plasticity_kit.run_pairs("{name}", deltas_ms=[-10.0, 10.0])
    assert dw[0] < 0 < dw[1]
'''

SCENARIO = '''# 200 Poisson inputs onto one LIF neuron through the '{name}' rule.
name = "{dashed}-demo"
description = "Demo of the {name} plasticity rule"
seed = 1
duration = "5*second"
device = "runtime"

[populations.inputs]
model = "poisson"
size = 200
parameters = {{ rate = "15*Hz" }}

[populations.out]
model = "lif_cond"
size = 1

[connections.inputs_to_out]
source = "inputs"
target = "out"
weight = "rand()*0.01"
plasticity = {{ rule = "{name}", wmax = 0.01 }}

[record]
spikes = ["inputs", "out"]
weights = {{ inputs_to_out = {{ dt = "100*ms", indices = 20 }} }}
'''


def write_plugin_package(name, directory="."):
    """Write the package ``spikelearn-<name>`` under ``directory``; return its path."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_") or name != name.lower():
        raise SpikelearnError(f"plugin name '{name}' must be a lower-case Python identifier (e.g. my_rule)")
    dashed = name.replace("_", "-")
    root = Path(directory) / f"spikelearn-{dashed}"
    if root.exists():
        raise SpikelearnError(f"{root} already exists; choose another name or --dir (nothing was overwritten)")
    cls = "".join(part.capitalize() for part in name.split("_")) + "Rule"
    fields = {"name": name, "dashed": dashed, "cls": cls}
    files = {
        "setup.cfg": SETUP_CFG, "pyproject.toml": PYPROJECT, f"{name}/__init__.py": '"""The {name} rule."""\n',
        f"{name}/rule.py": RULE, f"tests/test_{name}.py": TEST, f"scenarios/{name}_demo.toml": SCENARIO,
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**fields))
    return root
