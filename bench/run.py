"""spikelearn's benchmark suite: framework overhead against hand-written Brian2, the devices, NEST, and the
built-in scenarios. One command:

    .venv/bin/python bench/run.py                 # overhead + devices (with NEST when it imports); hours on 2 busy cores
    .venv/bin/python bench/run.py --quick         # smoke run: short simulations, 2 repeats, N <= 10^4
    .venv/bin/python bench/run.py --parts overhead --tag overhead    # one part (see --help: --sizes, --duration-scale)
    .venv/bin/python bench/run.py --parts peers --tag peers        # vs ANNarchy and NEST (optional installs)
    .venv/bin/python bench/run.py --scenarios     # also: wall time of every built-in scenario on cpp
    .venv/bin/python bench/run.py --report A.json B.json             # the table of parts run separately

Writes ``bench/results/<machine>-<date>.json`` and ``.md`` (the table) and prints the table.

Every measurement runs in its own process (``bench/worker.py``); peak memory is the largest resident set
of that process and of what it ran (compiler, standalone binary). The
implementations compared in one table row run interleaved, alternating which goes first, ``--repeats``
times; the table shows medians and the ratios of the paired runs' medians. These machines are shared
and noisy: the load average is recorded before and after each part.
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "bench" / "worker.py"
COBA = {"scenario": "bench/scenarios/coba_stdp.toml", "plugins": ["bench/coba_model.py"]}
# state bytes touched by one plastic synaptic event of additive STDP on cpp: w, Apre, Apost, lastupdate
# (float64, read and written: 4*8*2) + the synapse index (int32) from the spike queue + the target index
BYTES_PER_EVENT = 4 * 8 * 2 + 4 + 4


# -- measuring ------------------------------------------------------------------------------------------
def measure(spec, timeout, env=None):
    """Run one worker (with environment ``env``, default this process's); return its result with
    ``wall_s``, or ``{"error": ...}``."""
    spec = {**spec, "t0": time.time()}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, str(WORKER), json.dumps(spec)], stdout=out,
                                stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read()
    lines = [ln for ln in text.splitlines() if ln.startswith("BENCH-RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = " | ".join(text.strip().splitlines()[-3:])
        why = "timed out" if timed_out else f"exit {proc.returncode}"
        return {"error": f"{why}: {tail[-600:]}"}
    result = json.loads(lines[-1][len("BENCH-RESULT "):])
    result["wall_s"] = wall  # the worker reports its own peak memory (see worker.peak_rss_mb)
    return result


def paired(specs, repeats, timeout, log):
    """Run the specs interleaved ``repeats`` times (order rotated each time); return lists of results."""
    results = {name: [] for name in specs}
    names = list(specs)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            res = measure(specs[name], timeout)
            results[name].append(res)
            log(f"    {name} #{r + 1}: " + (res["error"] if "error" in res else
                                            f"run {res['run_s']:.3f} s, first step {res['first_step_s']:.2f} s, "
                                            f"wall {res['wall_s']:.2f} s, {res['peak_rss_mb']:.0f} MB"))
    return results


def med(results, key):
    values = [r[key] for r in results if "error" not in r and key in r]
    return statistics.median(values) if values else None


def med_diff(results, a, b):
    values = [r[a] - r.get(b, 0.0) for r in results if "error" not in r and a in r]
    return statistics.median(values) if values else None


def errors(results):
    return [r["error"] for r in results if "error" in r]


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def load():
    return list(os.getloadavg())


# -- parts ----------------------------------------------------------------------------------------------
def bandwidth(size_mb=256, repeats=7):
    """STREAM-like copy with NumPy (one core): bytes read + written per second, best of ``repeats``, by
    wall time and by CPU time (a loaded machine deschedules the copy: the CPU-time figure is the one
    the plastic events are compared with, themselves counted per CPU second)."""
    import numpy as np

    a = np.ones(size_mb * 2**20 // 8)
    b = np.empty_like(a)
    wall, cpu = float("inf"), float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        np.copyto(b, a)
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return {"copy_gb_s": 2 * a.nbytes / wall / 1e9, "copy_gb_s_cpu": 2 * a.nbytes / cpu / 1e9, "array_mb": size_mb,
            "repeats": repeats, "load": load(),
            "note": "read + written bytes of a 1-core np.copyto, best of repeats (write-allocate traffic not counted)"}


def bandwidth_fraction(row, bw):
    """Plastic events per CPU second x bytes per event / the CPU-time copy bandwidth."""
    eps = row.get("plastic_events_per_s")
    if not eps or not row.get("run_cpu_s") or not bw.get("copy_gb_s_cpu"):
        return None, None
    eps_cpu = eps * row["run_s"] / row["run_cpu_s"]
    return eps_cpu, eps_cpu * BYTES_PER_EVENT / (bw["copy_gb_s_cpu"] * 1e9)


def song_spec(impl, device, duration, seed, cache, build_root, n_out=1, target="cython", inputs="exponential"):
    spec = {"impl": impl, "device": device, "duration": duration, "seed": seed, "cache": cache, "target": target,
            "n_out": n_out}
    if impl == "spikelearn":
        spec.update(scenario="song-stdp", set=[f"populations.out.size={n_out}"])
    elif impl == "brian2":
        spec.update(net="song", inputs=inputs,
                    build_dir=str(Path(build_root) / f"song-{inputs}-{n_out}-{duration}"))
    return spec


def coba_spec(impl, device, duration, seed, cache, build_root, target="cython"):
    spec = {"impl": impl, "device": device, "duration": duration, "seed": seed, "cache": cache, "target": target}
    if impl == "spikelearn":
        spec.update(COBA)
    else:
        spec.update(net="coba", build_dir=str(Path(build_root) / f"coba-{duration}"))
    return spec


def overhead_part(cfg, log):
    """spikelearn vs the same network hand-written in Brian2: same device, same seed, paired runs."""
    rows = []
    cases = [("song", "cpp", cfg.song_duration), ("coba", "cpp", cfg.coba_duration)]
    if not cfg.quick:
        cases.append(("song", "runtime", cfg.song_runtime_duration))
    for net, device, duration in cases:
        log(f"  overhead: {net} on {device}, {duration} s simulated")
        make = song_spec if net == "song" else coba_spec
        specs = {"spikelearn": make("spikelearn", device, duration, cfg.seed, cfg.cache, cfg.build_root),
                 "brian2": make("brian2", device, duration, cfg.seed, cfg.cache, cfg.build_root)}
        if net == "song" and device == "cpp":
            specs["brian2_poissongroup"] = song_spec("brian2", device, duration, cfg.seed, cfg.cache, cfg.build_root,
                                                     inputs="poissongroup")
        before = load()
        # the first run of each builds (cold cache for spikelearn: its cache directory is new)
        first = {name: measure(spec, cfg.timeout) for name, spec in specs.items()}
        res = paired(specs, cfg.repeats, cfg.timeout, log)
        sl, b2 = res["spikelearn"], res["brian2"]
        row = {
            "network": net, "device": device, "duration_s": duration, "repeats": cfg.repeats,
            "load_before": before, "load_after": load(),
            "spikelearn": summary(sl), "brian2": summary(b2),
            "run_time_ratio": ratio(med(sl, "run_s"), med(b2, "run_s")),
            "run_cpu_ratio": ratio(med(sl, "run_cpu_s"), med(b2, "run_cpu_s")),
            "paired_run_time_ratios": [ratio(a.get("run_s"), b.get("run_s")) for a, b in zip(sl, b2)],
            "peak_memory_ratio": ratio(med(sl, "peak_rss_mb"), med(b2, "peak_rss_mb")),
            "first_step_overhead_s": diff(med(sl, "first_step_s"), med(b2, "first_step_s")),
            # imports, validation and network construction, without compilation (cpp: Brian2 alone
            # recompiles main.cpp on every run, spikelearn does not; see docs/developer/performance.md)
            "before_build_overhead_s": diff(med_diff(sl, "first_step_s", "compile_s"), med_diff(b2, "first_step_s", "compile_s")),
            "wall_ratio": ratio(med(sl, "wall_s"), med(b2, "wall_s")),
            "first_run": {name: {k: r.get(k) for k in ("first_step_s", "compile_s", "run_s", "wall_s", "error")}
                          for name, r in first.items()},
        }
        if "brian2_poissongroup" in res:
            row["brian2_poissongroup"] = summary(res["brian2_poissongroup"])
            row["poissongroup_over_spikelearn_run_time"] = ratio(med(res["brian2_poissongroup"], "run_s"), med(sl, "run_s"))
        if device == "cpp":
            row["cached_build_saving_s"] = diff(first["spikelearn"].get("wall_s"), med(sl, "wall_s"))
            row["cold_build_wall_s"] = first["spikelearn"].get("wall_s")
        rows.append(row)
    return rows


def diff(a, b):
    return a - b if a is not None and b is not None else None


def summary(results):
    out = {k: med(results, k) for k in ("run_s", "run_cpu_s", "first_step_s", "compile_s", "wall_s", "peak_rss_mb")}
    ok = [r for r in results if "error" not in r]
    out["counts"] = ok[0]["counts"] if ok else None
    out["errors"] = errors(results)
    return out


def nest_available():
    """``None`` when NEST imports, else exactly why not."""
    proc = subprocess.run([sys.executable, "-c", "import nest; print(nest.__version__)"], capture_output=True,
                          text=True, timeout=300)
    if proc.returncode == 0:
        return None, proc.stdout.strip().splitlines()[-1]
    return (proc.stderr.strip().splitlines() or ["import nest failed"])[-1], None


def events_per_second(res, n_in, n_out):
    """Plastic synaptic events (pre spike x fan-out + post spike x fan-in) per wall second of the loop."""
    if "error" in res or not res.get("run_s"):
        return None
    pre, post = res["counts"]["inputs"][0], res["counts"]["out"][0]
    return (pre * n_out + post * n_in) / res["run_s"]


def devices_part(cfg, log, result, save):
    """Song-type network with N = 1000 * n_out synapses on each device (and NEST), spikelearn's scenario.
    Rows go into ``result["devices"]`` as they are measured (``save`` is called after each size)."""
    nest_error, nest_version = nest_available()
    result["nest"] = {"error": nest_error, "version": nest_version}
    rows = result["devices"] = []
    for n_syn, duration in cfg.sizes:
        n_out = n_syn // 1000
        specs = {}
        for device, target in (("runtime", "numpy"), ("runtime", "cython"), ("cpp", None)):
            label = target or device
            if n_syn > cfg.max_runtime_synapses and device == "runtime":
                continue
            specs[label] = song_spec("spikelearn", device, duration, cfg.seed, cfg.cache, cfg.build_root,
                                     n_out=n_out, target=target or "cython")
        if nest_error is None:
            specs["nest"] = {"impl": "nest", "duration": duration, "seed": cfg.seed, "n_out": n_out}
        log(f"  devices: N = {n_syn} synapses ({n_out} outputs), {duration} s simulated: {', '.join(specs)}")
        before = load()
        first = {name: measure(spec, cfg.timeout) for name, spec in specs.items()}
        res = paired(specs, cfg.repeats, cfg.timeout, log)
        for name, results in res.items():
            eps = [e for e in (events_per_second(r, 1000, n_out) for r in results) if e is not None]
            eps_med = statistics.median(eps) if eps else None
            run_s, cpu_s = med(results, "run_s"), med(results, "run_cpu_s")
            rows.append({
                "synapses": n_syn, "device": name, "duration_s": duration, "load_before": before, "load_after": load(),
                "build_first_s": first[name].get("first_step_s"), "compile_first_s": first[name].get("compile_s"),
                "build_cached_s": med(results, "first_step_s"), "compile_cached_s": med(results, "compile_s"),
                "run_s": run_s, "run_cpu_s": cpu_s,
                "real_time_factor": ratio(duration, run_s), "real_time_factor_cpu": ratio(duration, cpu_s), "plastic_events_per_s": eps_med,
                "peak_rss_mb": med(results, "peak_rss_mb"), "counts": summary(results)["counts"],
                "errors": errors(results) + ([first[name]["error"]] if "error" in first[name] else []),
            })
        if "nest" in res and "cpp" in res:
            rows[-1]["cpp_over_nest_run_time"] = ratio(med(res["cpp"], "run_s"), med(res["nest"], "run_s"))
            rows[-1]["cpp_over_nest_run_cpu"] = ratio(med(res["cpp"], "run_cpu_s"), med(res["nest"], "run_cpu_s"))
        save()


def scenarios_part(cfg, log):
    """Wall time of every built-in scenario on cpp (``--scenario-duration`` shortens them; stated)."""
    from spikelearn.scenario import builtin_scenarios

    rows = []
    out = tempfile.mkdtemp(prefix="slbench-scen-")
    env = {**os.environ, "SPIKELEARN_CACHE": cfg.cache, "MPLBACKEND": "Agg"}
    names = cfg.scenario_names.split(",") if cfg.scenario_names else list(builtin_scenarios())
    for name in names:
        cmd = [str(Path(sys.executable).parent / "spikelearn"), "run", name, "--device", "cpp", "--no-progress",
               "--out", out]
        if cfg.scenario_duration:
            cmd += ["--set", f'duration="{cfg.scenario_duration}*second"']
        row = {"scenario": name, "load_before": load()}
        for attempt in ("first", "cached"):
            t0 = time.perf_counter()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=cfg.scenario_timeout)
                status = proc.returncode
                tail = proc.stderr.strip().splitlines()[-1:] if status else []
            except subprocess.TimeoutExpired:
                status, tail = "timeout", []
            row[f"{attempt}_wall_s"] = time.perf_counter() - t0
            row[f"{attempt}_status"] = status
            if tail:
                row["error"] = tail[0][-300:]
            passed = [ln for ln in (proc.stdout.splitlines() if status == 0 else []) if ln.strip().startswith("[")]
            row["claims"] = f"{sum('[PASS]' in ln for ln in passed)}/{len(passed)} pass"
            if status != 0:
                break
        log(f"  scenario {name}: first {row['first_wall_s']:.1f} s, cached {row.get('cached_wall_s', float('nan')):.1f} s, "
            f"status {row['first_status']}, claims {row['claims']}")
        rows.append(row)
    shutil.rmtree(out, ignore_errors=True)
    return rows


def module_available(module, version_attr="__version__"):
    """``(None, version)`` when ``module`` imports in this interpreter, else ``(why not, None)``."""
    code = f"import {module} as m; print(m.{version_attr})"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode == 0:
        return None, proc.stdout.strip().splitlines()[-1]
    why = (proc.stderr.strip().splitlines() or [f"import {module} failed"])[-1]
    return f"{why} (optional: .venv/bin/pip install {'ANNarchy' if module == 'ANNarchy' else 'nest-simulator'})", None


PEER_SIZES = [(1000, 10.0), (100000, 2.0), (1000000, 0.5)]
PEER_LABELS = {"spikelearn": "spikelearn (cpp)", "spikelearn_nt": "spikelearn (cpp), rule stdp_additive_neuron_traces",
               "brian2": "Brian2 cpp, hand-written",
               "annarchy": "ANNarchy, PoissonPopulation inputs", "annarchy_array": "ANNarchy, pre-drawn exponential inputs (SpikeSourceArray)",
               "nest": "NEST (iaf_cond_exp, stdp_synapse)"}


#: the additive STDP rule with its traces on the neurons (bench/layout_1e6.py: neuron_traces)
NEURON_TRACES = "stdp_additive_neuron_traces"


def peer_label(name, net):
    return "ANNarchy" if (net, name) == ("coba", "annarchy") else PEER_LABELS[name]


def peers_part(cfg, log, result, save):
    """The song network (10^3, 10^5, 10^6 synapses) and the COBA-STDP network in spikelearn (cpp), Brian2
    cpp written by hand, ANNarchy and NEST, one thread each, every measurement its own process, run
    interleaved (order rotated) ``--repeats`` times. Loop time only (``run_s``); compilation apart."""
    avail = {"annarchy": module_available("ANNarchy", "__release__"), "nest": module_available("nest")}
    result["peer_versions"] = {name: {"error": e, "version": v} for name, (e, v) in avail.items()}
    rows = result["peers"] = []
    k = cfg.duration_scale
    cases = [("song", n, d) for n, d in cfg.peer_sizes]
    cases += [("coba", 320000, cfg.peer_coba_duration)] if cfg.peer_coba_duration > 0 else []
    for net, n_syn, duration in cases:
        duration *= k
        specs, skipped = {}, {}
        if net == "song":
            n_out = n_syn // 1000
            specs["spikelearn"] = song_spec("spikelearn", "cpp", duration, cfg.seed, cfg.cache, cfg.build_root, n_out=n_out)
            specs["spikelearn_nt"] = song_spec("spikelearn", "cpp", duration, cfg.seed, cfg.cache, cfg.build_root,
                                               n_out=n_out)
            specs["spikelearn_nt"]["set"].append(f"connections.inputs_to_out.plasticity.rule={NEURON_TRACES}")
            specs["brian2"] = song_spec("brian2", "cpp", duration, cfg.seed, cfg.cache, cfg.build_root, n_out=n_out)
            for label, inputs in (("annarchy", "poisson"), ("annarchy_array", "exponential")):
                specs[label] = {"impl": "annarchy", "net": "song", "n_out": n_out, "inputs": inputs, "duration": duration,
                                "seed": cfg.seed, "build_dir": str(Path(cfg.build_root) / f"annarchy-song-{inputs}-{n_out}")}
            specs["nest"] = {"impl": "nest", "net": "song", "duration": duration, "seed": cfg.seed, "n_out": n_out}
        else:
            specs["spikelearn"] = coba_spec("spikelearn", "cpp", duration, cfg.seed, cfg.cache, cfg.build_root)
            specs["spikelearn_nt"] = {**specs["spikelearn"], "set": [  # the rule's table whole: wmax is not its default
                f'connections.ee.plasticity={{rule="{NEURON_TRACES}", tau_pre="20*ms", tau_post="20*ms", A_pre=0.01, '
                'depression_ratio=1.05, wmax=1.2}']}
            specs["brian2"] = coba_spec("brian2", "cpp", duration, cfg.seed, cfg.cache, cfg.build_root)
            specs["annarchy"] = {"impl": "annarchy", "net": "coba", "duration": duration, "seed": cfg.seed,
                                 "build_dir": str(Path(cfg.build_root) / "annarchy-coba")}
            specs["nest"] = {"impl": "nest", "net": "coba", "duration": duration, "seed": cfg.seed}
        for name in list(specs):
            why = avail.get(specs[name]["impl"], (None, None))[0]
            if why:
                skipped[name] = why
                del specs[name]
        log(f"  peers: {net}, {n_syn:.0e} synapses, {duration:g} s simulated: {', '.join(specs)}"
            + (f" (skipped: {', '.join(skipped)})" if skipped else ""))
        before = load()
        res = paired(specs, cfg.repeats, cfg.timeout, log)
        after = load()
        sl = res["spikelearn"]
        for name in list(specs) + list(skipped):
            row = {"network": net, "synapses": n_syn, "duration_s": duration, "simulator": name,
                   "label": peer_label(name, net), "load_before": before, "load_after": after}
            if name in skipped:
                row["skipped"] = skipped[name]
            else:
                results = res[name]
                ok = [r for r in results if "error" not in r]
                row.update(summary(results))
                row["run_s_all"] = [r.get("run_s") for r in results]
                row["compile_first_s"] = results[0].get("compile_s")  # the first run compiled (cold)
                row["over_spikelearn"] = ratio(med(results, "run_s"), med(sl, "run_s"))
                row["over_spikelearn_cpu"] = ratio(med(results, "run_cpu_s"), med(sl, "run_cpu_s"))
                row["paired_over_spikelearn"] = [ratio(a.get("run_s"), b.get("run_s")) for a, b in zip(results, sl)]
                row["spike_counts_all"] = [r["counts"] for r in ok]
                row["version"] = next((r.get("annarchy_version") or r.get("nest_version") for r in ok
                                       if r.get("annarchy_version") or r.get("nest_version")), None)
            rows.append(row)
        save()


def peers_markdown(result):
    v = result.get("peer_versions", {})
    vs = "; ".join(f"{n}: {x['version'] or 'skipped: ' + x['error']}" for n, x in v.items())
    lines = ["**Peer simulators** (one thread each, simulation loop only, medians of paired interleaved runs; "
             f"{vs}):", "",
             "| network | synapses | sim s | simulator | loop s (CPU s) | peer / spikelearn (CPU) | first compile s | "
             "spikes (rate Hz) | load before → after |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in result["peers"]:
        head = f"| {r['network']} | {r['synapses']:.0e} | {r['duration_s']:g} | {peer_label(r['simulator'], r['network'])} |"
        load_s = f"{r['load_before'][0]:.1f} → {r['load_after'][0]:.1f}"
        if "skipped" in r:
            lines.append(f"{head} skipped: {r['skipped']} | | | | {load_s} |")
            continue
        counts = r.get("counts") or {}
        spikes = ", ".join(f"{g} {c[0]} ({c[0] / c[1] / r['duration_s']:.1f})" for g, c in counts.items())
        err = f" errors: {'; '.join(r['errors'])[:150]}" if r.get("errors") else ""
        lines.append(f"{head} {fmt(r['run_s'])} ({fmt(r['run_cpu_s'])}) | **{fmt(r['over_spikelearn'], '.2f')}** "
                     f"({fmt(r['over_spikelearn_cpu'], '.2f')}) | {fmt(r['compile_first_s'], '.1f')} | {spikes}{err} | {load_s} |")
    lines += ["", "Song: 1000 inputs at 15 Hz → 1 / 100 / 1000 conductance LIF outputs, all-to-all additive STDP "
              "(bench/networks.py, bench/networks_annarchy.py). COBA: 3200 E + 800 I, p = 0.02 (≈3.2×10^5 synapses, "
              "≈2×10^5 plastic E→E), STDP on E→E. spikelearn and Brian2 use exponential-interval inputs (one random "
              "number per spike); ANNarchy's PoissonPopulation draws one per input per step; the SpikeSourceArray "
              "row replays exponential intervals drawn before the run. NEST: poisson_generator → parrot_neuron, "
              "iaf_cond_exp (adaptive RKF45, not Euler), 0.1 ms delays. ANNarchy and NEST deliver spikes one step "
              "later than Brian2. Spike counts differ between simulators (different random streams and "
              "integration); they are a sanity check of the activity, not an agreement test. CPU s: on cpp the "
              "binary's whole CPU time (start-up and writing results included), for ANNarchy and NEST the loop's: "
              "the loop (wall) ratio is the comparable one. First compile: code generation + compilation of the "
              "first (cold) run (NEST compiles nothing).", ""]
    return lines


# -- report ---------------------------------------------------------------------------------------------
def fmt(x, spec=".3g"):
    return "–" if x is None else format(x, spec)


def markdown(result):
    m = result["machine"]
    lines = [f"Machine `{m['node']}`: {m['cpu']}, {m['cores']} cores, Python {m['python']}, "
             f"Brian2 {m['brian2']}; load average {fmt(result['load_start'][0], '.1f')} at start, "
             f"{fmt(result['load_end'][0], '.1f')} at the end (shared machine: absolute times are inflated, "
             f"ratios are of paired runs). Memory bandwidth (NumPy copy, 1 core): "
             f"{fmt(result['bandwidth'].get('copy_gb_s_cpu'), '.1f')} GB/s per CPU second "
             f"({fmt(result['bandwidth']['copy_gb_s'], '.1f')} GB/s by wall time). Mode: {result['mode']}, "
             f"{result['repeats']} repeats, medians; simulated durations x{result['duration_scale']:g}.", ""]
    if result.get("overhead"):
        lines += ["**Framework overhead** (spikelearn scenario vs the same network hand-written in Brian2, same "
                  "device and seed, paired runs):", "",
                  "| network | device | sim s | run s spikelearn | run s Brian2 | run-time ratio (CPU) | peak MB (sl / b2) | "
                  "memory ratio | command→first step s (sl / b2) | overhead s (without compiling) |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["overhead"]:
            sl, b2 = r["spikelearn"], r["brian2"]
            lines.append(f"| {r['network']} | {r['device']} | {r['duration_s']:g} | {fmt(sl['run_s'])} | {fmt(b2['run_s'])} | "
                         f"**{fmt(r['run_time_ratio'], '.3f')}** ({fmt(r['run_cpu_ratio'], '.3f')}) | "
                         f"{fmt(sl['peak_rss_mb'], '.0f')} / {fmt(b2['peak_rss_mb'], '.0f')} | "
                         f"{fmt(r['peak_memory_ratio'], '.2f')} | {fmt(sl['first_step_s'], '.2f')} / {fmt(b2['first_step_s'], '.2f')} | "
                         f"{fmt(r['first_step_overhead_s'], '.2f')} (**{fmt(r['before_build_overhead_s'], '.2f')}**) |")
        for r in result["overhead"]:
            if "brian2_poissongroup" in r:
                lines += ["", f"Song on cpp with Brian2's `PoissonGroup` (one random number per input per step): run "
                          f"{fmt(r['brian2_poissongroup']['run_s'])} s, {fmt(r['poissongroup_over_spikelearn_run_time'], '.2f')}x "
                          f"spikelearn's exponential-interval input. Cached rebuild saving (cpp, whole command): cold "
                          f"{fmt(r.get('cold_build_wall_s'), '.1f')} s → cached {fmt(r['spikelearn']['wall_s'], '.1f')} s "
                          f"(saves {fmt(r.get('cached_build_saving_s'), '.1f')} s)."]
        lines.append("")
    if result.get("devices"):
        lines += ["**Devices** (spikelearn's `song-stdp` with 1000 inputs → N/1000 outputs, all-to-all STDP; NEST: "
                  "the same network with `stdp_synapse`, 1 thread):", "",
                  "| synapses | device | sim s | build s (first / cached) | run s (CPU s) | × real time (CPU) | "
                  "plastic events per CPU s | fraction of bandwidth | peak MB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in result["devices"]:
            eps_cpu, fraction = bandwidth_fraction(r, result["bandwidth"])
            lines.append(f"| {r['synapses']:.0e} | {r['device']} | {r['duration_s']:g} | {fmt(r['build_first_s'], '.1f')} / "
                         f"{fmt(r['build_cached_s'], '.1f')} | {fmt(r['run_s'])} ({fmt(r['run_cpu_s'])}) | "
                         f"{fmt(r['real_time_factor'], '.3g')} ({fmt(r['real_time_factor_cpu'], '.3g')}) | "
                         f"{fmt(eps_cpu, '.3g')} | {fmt(fraction, '.2%')} | "
                         f"{fmt(r['peak_rss_mb'], '.0f')} |" + (f" {'; '.join(r['errors'])[:120]}" if r["errors"] else ""))
        ratios = [(r["synapses"], r["cpp_over_nest_run_time"], r.get("cpp_over_nest_run_cpu"))
                  for r in result["devices"] if r.get("cpp_over_nest_run_time")]
        if ratios:
            lines += ["", "cpp / NEST run time (CPU time): " + ", ".join(f"N={n:.0e}: {x:.3f} ({fmt(c, '.3f')})" for n, x, c in ratios)]
        lines += ["", f"Build = command → first simulated step (imports, validation, code generation, compilation). "
                  f"Bytes per plastic event: {BYTES_PER_EVENT} (w, Apre, Apost, lastupdate read and written + "
                  f"2 indices). cuda: {result['cuda']}. NEST: {result['nest']['version'] or result['nest']['error']}.", ""]
    if result.get("peers"):
        lines += peers_markdown(result)
    if result.get("scenarios"):
        lines += [f"**Built-in scenarios on cpp** ({result['scenario_duration']}):", "",
                  "| scenario | first run s | cached run s | status | claims |", "| --- | --- | --- | --- | --- |"]
        for r in result["scenarios"]:
            lines.append(f"| {r['scenario']} | {r['first_wall_s']:.1f} | {fmt(r.get('cached_wall_s'), '.1f')} | "
                         f"{r['first_status']} | {r['claims']} |")
    lines += ["", f"Produced by `{result['command']}`."]
    return "\n".join(lines) + "\n"


def report(paths):
    """Merge the parts of earlier result files (the first one's header) and write their table."""
    merged = {}
    for path in paths:
        for key, value in json.loads(Path(path).read_text()).items():
            if key in ("overhead", "devices", "nest", "peers", "peer_versions", "scenarios", "scenario_duration", "load_end") or key not in merged:
                merged[key] = value
    merged["command"] = "; ".join(json.loads(Path(p).read_text())["command"] for p in paths)
    if "copy_gb_s_cpu" not in merged["bandwidth"]:  # results from before the CPU-time bandwidth
        merged["bandwidth"] = bandwidth()
        merged["bandwidth"]["note"] += "; measured when the table was written"
    table = markdown(merged)
    Path(paths[0]).with_suffix(".md").write_text(table)
    print(table)


def machine():
    import brian2
    import numpy

    from spikelearn.reproduce import cpu_model

    return {"node": platform.node(), "cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "brian2": brian2.__version__, "numpy": numpy.__version__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: short simulations, 2 repeats, N <= 10^4")
    parser.add_argument("--repeats", type=int, help="paired repeats per row (default 3; --quick 2)")
    parser.add_argument("--parts", default="overhead,devices",
                        help="comma-separated parts among overhead, devices (NEST is part of devices), peers (spikelearn, "
                             "Brian2, ANNarchy, NEST on the song and COBA-STDP networks)")
    parser.add_argument("--scenarios", action="store_true", help="also time every built-in scenario on cpp")
    parser.add_argument("--scenario-duration", type=float,
                        help="simulate each scenario for this many seconds instead of its own duration")
    parser.add_argument("--scenario-names", help="comma-separated built-in scenarios (default: all)")
    parser.add_argument("--scenario-timeout", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per measurement")
    parser.add_argument("--max-runtime-synapses", type=float, default=1e5,
                        help="largest N run on the runtime devices (numpy at 10^6 takes hours here)")
    parser.add_argument("--sizes", dest="sizes_arg",
                        help="comma-separated synapse counts of the devices part, among 1e3,1e4,1e5,1e6 (default: all)")
    parser.add_argument("--peer-coba", type=float, default=1.0,
                        help="simulated seconds of the COBA-STDP network in the peers part (default 1, its scenario's; 0: leave it out)")
    parser.add_argument("--duration-scale", type=float, default=1.0,
                        help="multiply every simulated duration by this (e.g. 0.2 on a loaded machine; recorded)")
    parser.add_argument("--report", nargs="+", metavar="JSON",
                        help="only write the table of earlier results (several files: their parts merged)")
    parser.add_argument("--tag", help="suffix of the result files (e.g. when parts run as separate commands)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"))
    cfg = parser.parse_args(argv)
    if cfg.report:
        return report(cfg.report)
    cfg.repeats = cfg.repeats or (2 if cfg.quick else 3)
    k = cfg.duration_scale
    cfg.song_duration = k * (1.0 if cfg.quick else 10.0)
    cfg.song_runtime_duration = k * (1.0 if cfg.quick else 2.0)
    cfg.coba_duration = k * (0.2 if cfg.quick else 1.0)
    cfg.peer_sizes = [(1000, 1.0)] if cfg.quick else PEER_SIZES
    cfg.peer_coba_duration = 0.1 if cfg.quick else cfg.peer_coba
    cfg.sizes = [(n, k * d) for n, d in ([(1000, 1.0), (10000, 0.5)] if cfg.quick else
                                         [(1000, 10.0), (10000, 5.0), (100000, 1.0), (1000000, 0.5)])]
    if cfg.sizes_arg:
        wanted = {int(float(x)) for x in cfg.sizes_arg.split(",")}
        cfg.sizes = [(n, d) for n, d in cfg.sizes if n in wanted]
        cfg.peer_sizes = [(n, d) for n, d in cfg.peer_sizes if n in wanted]
    work = Path(tempfile.mkdtemp(prefix="slbench-"))
    cfg.cache, cfg.build_root = str(work / "cache"), str(work / "brian2-builds")
    parts = set(cfg.parts.split(","))

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    result = {"command": " ".join(["bench/run.py"] + (argv if argv is not None else sys.argv[1:])),
              "date": date.today().isoformat(), "machine": machine(), "mode": "quick" if cfg.quick else "full",
              "repeats": cfg.repeats, "seed": cfg.seed, "duration_scale": cfg.duration_scale, "load_start": load(),
              "cuda": "not measured: no GPU on this machine and none lent to this run"}
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{platform.node()}-{result['date']}" + ("-quick" if cfg.quick else "") + (f"-{cfg.tag}" if cfg.tag else "")

    def save():  # after every part: a late failure keeps what was measured
        result["load_end"] = load()
        (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")

    try:
        log("memory bandwidth")
        result["bandwidth"] = bandwidth()
        if "overhead" in parts:
            result["overhead"] = overhead_part(cfg, log)
            save()
        if "devices" in parts:
            devices_part(cfg, log, result, save)
        if "peers" in parts:
            peers_part(cfg, log, result, save)
        if cfg.scenarios:
            result["scenario_duration"] = (f"shortened to {cfg.scenario_duration:g} s simulated each"
                                           if cfg.scenario_duration else "each scenario's own duration")
            result["scenarios"] = scenarios_part(cfg, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        save()
    table = markdown(result)
    (out / f"{stem}.md").write_text(table)
    print(table)
    log(f"written: {out / (stem + '.json')}, {out / (stem + '.md')}")


if __name__ == "__main__":
    main()
