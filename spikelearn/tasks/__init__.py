"""Task code: stimulus and input generation, readouts, reward signals, task metrics and the
pass/fail claims of scenarios. Each task registers through the ``spikelearn.tasks`` entry points."""
