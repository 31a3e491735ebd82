"""The cpp build cache: a second build of an unchanged scenario, from a new Python process with another
string-hash seed, rewrites no source file and recompiles nothing.

Brian2 writes one ``main.cpp`` line per clock in the order of a set of clocks hashed by memory address;
before spikelearn gave clocks a stable hash (`spikelearn.brian2_patches.stable_clock_order`) every run of a
network with several clocks (song-stdp has three: the simulation's and two monitors') recompiled
``main.cpp``, ~3 s on two free cores. Default suite: the clock order in-process (with Brian2's own
hash as the negative control). Marker ``long``: the cpp rebuild itself (mtimes of every source, object
and binary), and the cause shown with plain Brian2 (``main.cpp`` changes between processes).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(args, cache, hash_seed):
    env = {**os.environ, "SPIKELEARN_CACHE": str(cache), "PYTHONHASHSEED": str(hash_seed), "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-m", "spikelearn.cli", *args], env=env, capture_output=True, text=True,
                          timeout=3600)


def _snapshot(build_dir):
    files = [p for p in Path(build_dir).rglob("*")
             if p.is_file() and (p.suffix in (".cpp", ".h", ".o") or p.name in ("main", "makefile"))
             and "static_arrays" not in p.parts and "results" not in p.parts]
    return {str(p.relative_to(build_dir)): p.stat().st_mtime_ns for p in files}


def test_clock_sets_iterate_in_the_same_order_whatever_the_addresses():
    """What the cache relies on, in-process and cheap: while the clock patch of a cpp session is in force,
    a set of clocks iterates in an order fixed by their names (and insertion order, which Brian2 keeps:
    sorted objects), not by where the clocks live in memory. Outside it (Brian2's own hash, the memory
    address) the order varies: the negative control, and the patch is undone."""
    from brian2 import Clock, ms

    from spikelearn.brian2_patches import stable_clock_order

    names = [f"clock_{k}" for k in range(6)]

    def orders():
        seen = set()
        for shift in range(8):
            padding = [bytearray(48 * (shift + 1)) for _ in range(3 * shift)]  # move the clocks' addresses
            clocks = [Clock(dt=1 * ms, name=n) for n in names]
            seen.add(tuple(c.name for c in set(clocks)))
            del padding
        return seen

    with stable_clock_order():
        assert len(orders()) == 1
    assert len(orders()) > 1


def test_patches_warn_on_other_versions_and_refuse_what_they_cannot_patch(monkeypatch):
    """Written for the versions in `WRITTEN_FOR`: another version is patched with a warning naming both;
    an attribute to patch that does not exist is a `BuildError` naming it, and nothing is left patched."""
    from brian2.core.clocks import BaseClock

    from spikelearn import brian2_patches
    from spikelearn.errors import BuildError

    original = BaseClock.__hash__
    monkeypatch.setitem(brian2_patches.WRITTEN_FOR, "brian2", "2.9")
    with pytest.warns(brian2_patches.PatchVersionWarning, match=r"written for brian2 2\.9, and brian2 2\.10"):
        with brian2_patches.stable_clock_order():
            assert BaseClock.__hash__ is not original
    assert BaseClock.__hash__ is original

    class Target:
        pass

    with pytest.raises(BuildError, match=r"has no .*Target\.write: spikelearn's patches \(written for brian2 2\.9\)"):
        with brian2_patches._replaced(Target, "write", lambda original: None, "brian2"):
            pass
    assert not hasattr(Target, "write")


@pytest.mark.standalone
@pytest.mark.long
def test_second_cpp_build_of_unchanged_scenario_recompiles_nothing(tmp_path):
    cache, out = tmp_path / "cache", tmp_path / "runs"
    args = ["run", "song-stdp", "--device", "cpp", "--build-only", "--no-progress", "--out", str(out)]
    proc = _cli(args, cache, hash_seed=1)
    assert proc.returncode == 0, proc.stderr[-4000:]
    [rundir] = list((out / "song-stdp").iterdir())
    build_dir = Path(json.loads((rundir / "provenance.json").read_text())["device_build_dir"])
    before = _snapshot(build_dir)
    assert "main.o" in before and len(before) > 20
    proc = _cli(args, cache, hash_seed=2)
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = _snapshot(build_dir)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], f"the cached rebuild rewrote or recompiled: {changed}"
    proc = _cli([*args, "--seed", "7"], cache, hash_seed=3)  # a new seed: read by the program at its start
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = _snapshot(build_dir)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [], f"a new seed rewrote or recompiled: {changed}"


def test_cpp_seed_is_read_at_run_time_and_the_patch_is_undone():
    """`runtime_seed`: ``seed(n)`` queues code reading ``$SPIKELEARN_SEED`` (not ``n``) with Brian2's
    seeding loop, keeps ``n`` for the backend, and leaves ``seed()`` (random) and the class as they were."""
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    from spikelearn.brian2_patches import SEED_VARIABLE, runtime_seed

    original = CPPStandaloneDevice.seed
    with runtime_seed():
        dev = CPPStandaloneDevice()
        dev.seed(123456)
        kind, code = dev.main_queue[-1]
        assert kind == "insert_code" and f'std::getenv("{SEED_VARIABLE}")' in code and "123456" not in code
        assert "_random_generators[_i].seed(_seed + _i)" in code and dev.spikelearn_seed == 123456
        dev.seed()
        assert dev.main_queue[-1] == ("seed", None)
    assert CPPStandaloneDevice.seed is original


GENERATE = """
import sys
from brian2 import NeuronGroup, StateMonitor, SpikeMonitor, Network, device, ms, set_device
set_device("cpp_standalone", directory=sys.argv[1], build_on_run=False)
g = NeuronGroup(3, "dv/dt = -v/(10*ms) : 1", threshold="v > 1", reset="v = 0", method="euler")
net = Network(g, SpikeMonitor(g), StateMonitor(g, "v", record=True, dt=1*ms), StateMonitor(g, "v", record=0, dt=2*ms))
net.run(1*ms)
device.build(directory=sys.argv[1], compile=False, run=False)
"""


@pytest.mark.standalone
@pytest.mark.long
def test_plain_brian2_writes_clock_lines_in_varying_order(tmp_path):
    """The cause, shown without spikelearn: main.cpp's clock lines change between processes."""
    script = tmp_path / "gen.py"
    script.write_text(GENERATE)
    texts = set()
    for k in range(6):
        d = tmp_path / f"b{k}"
        env = {**os.environ, "PYTHONHASHSEED": str(k)}
        subprocess.run([sys.executable, str(script), str(d)], check=True, capture_output=True, timeout=600, env=env)
        texts.add((d / "main.cpp").read_text())
    assert len(texts) > 1, "Brian2 now writes clocks in a stable order: stable_clock_order may be removable"
