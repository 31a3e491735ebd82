"""spikelearn: spiking networks with plasticity plugins, on Brian2 and brian2cuda.

Scenario files say what to simulate; models, plasticity rules and tasks (plugins) say how each piece
behaves; Brian2 runs it; a run directory keeps everything. See README.md and docs/
"""

import warnings

__version__ = "0.1.0"

__all__ = ["run", "run_packed", "load", "__version__"]

# pyparsing >= 3.3 deprecates the camelCase keyword arguments Brian2 2.10 still passes (``parseAll``) with a
# UserWarning that Brian2's logger printed on every run; the call is Brian2's, and it still works
warnings.filterwarnings("ignore", message=r"'\w+' argument is deprecated, use '\w+'", module=r"brian2(\.|$)")


from .api import load, run, run_packed  # noqa: E402  (after the warning filter)
