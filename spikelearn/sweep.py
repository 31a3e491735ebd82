"""Parameter grids and seeds on Dask distributed.

A sweep is the cross product of grid values (``key=v1,v2,...``, validated like ``--set``) and seeds.
Each point is one ordinary run, executed by a Dask worker in a private temporary directory; the worker
sends the finished run directory back as a tar archive, so workers need no shared file system. The
sweep directory ``<out>/<scenario>/sweep-<digest>/`` holds:

- ``points/<key>/``: each point's run directory (``key`` = digest of the resolved scenario incl. seed);
- ``failed/<key>.json``: points that failed, with their error (the sweep goes on);
- ``table.csv``: one row per point — parameters, seed, status, every metric and claim;
- ``figures/``: each scalar metric against the first grid parameter, mean ± s.e.m. over seeds.

Re-running the same sweep resumes: points whose run directory exists are not recomputed.

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
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ScenarioError
from .scenario import parse_override, parse_scenario, runtime_parameter_keys, set_key

__all__ = ["SweepPoint", "plan_sweep", "run_sweep", "parse_grid", "run_point"]

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


def run_point(data, plugin_sources):
    """Run one point on a worker as its own ``spikelearn run`` process (fresh Brian2 state, signals
    handled in its main thread), in a private temporary directory. Returns ``("ok", tar bytes of the
    run directory)`` or ``("failed", message)``."""
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

    with tempfile.TemporaryDirectory(prefix="spikelearn-sweep-") as tmp:
        tmp = Path(tmp)
        scenario = tmp / "scenario.toml"
        scenario.write_text(to_toml(data))
        command = [sys.executable, "-m", "spikelearn.cli", "run", str(scenario), "--out", str(tmp / "runs"),
                   "--no-progress"]
        for name, text in plugin_sources.items():
            (tmp / name).write_text(text)
            command += ["--plugin", str(tmp / name)]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=tmp, env=env)
        runs = [p for p in (tmp / "runs").glob("*/*") if not p.name.startswith(".") and not p.name.endswith(".incomplete")]
        if proc.returncode != 0 or len(runs) != 1:
            errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("spikelearn: error:")]
            tail = proc.stderr.strip().splitlines()
            return "failed", errors[-1] if errors else (tail[-1] if tail else f"exit status {proc.returncode}")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            tar.add(runs[0], arcname="run")
        return "ok", buf.getvalue()


def _extract(payload, dest):
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as tar:
        tar.extractall(tmp, filter="data")
    (tmp / "run").rename(dest)
    tmp.rmdir()


def run_sweep(base, grid, seeds, registry, out_root="runs", workers=2, scheduler=None, plugin_files=(),
              progress=True, echo=print, runtime_parameters=True):
    """Run (or resume) a sweep; return the sweep directory."""
    from dask.distributed import Client, LocalCluster, as_completed

    points = plan_sweep(base, grid, seeds, registry, runtime_parameters)
    spec = {"scenario": base.data, "grid": grid, "seeds": seeds, "runtime_parameters": runtime_parameters}
    sweep_dir = Path(out_root) / base.name / f"sweep-{_digest(spec)}"
    (sweep_dir / "points").mkdir(parents=True, exist_ok=True)
    (sweep_dir / "failed").mkdir(exist_ok=True)
    (sweep_dir / "sweep.json").write_text(json.dumps({**spec, "points": [
        {"key": p.key, "params": p.params, "seed": p.seed} for p in points]}, indent=2, default=str))
    todo = [p for p in points if not (sweep_dir / "points" / p.key).is_dir()]
    echo(f"sweep directory: {sweep_dir} ({len(points)} points, {len(points) - len(todo)} already done)")
    sources = {Path(f).name: Path(f).read_text() for f in plugin_files}
    if todo:
        cluster = None
        if scheduler:
            client = Client(scheduler)
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0")
            client = Client(cluster)
        echo(f"dask dashboard: {client.dashboard_link}")
        try:
            futures = {client.submit(run_point, p.data, sources, key=f"point-{p.key}", pure=False): p for p in todo}
            bar = _bar(len(todo), progress)
            done = failed = 0
            for future in as_completed(futures):
                point = futures[future]
                try:
                    status, payload = future.result()
                except Exception as ex:  # the task itself was lost (e.g. its worker died too often)
                    status, payload = "failed", f"{type(ex).__name__}: {ex}"
                if status == "ok":
                    (sweep_dir / "failed" / f"{point.key}.json").unlink(missing_ok=True)
                    _extract(payload, sweep_dir / "points" / point.key)
                    done += 1
                else:
                    (sweep_dir / "failed" / f"{point.key}.json").write_text(json.dumps(
                        {"params": point.params, "seed": point.seed, "error": payload}, indent=2, default=str))
                    failed += 1
                if bar is not None:
                    bar.set_postfix_str(f"completed {done}, failed {failed}, running {len(todo) - done - failed}")
                    bar.update(1)
            if bar is not None:
                bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    write_table(sweep_dir, points)
    summary_figures(sweep_dir, points, list(grid))
    return sweep_dir


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
            row["status"] = "failed"
            row["error"] = json.loads(fail.read_text())["error"]
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
    """Each scalar metric against the first grid parameter: mean ± s.e.m. over seeds."""
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
        fig, ax = plt.subplots(figsize=(4.5, 3.2))
        ax.errorbar(xs, means, yerr=sems, marker="o", capsize=3)
        ax.set_xlabel(grid_keys[0].split(".")[-1] + " (SI units)")
        ax.set_ylabel(metric[len("metric:"):])
        ax.set_title("mean ± s.e.m. over seeds", fontsize=9)
        fig.tight_layout()
        path = sweep_dir / "figures" / f"{metric[len('metric:'):]}.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths


def _numeric(value):
    """A grid value as a float in SI units (``"10*Hz"`` -> 10.0), or None if it is not a quantity."""
    from .units import UnitParseError, parse_quantity

    try:
        return float(parse_quantity(value))
    except (UnitParseError, TypeError, ValueError):
        return None
