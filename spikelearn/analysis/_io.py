"""Reading run directories for analysis, tolerant of whatever a run did not record; checking that an
output folder can be written.

Every reader here returns an empty result (``None``, ``[]``, ``{}``) for data a run does not have,
never raises for a missing file: figures are made of whatever exists. Inputs may be a
:class:`spikelearn.results.RunResult`, anything that quacks like one (``.path``, ``.spikes(name)``,
``.weights(name)``, ...), or a path to a run directory.
"""

import json
import logging
import re
from pathlib import Path

import numpy as np

__all__ = [
    "as_result",
    "spike_recorders",
    "state_recorders",
    "weight_recorders",
    "state_recorders",
    "load_states",
    "load_spikes",
    "spike_window",
    "load_state",
    "load_weights",
    "load_phases",
    "load_attributes",
    "run_duration",
    "run_dt",
    "planned_duration",
    "run_label",
    "parse_window",
]

logger = logging.getLogger(__name__)


def as_result(run):
    """A :class:`~spikelearn.results.RunResult` for ``run`` (a path, or a RunResult-like object)."""
    if isinstance(run, (str, Path)):
        from spikelearn.results import RunResult

        return RunResult(run)
    if not hasattr(run, "path"):
        raise TypeError(f"expected a run directory path or a RunResult, found: {type(run).__name__}")
    return run




def _data_dir(result):
    return Path(result.path) / "data"


def _names(result, method, prefix):
    if hasattr(result, method):
        return list(getattr(result, method)())
    return sorted(p.stem[len(prefix) + 1:] for p in _data_dir(result).glob(f"{prefix}_*.npz"))


def spike_recorders(result):
    """Names of the spike recorders of a run (``data/spikes_<name>.npz``), sorted."""
    return _names(result, "spike_recorders", "spikes")


def state_recorders(result):
    """Names of the state recorders of a run (``data/state_<name>.npz``), sorted."""
    return _names(result, "state_recorders", "state")


def weight_recorders(result):
    """Names of the recorded connections of a run (``data/weights_<conn>.npz``), sorted."""
    return _names(result, "weight_recorders", "weights")


def load_states(result, name):
    """The arrays of ``data/state_<name>.npz`` as a dict (``t``, ``index``, one array per variable and
    its ``_unit_<var>``, the SI unit, in runs recorded since units were saved)."""
    with np.load(_data_dir(result) / f"state_{name}.npz") as f:
        return {k: np.asarray(f[k]) for k in f.files}


def load_spikes(result, name):
    """``(i, t, N)`` of a spike recorder: indices (int64), times in s (float64), population size.

    ``N`` is taken from the file; when it is missing it is ``max(i) + 1`` (0 without spikes).
    """
    path = _data_dir(result) / f"spikes_{name}.npz"
    with np.load(path) as f:
        i = np.asarray(f["i"], dtype=np.int64).ravel()
        t = np.asarray(f["t"], dtype=np.float64).ravel()
        n = int(f["N"]) if "N" in f.files else (int(i.max()) + 1 if i.size else 0)
    if i.size != t.size:
        raise ValueError(f"{path}: i and t have different lengths ({i.size} != {t.size})")
    n = max(n, int(i.max()) + 1 if i.size else 0)
    return i, t, n


def load_state(result, name):
    """The arrays of ``data/state_<name>.npz`` as a dict (``t``, ``index``, one per variable, ``_unit_<var>``)."""
    path = _data_dir(result) / f"state_{name}.npz"
    with np.load(path) as f:
        return {k: np.asarray(f[k]) for k in f.files}


def load_weights(result, name):
    """The arrays of ``data/weights_<name>.npz`` as a dict (``i``, ``j``, ``w_initial``, ``w_final``, ...)."""
    path = _data_dir(result) / f"weights_{name}.npz"
    with np.load(path) as f:
        return {k: np.asarray(f[k]) for k in f.files}


def load_phases(result):
    """``{"names": [...], "intervals": [[name, start, stop], ...]}`` or ``None`` without phases."""
    path = _data_dir(result) / "phases.json"
    if not path.is_file():
        return None
    try:
        phases = json.loads(path.read_text())
    except json.JSONDecodeError as ex:
        logger.warning("ignoring unreadable %s: %s", path, ex)
        return None
    if not isinstance(phases, dict) or not phases.get("intervals"):
        return None
    return phases


def load_attributes(result, population):
    """Per-neuron attributes saved by the task for ``population`` (``{}`` when there are none)."""
    path = _data_dir(result) / f"attributes_{population}.npz"
    if not path.is_file():
        return {}
    with np.load(path) as f:
        return {k: np.asarray(f[k]) for k in f.files}


_SIMPLE_SECONDS = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*\*\s*(second|ms|msecond|minute)\s*$")
_SECOND_UNITS = {"second": 1.0, "ms": 1e-3, "msecond": 1e-3, "minute": 60.0}


def spike_window(result, name):
    """``(start, stop)`` in s of the time spike recorder ``name`` covers: its recording window (a
    ``[record.spikes]`` entry's ``start``/``stop``) within the run's recorded duration, else
    ``(0, run duration)``; ``stop`` is ``None`` when the duration is unknown."""
    end = run_duration(result)
    with np.load(_data_dir(result) / f"spikes_{name}.npz") as f:
        window = np.asarray(f["window"], dtype=np.float64) if "window" in f.files else None
    if window is None:
        return 0.0, end
    start, stop = float(window[0]), float(window[1])
    return start, stop if end is None else min(stop, end)


def run_duration(result):
    """The simulated seconds the recorded data cover, or ``None`` when unknown: the scenario's duration
    for a complete run, the time an incomplete one reached (as :attr:`spikelearn.results.RunResult.duration`)."""
    status = getattr(result, "status", None) or {}
    if status.get("t_end") is not None:
        return float(status["t_end"])
    planned = planned_duration(result)
    if status.get("status", "complete") == "complete" or not hasattr(result, "last_recorded_time"):
        return planned
    last = result.last_recorded_time()
    return last if planned is None else min(last, planned)


def planned_duration(result):
    """The duration in seconds that the scenario planned, or ``None`` when unknown."""
    return _scenario_seconds(result, "duration")


def run_dt(result):
    """The simulation time step in seconds (from the scenario), or ``None`` when unknown."""
    return _scenario_seconds(result, "dt")


def _scenario_seconds(result, key):
    try:
        text = str(result.scenario[key])
        simple = _SIMPLE_SECONDS.match(text)  # the common case, without importing Brian2
        if simple:
            return float(simple.group(1)) * _SECOND_UNITS[simple.group(2)]
        from spikelearn.units import parse_quantity

        return float(parse_quantity(text))
    except (KeyError, TypeError, ValueError, OSError) as ex:  # a hand-made or damaged run directory
        logger.debug("no %s from the scenario of %s: %s", key, getattr(result, "path", result), ex)
        return None


def run_label(result):
    """A short label for a run: ``<scenario>/<id>``."""
    path = Path(result.path)
    return f"{path.parent.name}/{path.name}"


def parse_window(window):
    """A time window ``(start, stop)`` in seconds from ``None``, a pair, or ``"start:stop"``.

    Each bound may be a number of seconds or a quantity string (``"2*second"``); an empty bound is
    open (``None``).

    Examples
    --------
    >>> parse_window("1:2.5")
    (1.0, 2.5)
    >>> parse_window(":500*ms")
    (None, 0.5)
    """
    if window is None:
        return None, None
    if isinstance(window, str):
        if ":" not in window:
            raise ValueError(f"window must be 'start:stop' (seconds or quantities), found: {window!r}")
        parts = window.split(":", 1)
    else:
        parts = list(window)
        if len(parts) != 2:
            raise ValueError(f"window must have two bounds, found: {window!r}")
    bounds = []
    for part in parts:
        if part is None or (isinstance(part, str) and not part.strip()):
            bounds.append(None)
            continue
        if isinstance(part, str):
            try:
                value = float(part)
            except ValueError:
                from spikelearn.units import parse_quantity

                value = float(parse_quantity(part.strip()))
        else:
            value = float(part)
        bounds.append(value)
    if bounds[0] is not None and bounds[1] is not None and bounds[1] <= bounds[0]:
        raise ValueError(f"window stop must be after start, found: {window!r}")
    return bounds[0], bounds[1]
