"""The Python API: run a scenario, load a run directory, read what it recorded.

``spikelearn.run``, ``spikelearn.run_packed`` and ``spikelearn.load`` are :func:`run`, :func:`run_packed`
(several seeds or parameter values as copies in one network) and :func:`load`. :func:`run` goes through
the same steps as ``spikelearn run`` (the registry with the built-in plugins and any plugin files,
validation with the overrides, :func:`spikelearn.runner.run_scenario`) and returns a :class:`Run`;
:func:`load` opens an existing run directory. Every accessor returns one type:

- ``Run.spikes(pop)``: :class:`Spikes` (index and time arrays; ``.to_neo()`` gives Neo SpikeTrains for
  Elephant);
- ``Run.states(pop)``: an :class:`xarray.Dataset`, one DataArray per recorded variable, with ``time`` (s)
  and ``neuron`` coordinates and the variable's SI unit in ``attrs["units"]``;
- ``Run.weights(conn)``: an :class:`xarray.Dataset` of the initial and final weights per synapse (with
  ``pre`` and ``post`` indices) and, when they were recorded, the weight traces over time.

Errors in what the caller passed (a bad scenario, an unknown override key) raise
:class:`spikelearn.errors.SpikelearnError` with the same one-line message the command prints.

Examples
--------
>>> import tempfile, spikelearn
>>> out = tempfile.mkdtemp()
>>> run = spikelearn.run("song-stdp", device="runtime", set={"duration": "200*ms"}, out=out,
...                      figures=False)
>>> run.status
'complete'
>>> spikes = run.spikes("out")
>>> spikes.size, bool(spikes.t.max() <= run.t_stop)
(1, True)
>>> trains = spikes.to_neo()
>>> len(trains), str(trains[0].units.dimensionality)
(1, 's')
>>> v = run.states("out")["v"]
>>> v.dims, v.attrs["units"]
(('time', 'neuron'), 'volt')
>>> w = run.weights("inputs_to_out")
>>> int(w.sizes["synapse"])
1000
>>> again = spikelearn.load(run.path)
>>> again.scenario["name"], again.claims == run.claims
('song-stdp', True)
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["run", "run_packed", "load", "Run", "Spikes"]


def run(scenario, *, device=None, seed=None, set=None, out="runs", plugins=(), progress=False,
        figures=True):
    """Run a scenario and return its :class:`Run` (the same code path as ``spikelearn run``).

    Parameters
    ----------
    scenario : str or path-like
        A scenario file, or a built-in scenario name (``"song-stdp"``).
    device : {"runtime", "cpp", "cuda"}, optional
        Overrides the scenario's device.
    seed : int, optional
        Overrides the scenario's seed.
    set : dict or list of str, optional
        Overrides of scenario keys, validated like the file: ``{"duration": "10*second",
        "connections.c.plasticity.tau_pre": "10*ms"}`` or ``["duration=10*second"]`` (``--set``).
    out : path-like
        Root of the run directories (default ``./runs``).
    plugins : sequence of path-like
        Plugin files (``--plugin``).
    progress : bool
        Show the progress bar.
    figures : bool
        Draw the figures and the report.

    Returns
    -------
    Run
        The finished run. A failed claim does not raise: see :attr:`Run.claims`.

    Raises
    ------
    spikelearn.errors.SpikelearnError
        A bad scenario or override, a failed build, an interrupted or stopped run (the run directory
        is kept, marked incomplete; :func:`load` opens it).
    """
    from .registry import default_registry
    from .runner import run_scenario
    from .scenario import load_scenario

    overrides = _override_strings(set)
    if seed is not None:
        overrides.append(f"seed={int(seed)}")
    plugin_files = tuple(str(p) for p in plugins)
    registry = default_registry(plugin_files)
    parsed = load_scenario(scenario, registry, overrides)
    outcome = run_scenario(parsed, registry, out_root=out, device=device, progress=progress, figures=figures,
                           plugin_files=plugin_files, command=f"spikelearn.run({str(scenario)!r})")
    return Run(outcome.path)


def run_packed(scenario, *, seeds=None, copies=None, device=None, set=None, out="runs", plugins=(), progress=False,
               figures=True):
    """Run several seeds or parameter values of a scenario as copies in one network
    (:mod:`spikelearn.pack`); return one :class:`Run` per copy, each an ordinary run directory.

    Parameters
    ----------
    scenario : str or path-like
        A scenario file or a built-in scenario name.
    seeds : sequence of int, optional
        One copy per seed.
    copies : sequence of dict, optional
        One copy per dict of overrides (like ``set``; ``"seed"`` included), e.g.
        ``[{"populations.inputs.parameters.rate": "10*Hz"}, {"populations.inputs.parameters.rate": "20*Hz"}]``.
        Give ``seeds`` or ``copies``, not both.
    device, set, out, plugins, progress, figures
        As for :func:`run`; ``set`` applies to every copy.

    Returns
    -------
    list of Run
        In the order of ``seeds`` or ``copies``.

    Raises
    ------
    spikelearn.pack.PackError
        The copies cannot be packed (the message names what prevents it); nothing was run.

    Examples
    --------
    >>> import tempfile, spikelearn
    >>> runs = spikelearn.run_packed("song-stdp", seeds=[1, 2, 3], device="runtime",
    ...                              set={"duration": "100*ms"}, out=tempfile.mkdtemp(), figures=False)
    >>> [r.provenance["seed"] for r in runs], runs[0].provenance["packed"]["copies"]
    ([1, 2, 3], 3)
    """
    from .errors import SpikelearnError
    from .registry import default_registry
    from .runner import run_packed as run_copies
    from .scenario import load_scenario

    if (seeds is None) == (copies is None):
        raise SpikelearnError("run_packed: give seeds or copies (one of them)")
    copies = [{"seed": int(s)} for s in seeds] if seeds is not None else [dict(c) for c in copies]
    plugin_files = tuple(str(p) for p in plugins)
    registry = default_registry(plugin_files)
    common = _override_strings(set)
    parsed = [load_scenario(scenario, registry, common + _override_strings(c)) for c in copies]
    outcomes = run_copies(parsed, registry, out_root=out, device=device, progress=progress, figures=figures,
                          plugin_files=plugin_files, command=f"spikelearn.run_packed({str(scenario)!r})")
    return [Run(o.path) for o in outcomes]


def load(run_dir):
    """Open a run directory (complete or incomplete) as a :class:`Run`."""
    from pathlib import Path

    from .runner import ensure_resolved

    if (Path(run_dir) / "scenario.toml").is_file():
        ensure_resolved(run_dir)
    return Run(run_dir)


def _override_strings(overrides):
    """``--set`` strings from a dict of key paths to Python values (or a list of ``KEY=VALUE`` strings)."""
    if overrides is None:
        return []
    if isinstance(overrides, dict):
        return [f"{key}={_toml_value(value)}" for key, value in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return [str(o) for o in overrides]


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a TOML basic string


@dataclass(frozen=True)
class Spikes:
    """The spikes of one population: neuron indices ``i``, times ``t`` (s), population ``size``, and the
    window ``[t_start, t_stop]`` (s) that was simulated."""

    population: str
    i: np.ndarray
    t: np.ndarray
    size: int
    t_start: float
    t_stop: float

    def __len__(self):
        return len(self.t)

    def to_neo(self, neurons=None):
        """One :class:`neo.SpikeTrain` per neuron (all, or ``neurons`` in that order), times in s,
        ``annotations["neuron"]`` its index: the input of Elephant's statistics."""
        from .analysis.correlations import to_spiketrains

        return to_spiketrains(self.i, self.t, self.size, self.t_start, self.t_stop, neurons=neurons)


class Run:
    """A run directory, read back: what was simulated, what was recorded, what was measured."""

    def __init__(self, path):
        from .results import RunResult

        self._result = RunResult(path)

    def __repr__(self):
        return f"Run({str(self.path)!r}, status={self.status!r})"

    @property
    def path(self):
        """The run directory."""
        return self._result.path

    @property
    def status(self):
        """``"complete"``, or why not (``"incomplete"``, ``"stopped"``, ``"failed"``; see
        ``status.json``'s ``reason``)."""
        return self._result.status.get("status", "unknown")

    @property
    def complete(self):
        return self.status == "complete"

    @property
    def scenario(self):
        """The resolved scenario (every default filled in), as a dict."""
        return self._result.scenario

    @property
    def provenance(self):
        return self._result.provenance

    @property
    def metrics(self):
        """The task's metrics (name → value)."""
        return self._result.metrics.get("metrics", {})

    @property
    def claims(self):
        """The task's claims: dicts with ``name``, ``statement``, ``value``, ``threshold``, ``passed``."""
        return self._result.metrics.get("claims", [])

    @property
    def t_stop(self):
        """The simulated time (s)."""
        return self._result.duration

    @property
    def populations(self):
        """Populations whose spikes were recorded."""
        return self._result.spike_recorders()

    def spikes(self, population):
        """The recorded spikes of ``population`` as :class:`Spikes`."""
        i, t = self._result.spikes(population)
        return Spikes(population, np.asarray(i), np.asarray(t), self._result.spike_count_size(population),
                      0.0, self.t_stop)

    def states(self, population):
        """The recorded state variables of ``population`` (an :class:`xarray.Dataset`)."""
        import xarray as xr

        data = self._result.state(population)
        coords = {"time": ("time", data["t"], {"units": "s"}), "neuron": ("neuron", data["index"])}
        variables = [k for k in data if k not in ("t", "index") and not k.startswith("_unit_")]
        arrays = {}
        for var in variables:
            units = str(data[f"_unit_{var}"]) if f"_unit_{var}" in data else "unknown"
            arrays[var] = xr.DataArray(data[var].T, dims=("time", "neuron"), coords=coords,
                                       attrs={"units": units}, name=var)
        return xr.Dataset(arrays, attrs={"run": str(self.path), "population": population})

    def weights(self, connection):
        """The weights of ``connection`` (an :class:`xarray.Dataset`): ``w_initial``, ``w_final`` over
        ``synapse`` (coordinates ``pre``, ``post``) and, when recorded, ``w`` over ``time`` and
        ``recorded`` (the recorded synapses' numbers)."""
        import xarray as xr

        data = self._result.weights(connection)
        synapse = np.arange(len(data["w_final"]))
        ds = xr.Dataset(
            {"w_initial": ("synapse", data["w_initial"]), "w_final": ("synapse", data["w_final"])},
            coords={"synapse": synapse, "pre": ("synapse", data["i"]), "post": ("synapse", data["j"])},
            attrs={"run": str(self.path), "connection": connection},
        )
        if "w_trace" in data:
            ds["w"] = xr.DataArray(data["w_trace"].T, dims=("time", "recorded"),
                                   coords={"time": ("time", data["t"], {"units": "s"}),
                                           "recorded": data["trace_index"]})
        return ds

    def figures(self):
        """The run's figure files (PNG/SVG), sorted."""
        folder = Path(self.path) / "figures"
        return sorted(p for p in folder.glob("*") if p.suffix in (".png", ".svg"))
