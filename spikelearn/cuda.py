"""The ``cuda`` device: brian2cuda's ``cuda_standalone``, configured so that it builds with no manual step.

What `configure_cuda` does, and why:

- **cuRAND.** brian2cuda links ``-lcurand`` and includes ``curand.h``. A CUDA toolkit that ships cuRAND is
  used as is; otherwise (e.g. a minimal toolkit with only ``nvcc``) the ``nvidia-curand`` wheel (the
  ``[cuda]`` extra) supplies the headers and the library: its ``include`` directory is added to the
  compiler's search path, and a ``libcurand.so`` link (the wheel ships only ``libcurand.so.<N>``) is made
  in a directory the build owns under `spikelearn.cache.cache_root`; the binary finds the library at
  run time through an rpath to the wheel's ``lib`` directory.
- **C++17.** CUDA 13's Thrust/CUB refuse C++11, brian2cuda's default. ``-std=c++11`` is replaced by
  ``-std=c++17`` in the host compiler's flags here, and in brian2cuda's makefile (a template constant)
  as it is written (`spikelearn.brian2_patches`).
- **GPU selection.** With a GPU visible (``nvidia-smi -L`` lists one) brian2cuda detects it and its compute
  capability (``gpu_id`` from the scenario picks the GPU). Without one, ``detect_gpus`` is off and the
  code is compiled for ``device_options.compute_capability`` (default 9.0, H100) and ``gpu_id``, so the
  project still builds (``--build-only``).

Every preference changed here is restored by the function `configure_cuda` returns, so ``cpp`` builds in
the same process keep their own flags (and their build cache).

Also here: **unsupported features**: brian2cuda's refusals (``NotImplementedError`` from code
generation, e.g. store/restore) become a `BuildError` naming the feature (`unsupported_message`,
`UNSUPPORTED`; the ``cuda`` backend, `spikelearn.devices.CudaBackend`, translates them when its session
closes). brian2cuda's code generation itself is patched while a cuda session lasts (deterministic
generated code, light headers, C++17 makefile): `spikelearn.brian2_patches`.
"""

import contextlib
import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

from .cache import cache_root
from .cuda_light import CPP_STANDARD
from .errors import BuildError

__all__ = ["configure_cuda", "gpu_present", "find_nvcc", "find_curand", "unsupported_message",
           "UNSUPPORTED"]

logger = logging.getLogger(__name__)


# -- environment --------------------------------------------------------------------------------------
def find_nvcc():
    """Path of ``nvcc`` (``$CUDA_PATH/bin/nvcc``, ``nvcc`` on ``PATH``, ``/usr/local/cuda/bin/nvcc``) or None."""
    candidates = []
    if os.environ.get("CUDA_PATH"):
        candidates.append(Path(os.environ["CUDA_PATH"]) / "bin" / "nvcc")
    which = shutil.which("nvcc")
    if which:
        candidates.append(Path(which))
    candidates.append(Path("/usr/local/cuda/bin/nvcc"))
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


@functools.lru_cache(maxsize=1)
def gpu_present():
    """True when ``nvidia-smi -L`` lists at least one GPU."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as ex:
        logger.info("nvidia-smi failed (%s): assuming no GPU", ex)
        return False
    return out.returncode == 0 and any(line.startswith("GPU ") for line in out.stdout.splitlines())


def _toolkit_dirs(nvcc):
    """Candidate CUDA toolkit roots (the one holding ``nvcc``, ``$CUDA_PATH``, ``/usr/local/cuda``)."""
    roots = [nvcc.resolve().parent.parent]
    if os.environ.get("CUDA_PATH"):
        roots.append(Path(os.environ["CUDA_PATH"]))
    roots.append(Path("/usr/local/cuda"))
    return roots


def _system_curand(nvcc):
    for root in _toolkit_dirs(nvcc):
        for inc in (root / "include", root / "targets" / "x86_64-linux" / "include"):
            if not (inc / "curand.h").is_file():
                continue
            for lib in (root / "lib64", root / "lib", root / "targets" / "x86_64-linux" / "lib"):
                if (lib / "libcurand.so").exists():
                    return inc, lib
    return None


def _wheel_curand():
    """(include dir, lib dir, shared library) of the ``nvidia-curand`` wheel, or None."""
    try:
        import nvidia  # namespace package of NVIDIA's wheels
    except ImportError:
        return None
    found = []
    for base in getattr(nvidia, "__path__", []):
        for header in sorted(Path(base).glob("*/include/curand.h")):
            libdir = header.parent.parent / "lib"
            libs = sorted(libdir.glob("libcurand.so*"))
            if libs:
                found.append((header.parent, libdir, libs[0]))
    if not found:
        return None
    return found[-1]  # cu13 sorts after cu12 and curand: the newest layout wins


def find_curand(nvcc, link_dir):
    """Where cuRAND is: ``(include_dir, library_dir, runtime_dir)``.

    The toolkit's own cuRAND when it has one; else the ``nvidia-curand`` wheel, with a ``libcurand.so``
    link made in ``link_dir`` (the wheel ships only the versioned name). Raises `BuildError` when neither
    exists.
    """
    system = _system_curand(nvcc)
    if system is not None:
        inc, lib = system
        return inc, lib, lib
    wheel = _wheel_curand()
    if wheel is None:
        raise BuildError(
            "the cuda device needs cuRAND (curand.h and libcurand.so): the CUDA toolkit at "
            f"{nvcc.resolve().parent.parent} has none and the nvidia-curand wheel is not installed; "
            "install the extra: pip install 'spikelearn[cuda]'"
        )
    inc, libdir, library = wheel
    link_dir = Path(link_dir)
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / "libcurand.so"
    if not (link.is_symlink() and link.resolve() == library.resolve()):
        tmp = link_dir / f".libcurand.so.{os.getpid()}"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(library)
        os.replace(tmp, link)  # atomic: concurrent builds never see a missing link
    return inc, link_dir, libdir


# -- configuration --------------------------------------------------------------------------------------
def configure_cuda(options):
    """Set Brian2/brian2cuda preferences for a ``cuda_standalone`` build; return a function restoring them.

    Parameters
    ----------
    options : dict
        The scenario's ``device_options``: ``compute_capability`` (float, used when no GPU is visible)
        and ``gpu_id`` (int).

    Returns
    -------
    callable
        Restores every preference changed here (call it when the device session ends).

    Raises
    ------
    BuildError
        brian2cuda is not installed, ``nvcc`` is missing, or cuRAND cannot be found.
    """
    try:
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device and its preferences)
        from brian2cuda.utils import gputools
    except ImportError as ex:
        raise BuildError(
            f"the cuda device needs brian2cuda ({ex}); install the extra: pip install 'spikelearn[cuda]'"
        ) from ex
    from brian2 import prefs

    nvcc = find_nvcc()
    if nvcc is None:
        raise BuildError("the cuda device needs nvcc (the CUDA toolkit): none on PATH, in $CUDA_PATH or "
                         "/usr/local/cuda; install the toolkit or use --device cpp")
    cc = float(options.get("compute_capability", 9.0))
    gpu_id = int(options.get("gpu_id", 0))
    if cc < 5.0:
        raise BuildError(f"device_options.compute_capability = {cc}: brian2cuda needs at least 5.0")
    include_dir, library_dir, runtime_dir = find_curand(nvcc, cache_root() / "cuda" / "lib")

    names = [
        "codegen.cpp.extra_compile_args_gcc", "codegen.cpp.include_dirs", "codegen.cpp.library_dirs",
        "codegen.cpp.runtime_library_dirs", "devices.cpp_standalone.extra_make_args_unix",
        "devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc",
        "devices.cuda_standalone.cuda_backend.detect_gpus", "devices.cuda_standalone.cuda_backend.gpu_id",
        "devices.cuda_standalone.cuda_backend.compute_capability",
        "devices.cuda_standalone.cuda_backend.cuda_path",
    ]
    saved = {name: _copy(prefs[name]) for name in names}

    gcc = [flag for flag in prefs["codegen.cpp.extra_compile_args_gcc"] if not flag.startswith("-std=")]
    prefs["codegen.cpp.extra_compile_args_gcc"] = gcc + [CPP_STANDARD]
    prefs["codegen.cpp.include_dirs"] = _add(prefs["codegen.cpp.include_dirs"], str(include_dir))
    prefs["codegen.cpp.library_dirs"] = _add(prefs["codegen.cpp.library_dirs"], str(library_dir))
    prefs["codegen.cpp.runtime_library_dirs"] = _add(prefs["codegen.cpp.runtime_library_dirs"], str(runtime_dir))
    # a fresh list: brian2cuda's generate_makefile mutates this preference in place (remove, +=)
    prefs["devices.cuda_standalone.cuda_backend.extra_compile_args_nvcc"] = ["-w", "-use_fast_math"]
    # nvcc plus its host compiler take ~1 GB each: one job per core, not make's unbounded -j
    prefs["devices.cpp_standalone.extra_make_args_unix"] = [f"-j{max(1, len(os.sched_getaffinity(0)))}"]
    prefs["devices.cuda_standalone.cuda_backend.cuda_path"] = str(nvcc.parent.parent)
    if gpu_present():
        prefs["devices.cuda_standalone.cuda_backend.detect_gpus"] = True
        prefs["devices.cuda_standalone.cuda_backend.gpu_id"] = gpu_id
        prefs["devices.cuda_standalone.cuda_backend.compute_capability"] = None
        logger.info("cuda: GPU present, brian2cuda detects GPU %d and its compute capability", gpu_id)
    else:
        prefs["devices.cuda_standalone.cuda_backend.detect_gpus"] = False
        prefs["devices.cuda_standalone.cuda_backend.gpu_id"] = gpu_id
        prefs["devices.cuda_standalone.cuda_backend.compute_capability"] = cc
        logger.info("cuda: no GPU visible; compiling for compute capability %.1f, GPU id %d (build only)",
                    cc, gpu_id)
    # brian2cuda caches the detected toolkit and GPU per process; detect again with these preferences
    gputools.reset_cuda_installation()
    gputools.reset_gpu_selection()

    def restore():
        for name, value in saved.items():
            prefs[name] = value
        gputools.reset_cuda_installation()
        gputools.reset_gpu_selection()

    return restore


def _copy(value):
    return list(value) if isinstance(value, list) else value


def _add(values, item):
    values = list(values)
    return values if item in values else values + [item]


# -- what brian2cuda cannot do ----------------------------------------------------------------------------
#: (fragment of brian2cuda's/Brian2's message, the feature as spikelearn names it, what to do instead)
UNSUPPORTED = (
    ("store/restore", "store/restore (Network.store / Network.restore)",
     "run the phases as one network with phase gates, or use --device cpp/runtime"),
    ("multiple report functions", "a different progress report function in each run call",
     "use one net.run per network"),
    ("instead of providing them via the namespace", "a scalar constant in a Function's namespace",
     "write the constant into the function's code"),
    ("OpenMP", "OpenMP threads (device_options.threads)", "leave device_options.threads at 0 for cuda"),
    ("network_operation", "network_operation (Python code inside the simulation loop)",
     "write the operation as Brian2 code (run_regularly, TimedArray)"),
    ("Windows is currently not supported", "Windows", "build on Linux"),
)


def unsupported_message(ex):
    """The `BuildError` message for a brian2cuda refusal ``ex`` (a ``NotImplementedError``).

    Parameters
    ----------
    ex : Exception
        The exception brian2cuda (or Brian2's standalone device) raised.

    Returns
    -------
    str
        One line naming the feature, brian2cuda's own words, and what to do instead.
    """
    text = " ".join(str(ex).split())
    for fragment, feature, advice in UNSUPPORTED:
        if fragment.lower() in text.lower():
            return f"the cuda device (brian2cuda) does not support {feature}: {text}; {advice}"
    return f"the cuda device (brian2cuda) cannot generate this network: {text}; try --device cpp"
