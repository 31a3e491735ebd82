"""Built-in neuron models of spikelearn, registered through the ``spikelearn.models`` entry points."""
