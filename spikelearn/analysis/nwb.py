"""Export of a run directory to NWB (Neurodata Without Borders) with pynwb.

Where the run's data go in the file:

- ``units``: every neuron of every spike recorder is one row, with its spike times (s) and two extra
  columns, ``population`` (the spike recorder's name) and ``neuron_index`` (its index in the population).
  The table's ``resolution`` is the simulation time step: Brian2 spike times are multiples of it.
- ``acquisition/state_<recorder>_<variable>``: one ``TimeSeries`` per recorded state variable, shaped
  (time, recorded neuron), in the coherent SI unit of the variable (Brian2's name: ``volt``, ``siemens``,
  ...; ``dimensionless``), regularly sampled (``starting_time`` and ``rate``).
- ``acquisition/weights_<connection>``: a table with one row per synapse, its id the Brian2 synapse index,
  and columns ``pre``, ``post`` (neuron indices), ``w_initial`` and ``w_final``.
- ``acquisition/weights_<connection>_trace``: the recorded weights as a ``TimeSeries`` (time, recorded
  synapse).
- ``acquisition/trace_columns``: which neuron or synapse each data column of the series above is, one row
  per series (``series``, ``source``, ``variable`` and the ragged column ``element``: neuron indices for
  states, synapse ids of ``weights_<connection>`` for weight traces).
- ``intervals/phases``: the phase intervals of ``data/phases.json`` as ``TimeIntervals`` (column ``phase``).

Series or tables with no data (an interrupted run, a connection without synapses) are left out.

Metadata: the resolved scenario (TOML) goes to ``protocol``, the provenance (JSON) to ``notes``, the
scenario's description to ``session_description``, the run id to ``identifier``/``session_id``. The
subject is the simulated network: ``subject_id`` the scenario name, ``species`` the NCBI Taxonomy term
"synthetic construct" (:data:`SIMULATED_SPECIES`), ``sex`` "O" (other: not applicable), ``age`` "P0D" (the
network is made when the simulation starts), and a description saying so. The experimenter, institution,
lab, subject id and species can be given to :func:`export_nwb` (and to ``spikelearn export``).

Runs saved before units were recorded in ``state_*.npz``/``weights_*.npz`` export their states and
weights with the unit ``unknown``.
"""

import datetime
import json
import logging
from pathlib import Path

import numpy as np

from spikelearn.errors import OutputError

from spikelearn.results import writable_folder

from . import _io

__all__ = ["export_nwb", "read_nwb_spikes", "SIMULATED_SPECIES"]

logger = logging.getLogger(__name__)

#: NCBI Taxonomy "synthetic construct" (taxon 32630): the species of a simulated network, in the form
#: NWB best practice asks for (a Latin binomial or an NCBI Taxonomy link).
SIMULATED_SPECIES = "http://purl.obolibrary.org/obo/NCBITaxon_32630"


def _start_time(provenance):
    started = (provenance or {}).get("started")
    if started:
        try:
            stamp = datetime.datetime.fromisoformat(str(started))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            logger.warning("provenance start time %r is not ISO 8601; using the epoch", started)
    return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _unit(arrays, var, path):
    """The NWB unit string of ``var`` from the ``_unit_<var>`` entry that the run saved with it."""
    saved = arrays.get(f"_unit_{var}")
    if saved is None:
        logger.warning("%s: no unit saved for '%s' (a run from before units were saved); exporting it as 'unknown'",
                       path, var)
        return "unknown"
    unit = str(saved)
    return "dimensionless" if unit == "1" else unit


def _timing(t):
    """``starting_time`` and ``rate`` of regularly sampled times ``t`` (as monitors record), else
    ``timestamps``."""
    t = np.asarray(t, dtype=np.float64)
    if t.size >= 2:
        step = (t[-1] - t[0]) / (t.size - 1)
        if step > 0 and np.allclose(np.diff(t), step, rtol=1e-6, atol=0):
            # 12 digits: 1/step carries the rounding noise of the float times (1/1e-3 -> 999.9999999999999)
            return {"starting_time": float(t[0]), "rate": float(f"{1 / step:.12g}")}
    return {"timestamps": t}


def _compressed(data):
    from pynwb import H5DataIO

    return H5DataIO(data, compression="gzip") if np.size(data) else data


def _describe_indices(indices, what):
    indices = np.asarray(indices)
    if indices.size and np.array_equal(indices, np.arange(indices[0], indices[0] + indices.size)):
        return f"{what} {indices[0]} to {indices[-1]}"
    shown = ", ".join(str(k) for k in indices[:10])
    return f"{what} {shown}{', ...' if indices.size > 10 else ''}"


def _units_table(result, names, resolution):
    from hdmf.common import VectorData, VectorIndex
    from pynwb.misc import Units

    # the units table is built column by column (one add_unit call per neuron is slow for 10^4 neurons)
    times, counts, pops, indices = [], [], [], []
    for name in names:
        i, t, n = _io.load_spikes(result, name)
        order = np.lexsort((t, i))
        times.append(t[order])
        counts.append(np.bincount(i, minlength=n)[:n] if n else np.zeros(0, dtype=np.int64))
        pops += [name] * n
        indices.append(np.arange(n, dtype=np.int64))
    spike_times = np.concatenate(times)
    ends = np.cumsum(np.concatenate(counts))
    st = VectorData(name="spike_times", description="spike times of each unit (s)", data=_compressed(spike_times))
    columns = [st, VectorIndex(name="spike_times_index", data=ends.astype(np.int64), target=st),
               VectorData(name="population", description="spikelearn population (spike recorder) of this unit",
                          data=pops),
               VectorData(name="neuron_index", description="index of the neuron within its population",
                          data=np.concatenate(indices))]
    return Units(name="units", description="simulated neurons, one unit per recorded neuron",
                 id=np.arange(len(pops)), columns=columns, resolution=resolution)


def _add_states(nwbfile, result, trace_rows):
    from pynwb import TimeSeries

    for name in _io.state_recorders(result):
        arrays = _io.load_state(result, name)
        t, index = arrays["t"], arrays["index"]
        path = Path(result.path) / "data" / f"state_{name}.npz"
        for var in [k for k in arrays if k not in ("t", "index") and not k.startswith("_")]:
            data = np.asarray(arrays[var], dtype=np.float64).reshape(index.size, t.size)
            if not data.size:
                logger.info("%s: no samples of '%s'; not exported", path, var)
                continue
            series = f"state_{name}_{var}"
            nwbfile.add_acquisition(TimeSeries(
                name=series, data=_compressed(data.T), unit=_unit(arrays, var, path), **_timing(t),
                description=f"state variable '{var}' of {_describe_indices(index, 'neurons')} "
                            f"(state recorder '{name}'; columns: trace_columns)"))
            trace_rows.append((series, name, var, index))


def _add_weights(nwbfile, result, trace_rows):
    from hdmf.common import DynamicTable, VectorData
    from pynwb import TimeSeries

    for conn in _io.weight_recorders(result):
        arrays = _io.load_weights(result, conn)
        path = Path(result.path) / "data" / f"weights_{conn}.npz"
        unit = _unit(arrays, "w", path)
        n = arrays["i"].size
        if not n:
            logger.info("%s: connection '%s' has no synapses; not exported", path, conn)
            continue
        columns = [VectorData(name="pre", description="index of the presynaptic neuron", data=arrays["i"]),
                   VectorData(name="post", description="index of the postsynaptic neuron", data=arrays["j"]),
                   VectorData(name="w_initial", description=f"weight w when the run started ({unit})",
                              data=arrays["w_initial"]),
                   VectorData(name="w_final", description=f"weight w when the run ended ({unit})",
                              data=arrays["w_final"])]
        nwbfile.add_acquisition(DynamicTable(
            name=f"weights_{conn}", id=np.arange(n), columns=columns,
            description=f"synapses of connection '{conn}', one row per synapse (id: Brian2 synapse index)"))
        trace = np.asarray(arrays.get("w_trace", np.zeros((0, 0))), dtype=np.float64)
        if not trace.size:
            continue
        index = arrays["trace_index"]
        series = f"weights_{conn}_trace"
        nwbfile.add_acquisition(TimeSeries(
            name=series, data=_compressed(trace.reshape(index.size, -1).T), unit=unit, **_timing(arrays["t"]),
            description=f"weight w of {_describe_indices(index, 'synapses')} of connection '{conn}' "
                        f"(ids of weights_{conn}; columns: trace_columns)"))
        trace_rows.append((series, conn, "w", index))


def _trace_columns(rows):
    from hdmf.common import DynamicTable

    table = DynamicTable(name="trace_columns",
                         description="the neuron or synapse of each data column of the recorded state and weight "
                                     "series, one row per series")
    table.add_column("series", "name of the TimeSeries in acquisition")
    table.add_column("source", "state recorder (population) or connection that recorded it")
    table.add_column("variable", "the recorded variable")
    table.add_column("element", "for each data column: the neuron index (states) or the synapse id in "
                                "weights_<connection> (weight traces)", index=True)
    for series, source, var, index in rows:
        table.add_row(series=series, source=source, variable=var, element=[int(k) for k in index])
    return table


def _phases(result):
    from hdmf.common import VectorData
    from pynwb.epoch import TimeIntervals

    phases = _io.load_phases(result)
    if phases is None:
        return None
    rows = sorted((float(start), float(stop), str(name)) for name, start, stop in phases["intervals"])
    start, stop, names = zip(*rows)
    return TimeIntervals(
        name="phases", description="the phases of the run (data/phases.json): which phase gate is open when",
        id=np.arange(len(rows)),
        columns=[VectorData(name="start_time", description="start of the phase interval (s)", data=np.array(start)),
                 VectorData(name="stop_time", description="end of the phase interval (s)", data=np.array(stop)),
                 VectorData(name="phase", description="name of the phase", data=list(names))])


def export_nwb(run_path, out_path, populations=None, overwrite=False, *, experimenter=None, institution=None,
               lab=None, subject_id=None, species=None):
    """Write a run (spikes, recorded states and weights, phases, metadata) as an NWB file.

    Parameters
    ----------
    run_path : path-like or RunResult
        The run directory.
    out_path : path-like
        The ``.nwb`` file to write.
    populations : list of str or None
        Spike recorders to export (default: all). States, weights and phases are always exported.
    overwrite : bool
        Replace an existing file (default: refuse).
    experimenter : str or list of str or None
        Who ran the simulation, ``"Last, First"`` (default: not recorded).
    institution, lab : str or None
        Where it was run (default: not recorded).
    subject_id : str or None
        The id of the simulated network (default: the scenario name); no ``/``.
    species : str or None
        A Latin binomial or an NCBI Taxonomy link, for a model of a particular animal (default:
        :data:`SIMULATED_SPECIES`, "synthetic construct").

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        ``out_path`` exists and ``overwrite`` is false.
    ValueError
        An unknown spike recorder in ``populations``, or a ``subject_id`` with ``/``.
    spikelearn.errors.OutputError
        When ``out_path`` cannot be written (its folder is not writable, or writing the file fails; no
        partial file is left).

    Examples
    --------
    >>> export_nwb("runs/song-stdp/20261123-010000-abcdef", "song.nwb",
    ...            experimenter="Doe, Jane", institution="EPFL")  # doctest: +SKIP
    """
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

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
    scenario_name = str(scenario.get("name", "run"))
    if subject_id is not None and "/" in subject_id:
        raise ValueError(f"subject id must not contain '/', found: {subject_id!r}")
    subject = Subject(
        subject_id=subject_id or scenario_name, species=species or SIMULATED_SPECIES, sex="O", age="P0D",
        description=f"simulated spiking network of the spikelearn scenario '{scenario_name}', not an animal "
                    f"(sex O: not applicable; age P0D: the network is made when the simulation starts)")
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
        subject=subject,
        experimenter=[experimenter] if isinstance(experimenter, str) else experimenter,
        institution=institution,
        lab=lab,
    )
    if names:
        nwbfile.units = _units_table(result, names, _io.run_dt(result))
    trace_rows = []
    _add_states(nwbfile, result, trace_rows)
    _add_weights(nwbfile, result, trace_rows)
    if trace_rows:
        nwbfile.add_acquisition(_trace_columns(trace_rows))
    phases = _phases(result)
    if phases is not None:
        nwbfile.add_time_intervals(phases)
    writable_folder(out_path.parent)
    tmp = out_path.with_name(f".{out_path.stem}.tmp{out_path.suffix}")
    try:
        with NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwbfile)
        tmp.replace(out_path)
    except OSError as ex:  # e.g. the disk filled up
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {out_path} ({ex.strerror or ex})", out_path) from ex
    logger.info("wrote %d units of %d population(s), %d recorded series and %d phase intervals to %s",
                len(nwbfile.units) if names else 0, len(names), len(trace_rows),
                len(phases) if phases is not None else 0, out_path)
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
