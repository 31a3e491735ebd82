"""Run directories: writing them safely, and reading them back.

``runs/<scenario>/<id>/`` is written under the temporary name ``.<id>.tmp`` and renamed when complete;
an interrupted or failed run is renamed ``<id>.incomplete`` with ``status.json`` saying why and, once the
simulation ran, the simulated time it reached (``t_end``, seconds). Ids are unique (time stamp + random
suffix, created with ``mkdir`` that fails on an existing name), so nothing is ever overwritten. Analysis
reads only the run directory (:class:`RunResult`), never a live network; its ``duration`` is the time the
data cover, not the planned one.

While a run is written, its ``status.json`` names the process writing it (pid and host). A ``.<id>.tmp``
directory whose process is gone (a SIGKILLed run) is stale: :func:`stale_run_directories` finds them, and
``spikelearn clean`` removes them. One whose process cannot be checked (another host) is never stale.

Plugin files a run used (``--plugin FILE``) are copied into ``plugins/`` and recorded with their SHA-256
in ``provenance.json`` (:func:`copy_plugin_files`), so the run repeats from ``RUN/scenario.toml``
wherever the run directory is, and re-evaluates without the original files.

``resolved.json`` holds every parsed value the run used (time step, duration, the task's parameters
and each population's and rule's, defaults filled in, quantities in SI units with their unit): analysis
reads them from there, so a run directory is readable with no plugin installed (:func:`write_resolved`).
"""

import hashlib
import json
import logging
import math
import os
import platform
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .errors import OutputError, SpikelearnError

__all__ = ["RunDirectory", "RunResult", "save_recorders", "stale_run_directories", "write_json_atomic", "writable_folder",
           "copy_plugin_files", "write_resolved", "RESOLVED_FILE"]

RESOLVED_FILE = "resolved.json"

logger = logging.getLogger(__name__)


def write_json_atomic(path, data):
    """Write JSON to ``path`` through a temporary file and a rename (never a half-written file)."""
    path = Path(path)
    text = json.dumps(_finite(data), indent=2, default=_json_default, allow_nan=False) + "\n"
    _write_atomic(path, lambda tmp: tmp.write_text(text))


def _write_atomic(path, write, tmp_suffix=".tmp"):
    """``write(tmp)`` then rename to ``path``: a failed write (disk full) leaves no file under the final
    name, and removes its temporary file."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}{tmp_suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _savez(path, **arrays):
    # np.savez appends ".npz" to a name without it: the temporary name keeps the suffix
    _write_atomic(path, lambda tmp: np.savez(tmp, **arrays), tmp_suffix=".tmp.npz")


def _save_npy(path, array):
    _write_atomic(path, lambda tmp: np.save(tmp, array), tmp_suffix=".tmp.npy")


def _finite(obj):
    """NaN and infinities become null: ``metrics.json`` stays strict JSON when a run diverged."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.floating, np.integer)):
        return _finite(obj.item())
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def writable_folder(path):
    """Create the folder ``path`` if needed and check that a file can be written in it (a run directory on
    read-only storage cannot hold its ``inspect/`` folder); returns it as a Path.

    Raises
    ------
    spikelearn.errors.OutputError
        Naming the folder and the reason (e.g. ``Read-only file system``).
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{secrets.token_hex(4)}"
        probe.write_text("")
        probe.unlink()
    except OSError as ex:
        raise OutputError(f"cannot write to {path} ({ex.strerror or ex})", path) from ex
    return path


class RunDirectory:
    """A run directory being written."""

    def __init__(self, root, scenario_name):
        base = Path(root) / scenario_name
        writable_folder(base)
        free = shutil.disk_usage(base).free
        if free < 50 * 2**20:
            raise SpikelearnError(f"output directory {base} has only {free // 2**20} MiB free; need at least 50 MiB")
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        while True:
            run_id = f"{stamp}-{secrets.token_hex(3)}"
            tmp = base / f".{run_id}.tmp"
            try:
                tmp.mkdir()
                break
            except FileExistsError:
                continue
        self.base = base
        self.id = run_id
        self.path = tmp
        self.t_end = None  # simulated seconds the data cover, once the simulation ran
        (tmp / "data").mkdir()
        (tmp / "figures").mkdir()
        self.started = time.time()
        self.status("running", pid=os.getpid(), host=platform.node())

    def status(self, status, reason="", **extra):
        data = {"status": status, "reason": reason, **extra,
                "updated": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if self.t_end is not None:
            data["t_end"] = self.t_end
        write_json_atomic(self.path / "status.json", data)

    def simulated(self, t_end):
        """The simulation reached ``t_end`` (s): ``status.json`` says so (``evaluating``) before the task
        reads the data, so that analysis covers the whole simulated time, not the last recorded event."""
        self.t_end = float(t_end)
        self.status("evaluating", pid=os.getpid(), host=platform.node())

    def finalize(self):
        """Mark complete and move to the final name."""
        self.status("complete")
        final = self.base / self.id
        os.rename(self.path, final)
        self.path = final
        return final

    def abandon(self, status, reason, suffix=".incomplete"):
        """Mark incomplete (interrupted/failed) and move to ``<id><suffix>``; keep everything. The rename
        happens even when ``status.json`` cannot be written (a full disk): the name says incomplete."""
        try:
            self.status(status, reason)
        except OSError as ex:
            logger.error("could not write status.json of %s (%s); renaming it %s anyway", self.path, ex, suffix)
        final = self.base / f"{self.id}{suffix}"
        os.rename(self.path, final)
        self.path = final
        return final


def copy_plugin_files(plugin_files, run_path):
    """Copy each plugin file into ``<run_path>/plugins/`` (a second file of the same name gets a
    ``-2``, ``-3``... suffix); return their records for ``provenance.json``: ``{"file": the copy's path
    relative to the run directory, "source": the original's absolute path, "sha256": the hash of its
    bytes}``."""
    records, names = [], set()
    for source in plugin_files:
        source = Path(source).resolve()
        data = source.read_bytes()
        name, k = source.name, 1
        while name in names:
            k += 1
            name = f"{source.stem}-{k}{source.suffix}"
        names.add(name)
        copy = Path(run_path) / "plugins" / name
        copy.parent.mkdir(exist_ok=True)
        _write_atomic(copy, lambda tmp: tmp.write_bytes(data))
        records.append({"file": f"plugins/{name}", "source": str(source), "sha256": hashlib.sha256(data).hexdigest()})
    return records


class StaleRunDirectory:
    """A ``.<id>.tmp`` run directory whose writing process is gone."""

    def __init__(self, path, age, owner):
        self.path, self.age, self.owner = path, age, owner

    def describe(self):
        return f"{self.path} ({_age(self.age)} old, {self.owner})"


def _age(seconds):
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def stale_run_directories(root):
    """The stale temporary run directories under ``root`` (a runs root, or one scenario's folder), oldest
    first. Stale: the pid in its ``status.json`` is not a process on this host, or ``status.json`` names
    no process (written before the pid was recorded) or is unreadable. A directory written by a process
    on another host is never stale: that process cannot be checked from here."""
    root = Path(root)
    found = []
    for path in sorted(root.glob(".*.tmp")) + sorted(root.glob("*/.*.tmp")):
        if not path.is_dir():
            continue
        try:
            status = json.loads((path / "status.json").read_text())
        except (OSError, ValueError):
            status = {}
        pid, host = status.get("pid"), status.get("host")
        if pid is None:
            owner = "no process recorded"
        elif host != platform.node():
            continue
        elif _alive(pid):
            continue
        else:
            owner = f"process {pid} is gone"
        found.append(StaleRunDirectory(path, time.time() - path.stat().st_mtime, owner))
    return sorted(found, key=lambda s: -s.age)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def save_recorders(ctx, data_dir, files=None):
    """Save every monitor of a finished (or interrupted, on runtime) network as arrays, with the task's
    constant arrays and attributes (``files``: the monitors' arrays when already gathered, e.g. one copy's
    of a packed network, `spikelearn.pack.split`).

    Values are plain numbers in the coherent SI unit of their variable, whose name
    (:func:`~spikelearn.units.si_unit_name`) is saved beside them: ``_unit_<var>`` in ``state_<name>.npz``,
    ``_unit_w`` in ``weights_<conn>.npz`` (Brian2 names cannot start with ``_``, so these never collide).
    """
    data_dir = Path(data_dir)
    if files is None:
        files = {name: arrays for name, (_, _, arrays) in recorder_arrays(ctx).items()}
    for filename, arrays in files.items():
        _savez(data_dir / filename, **arrays)
    for name, array in ctx.arrays.items():
        _save_npy(data_dir / f"array_{name}.npy", array)
    for pop, attrs in ctx.attributes.items():
        _savez(data_dir / f"attributes_{pop}.npz", **attrs)


def _owner(group):
    """The name of a monitored group (of the whole group, for a subgroup)."""
    from brian2.groups.subgroup import Subgroup

    return group.source.name if isinstance(group, Subgroup) else group.name


def recorder_arrays(ctx):
    """The arrays of every monitor of ``ctx`` by file name: ``{file: (kind, source, arrays)}``, where
    ``source`` is the recorded population or connection (for weights, its ``(source, target)``)."""
    from .units import si_unit_name

    files = {}
    for rec in ctx.recorders:
        if rec.kind == "spikes":
            mon = rec.monitor
            window = {"window": np.asarray(rec.meta["window"], dtype=np.float64)} if rec.meta.get("window") else {}
            files[f"spikes_{rec.name}.npz"] = ("spikes", _owner(mon.source), {
                "i": np.asarray(mon.i[:], dtype=np.int32), "t": np.asarray(mon.t[:], dtype=np.float64),
                "N": rec.meta["size"], **window})
        elif rec.kind == "state":
            mon = rec.monitor
            if "size" in rec.meta:  # recorded at an event of every neuron (a time window): as a state monitor
                n = rec.meta["size"]
                t = np.asarray(mon.t[:], dtype=np.float64)
                order = np.lexsort((np.asarray(mon.i[:]), t))
                arrays = {"t": t[order][::n], "index": np.arange(n, dtype=np.int64)}
                for var in rec.meta["variables"]:
                    values = np.asarray(getattr(mon, var)[:], dtype=np.float64)[order]
                    arrays[var] = values.reshape(-1, n).T
                    arrays[f"_unit_{var}"] = np.asarray(si_unit_name(mon.variables[var].dim))
                files[f"state_{rec.name}.npz"] = ("state", _owner(mon.source), arrays)
                continue
            arrays = {"t": np.asarray(mon.t[:], dtype=np.float64),
                      "index": np.asarray(mon.record, dtype=np.int64)}
            for var in rec.meta["variables"]:
                arrays[var] = np.asarray(getattr(mon, var)[:], dtype=np.float64)
                arrays[f"_unit_{var}"] = np.asarray(si_unit_name(mon.variables[var].dim))
            files[f"state_{rec.name}.npz"] = ("state", _owner(mon.source), arrays)
        elif rec.kind == "weights":
            syn = rec.meta["synapses"]
            arrays = {"i": np.asarray(syn.i[:], dtype=np.int32), "j": np.asarray(syn.j[:], dtype=np.int32),
                      "w_initial": np.asarray(syn.w_initial[:], dtype=np.float64),
                      "w_final": np.asarray(syn.w[:], dtype=np.float64),
                      "_unit_w": np.asarray(si_unit_name(syn.variables["w"].dim))}
            if rec.monitor is not None:
                arrays.update(t=np.asarray(rec.monitor.t[:], dtype=np.float64),
                              trace_index=np.asarray(rec.monitor.record, dtype=np.int64),
                              w_trace=np.asarray(rec.monitor.w[:], dtype=np.float64))
            files[f"weights_{rec.name}.npz"] = ("weights", (syn.source.name, syn.target.name), arrays)
    return files


def _encode(value):
    """A parsed value as JSON: quantities as ``{"si": value, "unit": SI unit}``, arrays as lists."""
    from brian2.units.fundamentalunits import Quantity

    from .units import si_unit_name

    if isinstance(value, Quantity):
        si = np.asarray(value).tolist()
        if value.dim.is_dimensionless:
            return si
        # the unit for readers, the SI exponents (m, kg, s, A, K, mol, cd) to read it back
        return {"si": si, "unit": si_unit_name(value.dim), "dim": [float(x) for x in value.dim._dims]}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict) and set(value) == {"si", "unit", "dim"}:
        from brian2.units.fundamentalunits import Quantity, get_or_create_dimension

        return Quantity(value["si"], dim=get_or_create_dimension(value["dim"]))
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def write_resolved(path, scenario):
    """Write ``resolved.json`` of run directory ``path``: the parsed values of ``scenario``."""
    def params(values):
        return {k: _encode(v) for k, v in values.items()}

    data = {
        "dt": _encode(scenario.dt), "duration": _encode(scenario.duration), "seed": scenario.seed,
        "task": {"name": scenario.task, "parameters": params(scenario.task_params)} if scenario.task else None,
        "populations": {name: {"model": pop.model, "size": pop.size, "parameters": params(pop.params)}
                        for name, pop in scenario.populations.items()},
        "connections": {name: {"source": c.source, "target": c.target,
                               "plasticity": [{"rule": u.name, "parameters": params(u.params)} for u in c.rules]}
                        for name, c in scenario.connections.items()},
    }
    write_json_atomic(Path(path) / RESOLVED_FILE, data)


class RunResult:
    """Read access to a run directory (complete or incomplete)."""

    def __init__(self, path):
        self.path = Path(path)
        if not (self.path / "scenario.toml").is_file():
            raise SpikelearnError(f"{self.path} is not a spikelearn run directory (no scenario.toml)")
        self._params = None
        self._resolved = None

    @property
    def data_dir(self):
        return self.path / "data"

    @property
    def scenario(self):
        import tomllib

        return tomllib.loads((self.path / "scenario.toml").read_text())

    @property
    def name(self):
        return self.scenario["name"]

    @property
    def provenance(self):
        return self._json("provenance.json")

    @property
    def status(self):
        return self._json("status.json")

    @property
    def metrics(self):
        return self._json("metrics.json")

    def _json(self, name):
        path = self.path / name
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def resolved(self):
        """The parsed values of the run (``resolved.json``): ``dt``, ``duration``, ``task``, ``populations``,
        ``connections``, quantities as Brian2 quantities."""
        if self._resolved is None:
            path = self.path / RESOLVED_FILE
            if not path.is_file():
                raise SpikelearnError(f"{self.path}: no {RESOLVED_FILE} (a run directory written by an older "
                                      f"spikelearn); `spikelearn inspect {self.path}` adds it")
            self._resolved = json.loads(path.read_text())
        return self._resolved

    @property
    def params(self):
        """The task's parameters, parsed (floats / Brian2 quantities), defaults filled in."""
        if self._params is None:
            task = self.resolved["task"] or {"parameters": {}}
            self._params = {k: _decode(v) for k, v in task["parameters"].items()}
        return self._params

    @property
    def dt(self):
        """The simulation time step, in seconds."""
        return float(_decode(self.resolved["dt"]))

    def population_params(self, name):
        """The parsed parameters of population ``name`` (defaults of its model filled in)."""
        return {k: _decode(v) for k, v in self.resolved["populations"][name]["parameters"].items()}

    def rule_params(self, connection, index=0):
        """The parsed parameters of the ``index``-th plasticity rule of ``connection`` (defaults filled in)."""
        rule = self.resolved["connections"][connection]["plasticity"][index]
        return {k: _decode(v) for k, v in rule["parameters"].items()}

    def plugin_files(self):
        """The plugin files that repeat or re-evaluate this run: the copies in ``plugins/`` (run
        directories written before runs kept copies: the original paths)."""
        provenance = self.provenance
        if "plugins" in provenance:
            return tuple(str(self.path / p["file"]) for p in provenance["plugins"])
        return tuple(provenance.get("plugin_files", ()))

    def changed_plugin_files(self):
        """The copies in ``plugins/`` whose bytes no longer have the SHA-256 the run recorded."""
        changed = []
        for p in self.provenance.get("plugins", ()):
            path = self.path / p["file"]
            if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != p["sha256"]:
                changed.append(str(path))
        return changed

    # -- recorded data -----------------------------------------------------------------------------
    def _npz(self, prefix, name):
        path = self.data_dir / f"{prefix}_{name}.npz"
        if not path.exists():
            have = sorted(p.stem[len(prefix) + 1:] for p in self.data_dir.glob(f"{prefix}_*.npz"))
            raise KeyError(f"no recorded {prefix} '{name}' in {self.path}; recorded: {', '.join(have) or 'none'}")
        with np.load(path) as f:
            return {k: f[k] for k in f.files}

    def spikes(self, name):
        """``(i, t)``: neuron indices and spike times in seconds."""
        d = self._npz("spikes", name)
        return d["i"], d["t"]

    def spike_count_size(self, name):
        return int(self._npz("spikes", name)["N"])

    def spike_recorders(self):
        return sorted(p.stem[len("spikes_"):] for p in self.data_dir.glob("spikes_*.npz"))

    def state(self, name):
        return self._npz("state", name)

    def state_recorders(self):
        return sorted(p.stem[len("state_"):] for p in self.data_dir.glob("state_*.npz"))

    def weights(self, name):
        return self._npz("weights", name)

    def weight_recorders(self):
        return sorted(p.stem[len("weights_"):] for p in self.data_dir.glob("weights_*.npz"))

    def array(self, name):
        return np.load(self.data_dir / f"array_{name}.npy")

    def attributes(self, population):
        path = self.data_dir / f"attributes_{population}.npz"
        if not path.exists():
            return {}
        with np.load(path) as f:
            return {k: f[k] for k in f.files}

    def phases(self):
        path = self.data_dir / "phases.json"
        return json.loads(path.read_text()) if path.exists() else None

    @property
    def planned_duration(self):
        """The scenario's duration in seconds."""
        from .units import parse_quantity

        return float(parse_quantity(self.scenario["duration"]))

    @property
    def duration(self):
        """The simulated seconds the recorded data cover: the planned duration of a complete run; for an
        incomplete one, the time it reached (``t_end`` of ``status.json``), or, when a run did not record
        it, the last recorded time."""
        status = self.status
        if status.get("t_end") is not None:
            return float(status["t_end"])
        if status.get("status", "complete") == "complete":
            return self.planned_duration
        return min(self.last_recorded_time(), self.planned_duration)

    def last_recorded_time(self):
        """The latest time (s) in the recorded spikes, state and weight traces (0 without any)."""
        last = 0.0
        for path in self.data_dir.glob("*.npz"):
            with np.load(path) as f:
                if "t" in f.files and f["t"].size:
                    last = max(last, float(np.max(f["t"])))
        return last
