"""Built-in plasticity rules of spikelearn, registered through the ``spikelearn.plasticity`` entry
points (the same group outside packages use)."""
