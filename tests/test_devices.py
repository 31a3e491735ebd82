"""runtime and cpp_standalone agree.

A network without random numbers (explicit input spikes → LIF with STDP) must give the same output
spikes and weights on both devices (exactly equal spike times; weights to floating-point tolerance).
Brian2 does not promise the same random streams on runtime and standalone, so for Poisson input the
test compares statistics: rates within 5 standard errors.
"""

import contextlib
import fcntl
import os

import numpy as np
import pytest

from spikelearn.results import RunResult
from spikelearn.runner import run_scenario
from spikelearn.scenario import load_scenario

pytestmark = pytest.mark.standalone


def run(path, registry, out):
    sc = load_scenario(path, registry)
    return RunResult(run_scenario(sc, registry, out_root=out, progress=False).path)


def test_same_spikes_and_weights_on_runtime_and_cpp(deterministic_network, registry, tmp_path):
    a = run(deterministic_network("runtime"), registry, tmp_path)
    b = run(deterministic_network("cpp"), registry, tmp_path)
    (ia, ta), (ib, tb) = a.spikes("out"), b.spikes("out")
    assert len(ta) > 10, "the test network must spike"
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(ta, tb, rtol=0, atol=1e-12)
    wa, wb = a.weights("c"), b.weights("c")
    np.testing.assert_array_equal(wa["i"], wb["i"])
    np.testing.assert_allclose(wa["w_final"], wb["w_final"], rtol=1e-9, atol=1e-15)
    assert not np.allclose(wa["w_final"], wa["w_initial"]), "plasticity must have acted"


def test_poisson_rates_agree_statistically(write_scenario, registry, tmp_path):
    results = {}
    for device in ("runtime", "cpp"):
        path = write_scenario(f'''
            name = "rates"
            duration = "2*second"
            device = "{device}"
            [populations.inp]
            model = "poisson"
            size = 200
            parameters = {{ rate = "25*Hz" }}
        ''')
        _, t = run(path, registry, tmp_path).spikes("inp")
        results[device] = len(t)
    expected = 200 * 25 * 2.0
    for device, count in results.items():
        assert abs(count - expected) < 5 * np.sqrt(expected), (device, count)


def test_one_backend_per_device():
    from spikelearn.devices import BACKENDS
    from spikelearn.scenario import DEVICES

    assert tuple(BACKENDS) == DEVICES
    assert [b.standalone for b in BACKENDS.values()] == [False, True, True]
    assert [b.takes_run_args for b in BACKENDS.values()] == [False, True, False]  # cpp's command line only
    assert [b.in_loop_guard for b in BACKENDS.values()] == [True, True, False]


@pytest.mark.parametrize("failing", [False, True], ids=["ends", "raises"])
def test_a_cpp_session_gives_brian2_back(deterministic_network, registry, tmp_path, failing):
    """Entering a cpp session (nothing is built: no compiler needed) selects cpp_standalone, sets its
    preferences, locks its build directory and hashes clocks by name; leaving it, normally or by an
    exception, gives all of it back: Brian2's own ``BaseClock.__hash__``, the preferences, runtime."""
    from brian2 import prefs
    from brian2.core.clocks import BaseClock

    from spikelearn.devices import BACKENDS, DeviceSession, active_backend
    from spikelearn.network import NetworkDescription

    original_hash = BaseClock.__hash__
    make_args = list(prefs.devices.cpp_standalone.extra_make_args_unix)
    threads = prefs.devices.cpp_standalone.openmp_threads
    sc = load_scenario(deterministic_network("cpp"), registry).with_overrides(["device_options.threads=2"], registry)
    assert active_backend() is BACKENDS["runtime"]
    with pytest.raises(RuntimeError) if failing else contextlib.nullcontext():
        with DeviceSession(sc, build_dir=tmp_path / "build") as session:
            assert session.backend is active_backend() is BACKENDS["cpp"]
            assert BaseClock.__hash__ is not original_hash
            assert prefs.devices.cpp_standalone.extra_make_args_unix[-2:] == [">compile.log", "2>&1"]
            assert session.threads(NetworkDescription.of_scenario(sc)) == 2  # as given, however small
            assert prefs.devices.cpp_standalone.openmp_threads == 2
            if failing:
                raise RuntimeError("inside the session")
    assert BaseClock.__hash__ is original_hash and "__hash__" not in vars(BaseClock)
    assert active_backend() is BACKENDS["runtime"]
    assert prefs.devices.cpp_standalone.extra_make_args_unix == make_args
    assert prefs.devices.cpp_standalone.openmp_threads == threads
    with open(tmp_path / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the build directory is unlocked


def test_auto_threads_use_one_thread_below_the_measured_size(deterministic_network, registry, tmp_path, monkeypatch):
    """``device_options.threads = "auto"``: one thread (no OpenMP) below `THREADS_MIN_SYNAPSES`
    (bench/threads.py measured threads slower there), every core the process may use above; the
    expected synapse count is exact for "all" and index arrays, ``p`` times the pairs otherwise."""
    from brian2 import prefs

    from spikelearn import devices
    from spikelearn.network import Connection, NetworkDescription, Population

    desc = NetworkDescription()
    for name, size in (("a", 100), ("b", 50)):
        desc.add(Population(name, "lif", size, {}))
    desc.add(Connection("ab", "a", "b", connect="all"))
    desc.add(Connection("ba", "b", "a", connect="i != j", p=0.1))
    desc.add(Connection("aa", "a", "a", i=np.arange(7), j=np.arange(7)))
    assert desc.expected_synapses() == 5000 + 500 + 7

    sc = load_scenario(deterministic_network("cpp"), registry).with_overrides(['device_options.threads="auto"'],
                                                                                registry)
    before = prefs.devices.cpp_standalone.openmp_threads
    with devices.DeviceSession(sc, build_dir=tmp_path / "build") as session:
        assert session.threads(desc) == 1 and prefs.devices.cpp_standalone.openmp_threads == before
        monkeypatch.setattr(devices, "THREADS_MIN_SYNAPSES", 1000)
        cores = len(os.sched_getaffinity(0))
        assert session.threads(desc) == cores
        assert prefs.devices.cpp_standalone.openmp_threads == cores
    assert prefs.devices.cpp_standalone.openmp_threads == before
