"""The ``cuda`` device (brian2cuda's cuda_standalone).

``cuda_build`` (needs ``nvcc``, no GPU): song-stdp generates and compiles for cuda with ``--build-only``
(with the light, Thrust-free headers where a file needs no Thrust); a second build of the unchanged
scenario in a new Python process (another string-hash seed, the cause of brian2cuda's nondeterministic
code) rewrites no source and recompiles nothing (file modification times, not wall-clock thresholds);
generated code is byte-identical across hash seeds; a feature brian2cuda refuses is a `BuildError`
naming it; every other built-in scenario generates cuda code, and (``long``) compiles and rebuilds from
the cache without recompiling. Skipped, with the reason shown, only where nvcc is missing.

``cuda`` (needs a GPU): the same scenario and seed on ``cpp`` and ``cuda`` agree: exactly where no
random numbers are involved (explicit input spikes; the random-free built-in scenarios), statistically
where cuRAND and the CPU generator give different streams, with the tolerance stated per scenario
(`GPU_AGREEMENT`). Skipped, with the reason shown, where no GPU is visible. ``bench/gpu_check.sh`` runs
them on a lent GPU machine.

Run them with ``pytest -m cuda_build`` / ``pytest -m cuda`` (deselected by default, see setup.cfg).
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spikelearn.cuda import UNSUPPORTED, find_nvcc, gpu_present, unsupported_message

NVCC = find_nvcc()
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc (CUDA toolkit) not found: cannot compile for cuda")
needs_gpu = pytest.mark.skipif(not gpu_present(), reason="no GPU visible (nvidia-smi -L lists none): "
                                                         "cpp-vs-cuda agreement needs a GPU")

RECURRENT = """
    name = "cuda-rec"
    dt = "0.1*ms"
    duration = "200*ms"
    device = "cuda"
    [populations.inp]
    model = "poisson"
    size = 50
    parameters = { rate = "20*Hz" }
    [populations.exc]
    model = "lif_cond"
    size = 40
    [connections.in_exc]
    source = "inp"
    target = "exc"
    connect = "all"
    p = 0.3
    weight = "rand()*0.01"
    plasticity = { rule = "stdp_additive", wmax = 0.01 }
    [connections.rec]
    source = "exc"
    target = "exc"
    connect = "i != j"
    p = 0.2
    weight = "0.002"
    [record]
    spikes = ["inp", "exc"]
    states = { exc = { variables = ["v"], indices = [0, 1], dt = "1*ms" } }
    weights = { in_exc = { dt = "50*ms", indices = 5 } }
"""

GENERATE = """
import sys
from spikelearn.registry import default_registry
from spikelearn.scenario import load_scenario
from spikelearn.devices import DeviceSession
from spikelearn.build import build_network
reg = default_registry()
sc = load_scenario(sys.argv[1], reg)
with DeviceSession(sc, build_dir=sys.argv[2]):
    from brian2 import defaultclock, device, seed
    defaultclock.dt = sc.dt
    seed(sc.seed)
    net, ctx = build_network(sc, reg, None)
    net.run(sc.duration)
    device.build(directory=sys.argv[2], compile=False, run=False, with_output=False)
"""


GENERATE_BUILTIN = """
import sys
from spikelearn.registry import default_registry
from spikelearn.scenario import builtin_scenarios, load_scenario
from spikelearn.devices import DeviceSession
from spikelearn.build import build_network
reg = default_registry()
sc = load_scenario(builtin_scenarios()[sys.argv[1]], reg).with_overrides(['device="cuda"'], reg)
task = reg.get("tasks", sc.task) if sc.task else None
with DeviceSession(sc, build_dir=sys.argv[2]):
    from brian2 import defaultclock, device, seed
    defaultclock.dt = sc.dt
    seed(sc.seed)
    net, ctx = build_network(sc, reg, task)
    net.run(sc.duration)
    device.build(directory=sys.argv[2], compile=False, run=False, with_output=False)
"""


def _env(cache, hash_seed):
    env = dict(os.environ, SPIKELEARN_CACHE=str(cache), PYTHONHASHSEED=str(hash_seed))
    return env


def _cli(args, cache, hash_seed, timeout=3600):
    cmd = [sys.executable, "-m", "spikelearn.cli", *args]
    return subprocess.run(cmd, env=_env(cache, hash_seed), capture_output=True, text=True, timeout=timeout)


def _snapshot(build_dir):
    """Modification times (ns) of the compiled inputs and outputs of a build directory."""
    files = [p for p in Path(build_dir).rglob("*")
             if p.is_file() and (p.suffix in (".cu", ".cpp", ".h", ".o") or p.name in ("main", "makefile"))
             and "static_arrays" not in p.parts and "results" not in p.parts]
    return {str(p.relative_to(build_dir)): p.stat().st_mtime_ns for p in files}


@pytest.fixture(scope="module")
def song_build(tmp_path_factory):
    """Build song-stdp for cuda once (build only) in a fresh cache; the module's tests share it."""
    if NVCC is None:
        pytest.skip("nvcc (CUDA toolkit) not found: cannot compile for cuda")
    root = tmp_path_factory.mktemp("cuda")
    cache, out = root / "cache", root / "runs"
    proc = _cli(["run", "song-stdp", "--device", "cuda", "--build-only", "--no-progress", "--out", str(out)],
                cache, hash_seed=1)
    assert proc.returncode == 0, f"cuda build failed:\n{proc.stderr[-4000:]}"
    [rundir] = [p for p in (out / "song-stdp").iterdir()]
    build_dir = Path(json.loads((rundir / "provenance.json").read_text())["device_build_dir"])
    return {"proc": proc, "rundir": rundir, "build_dir": build_dir, "cache": cache, "out": out,
            "mtimes": _snapshot(build_dir)}


@pytest.mark.cuda_build
@needs_nvcc
def test_song_stdp_compiles_for_cuda(song_build):
    proc, build_dir = song_build["proc"], song_build["build_dir"]
    assert "built only, not run" in proc.stdout
    assert song_build["rundir"].name.endswith(".build-only")
    status = json.loads((song_build["rundir"] / "status.json").read_text())
    assert status["status"] == "build-only"
    main = build_dir / "main"
    assert main.is_file() and os.access(main, os.X_OK), "no executable was linked"
    assert len(list((build_dir / "code_objects").glob("*.o"))) >= 5
    makefile = (build_dir / "makefile").read_text()
    assert "-std=c++17" in makefile and "-std=c++11" not in makefile
    # the light headers: files that need no Thrust compiled without it (the build's main cost)
    sources = list(build_dir.glob("*.cu")) + list((build_dir / "code_objects").glob("*.cu"))
    light = [p.name for p in sources if '#include "objects_nothrust.h"' in p.read_text()]
    assert "thrust" not in (build_dir / "objects_nothrust.h").read_text()
    assert "out_stateupdater_codeobject.cu" in light and "objects.cu" not in light
    assert 10 <= len(light) < len(sources), light
    if not gpu_present():  # compiled for the scenario's compute capability (default 9.0)
        assert "-arch=sm_90" in makefile
    # the binary finds cuRAND at run time (the rpath to the toolkit's or the wheel's library)
    ldd = subprocess.run(["ldd", str(main)], capture_output=True, text=True)
    curand = [ln for ln in ldd.stdout.splitlines() if "libcurand" in ln]
    assert curand and "not found" not in curand[0], ldd.stdout


@pytest.mark.cuda_build
@needs_nvcc
def test_second_build_of_unchanged_scenario_recompiles_nothing(song_build):
    before = song_build["mtimes"]
    assert any(name.endswith(".o") for name in before)
    # another hash seed: brian2cuda's set-ordered code changed with it before spikelearn's patches
    proc = _cli(["run", "song-stdp", "--device", "cuda", "--build-only", "--no-progress",
                 "--out", str(song_build["out"])], song_build["cache"], hash_seed=2)
    assert proc.returncode == 0, proc.stderr[-4000:]
    after = _snapshot(song_build["build_dir"])
    assert after.keys() == before.keys()
    changed = sorted(name for name in before if after[name] != before[name])
    assert changed == [], f"the cached rebuild rewrote or recompiled: {changed}"


@pytest.mark.cuda_build
@needs_nvcc
def test_generated_code_is_identical_across_hash_seeds(tmp_path):
    """Two pathways with delays (the synapse-creation tie), spike and state monitors, several clocks."""
    scenario = tmp_path / "rec.toml"
    scenario.write_text(textwrap.dedent(RECURRENT))
    script = tmp_path / "generate.py"
    script.write_text(GENERATE)
    dirs = []
    for hash_seed in (1, 2, 3):
        out = tmp_path / f"gen{hash_seed}"
        proc = subprocess.run([sys.executable, str(script), str(scenario), str(out)],
                              env=_env(tmp_path / "cache", hash_seed), capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
        dirs.append(out)
    code = [{str(p.relative_to(d)): p.read_bytes() for p in d.rglob("*")
             if p.is_file() and p.suffix in (".cu", ".h", ".cpp") or p.name == "makefile"} for d in dirs]
    assert len(code[0]) > 20
    for other in code[1:]:
        assert other.keys() == code[0].keys()
        differing = sorted(name for name in code[0] if other[name] != code[0][name])
        assert differing == [], f"generated code depends on the hash seed: {differing}"


@pytest.mark.cuda_build
@needs_nvcc
def test_store_restore_is_a_build_error_naming_the_feature(write_scenario, registry, tmp_path):
    from spikelearn.build import build_network
    from spikelearn.devices import DeviceSession
    from spikelearn.errors import BuildError
    from spikelearn.scenario import load_scenario

    sc = load_scenario(write_scenario(RECURRENT), registry)
    with pytest.raises(BuildError, match=r"does not support store/restore"):
        with DeviceSession(sc, build_dir=tmp_path / "build"):
            net, _ = build_network(sc, registry, None)
            net.store()
    from brian2 import prefs  # the cuda preferences were given back

    assert "-std=c++11" in prefs["codegen.cpp.extra_compile_args_gcc"]


def test_unsupported_messages_name_the_feature():
    msg = unsupported_message(NotImplementedError("The store/restore mechanism is not supported in CUDA standalone"))
    assert "does not support store/restore" in msg and "--device cpp" in msg
    other = unsupported_message(NotImplementedError("something new"))
    assert "cannot generate this network: something new" in other
    assert len({feature for _, feature, _ in UNSUPPORTED}) == len(UNSUPPORTED)


OBJECTS_H = """typedef double randomNumber_t;
#ifndef _BRIAN_OBJECTS_H
#define _BRIAN_OBJECTS_H
#include <thrust/device_vector.h>
#include <thrust/host_vector.h>
namespace brian {
extern thrust::host_vector<int32_t> _dynamic_array_s_i;
extern thrust::device_vector<int32_t> dev_dynamic_array_s_i;
extern thrust::device_vector<double*> addresses_monitor__dynamic_array_m_v;
extern thrust::device_vector<double>* _dynamic_array_m_v;
extern thrust::device_vector<int32_t> _dev_sub_eventspace;
extern thrust::host_vector<int32_t*> dev_array_g__spikespace;
extern double * _array_g_v;
}
#endif
"""


def test_light_headers_drop_thrust_only_where_unused():
    """Files that use no Thrust name include a Thrust-free ``objects.h``; the rest keep the full one;
    the spike-space pointer lists are ``std::vector`` in both; an unknown Thrust use keeps the full one."""
    pytest.importorskip("brian2cuda")
    from spikelearn.cuda import LIGHT_CUDA_UTILS, LIGHT_OBJECTS, _transform_file

    files = dict(_transform_file("objects.h", OBJECTS_H))
    assert set(files) == {"objects.h", LIGHT_OBJECTS, LIGHT_CUDA_UTILS}
    assert "extern std::vector<int32_t*> dev_array_g__spikespace;" in files["objects.h"]
    light = files[LIGHT_OBJECTS]
    assert "thrust" not in light and "_dynamic_array" not in light and "_eventspace" not in light
    assert "std::vector<int32_t*> dev_array_g__spikespace" in light and "_array_g_v" in light
    assert "#define _BRIAN_OBJECTS_H" in light  # same guard: a later full include is skipped
    assert "thrust::" not in files[LIGHT_CUDA_UTILS] and LIGHT_OBJECTS in files[LIGHT_CUDA_UTILS]
    code = '#include "objects.h"\n#include "brianlib/cuda_utils.h"\nvoid f(){ %s }\n'
    [(_, plain)] = _transform_file("code_objects/a.cu", code % "_array_g_v[0] = 1;")
    assert LIGHT_OBJECTS in plain and LIGHT_CUDA_UTILS in plain and '"objects.h"' not in plain
    for body in ("dev_dynamic_array_s_i.size();", "thrust::sort(x, y);", "_dev_sub_eventspace.size();"):
        [(_, full)] = _transform_file("code_objects/b.cu", code % body)
        assert full == code % body
    unknown = OBJECTS_H.replace("extern double *", "extern thrust::device_vector<double> other;\nextern double *")
    assert dict(_transform_file("objects.h", unknown))[LIGHT_OBJECTS] == '#include "objects.h"\n'
    [(_, makefile)] = _transform_file("makefile", "NVCCFLAGS = -I. -std=c++11 -arch=sm_90")
    assert makefile == "NVCCFLAGS = -I. -std=c++17 -arch=sm_90"


def _builtin_names():
    from spikelearn.scenario import builtin_scenarios

    return sorted(name for name in builtin_scenarios() if name != "song-stdp")


@pytest.mark.cuda_build
@needs_nvcc
@pytest.mark.parametrize("name", _builtin_names())
def test_builtin_scenario_generates_cuda_code(name, tmp_path):
    """Every other built-in scenario generates a cuda project without compiling it (seconds each): what
    brian2cuda cannot do fails here, as a BuildError naming the feature; compiling is the ``long`` test
    below."""
    script = tmp_path / "generate.py"
    script.write_text(GENERATE_BUILTIN)
    out = tmp_path / "project"
    proc = subprocess.run([sys.executable, str(script), name, str(out)], env=_env(tmp_path / "cache", 1),
                          capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, f"{name} does not generate cuda code:\n{proc.stderr[-3000:]}"
    sources = list(out.glob("*.cu")) + list((out / "code_objects").glob("*.cu"))
    assert (out / "makefile").is_file() and (out / "objects.cu") in sources and len(sources) > 6


@pytest.mark.cuda_build
@pytest.mark.long
@needs_nvcc
@pytest.mark.parametrize("name", _builtin_names())
def test_builtin_scenario_compiles_for_cuda(name, tmp_path):
    """Every other built-in scenario generates and compiles for cuda, and a rebuild from a new process
    (another hash seed) rewrites and recompiles nothing (minutes each: ``long``)."""
    args = ["run", name, "--device", "cuda", "--build-only", "--no-progress", "--out", str(tmp_path / "runs")]
    proc = _cli(args, tmp_path / "cache", hash_seed=1)
    assert proc.returncode == 0, f"{name} does not build for cuda:\n{proc.stderr[-3000:]}"
    assert "built only, not run" in proc.stdout
    rundirs = list((tmp_path / "runs").glob("*/*.build-only"))
    assert len(rundirs) == 1, rundirs
    build_dir = Path(json.loads((rundirs[0] / "provenance.json").read_text())["device_build_dir"])
    main = build_dir / "main"
    assert main.is_file() and os.access(main, os.X_OK), "no executable was linked"
    before = _snapshot(build_dir)
    proc = _cli(args, tmp_path / "cache", hash_seed=2)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = _snapshot(build_dir)
    changed = sorted(name for name in before if after.get(name) != before[name])
    assert changed == [] and after.keys() == before.keys(), f"the cached rebuild rewrote or recompiled: {changed}"


# -- on a GPU: cpp and cuda agree ----------------------------------------------------------------------
def _run(path, registry, out, device):
    from spikelearn.results import RunResult
    from spikelearn.run import run_scenario
    from spikelearn.scenario import load_scenario

    sc = load_scenario(path, registry)
    return RunResult(run_scenario(sc, registry, out_root=out, device=device, progress=False, figures=False).path)


@pytest.mark.cuda
@needs_nvcc
@needs_gpu
def test_explicit_spikes_same_on_cpp_and_cuda(deterministic_network, registry, tmp_path):
    """No random numbers: identical output spikes; weights to 1e-9 relative (double precision on both)."""
    path = deterministic_network("cpp")
    a, b = _run(path, registry, tmp_path, "cpp"), _run(path, registry, tmp_path, "cuda")
    (ia, ta), (ib, tb) = a.spikes("out"), b.spikes("out")
    assert len(ta) > 10, "the test network must spike"
    np.testing.assert_array_equal(ia, ib)
    np.testing.assert_allclose(ta, tb, rtol=0, atol=1e-12)
    wa, wb = a.weights("c"), b.weights("c")
    np.testing.assert_allclose(wa["w_final"], wb["w_final"], rtol=1e-9, atol=1e-15)


@pytest.mark.cuda
@needs_nvcc
@needs_gpu
def test_song_stdp_statistics_agree_on_cpp_and_cuda(registry, tmp_path):
    """Song-Miller-Abbott, 100 s, seed 1, Poisson input (cuRAND vs CPU streams differ). Tolerances:
    input spike counts within 5 standard errors of each other; output rates within 25 % (one neuron,
    driven by the learned weights); final weights: mean within 0.1 wmax, fraction of weights above
    wmax/2 within 0.1 (the bimodal split)."""
    from spikelearn.scenario import builtin_scenarios

    path = builtin_scenarios()["song-stdp"]
    a, b = _run(path, registry, tmp_path, "cpp"), _run(path, registry, tmp_path, "cuda")
    na, nb = len(a.spikes("inputs")[1]), len(b.spikes("inputs")[1])
    assert abs(na - nb) <= 5 * np.sqrt(na + nb)
    ra, rb = len(a.spikes("out")[1]), len(b.spikes("out")[1])
    assert ra > 0 and abs(ra - rb) <= 0.25 * ra
    wmax = 0.01
    wa, wb = a.weights("inputs_to_out")["w_final"], b.weights("inputs_to_out")["w_final"]
    assert abs(wa.mean() - wb.mean()) <= 0.1 * wmax
    assert abs(np.mean(wa > wmax / 2) - np.mean(wb > wmax / 2)) <= 0.1
    for result in (a, b):
        assert all(c["passed"] for c in result.metrics["claims"]), result.metrics["claims"]


#: cpp vs cuda agreement per built-in scenario (same file, same seed), and what "agree" means for it.
#: ``exact``: the network draws no random numbers (checked in its generated cuda code: no ``_rand``/
#: ``_randn``/``_poisson`` call outside the unused sampling helpers of all-to-all connections; inputs are
#: NumPy arrays made from the seed), so every metric agrees to ``rtol`` (double precision on both
#: devices; the GPU sums in another order and contracts multiply-adds). Otherwise cuRAND and the
#: CPU generator give different streams: each claim's value agrees within ``rtol`` relative to the larger
#: of its cpp value and its threshold (sampling noise of a statistic the claim's threshold already
#: allows for), and every claim that passes on cpp passes on cuda. ``long``: all but the two cheapest,
#: so that ``bench/gpu_check.sh``'s default selection (``cuda and not long``) fits one 8-minute call.
GPU_AGREEMENT = {
    "adversarial-wake-sleep": dict(exact=False, rtol=0.25, long=True),
    "adversarial-wake-sleep-spiking": dict(exact=False, rtol=0.25, long=True),
    "dendritic-posterior": dict(exact=False, rtol=0.25, long=True),
    "dendritic-prior": dict(exact=False, rtol=0.25, long=True),
    "dendritic-prior-T50": dict(exact=False, rtol=0.25, long=True),
    "dendritic-swissroll": dict(exact=False, rtol=0.25, long=True),
    "dynamic-inversion": dict(exact=True, rtol=1e-6, long=False),
    "dynamic-inversion-learning": dict(exact=False, rtol=0.25, long=True),
    "dynamic-inversion-spiking": dict(exact=False, rtol=0.25, long=True),
    "nudged-gradient": dict(exact=True, rtol=1e-6, long=True),
    "nudged-train": dict(exact=True, rtol=0.01, long=True),  # 18k learning steps: rounding may flip a test digit (0.3 %)
    "poisson-sampling": dict(exact=False, rtol=0.25, long=True),
    "poisson-sampling-coupled": dict(exact=False, rtol=0.25, long=True),
    "reward-discrimination": dict(exact=False, rtol=0.25, long=True),
    "reward-estimation": dict(exact=False, rtol=0.25, long=True),
    "stdp-window-gradient": dict(exact=True, rtol=1e-6, long=False),
    "stdp-window-ou": dict(exact=False, rtol=0.25, long=True),
    "surprise-oscillation": dict(exact=False, rtol=0.25, long=True),
}


def test_every_builtin_scenario_has_a_stated_gpu_tolerance():
    from spikelearn.scenario import builtin_scenarios

    assert set(GPU_AGREEMENT) == set(builtin_scenarios()) - {"song-stdp"}  # song-stdp: its own test above


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


def _numbers(metrics):
    return {k: float(v) for k, v in metrics.items() if _number(v)}


@pytest.mark.cuda
@needs_nvcc
@needs_gpu
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.long] if t["long"] else [])
                                  for n, t in sorted(GPU_AGREEMENT.items())])
def test_scenario_agrees_on_cpp_and_cuda(name, registry, tmp_path):
    from spikelearn.scenario import builtin_scenarios

    spec = GPU_AGREEMENT[name]
    path = builtin_scenarios()[name]
    a, b = _run(path, registry, tmp_path, "cpp"), _run(path, registry, tmp_path, "cuda")
    ca, cb = a.metrics["claims"], b.metrics["claims"]
    assert [c["name"] for c in ca] == [c["name"] for c in cb]
    for x, y in zip(ca, cb):
        if x["passed"]:
            assert y["passed"], f"{name}: claim {x['name']} passes on cpp ({x['value']}) but fails on cuda ({y['value']})"
    if spec["exact"]:
        ma, mb = _numbers(a.metrics["metrics"]), _numbers(b.metrics["metrics"])
        assert ma.keys() == mb.keys() and ma
        for key in ma:
            np.testing.assert_allclose(mb[key], ma[key], rtol=spec["rtol"], atol=1e-12, err_msg=f"{name}: {key}")
    else:
        for x, y in zip(ca, cb):
            if _number(x.get("value")) and _number(y.get("value")):
                scale = max(abs(x["value"]), abs(x["threshold"]) if _number(x.get("threshold")) else 0)
                assert abs(y["value"] - x["value"]) <= spec["rtol"] * scale, (
                    f"{name}: claim {x['name']}: cpp {x['value']}, cuda {y['value']} (rtol {spec['rtol']})")
