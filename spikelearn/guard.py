"""In-loop detection of NaN, infinite and runaway state variables.

Every differential-equation variable of every NeuronGroup and Synapses (and each connection's weight
``w``) gets a ``run_regularly`` operation, written in Brian2 code, that calls the function
``sl_guard(value, var_id, i, j, t)`` at every check: a population's every ``guard.every`` of simulated time
(10 ms), a connection's every ``guard.every_connections`` (1 s: a connection has up to ~1000 times more values
than its target population, and a weight running away drives the target's state, which the checks of the
population catch within ``guard.every``), and a connection variable that nothing in the run writes (a
static weight) once, at the start; an object whose own time step is longer, which changes only on its own
steps, on those. When a
value is NaN, infinite, or larger in magnitude than ``guard.limit`` (in Brian2's base SI units), the
first such value is recorded and the simulation loop's global stop flag is set, exactly as Ctrl-C sets
it: the run ends at the end of that time step and the monitors keep everything up to then.

- ``runtime`` (numpy target): the function is a vectorised NumPy function that sets
  ``Network._globally_stopped``; (cython target): a Cython function that calls back into this module.
- ``cpp`` (cpp_standalone): a C++ function that writes ``guard.txt`` in the build directory and sets
  ``Network::_globally_stopped`` (``network.h``), the flag the binary's SIGINT handler uses.
- ``cuda`` (brian2cuda): run_regularly code runs in a GPU kernel, which can neither call host code nor
  stop the host's loop; the guard is not installed (its backend's ``in_loop_guard`` is false,
  `spikelearn.devices.Backend`) and the run says so (the saved arrays are checked for NaN/Inf after the
  run instead, see :func:`check_saved_arrays`).

:meth:`Guard.tripped` returns the finding (variable, population or connection, neuron or synapse
index, time, value) after the run, or None.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .network import assignments

__all__ = ["Guard", "GuardHit", "check_saved_arrays", "DEFAULT_EVERY", "DEFAULT_EVERY_CONNECTIONS", "DEFAULT_LIMIT"]

logger = logging.getLogger(__name__)

DEFAULT_EVERY = "10*ms"
DEFAULT_EVERY_CONNECTIONS = "1*second"
DEFAULT_LIMIT = 1e12
GUARD_FILE = "guard.txt"

# state of the runtime (numpy/cython) implementation; one run at a time per process
_runtime_hit = []


@dataclass
class GuardHit:
    """What the guard found: ``owner`` is a population or connection name."""

    kind: str  # "population" or "connection"
    owner: str
    variable: str
    i: int
    j: int
    t: float
    value: float
    every: float | None  # seconds between checks; None: checked once, at the start

    @property
    def what(self):
        if self.value != self.value:
            return "became NaN"
        if abs(self.value) == float("inf"):
            return f"became {'+' if self.value > 0 else '-'}inf"
        return f"ran away to {self.value:.6g}"

    def message(self, limit):
        where = (f"neuron {self.i} of population '{self.owner}'" if self.kind == "population"
                 else f"synapse {self.i} -> {self.j} of connection '{self.owner}'")
        bound = "" if self.value != self.value or abs(self.value) == float("inf") else f" (limit {limit:g})"
        when = "checked once, at the start: nothing in the run changes it" if self.every is None else \
            f"checked every {self.every * 1e3:g} ms"
        return (f"state variable '{self.variable}' of {where} {self.what}{bound} at t = {self.t * 1e3:.6g} ms "
                f"({when}); the simulation stopped there")


def _report(value, var_id, i, j, t):
    """Called by the Cython implementation for a bad value."""
    from brian2.core.network import Network

    if not _runtime_hit:
        _runtime_hit.append((int(var_id), int(i), int(j), float(t), float(value)))
    Network._globally_stopped = True


def _numpy_guard(limit):
    """The NumPy implementation for ``limit`` (a closure: Brian2 runs it with a copy of this module's
    globals when units are discarded)."""

    def sl_guard(value, var_id, i, j, t):
        value = np.asarray(value, dtype=float)
        bad = ~np.isfinite(value) | (np.abs(value) > limit)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            pick = lambda x: np.broadcast_to(np.asarray(x), value.shape)[k]  # noqa: E731
            _report(value[k], pick(var_id), pick(i), pick(j), pick(t))
        return np.zeros(value.shape)

    return sl_guard


CPP_CODE = """
#include <cmath>
#include <fstream>
static double sl_guard(double value, int var_id, int i, int j, double t)
{
    if ((!std::isfinite(value) || std::fabs(value) > %(limit)r) && !Network::_globally_stopped)
    {
        std::ofstream _guard("%(file)s", std::ios::trunc);
        _guard.precision(17);
        _guard << var_id << " " << i << " " << j << " " << t << " " << value << std::endl;
        _guard.close();
        Network::_globally_stopped = true;
    }
    return 0.0;
}
"""

CYTHON_CODE = """
from libc.math cimport isfinite, fabs
import spikelearn.guard as _sl_guard_module
cdef double sl_guard(double value, int var_id, int i, int j, double t):
    if not isfinite(value) or fabs(value) > %(limit)r:
        _sl_guard_module._report(value, var_id, i, j, t)
    return 0.0
"""


def _function(limit):
    from brian2 import Function, second

    numpy_guard = _numpy_guard(float(limit))
    f = Function(numpy_guard, arg_units=[None, 1, 1, 1, second], arg_names=["value", "var_id", "i", "j", "t"],
                 return_unit=1, stateless=False, auto_vectorise=False)
    # without units: Brian2's unit-checking wrapper formats the returned array into an error message on
    # every call (an f-string built before the check), which was most of a small NumPy run's time
    f.implementations.add_numpy_implementation(numpy_guard, discard_units=True)
    f.implementations.add_implementation("cpp", CPP_CODE % {"limit": float(limit), "file": GUARD_FILE},
                                         name="sl_guard", compiler_kwds={"headers": ['"network.h"']})
    f.implementations.add_implementation("cython", CYTHON_CODE % {"limit": float(limit)}, name="sl_guard")
    return f


class Guard:
    """Installs the checks on a built network and reads back what they found: in this process (runtime),
    or, given the ``build_dir`` of a cpp program, from the file the program writes there."""

    def __init__(self, every, limit, duration, build_dir=None, every_connections=None):
        self.every = every
        self.duration = duration
        self.every_connections = every if every_connections is None else every_connections
        self.limit = float(limit)
        self.build_dir = Path(build_dir) if build_dir is not None else None
        self.table = []  # var_id -> (kind, owner, variable, seconds between checks or None: once)
        self.installed = False

    def install(self, objects):
        """Add the checks to every NeuronGroup and Synapses in ``objects`` (before ``Network.run``, after
        every operation the run adds to them)."""
        from brian2 import Clock, NeuronGroup, Synapses

        func = _function(self.limit)
        # clocks with fixed names: an auto-numbered one ("_clock_1" while an earlier run's objects are still
        # alive) would change the generated code and defeat the build cache
        clocks = {"population": Clock(dt=self.every, name="sl_guard_clock"),
                  "connection": Clock(dt=self.every_connections, name="sl_guard_clock_connections"),
                  # what nothing in the run writes: a clock whose step is the whole run ticks at t = 0 only
                  "once": Clock(dt=self.duration, name="sl_guard_clock_once")}
        slow = {}  # an object whose own time step is longer changes only on its own steps: checked on those
        _runtime_hit.clear()
        if self.build_dir is not None:
            (self.build_dir / GUARD_FILE).unlink(missing_ok=True)
        for obj in objects:
            if isinstance(obj, Synapses):
                kind, j = "connection", "j"
                variables = _float_vars(obj, extra=("w",))
                written = _written(obj)
                groups = {"connection": [v for v in variables if v in written],
                          "once": [v for v in variables if v not in written]}
            elif isinstance(obj, NeuronGroup):
                kind, j = "population", "-1"
                groups = {"population": _float_vars(obj)}
            else:
                continue
            for which, variables in groups.items():
                if not variables:
                    continue
                check = clocks[which]
                own = float(obj.clock.dt)
                if which != "once" and own > float(check.dt):
                    check = slow.setdefault(own, Clock(dt=obj.clock.dt, name=f"sl_guard_clock_{len(slow) + 1}"))
                lines = []
                for var in variables:
                    self.table.append((kind, obj.name, var, float(check.dt) if which != "once" else None))
                    lines.append(f"sl_guard_{var} = sl_guard({var}, {len(self.table) - 1}, i, {j}, t)")
                if obj.namespace is None:
                    obj.namespace = {}
                obj.namespace["sl_guard"] = func
                suffix = "_once" if which == "once" else ""
                obj.run_regularly("\n".join(lines), clock=check, when="end", name=f"{obj.name}_sl_guard{suffix}")
        self.installed = True

    def tripped(self):
        """The first bad value found during the run, or None."""
        if not self.installed:
            return None
        if self.build_dir is not None:
            path = self.build_dir / GUARD_FILE
            if not path.exists():
                return None
            fields = path.read_text().split()
            path.unlink()
            var_id, i, j, t, value = int(fields[0]), int(fields[1]), int(fields[2]), float(fields[3]), float(fields[4])
        else:
            if not _runtime_hit:
                return None
            var_id, i, j, t, value = _runtime_hit[0]
        kind, owner, variable, every = self.table[var_id]
        return GuardHit(kind, owner, variable, i, j, t, value, every)


def _written(synapses):
    """The variables of ``synapses`` that change during the run: integrated (clock-driven equations) or
    assigned by the code of a pathway or of a regular operation on it."""
    names = set(synapses.equations.diff_eq_names)
    codes = [p.code for p in getattr(synapses, "_pathways", [])]
    codes += [o.abstract_code for o in synapses.contained_objects if isinstance(getattr(o, "abstract_code", None), str)]
    for code in codes:
        names.update(variable for variable, _ in assignments(code))
    return names


def _float_vars(group, extra=()):
    # diff_eq_names is a set: sorted, or the generated code (and the build cache) depends on the hash seed
    # (an extra variable declared constant, e.g. fixed feedback weights, cannot change after it was set)
    names = sorted(group.equations.diff_eq_names) + [
        v for v in extra if v in group.variables and not getattr(group.variables[v], "constant", False)]
    out = []
    for name in names:
        var = group.variables.get(name)
        if var is not None and np.issubdtype(np.dtype(var.dtype), np.floating) and name not in out:
            out.append(name)
    return out


def check_saved_arrays(data_dir):
    """After a run without the in-loop guard: the first recorded state or weight array holding NaN/Inf,
    as ``(file, array name)``, or None. Only ``state_*.npz`` and ``weights_*.npz``: a task's other files
    may hold NaN on purpose (e.g. ``attributes_*.npz``: the preferred stimulus of untuned neurons)."""
    paths = [*Path(data_dir).glob("state_*.npz"), *Path(data_dir).glob("weights_*.npz")]
    for path in sorted(paths):
        with np.load(path) as f:
            for name in f.files:
                a = f[name]
                if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
                    return path.name, name
    return None
