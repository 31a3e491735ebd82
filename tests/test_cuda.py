"""The ``cuda`` device (brian2cuda's cuda_standalone).

``cuda_build`` (needs ``nvcc``, no GPU): song-stdp generates and compiles for cuda with ``--build-only``
(with the light, Thrust-free headers in every file but ``objects.cu`` and the spike queues' set-up); a
second build of the unchanged scenario in a new Python process (another string-hash seed, the cause of
brian2cuda's nondeterministic code) rewrites no source and recompiles nothing (file modification times, not wall-clock thresholds);
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

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from spikelearn.cuda import UNSUPPORTED, find_nvcc, gpu_present, unsupported_message
from spikelearn.agreement import GPU_AGREEMENT, disagreements, song_disagreements

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
    # the light headers: only objects.cu and the pathways' spike-queue set-up (Thrust's sort) compile
    # with Thrust (the build's main cost); synapses_classes.cu includes no objects.h at all
    sources = list(build_dir.glob("*.cu")) + list((build_dir / "code_objects").glob("*.cu"))
    full = sorted(p.name for p in sources if '#include "objects_nothrust.h"' not in p.read_text())
    assert full == ["before_run_inputs_to_out_post_push_spikes.cu", "before_run_inputs_to_out_pre_push_spikes.cu",
                    "objects.cu", "synapses_classes.cu"], full
    assert len(sources) > 25 and "thrust" not in (build_dir / "objects_nothrust.h").read_text()
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


def test_brian2cuda_patches_last_only_as_long_as_the_block():
    """The cuda session's patches (code writing, code objects, clock hash) are undone when it ends."""
    pytest.importorskip("brian2cuda")
    from brian2.core.clocks import BaseClock
    from brian2cuda.device import CUDAStandaloneDevice, CUDAWriter

    from spikelearn.brian2_patches import brian2cuda_patches
    from spikelearn.devices import BACKENDS

    originals = CUDAWriter.write, CUDAStandaloneDevice.code_object, BaseClock.__hash__
    with contextlib.ExitStack() as stack:
        for patch in BACKENDS["cuda"].patches:
            stack.enter_context(patch())
        assert brian2cuda_patches in BACKENDS["cuda"].patches
        patched = CUDAWriter.write, CUDAStandaloneDevice.code_object, BaseClock.__hash__
        assert all(p is not o for p, o in zip(patched, originals))
    assert (CUDAWriter.write, CUDAStandaloneDevice.code_object, BaseClock.__hash__) == originals


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


def test_light_headers_declare_accessors_and_objects_cu_defines_them():
    """``objects.h`` gets a Thrust-free sibling declaring one accessor per Thrust-typed name and
    operation (inside the include guard), ``objects.cu`` defines them; the spike-space pointer lists
    are ``std::vector`` in both; an ``objects.h`` with an unknown Thrust use rewrites nothing."""
    pytest.importorskip("brian2cuda")
    from spikelearn.cuda_light import LIGHT_CUDA_UTILS, LIGHT_OBJECTS, thrust_declarations, transform_file

    decls = thrust_declarations(OBJECTS_H)
    assert decls == {"_dynamic_array_s_i": ("host", "int32_t"), "dev_dynamic_array_s_i": ("device", "int32_t"),
                     "addresses_monitor__dynamic_array_m_v": ("device", "double*"),
                     "_dynamic_array_m_v": ("device2d", "double"), "_dev_sub_eventspace": ("device", "int32_t")}
    files = dict(transform_file("objects.h", OBJECTS_H, decls))
    assert set(files) == {"objects.h", LIGHT_OBJECTS, LIGHT_CUDA_UTILS}
    assert "extern std::vector<int32_t*> dev_array_g__spikespace;" in files["objects.h"]
    light = files[LIGHT_OBJECTS]
    assert "thrust" not in light and "extern double * _array_g_v;" in light
    assert "std::vector<int32_t*> dev_array_g__spikespace" in light
    assert light.index("#define _BRIAN_OBJECTS_H") < light.index("_sl_ptr__dynamic_array_m_v(size_t i);") < light.rindex("#endif")
    assert "double** _sl_ptr_addresses_monitor__dynamic_array_m_v();" in light
    assert "void _sl_assign__dynamic_array_s_i();" in light and "void _sl_set_dev_dynamic_array_s_i(size_t i, int32_t v);" in light
    assert "thrust::" not in files[LIGHT_CUDA_UTILS] and LIGHT_OBJECTS in files[LIGHT_CUDA_UTILS]
    [(_, objects_cu)] = transform_file("objects.cu", "// objects\n", decls)
    assert "void _sl_assign__dynamic_array_s_i() { _dynamic_array_s_i = dev_dynamic_array_s_i; }" in objects_cu
    code = '#include "objects.h"\n#include "brianlib/cuda_utils.h"\nvoid f(){ %s }\n'
    [(_, plain)] = transform_file("code_objects/a.cu", code % "_array_g_v[0] = 1;", decls)
    assert LIGHT_OBJECTS in plain and LIGHT_CUDA_UTILS in plain and '"objects.h"' not in plain
    unknown = OBJECTS_H.replace("extern double *", "extern thrust::pair<int, int> other;\nextern double *")
    assert thrust_declarations(unknown) is None
    assert [name for name, _ in transform_file("objects.h", unknown, None)] == ["objects.h"]  # no light one
    body = code % "dev_dynamic_array_s_i.size();"
    assert transform_file("code_objects/b.cu", body, None) == [("code_objects/b.cu", body)]
    [(_, makefile)] = transform_file("makefile", "NVCCFLAGS = -I. -std=c++11 -arch=sm_90", decls)
    assert makefile == "NVCCFLAGS = -I. -std=c++17 -arch=sm_90"


#: every operation the rewrite covers, as brian2cuda writes them (monitors, synapse creation, main.cu)
REWRITABLE = """#include <thrust/copy.h>
_dynamic_array_s_i.resize(5);
for (int k = 0; k < 5; k++) _dynamic_array_s_i[k] = 10 * k;
_dynamic_array_s_i.push_back(7);
_dynamic_array_s_i[2] += 1;
int32_t* p = thrust::raw_pointer_cast(&_dynamic_array_s_i[0]);
p[0] = -1 + (int)sizeof(_dynamic_array_s_i[0]);
dev_dynamic_array_s_i = _dynamic_array_s_i;
THRUST_CHECK(
    dev_dynamic_array_s_i.push_back(_dynamic_array_s_i[3] + 1)
    );
dev_dynamic_array_s_i[1] = 42;
const int n = dev_dynamic_array_s_i.size();
_dynamic_array_s_i = dev_dynamic_array_s_i;
_dynamic_array_m_v[0].push_back(2.5);
_dynamic_array_m_v[0].clear();
_dynamic_array_m_v[0].shrink_to_fit();
_dynamic_array_m_v[0].push_back(1.25);
_dynamic_array_m_v[0].push_back(n);
brian::_dynamic_array_m_v[1].resize(n);
thrust::raw_pointer_cast(&_dynamic_array_m_v[1][0])[2] = 3.5 * _dynamic_array_m_v[1].size();
addresses_monitor__dynamic_array_m_v.push_back(thrust::raw_pointer_cast(&_dynamic_array_m_v[1][0]));
addresses_monitor__dynamic_array_m_v.push_back(0);
addresses_monitor__dynamic_array_m_v[1] = thrust::raw_pointer_cast(&_dynamic_array_m_v[0][0]);
_dev_sub_eventspace.resize(3);
_dev_sub_eventspace.clear();
"""


def test_rewrite_replaces_each_operation_by_its_accessor():
    from spikelearn.cuda_light import rewrite, thrust_declarations

    out = rewrite(REWRITABLE, thrust_declarations(OBJECTS_H)).splitlines()
    assert "#include" not in out[0] and "thrust" not in "\n".join(out)
    expected = {
        "_sl_resize__dynamic_array_s_i(5);", "for (int k = 0; k < 5; k++) _sl_ptr__dynamic_array_s_i()[k] = 10 * k;",
        "_sl_ptr__dynamic_array_s_i()[2] += 1;", "int32_t* p = _sl_ptr__dynamic_array_s_i();",
        "p[0] = -1 + (int)sizeof(_sl_ptr__dynamic_array_s_i()[0]);", "_sl_assign_dev_dynamic_array_s_i();",
        "    _sl_push_back_dev_dynamic_array_s_i(_sl_ptr__dynamic_array_s_i()[3] + 1)",
        "_sl_set_dev_dynamic_array_s_i(1, 42);", "const int n = _sl_size_dev_dynamic_array_s_i();",
        "_sl_assign__dynamic_array_s_i();", "brian::_sl_resize__dynamic_array_m_v(1, n);",
        "_sl_ptr__dynamic_array_m_v(1)[2] = 3.5 * _sl_size__dynamic_array_m_v(1);",
        "_sl_push_back_addresses_monitor__dynamic_array_m_v(_sl_ptr__dynamic_array_m_v(1));",
        "_sl_set_addresses_monitor__dynamic_array_m_v(1, _sl_ptr__dynamic_array_m_v(0));",
        "_sl_push_back__dynamic_array_m_v(0, n);", "_sl_clear__dynamic_array_m_v(0);",
        "_sl_shrink_to_fit__dynamic_array_m_v(0);",
        "_sl_clear__dev_sub_eventspace();",
    }
    assert expected <= set(out), expected - set(out)


@pytest.mark.parametrize("use", [
    "thrust::sort(_dynamic_array_s_i.begin(), _dynamic_array_s_i.end());",  # a Thrust algorithm
    "int x = dev_dynamic_array_s_i[2];",  # a device element read (a copy from the GPU)
    "_dynamic_array_s_i.resize(5, 0);",  # another overload
    "_dynamic_array_m_v.size();",  # a 2-d array without its index
    "auto it = _dynamic_array_s_i.begin();",  # an iterator
    "dev_dynamic_array_s_i = _dev_sub_eventspace;",  # not a host/device pair
    "size_t m = other.dev_dynamic_array_s_i.size();",  # a member of something else
    "thrust::host_vector<int> tmp;",
])
def test_rewrite_leaves_files_with_other_uses_unchanged(use):
    from spikelearn.cuda_light import rewrite, thrust_declarations

    assert rewrite("_dynamic_array_s_i.clear();\n" + use + "\n", thrust_declarations(OBJECTS_H)) is None


def test_light_headers_can_be_switched_off(monkeypatch):
    """``SPIKELEARN_CUDA_LIGHT=0``: every file as brian2cuda wrote it, except C++17 in the makefile."""
    from spikelearn.cuda_light import transform_file, thrust_declarations

    decls = thrust_declarations(OBJECTS_H)
    assert transform_file("x.cu", REWRITABLE, decls) != [("x.cu", REWRITABLE)]  # rewritten by default
    monkeypatch.setenv("SPIKELEARN_CUDA_LIGHT", "0")
    assert transform_file("objects.h", OBJECTS_H, decls) == [("objects.h", OBJECTS_H)]
    assert transform_file("x.cu", REWRITABLE, decls) == [("x.cu", REWRITABLE)]
    assert transform_file("makefile", "nvcc -std=c++11 x.cu", decls) == [("makefile", "nvcc -std=c++17 x.cu")]


def test_build_jobs_sets_make_j(monkeypatch):
    from spikelearn.devices import _with_jobs
    from spikelearn.errors import BuildError

    assert _with_jobs(["-j", "-k"]) == ["-j", "-k"]
    monkeypatch.setenv("SPIKELEARN_BUILD_JOBS", "3")
    assert _with_jobs(["-j", "-k"]) == ["-k", "-j3"] and _with_jobs(["-j16"]) == ["-j3"]
    monkeypatch.setenv("SPIKELEARN_BUILD_JOBS", "three")
    with pytest.raises(BuildError, match="SPIKELEARN_BUILD_JOBS = 'three'"):
        _with_jobs(["-j"])


def _thrust_include_dirs():
    """The toolkit's include directories holding Thrust (CUDA 13 keeps it under ``include/cccl``)."""
    from spikelearn.cuda import _toolkit_dirs

    nvcc = find_nvcc()
    for root in _toolkit_dirs(nvcc) if nvcc else []:
        for base in (root / "include" / "cccl", root / "include"):
            if (base / "thrust" / "device_vector.h").is_file():
                return [base, root / "include"]
    return None


def test_rewritten_code_does_what_the_original_does(tmp_path):
    """Original and rewritten `REWRITABLE`, with the accessors `accessors` generates, compiled by the host
    compiler against the toolkit's Thrust with its CPU (C++) device system, leave every vector in the
    same state (sizes, contents, and which array each recorded address points to)."""
    dirs = _thrust_include_dirs()
    if dirs is None or shutil.which("g++") is None:
        pytest.skip("the CUDA toolkit's Thrust headers or g++ not found")
    from spikelearn.cuda_light import accessors, rewrite, thrust_declarations

    decls = thrust_declarations(OBJECTS_H)
    definitions = [f"thrust::{'host' if k == 'host' else 'device'}_vector<{t}>{'*' if k == 'device2d' else ''} {n};"
                   for n, (k, t) in decls.items()]
    program = "\n".join([
        "#include <thrust/device_vector.h>", "#include <thrust/host_vector.h>", "#include <cstdio>",
        "#define THRUST_CHECK(code) { code; }",
        "namespace brian {", *definitions, accessors(decls)[1], "}",
        "using namespace brian;",
        "void original() {", REWRITABLE.replace("#include <thrust/copy.h>", ""), "}",
        "void rewritten() {", rewrite(REWRITABLE, decls), "}",
        "template <class V> void show(const char* name, const V& v) {",
        "  printf(\"%s %zu:\", name, (size_t)v.size()); for (size_t k = 0; k < v.size(); k++) printf(\" %g\", (double)v[k]);",
        "  printf(\"\\n\"); }",
        "void dump() {",
        "  show(\"host\", _dynamic_array_s_i); show(\"dev\", dev_dynamic_array_s_i); show(\"sub\", _dev_sub_eventspace);",
        "  show(\"m0\", _dynamic_array_m_v[0]); show(\"m1\", _dynamic_array_m_v[1]);",
        "  printf(\"addresses %zu:\", (size_t)addresses_monitor__dynamic_array_m_v.size());",
        "  for (size_t k = 0; k < addresses_monitor__dynamic_array_m_v.size(); k++) {",
        "    double* a = addresses_monitor__dynamic_array_m_v[k];",
        "    printf(\" %d\", a == thrust::raw_pointer_cast(_dynamic_array_m_v[0].data()) ? 0 : a == thrust::raw_pointer_cast(_dynamic_array_m_v[1].data()) ? 1 : -1); }",
        "  printf(\"\\n\"); }",
        "void reset() {",
        "  _dynamic_array_s_i.clear(); dev_dynamic_array_s_i.clear(); _dev_sub_eventspace.clear();",
        "  addresses_monitor__dynamic_array_m_v.clear(); delete[] _dynamic_array_m_v;",
        "  _dynamic_array_m_v = new thrust::device_vector<double>[2]; }",
        "int main() { reset(); original(); dump(); printf(\"--\\n\"); reset(); rewritten(); dump(); }",
    ])
    source = tmp_path / "rewrite.cpp"
    source.write_text(program)
    cmd = ["g++", "-std=c++17", "-O1", "-w", "-DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP",
           *[f"-I{d}" for d in dirs], str(source), "-o", str(tmp_path / "rewrite")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = subprocess.run([str(tmp_path / "rewrite")], capture_output=True, text=True, timeout=60, check=True).stdout
    original, rewritten = out.split("--\n")
    assert original == rewritten
    assert original.splitlines() == ["host 7: 3 42 21 30 40 7 31", "dev 7: 3 42 21 30 40 7 31", "sub 0:",
                                     "m0 2: 1.25 7", "m1 7: 0 0 24.5 0 0 0 0", "addresses 2: 1 0"]


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
    from spikelearn.runner import run_scenario
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
    """song-stdp on both devices: `spikelearn.agreement.song_disagreements` states the tolerances."""
    from spikelearn.scenario import builtin_scenarios

    path = builtin_scenarios()["song-stdp"]
    a, b = _run(path, registry, tmp_path, "cpp"), _run(path, registry, tmp_path, "cuda")
    assert song_disagreements(a, b) == []


def test_every_builtin_scenario_has_a_stated_gpu_tolerance():
    from spikelearn.scenario import builtin_scenarios

    assert set(GPU_AGREEMENT) == set(builtin_scenarios()) - {"song-stdp"}  # song-stdp: its own test above


@pytest.mark.cuda
@needs_nvcc
@needs_gpu
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.long] if t["long"] else [])
                                  for n, t in sorted(GPU_AGREEMENT.items())])
def test_scenario_agrees_on_cpp_and_cuda(name, registry, tmp_path):
    """Every claim that passes on cpp passes on cuda, within `spikelearn.agreement.GPU_AGREEMENT`."""
    from spikelearn.scenario import builtin_scenarios

    path = builtin_scenarios()[name]
    a, b = _run(path, registry, tmp_path, "cpp"), _run(path, registry, tmp_path, "cuda")
    assert disagreements(name, a, b) == []
