"""Phases as global signals: a scenario's ``[phases]`` table compiled to Brian2 code.

Each phase name becomes a gate signal (1 inside the phase, 0 outside) that plasticity rules, model
equations and task code read by name:

- ``kind = "oscillation"``: an expression of ``t`` (no array), with ``period``, ``duty`` (fraction of
  the period spent in the first phase) and ``offset``; it also provides ``osc`` =
  ``(1 - cos(2*pi*(t - offset)/period))/2``, rising from 0 to 1 and back once per period.
- ``kind = "blocks"``: phases follow each other with the given ``durations``, cycled to the end of the run.
- ``kind = "intervals"``: explicit ``[name, start, stop]`` intervals.

Blocks and intervals compile to a ``TimedArray`` per phase at ``resolution`` (default 1 ms). All of it is
Brian2 code, so it runs the same on ``runtime``, ``cpp`` and ``cuda``.
"""

import math

import numpy as np

__all__ = ["install_phases", "phase_intervals", "MAX_LISTED_INTERVALS"]

MAX_LISTED_INTERVALS = 200_000


def install_phases(phases, duration, namespace, signals):
    """Add the phase gates of a parsed ``[phases]`` table to ``namespace`` and ``signals``."""
    if phases is None:
        return
    names = phases["names"]
    if phases["kind"] == "oscillation":
        period = float(phases["period"])
        offset = float(phases["offset"]) % period  # in [0, period): keeps the modulo argument >= 0
        from brian2 import second

        namespace["sl_phase_period"] = period * second
        namespace["sl_phase_offset"] = offset * second
        namespace["sl_phase_duty"] = float(phases["duty"])
        # evaluated in the middle of the time step: a phase boundary on the time grid is never ambiguous
        # (floating-point modulo would round it either way), so a phase of n*dt lasts exactly n steps
        first = ("int(((t + 0.5*dt + sl_phase_period - sl_phase_offset) % sl_phase_period)"
                 " < sl_phase_duty*sl_phase_period)")
        signals[names[0]] = first
        if len(names) == 2:
            signals[names[1]] = f"(1 - {first})"
        signals["osc"] = "((1 - cos(2*pi*(t - sl_phase_offset)/sl_phase_period))/2)"
        return
    from brian2 import TimedArray, second

    resolution = float(phases["resolution"])
    n = int(math.ceil(float(duration) / resolution - 1e-9))
    step_times = np.arange(n) * resolution
    slots = _block_slots(phases, resolution) if phases["kind"] == "blocks" else None
    for k, name in enumerate(names):
        if slots is not None:
            # blocks on the resolution grid: each slot's block from integer arithmetic, exact at any length
            # (boundaries summed in floating point drift by more than any fixed tolerance over thousands
            # of cycles, and a drifted boundary moves a whole block by one slot)
            pos = np.arange(n) % slots[-1]
            gate = ((pos >= slots[k]) & (pos < slots[k + 1])).astype(float)
        else:
            gate = np.zeros(n)
            for pname, start, stop in phase_intervals(phases, duration, limit=None):
                if pname == name:
                    gate[(step_times >= start - 1e-12) & (step_times < stop - 1e-12)] = 1.0
        ta_name = f"sl_phase_{name}"
        namespace[ta_name] = TimedArray(gate, dt=resolution * second, name=ta_name)
        signals[name] = f"{ta_name}(t)"


def _block_slots(phases, resolution):
    """Cumulative block boundaries of one cycle in slots of ``resolution`` (``[0, m0, m0+m1, ...]``), or
    None when a duration is not a whole number of slots."""
    m = [float(d) / resolution for d in phases["durations"]]
    if any(abs(x - round(x)) > 1e-6 for x in m):
        return None
    return np.concatenate([[0], np.cumsum([round(x) for x in m])])


def phase_intervals(phases, duration, limit=MAX_LISTED_INTERVALS):
    """The phases as a list of ``(name, start_s, stop_s)`` covering ``[0, duration)`` (for figures)."""
    if phases is None:
        return []
    total = float(duration)
    names = phases["names"]
    out = []
    if phases["kind"] == "oscillation":
        period = float(phases["period"])
        offset = float(phases["offset"]) % period
        first = phases["duty"] * period
        k = -1
        while True:
            cycle = offset + k * period
            if cycle >= total:
                break
            spans = [(names[0], cycle, cycle + first)]
            if len(names) == 2:
                spans.append((names[1], cycle + first, cycle + period))
            for name, a, b in spans:
                a, b = max(a, 0.0), min(b, total)
                if b > a:
                    out.append((name, a, b))
            k += 1
            if limit is not None and len(out) >= limit:
                break
    elif phases["kind"] == "blocks":
        durations = [float(d) for d in phases["durations"]]
        starts = np.concatenate([[0.0], np.cumsum(durations)])  # one cycle; never summed across cycles
        k = 0
        while limit is None or len(out) < limit:
            c, b = divmod(k, len(durations))
            t = c * starts[-1] + starts[b]
            if t >= total:
                break
            out.append((names[b], t, min(c * starts[-1] + starts[b + 1], total)))
            k += 1
    else:
        out = [(name, float(a), min(float(b), total)) for name, a, b in phases["intervals"] if float(a) < total]
    return out
