"""Export of a run's spikes to NWB (Neurodata Without Borders) with pynwb.

Every recorded neuron becomes one row of the NWB ``units`` table, with its spike times (s) and two
extra columns: ``population`` (the spike recorder's name) and ``neuron_index`` (its index in the
population). The resolved scenario (TOML) goes to ``protocol``, the provenance (JSON) to ``notes``, the
scenario's description to ``session_description``, the run id to ``identifier``/``session_id``.
"""

import datetime
import json
import logging
from pathlib import Path

import numpy as np

from spikelearn.errors import OutputError

from spikelearn.results import writable_folder

from . import _io

__all__ = ["export_nwb", "read_nwb_spikes"]

logger = logging.getLogger(__name__)


def _start_time(provenance):
    started = (provenance or {}).get("started")
    if started:
        try:
            stamp = datetime.datetime.fromisoformat(str(started))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            logger.warning("provenance start time %r is not ISO 8601; using the epoch", started)
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def export_nwb(run_path, out_path, populations=None, overwrite=False):
    """Write the spikes of a run as an NWB file.

    Parameters
    ----------
    run_path : path-like or RunResult
        The run directory.
    out_path : path-like
        The ``.nwb`` file to write.
    populations : list of str or None
        Spike recorders to export (default: all).
    overwrite : bool
        Replace an existing file (default: refuse).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    spikelearn.errors.OutputError
        When ``out_path`` cannot be written (its folder is not writable, or writing the file fails; no
        partial file is left).

    Examples
    --------
    >>> export_nwb("runs/song-stdp/20261123-010000-abcdef", "song.nwb")  # doctest: +SKIP
    """
    from hdmf.common import VectorData, VectorIndex
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.misc import Units

    result = _io.as_result(run_path)
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise FileExistsError(f"{out_path} exists; choose another name or pass overwrite=True")
    names = _io.spike_recorders(result)
    if populations is not None:
        unknown = sorted(set(populations) - set(names))
        if unknown:
            raise ValueError(f"no recorded spikes for population(s) {', '.join(unknown)}; "
                             f"recorded: {', '.join(names) or 'none'}")
        names = [n for n in names if n in set(populations)]
    scenario = result.scenario
    provenance = result.provenance or {}
    run_id = Path(result.path).name
    nwbfile = NWBFile(
        session_description=str(scenario.get("description") or scenario.get("name") or "spikelearn run"),
        identifier=f"spikelearn/{scenario.get('name', 'run')}/{run_id}",
        session_start_time=_start_time(provenance),
        session_id=run_id,
        experiment_description=f"spikelearn simulation of scenario '{scenario.get('name', '?')}' "
                               f"(seed {scenario.get('seed', '?')}, device {provenance.get('device', scenario.get('device', '?'))})",
        protocol=(Path(result.path) / "scenario.toml").read_text(),
        notes=json.dumps(provenance, indent=2, sort_keys=True, default=str),
        # NWB requires source_script_file_name whenever source_script is set
        source_script=str(provenance.get("command") or "") or None,
        source_script_file_name=(str(provenance.get("source") or "scenario.toml")
                                 if provenance.get("command") else None),
        keywords=["spikelearn", "simulation", str(scenario.get("name", ""))],
    )
    # the units table is built column by column (one add_unit call per neuron is slow for 10^4 neurons)
    times, counts, pops, indices = [], [], [], []
    for name in names:
        i, t, n = _io.load_spikes(result, name)
        order = np.lexsort((t, i))
        times.append(t[order])
        counts.append(np.bincount(i, minlength=n)[:n] if n else np.zeros(0, dtype=np.int64))
        pops += [name] * n
        indices.append(np.arange(n, dtype=np.int64))
    spike_times = np.concatenate(times) if times else np.zeros(0)
    ends = np.cumsum(np.concatenate(counts)) if counts else np.zeros(0, dtype=np.int64)
    n_units = len(pops)
    st = VectorData(name="spike_times", description="spike times of each unit (s)", data=spike_times)
    columns = [st, VectorIndex(name="spike_times_index", data=ends.astype(np.int64), target=st),
               VectorData(name="population", description="spikelearn population (spike recorder) of this unit",
                          data=pops),
               VectorData(name="neuron_index", description="index of the neuron within its population",
                          data=np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64))]
    nwbfile.units = Units(name="units", description="simulated neurons, one unit per recorded neuron",
                          id=np.arange(n_units), columns=columns)
    writable_folder(out_path.parent)
    tmp = out_path.with_name(f".{out_path.stem}.tmp{out_path.suffix}")
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        tmp.replace(out_path)
    except OSError as ex:  # e.g. the disk filled up
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {out_path} ({ex.strerror or ex})", out_path) from ex
    logger.info("wrote %d units of %d population(s) to %s", n_units, len(names), out_path)
    return out_path


def read_nwb_spikes(path):
    """Spikes of an NWB file written by :func:`export_nwb`, as ``{population: (i, t)}`` sorted by time.

    Returns
    -------
    dict[str, tuple of numpy.ndarray]
    """
    from pynwb import NWBHDF5IO

    with NWBHDF5IO(str(path), "r") as io:
        units = io.read().units
        if units is None or len(units) == 0:
            return {}
        pops = np.asarray([str(p) for p in units["population"].data[:]])
        idx = np.asarray(units["neuron_index"].data[:], dtype=np.int64)
        times = np.asarray(units.spike_times.data[:], dtype=float)
        ends = np.asarray(units.spike_times_index.data[:], dtype=np.int64)
    counts = np.diff(np.r_[0, ends])
    unit_of_spike = np.repeat(np.arange(pops.size), counts)
    result = {}
    for pop in dict.fromkeys(pops.tolist()):
        mine = pops[unit_of_spike] == pop
        i, t = idx[unit_of_spike[mine]], times[mine]
        order = np.lexsort((i, t))
        result[pop] = (i[order], t[order])
    return result
