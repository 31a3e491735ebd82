"""
Run, load, plot, and analyse with Elephant
==========================================

Run the main job (Song, Miller & Abbott's competitive STDP) for 5 s on the runtime device, load the run
directory back, plot the output neuron's membrane potential, and compute spike-train statistics of the
inputs with Elephant on the loaded Neo spike trains.
"""

import tempfile

import matplotlib.pyplot as plt
import numpy as np
from elephant.statistics import cv, isi, mean_firing_rate

import spikelearn

# %%
# Run a built-in scenario, shortened, and look at its claims (5 s is too short for the competition to
# finish: the claims are expected to fail here; the full 100-s run passes them).
out = tempfile.mkdtemp()
run = spikelearn.run("song-stdp", device="runtime", set={"duration": "5*second"}, out=out, figures=False)
for claim in run.claims:
    print(f"{claim['name']}: passed={claim['passed']} value={claim['value']}")

# %%
# Load the run directory again (any run directory works, complete or not) and plot the recorded state:
# an xarray DataArray with time and neuron coordinates and its SI unit.
run = spikelearn.load(run.path)
v = run.states("out")["v"]
fig, ax = plt.subplots(figsize=(8, 2.5))
last = v.time > float(v.time.max()) - 0.5
ax.plot(v.time[last], 1e3 * v.sel(neuron=0)[last])
ax.set_xlabel("time (s)")
ax.set_ylabel(f"v (m{v.attrs['units']})")
ax.set_title("output neuron, last 0.5 s")

# %%
# Elephant on the loaded spike trains: rates and the coefficient of variation of the inter-spike
# intervals of the Poisson inputs (CV = 1 for a Poisson process).
trains = run.spikes("inputs").to_neo()
rates = np.array([float(mean_firing_rate(st).rescale("Hz")) for st in trains])
cvs = np.array([cv(isi(st)) for st in trains if len(st) > 2])
print(f"input rate {rates.mean():.2f} Hz (scenario: 15 Hz), median CV of ISIs {np.median(cvs):.2f}")
fig, (a1, a2) = plt.subplots(1, 2, figsize=(8, 2.5))
a1.hist(rates, bins=30)
a1.set_xlabel("input rate (Hz)")
a2.hist(cvs, bins=30)
a2.set_xlabel("CV of ISIs")
fig.tight_layout()
