"""The contract check kit for plasticity rules — the checks built-in rules pass, for outside authors.

Use it three ways:

- ``spikelearn check-plugin NAME|FILE`` prints a verdict with reasons;
- in pytest (this module is registered as a ``pytest11`` plugin): the ``plasticity_kit`` fixture, e.g.
  ``plasticity_kit.assert_passes("my_rule", plugin_files=["my_rule.py"])``;
- from Python: :func:`check_rule`, :func:`run_pairs`, :func:`run_poisson`.

The checks: the rule builds and runs on every available device; on hand-placed spike pairs its weight
changes equal its NumPy reference (when the rule has one); under Poisson input the weights stay finite
and within the rule's declared ``bounds`` (``[0, wmax]`` when it declares ``wmax``); the same seed gives
the same weights; ``runtime`` and ``cpp`` agree. Global signals a rule reads are held at 1 (a phase gate covering the
run) unless given.

Without ``out_root`` each check run goes to its own ``spikelearn-check-*`` temporary directory, removed
once its weights are read (kept only when the run's error message names it, e.g. a run stopped by the
NaN guard).
"""

import functools
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SpikelearnError

__all__ = ["CheckResult", "check_rule", "run_pairs", "run_poisson", "available_devices", "PlasticityKit",
           "plasticity_kit"]

PAIR_DELTAS_MS = (-40.0, -20.0, -10.0, -5.0, -1.0, 1.0, 5.0, 10.0, 20.0, 40.0)


@dataclass
class CheckResult:
    name: str
    passed: bool
    detail: str
    skipped: bool = False

    def line(self):
        verdict = "SKIP" if self.skipped else ("PASS" if self.passed else "FAIL")
        return f"[{verdict}] {self.name}: {self.detail}"


def available_devices():
    """Devices that can run here: runtime and cpp always; cuda (build only) when brian2cuda and nvcc exist."""
    devices = ["runtime", "cpp"]
    try:
        import brian2cuda  # noqa: F401
    except ImportError:
        return devices
    if shutil.which("nvcc"):
        devices.append("cuda")
    return devices


def _registry(plugin_files):
    from .registry import default_registry

    return default_registry(tuple(str(p) for p in plugin_files))


def _signals_phases(rule, duration_ms):
    if not rule.signals:
        return None
    return {"kind": "intervals", "names": list(rule.signals),
            "intervals": [[s, "0*ms", f"{duration_ms}*ms"] for s in rule.signals]}


def _scenario(rule_name, params, pre, post, duration_ms, device, registry, seed=1, w0=0.005, connect="one_to_one",
              pre_model="spike_train", post_model="spike_train", extra_pre=None, extra_post=None):
    from .scenario import parse_scenario

    rule = registry.get("plasticity", rule_name)
    data = {
        "name": f"check-{rule_name}", "seed": seed, "dt": "0.1*ms", "duration": f"{duration_ms}*ms", "device": device,
        "populations": {
            "pre": {"model": pre_model, "size": pre[0], "parameters": extra_pre or {}},
            "post": {"model": post_model, "size": post[0], "parameters": extra_post or {}},
        },
        "connections": {"c": {"source": "pre", "target": "post", "connect": connect, "weight": w0,
                              "effect": "", "plasticity": {"rule": rule_name, **(params or {})}}},
        "record": {"spikes": [], "weights": {"c": {}}},
    }
    phases = _signals_phases(rule, duration_ms)
    if phases:
        data["phases"] = phases
    return parse_scenario(data, f"<contract check of '{rule_name}'>", registry)


@contextmanager
def _run_root(out_root):
    """``out_root``, or a temporary directory removed afterwards, unless an error names what it kept there."""
    if out_root is not None:
        yield Path(out_root)
        return
    root = Path(tempfile.mkdtemp(prefix="spikelearn-check-"))
    keep = False
    try:
        yield root
    except BaseException as ex:
        keep = str(root) in str(ex)  # e.g. "... what was recorded is kept in <root>/..."
        raise
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _run(scenario, registry, spike_inputs=None, out_root=None):
    from .results import RunResult
    from .runner import run_scenario

    with _run_root(out_root) as root:
        outcome = run_scenario(scenario, registry, out_root=root, progress=False, figures=False,
                               spike_inputs=spike_inputs)
        return RunResult(outcome.path).weights("c")


def run_pairs(rule_name, params=None, deltas_ms=PAIR_DELTAS_MS, device="runtime", w0=0.005, plugin_files=(),
              t_pre_ms=100.0, out_root=None):
    """Weight change of one synapse per pair: pre at ``t_pre_ms``, post ``Δt`` later (ms).

    Returns ``(deltas_ms, dw)``. Each synapse sees exactly one pair (one-to-one connections).
    """
    registry = _registry(plugin_files)
    n = len(deltas_ms)
    duration = t_pre_ms + max(0.0, max(deltas_ms)) + 200.0
    sc = _scenario(rule_name, params, (n,), (n,), duration, device, registry, w0=w0)
    idx = np.arange(n)
    inputs = {"pre": (idx, np.full(n, t_pre_ms / 1000)),
              "post": (idx, (t_pre_ms + np.asarray(deltas_ms, dtype=float)) / 1000)}
    w = _run(sc, registry, inputs, out_root)
    order = np.argsort(w["i"])
    return np.asarray(deltas_ms), w["w_final"][order] - w["w_initial"][order]


def run_poisson(rule_name, params=None, rate_hz=20.0, n=20, duration_ms=2000.0, device="runtime", seed=1,
                w0=0.005, plugin_files=(), out_root=None):
    """Final weights (all-to-all, ``n`` x ``n``) under independent Poisson pre and post spike trains."""
    registry = _registry(plugin_files)
    rng = np.random.default_rng(seed)
    inputs = {}
    for pop in ("pre", "post"):
        counts = rng.poisson(rate_hz * duration_ms / 1000, n)
        idx = np.repeat(np.arange(n), counts)
        steps = rng.integers(1, int(duration_ms * 10) - 1, len(idx))
        cells = np.unique(steps * n + idx)  # at most one spike per neuron and time step
        inputs[pop] = (cells % n, (cells // n) * 1e-4)
    sc = _scenario(rule_name, params, (n,), (n,), duration_ms, device, registry, seed=seed, w0=w0, connect="all")
    return _run(sc, registry, inputs, out_root)["w_final"]


def check_rule(rule_name, params=None, plugin_files=(), devices=None, out_root=None):
    """Run every contract check on a rule; return a list of `CheckResult`."""
    registry = _registry(plugin_files)
    rule = registry.get("plasticity", rule_name)
    devices = list(devices or available_devices())
    results = [CheckResult("declaration", True, f"parameters {sorted(rule.parameters)}, signals {list(rule.signals) or 'none'}, "
                                                  "equations parse, every parameter used")]
    pairs = {}
    for device in devices:
        if device == "cuda":
            results.append(_cuda_build(rule_name, params, registry, out_root))
            continue
        try:
            pairs[device] = run_pairs(rule_name, params, device=device, plugin_files=plugin_files, out_root=out_root)[1]
        except SpikelearnError as ex:
            results.append(CheckResult(f"builds on {device}", False, str(ex)))
            continue
        finite = bool(np.all(np.isfinite(pairs[device])))
        results.append(CheckResult(f"builds on {device}", finite, f"pair run finished, weight changes {'finite' if finite else 'NOT finite'}"))
    base = next(iter(pairs), None)
    if base is not None:
        results.append(_reference_check(rule, params, pairs[base], base))
        w = run_poisson(rule_name, params, device=base, plugin_files=plugin_files, out_root=out_root)
        results.append(_bounds_check(rule, params, w))
        again = run_poisson(rule_name, params, device=base, plugin_files=plugin_files, out_root=out_root)
        same = np.array_equal(w, again)
        results.append(CheckResult("deterministic for a seed", same,
                                   "two runs with seed 1 gave identical weights" if same else "two runs with seed 1 differ"))
    if "runtime" in pairs and "cpp" in pairs:
        ok = np.allclose(pairs["runtime"], pairs["cpp"], rtol=1e-9, atol=1e-12)
        diff = float(np.max(np.abs(pairs["runtime"] - pairs["cpp"])))
        results.append(CheckResult("runtime and cpp agree", ok, f"max |Δw_runtime - Δw_cpp| = {diff:.3g} (tolerance rtol 1e-9)"))
    return results


def _reference_check(rule, params, dw, device):
    from .plugin import PlasticityRule

    if type(rule).reference_update is PlasticityRule.reference_update:
        return CheckResult("matches its NumPy reference", True, "the rule has no reference_update", skipped=True)
    values = _param_values(rule, params)
    expected = np.array([
        rule.reference_update(values, pre_times=[0.1], post_times=[0.1 + d / 1000], w0=0.005, dt=1e-4) - 0.005
        for d in PAIR_DELTAS_MS
    ])
    scale = max(float(np.max(np.abs(expected))), 1e-300)
    err = float(np.max(np.abs(dw - expected))) / scale
    return CheckResult("matches its NumPy reference", err < 1e-3,
                       f"on {len(PAIR_DELTAS_MS)} spike pairs ({device}), max error {err:.2e} of the largest change (tolerance 1e-3)")


def _bounds_check(rule, params, w):
    finite = bool(np.all(np.isfinite(w)))
    if not finite:
        return CheckResult("finite and bounded under Poisson input", False, "non-finite weights")
    bounds = rule.weight_bounds()
    if bounds is None or bounds == (None, None):
        return CheckResult("finite and bounded under Poisson input", True,
                           f"weights finite, in [{w.min():.3g}, {w.max():.3g}] (no bounds declared, not checked)")
    values = _param_values(rule, params)
    low, high = (values[b] if isinstance(b, str) else b for b in bounds)
    tol = 1e-12 + 1e-9 * max(abs(low or 0.0), abs(high or 0.0))
    ok = (low is None or w.min() >= low - tol) and (high is None or w.max() <= high + tol)
    low_text, high_text = ("-inf" if low is None else f"{low:g}"), ("inf" if high is None else f"{high:g}")
    return CheckResult("finite and bounded under Poisson input", bool(ok),
                       f"weights in [{w.min():.3g}, {w.max():.3g}], bounds [{low_text}, {high_text}]")


def _param_values(rule, params):
    from .units import parse_quantity

    values = {}
    for name, p in rule.parameters.items():
        raw = (params or {}).get(name, p.default)
        if p.kind == "quantity":
            values[name] = float(parse_quantity(raw))
        else:
            values[name] = raw
    return values


def _cuda_build(rule_name, params, registry, out_root):
    from .runner import run_scenario

    sc = _scenario(rule_name, params, (4,), (4,), 50.0, "cuda", registry)
    try:
        with _run_root(out_root) as root:
            run_scenario(sc, registry, out_root=root, progress=False, build_only=True, figures=False,
                         spike_inputs={"pre": (np.arange(4), np.full(4, 0.01)), "post": (np.arange(4), np.full(4, 0.02))})
    except SpikelearnError as ex:
        return CheckResult("builds on cuda", False, str(ex))
    return CheckResult("builds on cuda", True, "generated and compiled with brian2cuda (not run: build only)")


class PlasticityKit:
    """The pytest face of the kit (the ``plasticity_kit`` fixture): :func:`check_rule`,
    :func:`run_pairs` and :func:`run_poisson` writing their runs under ``out_root``."""

    available_devices = staticmethod(available_devices)

    def __init__(self, out_root=None):
        self.out_root = out_root
        self.check_rule = functools.partial(check_rule, out_root=out_root)
        self.run_pairs = functools.partial(run_pairs, out_root=out_root)
        self.run_poisson = functools.partial(run_poisson, out_root=out_root)

    def assert_passes(self, rule_name, params=None, plugin_files=(), devices=None):
        results = check_rule(rule_name, params, plugin_files, devices, out_root=self.out_root)
        failed = [r for r in results if not r.passed and not r.skipped]
        assert not failed, "contract checks failed:\n" + "\n".join(r.line() for r in failed)
        return results


try:
    import pytest
except ImportError:  # the kit works without pytest; only the fixture needs it
    pytest = None

if pytest is not None:
    @pytest.fixture
    def plasticity_kit(tmp_path):
        """The contract check kit, writing its runs under the test's ``tmp_path``."""
        return PlasticityKit(out_root=tmp_path)
