"""spikelearn: spiking networks with plasticity plugins, on Brian2 and brian2cuda.

Scenario files say what to simulate; models, plasticity rules and tasks (plugins) say how each piece
behaves; Brian2 runs it; a run directory keeps everything. See README.md.
"""

__version__ = "0.1.0"
