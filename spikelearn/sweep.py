"""Parameter grids and seeds on Dask distributed.

A sweep is the cross product of grid values (``key=v1,v2,...``, validated like ``--set``) and seeds.
Each point is one ordinary run, executed by a Dask worker in a private temporary directory; the worker
sends the finished run directory back as a tar archive, so workers need no shared file system. The
sweep directory ``<out>/<scenario>/sweep-<digest>/`` holds:

- ``points/<key>/``: each point's run directory (``key`` = digest of the resolved scenario incl. seed);
- ``failed/<key>.json``: points that did not complete, with their status (``failed``, ``incomplete``,
  ``stopped``) and error read from the run's own ``status.json`` (the sweep goes on), and
  ``failed/<key>.incomplete/`` the run directory such a point left, when it made one;
- ``table.csv``: one row per point — parameters, seed, status, every metric and claim;
- ``figures/``: each scalar metric against the first grid parameter, mean ± s.e.m. over seeds.

Re-running the same sweep resumes: points whose run directory exists are not recomputed. ``spikelearn
sweep`` lists the points that did not complete and exits with status 1 when there are any. SIGINT or
SIGTERM to the sweep stops the points that are running (each kept incomplete).

Builds are reused across points. Each Dask worker has its own standalone build directories
(``$SPIKELEARN_BUILD_SLOT``), so workers never wait for each other's locks. Points that differ only in
their seed share a build (a new seed recompiles ``main.cpp`` alone). Grid keys that are numeric
plasticity parameters become ``device_options.runtime_parameters``: on ``cpp`` the compiled program
reads them from its command line (Brian2's ``run_args``), so points that differ only in them are not
recompiled at all.
"""

import copy
import csv
import hashlib
import io
import itertools
import json
import logging
import shutil
import signal
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ScenarioError, SpikelearnError
from .scenario import parse_override, parse_scenario, runtime_parameter_keys, set_key

__all__ = ["SweepPoint", "plan_sweep", "run_sweep", "parse_grid", "run_point", "run_points", "failed_points"]

logger = logging.getLogger(__name__)


@dataclass
class SweepPoint:
    key: str
    params: dict  # grid key -> value
    seed: int
    data: dict  # resolved scenario


def parse_grid(text, source="--grid"):
    """``key=v1,v2,...`` → (key, [values]); each value is read like a ``--set`` value."""
    key, _, values = text.partition("=")
    if not key.strip() or not values.strip():
        raise ScenarioError(source, text, "a grid must look like key.path=v1,v2,...")
    parsed = [parse_override(f"{key.strip()}={v.strip()}", source)[1] for v in _split_values(values)]
    return key.strip(), parsed


def _split_values(text):
    """Split on commas outside brackets and quotes (so ``[1, 2],[3, 4]`` gives two lists)."""
    out, depth, quote, cur = [], 0, None, ""
    for ch in text:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        cur += ch
    out.append(cur)
    return [v for v in out if v.strip()]


def _digest(obj, n=12):
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:n]


def plan_sweep(base, grid, seeds, registry, runtime_parameters=True):
    """Validate every point before anything runs; return the list of `SweepPoint`.

    ``base`` is a validated Scenario; ``grid`` a dict key -> list of values; ``seeds`` a count (seeds
    ``base.seed, base.seed + 1, ...``). With ``runtime_parameters``, grid keys that are numeric
    plasticity parameters are given to the program at run time (one build for all their values).
    """
    if seeds < 1:
        raise ScenarioError(base.source, "sweep.seeds", f"must be >= 1, found: {seeds}")
    keys = list(grid)
    runtime = sorted(set(keys) & set(runtime_parameter_keys(base.connections))) if runtime_parameters else []
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        params = dict(zip(keys, values))
        for s in range(seeds):
            seed = base.seed + s
            data = copy.deepcopy(base.data)
            data.pop("sweep", None)
            for k, v in params.items():
                set_key(data, k, v, "--grid")
            data["seed"] = seed
            if runtime:
                options = data.setdefault("device_options", {})
                options["runtime_parameters"] = sorted(set(options.get("runtime_parameters", [])) | set(runtime))
            scenario = parse_scenario(data, f"{base.source} (sweep point {params}, seed {seed})", registry)
            points.append(SweepPoint(_digest(scenario.data), params, seed, scenario.data))
    return points


def run_point(data, plugin_sources, stop_file=None):
    """Run one point on a worker as its own ``spikelearn run`` process (fresh Brian2 state, signals
    handled in its main thread), in a private temporary directory. Returns ``(status, message, tar)``:
    the run directory's own ``status.json`` status (``complete``, ``incomplete``, ``failed``,
    ``stopped``; ``failed`` when the run never made a directory, e.g. a build error), the error line or
    the status's reason, and the run directory as tar bytes (None without one). When ``stop_file``
    exists (the sweep was interrupted before this point started), the point is not run (``not run``)."""
    return run_points([data], plugin_sources, stop_file)[0]


def run_points(datas, plugin_sources, stop_file=None):
    """`run_point` for several points packed as copies into one network (one point: an ordinary run);
    returns one ``(status, message, tar)`` per point, in order."""
    import os
    import re
    import subprocess

    from .scenario import to_toml

    env = dict(os.environ)
    try:  # one set of build directories per worker: workers never queue on each other's build locks
        from dask.distributed import get_worker

        env["SPIKELEARN_BUILD_SLOT"] = re.sub(r"[^A-Za-z0-9]+", "_", str(get_worker().name))
    except ValueError:  # not on a Dask worker (a point run on its own)
        pass

    if stop_file is not None and Path(stop_file).exists():
        return [("not run", "the sweep was interrupted before this point started", None)] * len(datas)
    with tempfile.TemporaryDirectory(prefix="spikelearn-sweep-") as tmp:
        tmp = Path(tmp)
        files = []
        for k, data in enumerate(datas):
            files.append(tmp / f"scenario{k}.toml")
            files[-1].write_text(to_toml(data))
        command = [sys.executable, "-m", "spikelearn.cli", "run", str(files[0]), "--out", str(tmp / "runs"),
                   "--no-progress"]
        for f in files[1:]:
            command += ["--pack-with", str(f)]
        for name, text in plugin_sources.items():
            (tmp / name).write_text(text)
            command += ["--plugin", str(tmp / name)]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp, env=env)
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("spikelearn: error:")]
        runs = _runs_in_order([p for p in (tmp / "runs").glob("*/*") if not p.name.startswith(".")])
        if len(runs) != len(datas):
            tail = proc.stderr.strip().splitlines()
            message = errors[-1] if errors else (tail[-1] if tail else f"exit status {proc.returncode}")
            return [("failed", message, None)] * len(datas)
        out = []
        for run in runs:
            try:
                status = json.loads((run / "status.json").read_text())
            except (OSError, ValueError) as ex:
                status = {"status": "failed", "reason": f"unreadable status.json: {ex}"}
            state = status.get("status", "failed")
            message = "" if state == "complete" else (errors[-1] if errors else status.get("reason", ""))
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tar:
                tar.add(run, arcname="run")
            out.append((state, message, buf.getvalue()))
        return out


def _runs_in_order(runs):
    """Run directories in the order of their packed copies (their provenance's ``packed.index``)."""
    def index(run):
        try:
            return json.loads((run / "provenance.json").read_text()).get("packed", {}).get("index", 0)
        except (OSError, ValueError):
            return 0

    return sorted(runs, key=index)


def _extract(payload, dest):
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "run").rename(dest)
    tmp.rmdir()


def run_sweep(base, grid, seeds, registry, out_root="runs", workers=2, scheduler=None, plugin_files=(),
              progress=True, echo=print, runtime_parameters=True, pack=1):
    """Run (or resume) a sweep; return the sweep directory (:func:`failed_points` lists what did not
    complete). ``pack`` > 1 simulates up to that many points as copies in one network
    (:mod:`spikelearn.pack`; run-time parameters then do not apply: the values are per-copy constants);
    a scenario that cannot be packed is refused before anything runs."""
    if pack > 1:
        runtime_parameters = False
    points = plan_sweep(base, grid, seeds, registry, runtime_parameters)
    spec = {"scenario": base.data, "grid": grid, "seeds": seeds, "runtime_parameters": runtime_parameters}
    if pack > 1:
        from .runner import check_packable

        spec["pack"] = pack
        chunk = [parse_scenario(p.data, f"{base.source} (sweep point {p.params}, seed {p.seed})", registry)
                 for p in points[:pack]]
        if len(chunk) > 1:
            check_packable(chunk, registry)
    sweep_dir = Path(out_root) / base.name / f"sweep-{_digest(spec)}"
    (sweep_dir / "points").mkdir(parents=True, exist_ok=True)
    (sweep_dir / "failed").mkdir(exist_ok=True)
    (sweep_dir / "sweep.json").write_text(json.dumps({**spec, "points": [
        {"key": p.key, "params": p.params, "seed": p.seed} for p in points]}, indent=2, default=str))
    todo = [p for p in points if not (sweep_dir / "points" / p.key).is_dir()]
    echo(f"sweep directory: {sweep_dir} ({len(points)} points, {len(points) - len(todo)} already done)")
    sources = {Path(f).name: Path(f).read_text() for f in plugin_files}
    if todo:
        _run_points(todo, sweep_dir, sources, workers, scheduler, progress, echo, pack)
    write_table(sweep_dir, points)
    summary_figures(sweep_dir, points, list(grid))
    return sweep_dir


def _connect(workers, scheduler):
    """A Dask client: of the scheduler at ``scheduler`` (10 s to answer), or of a new local cluster."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="10s"), None
        except (OSError, TimeoutError, ValueError) as ex:
            raise SpikelearnError(f"sweep: --scheduler: cannot reach a Dask scheduler at {scheduler!r} within 10 s "
                                  f"({type(ex).__name__}); is it running? (without --scheduler a local cluster "
                                  "is started)") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
    return Client(cluster), cluster


def _run_points(todo, sweep_dir, sources, workers, scheduler, progress, echo, pack=1):
    """Run the points on Dask and file each result: a complete run under ``points/``, any other under
    ``failed/`` (its reason in ``<key>.json``, its run directory, when there is one, as
    ``<key>.incomplete``). SIGINT or SIGTERM to this process is passed to the points' runs on the local
    cluster (each stops and is kept incomplete); on a remote scheduler the points are cancelled."""
    from dask.distributed import as_completed

    client, cluster = _connect(workers, scheduler)
    echo(f"dask dashboard: {client.dashboard_link}")
    interrupted = []
    stop_file = (sweep_dir / ".interrupted").resolve()
    stop_file.unlink(missing_ok=True)
    previous = _forward_signals(interrupted, stop_file if cluster is not None else None)
    try:
        chunks = [todo[k:k + pack] for k in range(0, len(todo), pack)]
        futures = {client.submit(run_points, [p.data for p in chunk], sources, str(stop_file),
                                 key=f"points-{chunk[0].key}-{len(chunk)}", pure=False): chunk for chunk in chunks}
        bar = _bar(len(todo), progress)
        done = failed = 0
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                results = future.result()
            except Exception as ex:  # the task itself was lost or cancelled (e.g. its worker died too often)
                results = [("failed", f"{type(ex).__name__}: {ex}", None)] * len(chunk)
            for point, (status, message, payload) in zip(chunk, results):
                done, failed = _file_point(sweep_dir, point, status, message, payload, done, failed)
                if bar is not None:
                    bar.set_postfix_str(f"completed {done}, failed {failed}, running {len(todo) - done - failed}")
                    bar.update(1)
            if interrupted and cluster is None:  # remote workers: nothing to signal, stop submitting
                client.cancel(list(futures))
        if bar is not None:
            bar.close()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        stop_file.unlink(missing_ok=True)
        client.close()
        if cluster is not None:
            cluster.close()
    if interrupted:
        echo(f"sweep interrupted by {interrupted[0]}: the points that were running are kept as incomplete")


def _file_point(sweep_dir, point, status, message, payload, done, failed):
    """File one point's result: a complete run under ``points/``, any other under ``failed/``; returns the
    updated counts ``(done, failed)``."""
    fail = sweep_dir / "failed" / f"{point.key}.json"
    if status == "complete":
        fail.unlink(missing_ok=True)
        _extract(payload, sweep_dir / "points" / point.key)
        return done + 1, failed
    if payload is not None:
        kept = sweep_dir / "failed" / f"{point.key}.incomplete"
        shutil.rmtree(kept, ignore_errors=True)
        _extract(payload, kept)
    fail.write_text(json.dumps({"params": point.params, "seed": point.seed, "status": status,
                                "error": message}, indent=2, default=str))
    return done, failed + 1


def _forward_signals(interrupted, stop_file):
    """While points run: SIGINT and SIGTERM to this process are recorded in ``interrupted`` and, on a
    local cluster (``stop_file`` given), sent on as SIGINT to every ``spikelearn run`` process below this
    one (each stops at its time step and keeps its run, marked incomplete); ``stop_file`` is created so
    that points not started yet are not run. Returns the previous handlers (none outside the main
    thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum, frame):
        interrupted.append(signal.Signals(signum).name)
        if stop_file is None:
            return
        import psutil

        stop_file.touch()
        for child in psutil.Process().children(recursive=True):
            try:
                command = child.cmdline()
                if "spikelearn.cli" in command and "run" in command:
                    child.send_signal(signal.SIGINT)
            except psutil.Error:
                continue

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handler)
    return previous


def failed_points(sweep_dir):
    """The rows of ``table.csv`` whose point did not complete (failed, interrupted, or not run)."""
    with open(Path(sweep_dir) / "table.csv", newline="") as f:
        return [row for row in csv.DictReader(f) if row["status"] != "complete"]


def _bar(total, enabled):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="sweep", unit="point", file=sys.stderr)


def _rows(sweep_dir, points):
    for p in points:
        row = {"point": p.key, "seed": p.seed, **{f"param:{k}": v for k, v in p.params.items()}}
        run = sweep_dir / "points" / p.key
        fail = sweep_dir / "failed" / f"{p.key}.json"
        if run.is_dir():
            metrics = json.loads((run / "metrics.json").read_text())
            row["status"] = "complete"
            for name, value in metrics["metrics"].items():
                if isinstance(value, (int, float, bool)):
                    row[f"metric:{name}"] = value
            for claim in metrics["claims"]:
                row[f"claim:{claim['name']}"] = claim["passed"]
                if isinstance(claim["value"], (int, float)):
                    row[f"claim_value:{claim['name']}"] = claim["value"]
        elif fail.exists():
            record = json.loads(fail.read_text())
            row["status"] = record.get("status", "failed")
            row["error"] = record["error"]
        else:
            row["status"] = "missing"
        yield row


def write_table(sweep_dir, points):
    """``table.csv``: one row per point (parameters, seed, status, metrics, claims)."""
    rows = list(_rows(sweep_dir, points))
    columns = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    with open(sweep_dir / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return sweep_dir / "table.csv"


def summary_figures(sweep_dir, points, grid_keys):
    """Each scalar metric against the first grid parameter: mean ± s.e.m. over seeds (the means alone,
    without error bars, with one seed per point)."""
    if not grid_keys:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in _rows(sweep_dir, points) if r["status"] == "complete"]
    key = f"param:{grid_keys[0]}"
    metrics = sorted({c for r in rows for c in r if c.startswith("metric:")})
    (sweep_dir / "figures").mkdir(exist_ok=True)
    paths = []
    for metric in metrics:
        by_value = {}
        for r in rows:
            x = _numeric(r[key])
            if metric in r and x is not None:
                by_value.setdefault(x, []).append(float(r[metric]))
        if len(by_value) < 2:
            continue
        xs = sorted(by_value)
        means = [np.mean(by_value[x]) for x in xs]
        sems = [np.std(by_value[x], ddof=1) / np.sqrt(len(by_value[x])) if len(by_value[x]) > 1 else 0 for x in xs]
        n_seeds = {len(by_value[x]) for x in xs}
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        if max(n_seeds) > 1:
            ax.errorbar(xs, means, yerr=sems, marker="o", capsize=3)
            ax.set_title(f"mean ± s.e.m. over {'/'.join(str(n) for n in sorted(n_seeds))} seeds", fontsize=9)
        else:
            ax.plot(xs, means, marker="o")
            ax.set_title("one seed per point (no error bars)", fontsize=9)
        ax.set_xlabel(f"{grid_keys[0].split('.')[-1]} ({_grid_unit(rows, key)})")
        ax.set_ylabel(metric[len("metric:"):])
        fig.tight_layout()
        path = sweep_dir / "figures" / f"{metric[len('metric:'):]}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def _grid_unit(rows, key):
    """The SI unit of a grid parameter's values, as the x-axis label says it (``"Hz"``; ``"dimensionless"``)."""
    from .units import UnitParseError, parse_quantity

    for r in rows:
        try:
            q = parse_quantity(r[key])
        except (UnitParseError, TypeError, ValueError):
            continue
        from brian2 import get_dimensions
        from brian2.units.fundamentalunits import get_unit

        dim = get_dimensions(q)
        return "dimensionless" if dim.is_dimensionless else str(get_unit(dim))
    return "value"


def _numeric(value):
    """A grid value as a float in SI units (``"10*Hz"`` -> 10.0), or None if it is not a quantity."""
    from .units import UnitParseError, parse_quantity

    try:
        return float(parse_quantity(value))
    except (UnitParseError, TypeError, ValueError):
        return None
