"""spikelearn's patches to Brian2 and brian2cuda, in force only while a device session lasts.

A `spikelearn.devices.DeviceSession` enters them when it starts and undoes them when it ends (the
backends' ``patches``), so a later session or other code in the same process sees Brian2 and brian2cuda
as they are. They make a run and its generated code a function of the network alone (a run repeats in
a new process; an unchanged network is not recompiled: the build cache) and brian2cuda's project faster
to compile:

- `ordered_noise` (every device): noise terms drawn in sorted order (``Equations.stochastic_variables``).
- `stable_clock_order` (``cpp`` and ``cuda``): ``BaseClock.__hash__`` is a digest of the clock's name.
- `runtime_seed` (``cpp``): ``CPPStandaloneDevice.seed`` writes code that reads the seed from
  ``$SPIKELEARN_SEED`` when the program starts, so a new seed recompiles nothing.
- `brian2cuda_patches` (``cuda``): ``CUDAWriter.write`` and ``CUDAStandaloneDevice.code_object``.

Each function's docstring says what it replaces and why. They were written for the versions in
`WRITTEN_FOR` (Brian2 2.10, brian2cuda 1.0b1, the versions setup.cfg pins). With another version
installed they are still applied, with a `PatchVersionWarning`: the code they fix may have moved, so the
generated code may again depend on the process (an unchanged network recompiled; check with
``tests/test_build_cache.py`` and ``pytest -m cuda_build tests/test_cuda.py``). A patched attribute that
no longer exists is a `BuildError` naming it.

A set of clocks built while `stable_clock_order` is in force is hashed by name: it must not be searched
after the session (the clocks then hash by address again). Brian2 builds such sets per run
(``Network._clocks``, the standalone device's ``clocks``), and the session's end reinitialises the device.
"""

import contextlib
import functools
import hashlib
import warnings
from importlib.metadata import PackageNotFoundError, version

from .cuda_light import LightWriter
from .errors import BuildError

__all__ = ["WRITTEN_FOR", "PatchVersionWarning", "ordered_noise", "stable_clock_order", "runtime_seed",
           "SEED_VARIABLE", "brian2cuda_patches", "SortedIterationSet"]

#: the environment variable from which a cpp program built under `runtime_seed` reads its seed
SEED_VARIABLE = "SPIKELEARN_SEED"

#: the versions the patches were written for: a release of Brian2 2.10; brian2cuda 1.0b1 exactly
WRITTEN_FOR = {"brian2": "2.10", "brian2cuda": "1.0b1"}


class PatchVersionWarning(UserWarning):
    """The installed Brian2 or brian2cuda is not a version spikelearn's patches were written for."""


def _installed(package):
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _check_version(package):
    expected, found = WRITTEN_FOR[package], _installed(package)
    if found is not None and (found == expected or found.startswith(expected + ".")):
        return
    warnings.warn(
        f"spikelearn's patches to {package} were written for {package} {expected}, and {package} "
        f"{found or '(version unknown)'} is installed: they are applied, but the code they fix may have changed, "
        f"so an unchanged network may be recompiled (check with tests/test_build_cache.py and "
        f"pytest -m cuda_build tests/test_cuda.py); install {package} {expected} to be sure",
        PatchVersionWarning)


@contextlib.contextmanager
def _replaced(owner, name, wrap, package):
    """``owner.name`` replaced by ``wrap(original)`` inside the block; afterwards exactly as it was (an
    attribute ``owner`` inherited is deleted again, so it is inherited again)."""
    if not hasattr(owner, name):
        raise BuildError(f"{package} {_installed(package) or '(version unknown)'} has no "
                         f"{owner.__qualname__}.{name}: spikelearn's patches (written for {package} "
                         f"{WRITTEN_FOR[package]}) cannot be applied; install {package} {WRITTEN_FOR[package]}")
    own = name in owner.__dict__
    saved = owner.__dict__.get(name)
    setattr(owner, name, wrap(getattr(owner, name)))
    try:
        yield
    finally:
        if own:
            setattr(owner, name, saved)
        else:
            delattr(owner, name)


# -- Brian2 ----------------------------------------------------------------------------------------------
class SortedIterationSet(set):
    """A set that iterates in sorted order (set operations return plain sets)."""

    def __iter__(self):
        return iter(sorted(set.__iter__(self)))


@contextlib.contextmanager
def ordered_noise():
    """Noise terms iterated in sorted order inside the block (``Equations.stochastic_variables``).

    Brian2's explicit state updaters (``euler``, ``heun``, ``milstein``) draw one ``randn()`` per noise
    term in the iteration order of ``Equations.stochastic_variables``, a ``set`` of strings: its order
    follows the process's hash seed (``PYTHONHASHSEED``), so a model with two or more noise terms
    (``xi_1``, ``xi_2``) gave each term other numbers from one process to the next, and a run did not
    repeat in a new process. The same numbers are drawn; ``xi_1`` now always receives the first.
    """
    _check_version("brian2")
    from brian2.equations.equations import Equations

    def sorted_noise(original):
        return property(lambda eqs: SortedIterationSet(original.__get__(eqs)), doc=original.__doc__)

    with _replaced(Equations, "stochastic_variables", sorted_noise, "brian2"):
        yield


@contextlib.contextmanager
def stable_clock_order():
    """Clocks hashed by a digest of their name inside the block (``BaseClock.__hash__``).

    Brian2's ``network_run`` collects the clocks in a ``set`` (``net._clocks``) and writes one line per
    clock of ``main.cpp`` (brian2cuda: ``main.cu``, with the ``clock.set_interval`` values and the
    per-clock random number buffer) in that set's order; a clock's default hash is its memory address,
    so the file changed from one process to the next and an unchanged network recompiled it (~3 s for
    cpp). The hash is computed once per clock and kept in the clock (a clock can be renamed while in a
    set: brian2cuda renames ``clock`` to ``_clock``). Equality stays identity: only the iteration order
    of clock sets changes, and it becomes reproducible.
    """
    _check_version("brian2")
    from brian2.core.clocks import BaseClock

    with _replaced(BaseClock, "__hash__", lambda original: _stable_clock_hash, "brian2"):
        yield


def _stable_clock_hash(clock):
    try:
        return clock.__dict__["_spikelearn_hash"]
    except KeyError:
        digest = hashlib.sha256(str(getattr(clock, "name", "")).encode()).digest()
        value = int.from_bytes(digest[:8], "little") >> 1
        clock.__dict__["_spikelearn_hash"] = value
        return value


@contextlib.contextmanager
def runtime_seed():
    """The seed read by the cpp program when it starts, inside the block (``CPPStandaloneDevice.seed``).

    Brian2 writes the seed's value into ``main.cpp`` (``_random_generators[_i].seed(<seed>L + _i)``), so
    every new seed recompiled ``main.cpp`` and relinked the program (~2 s of a cached rerun's ~8 s). The
    patched ``seed(n)`` writes the same seeding loop reading the value from ``$SPIKELEARN_SEED``
    (`SEED_VARIABLE`) and keeps ``n`` as the device's ``spikelearn_seed``; the cpp backend starts the
    program with that variable set. The loop runs over the generators the program has (one per OpenMP
    thread, as Brian2's loop), so the threads can be chosen after ``seed``. The generators receive the same values as with Brian2's code, so a
    run's random numbers are unchanged. A program started without the variable stops with a message
    saying so. ``seed()`` (a random seed) is left to Brian2.
    """
    _check_version("brian2")
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    def seed_at_run_time(original):
        @functools.wraps(original)
        def seed(self, seed=None):
            if seed is None:
                return original(self, seed)
            self.spikelearn_seed = int(seed)
            self.main_queue.append(("insert_code", _SEED_CODE.format(var=SEED_VARIABLE)))

        return seed

    from brian2.devices.device import all_devices

    try:
        with _replaced(CPPStandaloneDevice, "seed", seed_at_run_time, "brian2"):
            yield
    finally:  # a later session must not start its program with this one's seed
        all_devices["cpp_standalone"].__dict__.pop("spikelearn_seed", None)


_SEED_CODE = """{{
    const char* _seed_text = std::getenv("{var}");
    if (_seed_text == NULL) {{
        std::cerr << "{var} is not set: this program reads its random seed from it (spikelearn sets it)" << std::endl;
        std::exit(2);
    }}
    const unsigned long _seed = std::strtoul(_seed_text, NULL, 10);
    for (int _i=0; _i<(int)brian::_random_generators.size(); _i++)  // one per OpenMP thread
        brian::_random_generators[_i].seed(_seed + _i);
}}"""


# -- brian2cuda ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def brian2cuda_patches():
    """brian2cuda's code writing patched inside the block (a cuda session also enters `stable_clock_order`).

    1. ``CUDAWriter.write`` (every generated file passes through `spikelearn.cuda_light.LightWriter`):
       (a) the makefile template hard-codes ``-std=c++11`` for nvcc; the written makefile gets
       ``-std=c++17`` instead (CUDA 13's Thrust/CUB refuse C++11). (b) Light headers: files that need
       no Thrust beyond simple operations on the dynamic arrays call small accessor functions defined
       in ``objects.cu`` and include a Thrust-free ``objects.h``; see `spikelearn.cuda_light`.
    2. ``CUDAStandaloneDevice.code_object`` (a): the synapse-creation templates loop over
       ``owner._registered_variables`` (a set) sorted by name only; during code generation that set is
       replaced by one iterated in (name, array name) order (`_NamedOrderSet`), which breaks the tie
       between a pre and a post pathway's ``delay`` variables. (b): Brian2's `EventMonitor` keeps its
       recorded variables in a ``set`` and passes them to the template as a dict built from it
       (``record_variables``); brian2cuda's ``spikemonitor.cu`` loops over that dict for the kernel
       arguments, the ``resize`` calls and the copies, so a spike monitor's code changed order from one
       Python process to the next (string hashing is randomised). The dict is sorted by name before the
       template sees it.
    """
    _check_version("brian2cuda")
    from brian2cuda.device import CUDAStandaloneDevice, CUDAWriter

    def light_write(original):
        light = LightWriter(original)

        @functools.wraps(original)
        def write(self, filename, contents):
            return light(self, filename, contents)

        return write

    def ordered_code_object(original):
        @functools.wraps(original)
        def code_object(self, owner, name, abstract_code, variables, template_name, variable_indices,
                        codeobj_class=None, template_kwds=None, **kwargs):
            if template_kwds and isinstance(template_kwds.get("record_variables"), dict):
                template_kwds = dict(template_kwds)
                template_kwds["record_variables"] = dict(sorted(template_kwds["record_variables"].items()))
            registered = getattr(owner, "_registered_variables", None)
            if isinstance(registered, set) and not isinstance(registered, _NamedOrderSet):
                owner._registered_variables = _NamedOrderSet(registered, self)
            try:
                return original(self, owner, name, abstract_code, variables, template_name, variable_indices,
                                codeobj_class=codeobj_class, template_kwds=template_kwds, **kwargs)
            finally:
                if isinstance(registered, set):
                    owner._registered_variables = registered

        return code_object

    with (_replaced(CUDAWriter, "write", light_write, "brian2cuda"),
          _replaced(CUDAStandaloneDevice, "code_object", ordered_code_object, "brian2cuda")):
        yield


class _NamedOrderSet(set):
    """A set iterated in the order of (variable name, device array name): the synapse-creation
    templates sort ``owner._registered_variables`` by ``name`` only, and a pre and a post pathway both
    have a variable named ``delay`` (arrays ``..._delay`` and ``..._delay_1``), so the tie kept the
    address-dependent set order."""

    def __init__(self, items, device):
        super().__init__(items)
        self._device = device

    def __iter__(self):
        return iter(sorted(set.__iter__(self), key=self._key))

    def _key(self, var):
        return (str(getattr(var, "name", "")), self._device.get_array_name(var, access_data=False))
