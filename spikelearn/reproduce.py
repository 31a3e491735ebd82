"""``spikelearn reproduce``: the papers' scenarios at full length, with every seed and negative control the
docs report, each run written as a results record, and the docs' results page generated from the records.

The manifest ``spikelearn/papers.toml`` says, per built-in scenario, its paper, seeds, device, the
published number of each claim, the negative controls (``--set`` overrides and the claims each must
fail, or its own claims that must pass), the claims the docs report as not reproduced, and the
shortened form the default test suite runs (``short``: overrides, device, and the claims that must pass
in it; ``tests/test_short_claims.py``). A record (``DOCS/records/<scenario>/<variant>-
seed<N>-<device>.json``) holds the claims, metrics, seed, device, machine, code commit, wall and CPU time of
one run; it is written only by this command. Reproduction is resumable: a record whose scenario file and
overrides are unchanged is not run again (``--force`` reruns it), a run that did not complete is.
``DOCS/results.md`` and the key figures in ``DOCS/figures/`` are regenerated from the records after every
run, and are never edited by hand.

Exit status: 0 when every claim the docs say passes passed on every seed and every control failed the
claims it must fail; 3 (as ``run --strict``) when one did not; 1 when a run did not complete.
"""

import concurrent.futures
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from .errors import ScenarioError, SpikelearnError
from .results import write_json_atomic
from .scenario import builtin_scenarios

__all__ = ["Job", "load_manifest", "plan", "reproduce", "write_results_page", "MANIFEST"]

MANIFEST = "papers.toml"
MAIN = "main"
PAPER_KEYS = {"title", "cite", "mechanism"}
SCENARIO_KEYS = {"paper", "seeds", "device", "minutes", "figures", "not_reproduced", "reference", "controls", "short"}
SHORT_KEYS = {"set", "device", "claims", "why"}
CONTROL_KEYS = {"set", "must_fail", "must_pass", "seeds", "why"}
DEVICES = ("runtime", "cpp", "cuda")


@dataclass
class Job:
    """One full-length run: a scenario's main form or one of its controls, on one seed and device."""

    scenario: str
    variant: str  # "main" or the control's name
    seed: int
    device: str
    overrides: list = field(default_factory=list)
    must_fail: list = field(default_factory=list)  # a control: the claims it must fail
    must_pass: list = field(default_factory=list)  # a control: its own claims (e.g. "the code did not improve")
    not_reproduced: list = field(default_factory=list)  # main: claims the docs report as not reproduced
    minutes: float = 0.0

    @property
    def label(self):
        return f"{self.scenario} {self.variant} seed {self.seed} {self.device}"

    def record_path(self, records):
        return Path(records) / self.scenario / f"{self.variant}-seed{self.seed}-{self.device}.json"

    def fingerprint(self, path):
        """What makes a record current: the scenario file's bytes and the run's overrides, seed, device."""
        digest = hashlib.sha256(Path(path).read_bytes())
        digest.update(json.dumps([self.overrides, self.seed, self.device]).encode())
        return digest.hexdigest()[:16]


def load_manifest(text=None, source=None):
    """The validated manifest (``spikelearn/papers.toml`` unless ``text`` is given); errors name the key."""
    source = source or f"spikelearn/{MANIFEST}"
    if text is None:
        text = resources.files("spikelearn").joinpath(MANIFEST).read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as ex:
        raise ScenarioError(source, None, f"malformed TOML: {ex}") from None
    unknown = set(data) - {"papers", "scenarios"}
    if unknown:
        raise ScenarioError(source, None, f"unknown key {sorted(unknown)[0]!r}; allowed: papers, scenarios")
    papers, scenarios = data.get("papers", {}), data.get("scenarios", {})
    for key, paper in papers.items():
        _keys(source, f"papers.{key}", paper, PAPER_KEYS)
    builtin = builtin_scenarios()
    for name, entry in scenarios.items():
        where = f"scenarios.{name}"
        if name not in builtin:
            raise ScenarioError(source, None, f"{where}: no built-in scenario '{name}'; built-in: {', '.join(builtin)}")
        _keys(source, where, entry, SCENARIO_KEYS)
        if entry.get("paper") not in papers:
            raise ScenarioError(source, None, f"{where}.paper: {entry.get('paper')!r}; allowed: {', '.join(papers)}")
        seeds = entry.get("seeds", [1])
        if not seeds or not all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds):
            raise ScenarioError(source, None, f"{where}.seeds: {seeds!r}; allowed: a non-empty list of seeds in [0, 2**32)")
        if entry.get("device", "cpp") not in DEVICES:
            raise ScenarioError(source, None, f"{where}.device: {entry.get('device')!r}; allowed: {', '.join(DEVICES)}")
        if "short" in entry:
            _keys(source, f"{where}.short", entry["short"], SHORT_KEYS)
            if entry["short"].get("device", "cpp") not in DEVICES:
                raise ScenarioError(source, None, f"{where}.short.device: {entry['short']['device']!r}; "
                                    f"allowed: {', '.join(DEVICES)}")
        for cname, control in entry.get("controls", {}).items():
            _keys(source, f"{where}.controls.{cname}", control, CONTROL_KEYS)
            if cname == MAIN or not (control.get("must_fail") or control.get("must_pass")):
                raise ScenarioError(source, None, f"{where}.controls.{cname}: a control needs a name other than "
                                    f"'{MAIN}' and the claims it must fail (must_fail) or its own claims that "
                                    "must pass (must_pass)")
    return {"papers": papers, "scenarios": scenarios, "source": source}


def _keys(source, where, table, allowed):
    if not isinstance(table, dict):
        raise ScenarioError(source, None, f"{where}: expected a table")
    unknown = set(table) - allowed
    if unknown:
        raise ScenarioError(source, None, f"{where}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(allowed))}")


def select(manifest, names):
    """Scenario names for ``names`` (papers or scenarios; all when empty), in manifest order."""
    scenarios, papers = manifest["scenarios"], manifest["papers"]
    if not names:
        return list(scenarios)
    chosen = []
    for name in names:
        key = name.replace("_", "-")
        if name in papers:
            chosen += [s for s, e in scenarios.items() if e["paper"] == name]
        elif key in scenarios:
            chosen.append(key)
        else:
            raise SpikelearnError(f"reproduce: {name!r} is neither a paper nor a scenario of {manifest['source']}; "
                                  f"papers: {', '.join(papers)}; scenarios: {', '.join(scenarios)}")
    return list(dict.fromkeys(chosen))


def plan(manifest, names=(), device=None, seeds=None, controls=True):
    """The jobs for ``names``: each scenario's seeds (the first ``seeds`` of them, or 1..seeds when the
    manifest lists fewer), then each control's."""
    jobs = []
    for name in select(manifest, names):
        entry = manifest["scenarios"][name]
        dev = device or entry.get("device", "cpp")
        minutes = float(entry.get("minutes", 0.0))
        for seed in _seeds(entry.get("seeds", [1]), seeds):
            jobs.append(Job(name, MAIN, seed, dev, not_reproduced=list(entry.get("not_reproduced", [])),
                            minutes=minutes))
        if controls:
            for cname, control in entry.get("controls", {}).items():
                for seed in _seeds(control.get("seeds", [1]), seeds):
                    jobs.append(Job(name, cname, seed, dev, overrides=list(control["set"]),
                                    must_fail=list(control.get("must_fail", [])),
                                    must_pass=list(control.get("must_pass", [])), minutes=minutes))
    return jobs


def _seeds(listed, n):
    """The first ``n`` of the listed seeds, continued with the smallest unlisted ones (all when ``n`` is None)."""
    if n is None:
        return list(listed)
    extra = (s for s in range(1, 2**32) if s not in listed)
    return list(listed[:n]) + [next(extra) for _ in range(n - len(listed[:n]))]


# --------------------------------------------------------------------------------------------- running


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """The machine a record was made on: host, platform, CPU model, cores, memory."""
    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {"host": platform.node(), "platform": platform.platform(), "cpu": cpu_model(),
            "cores": os.cpu_count(), "memory_gib": memory}


def verdict(job, status, claims):
    """(ok, text) for one record: a main run passes every claim the docs say passes; a control fails
    every claim it must fail."""
    if status != "complete":
        return False, f"did not complete ({status})"
    by_name = {c["name"]: c for c in claims}
    if job.variant == MAIN:
        missing = [n for n in job.not_reproduced if n not in by_name]
        expected = [c for c in claims if c["name"] not in job.not_reproduced]
        failed = [c["name"] for c in expected if not c["passed"]]
        if failed:
            return False, f"FAILED {', '.join(failed)} ({len(expected) - len(failed)}/{len(expected)} pass)"
        text = f"{len(expected)}/{len(expected)} claims pass"
        reported = [n for n in job.not_reproduced if n in by_name]
        if reported:
            text += f"; not reproduced, as reported: {', '.join(reported)}"
        if missing:
            return False, f"{text}; the run has no claim {', '.join(missing)}"
        return True, text
    missing = [n for n in job.must_fail + job.must_pass if n not in by_name]
    if missing:
        return False, f"the run has no claim {', '.join(missing)}"
    passed = [n for n in job.must_fail if by_name[n]["passed"]]
    if passed:
        return False, f"control PASSES {', '.join(passed)}, which it must fail"
    failed = [n for n in job.must_pass if not by_name[n]["passed"]]
    if failed:
        return False, f"control FAILS its own claim {', '.join(failed)}"
    parts = ([f"fails {', '.join(job.must_fail)}"] if job.must_fail else []) + (
        [f"passes its own {', '.join(job.must_pass)}"] if job.must_pass else [])
    return True, " and ".join(parts) + ", as a control must"


class _Stop:
    """SIGINT/SIGTERM during reproduction: runs in progress are stopped (each kept incomplete, no record)
    and no further run starts."""

    def __init__(self):
        self.signal = None
        self.procs = set()
        self.lock = threading.Lock()

    def __enter__(self):
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame):
        self.signal = signal.Signals(signum).name
        with self.lock:
            for proc in self.procs:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGINT)


def run_job(job, records, runs, stop, limit_minutes=None):
    """Run one job as ``spikelearn run`` in a child process; write and return its record (None when
    reproduction was stopped before or during it)."""
    path = builtin_scenarios()[job.scenario]
    out = Path(runs) / job.scenario / f"{job.variant}-seed{job.seed}-{job.device}"
    command = [sys.executable, "-m", "spikelearn.cli", "run", str(path), "--seed", str(job.seed), "--device",
               job.device, "--out", str(out), "--no-progress"]
    for override in job.overrides:
        command += ["--set", override]
    if stop.signal:
        return None
    out.mkdir(parents=True, exist_ok=True)
    before = set(out.glob("*/*"))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    with open(out / "reproduce.log", "a") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        with stop.lock:
            stop.procs.add(proc)
        timer = None
        if limit_minutes:
            timer = threading.Timer(60 * limit_minutes, lambda: os.kill(proc.pid, signal.SIGINT))
            timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if timer:
                timer.cancel()
            with stop.lock:
                stop.procs.discard(proc)
    wall = time.perf_counter() - t0
    if stop.signal:
        return None
    made = sorted(set(out.glob("*/*")) - before, key=lambda p: p.stat().st_mtime)
    run_dir = made[-1] if made else None
    status, reason, metrics, claims, provenance = "failed", None, {}, [], {}
    if run_dir is not None:
        state = _read_json(run_dir / "status.json") or {}
        status = state.get("status", "complete")
        reason = state.get("reason")
        result = _read_json(run_dir / "metrics.json") or {}
        metrics, claims = result.get("metrics", {}), result.get("claims", [])
        provenance = _read_json(run_dir / "provenance.json") or {}
    if reason is None and status != "complete":
        lines = [ln for ln in (out / "reproduce.log").read_text(errors="replace").splitlines()
                 if ln.startswith("spikelearn: error:")]
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
    if limit_minutes and wall >= 60 * limit_minutes and status != "complete":
        reason = f"stopped at the --limit-minutes of {limit_minutes:g} min: {reason}"
    ok, text = verdict(job, status, claims)
    record = {
        "scenario": job.scenario, "variant": job.variant, "seed": job.seed, "device": job.device,
        "overrides": job.overrides, "must_fail": job.must_fail, "must_pass": job.must_pass,
        "not_reproduced": job.not_reproduced,
        "status": status, "reason": reason, "ok": ok, "verdict": text,
        "claims": claims, "metrics": metrics,
        "fingerprint": job.fingerprint(path), "scenario_file": path.name,
        "commit": provenance.get("spikelearn_git"), "versions": provenance.get("versions"),
        "machine": machine(), "command": " ".join(["spikelearn", *command[3:]]),
        "started": started, "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "wall_s": round(wall, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "run_dir": str(run_dir) if run_dir else None,
    }
    target = job.record_path(records)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(target, record)
    return record


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def current_record(job, records):
    """The job's record when it is current (same scenario file and overrides) and complete, else None."""
    record = _read_json(job.record_path(records))
    if record is None or record.get("status") != "complete":
        return None
    if record.get("fingerprint") != job.fingerprint(builtin_scenarios()[job.scenario]):
        return None
    return record


def reproduce(jobs, docs, runs, manifest, force=False, workers=1, echo=print, limit_minutes=None):
    """Run the jobs that have no current record (all with ``force``), ``workers`` at a time, echoing one
    line per run; regenerate the results page after each. Returns ``(records, stopped_by)``: the job ->
    record map (a job stopped by a signal has none) and the signal's name or None."""
    docs = Path(docs)
    records_dir = docs / "records"
    results = {}
    todo = []
    for job in jobs:
        record = None if force else current_record(job, records_dir)
        if record is not None:
            results[job.label] = record
            echo(f"{job.label}: {record['verdict']} (record of {record['finished'][:10]}, kept)")
        else:
            todo.append(job)
    if todo:
        total = sum(j.minutes for j in todo)
        echo(f"running {len(todo)} of {len(jobs)} runs ({workers} at a time; about {total:.0f} min of runs "
             f"by the manifest's estimates)")
    page_lock = threading.Lock()
    with _Stop() as stop, concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_job, job, records_dir, runs, stop, limit_minutes): job for job in todo}
        for future in concurrent.futures.as_completed(futures):
            job = futures[future]
            record = future.result()
            if record is None:
                continue
            results[job.label] = record
            echo(f"{job.label}: {record['verdict']} ({record['wall_s']:.0f} s wall, {record['cpu_s']:.0f} s CPU)"
                 + ("" if record["status"] == "complete" else f": {record['reason']}"))
            with page_lock:
                write_results_page(manifest, docs)
    write_results_page(manifest, docs)
    return results, stop.signal


# --------------------------------------------------------------------------------------------- pages


def _fmt(value, width=110):
    """A claim's value or threshold, compact: 4 significant digits, lists and tables inline."""
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(_fmt(v, width) for v in value) + "]"
    elif isinstance(value, dict):
        text = "; ".join(f"{k}: {_fmt(v, width)}" for k, v in value.items())
    elif value is None:
        text = "–"
    else:
        text = str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def _commit(record):
    commit = record.get("commit") or {}
    sha = (commit.get("commit") or "")[:8]
    return (sha + ("+dirty" if commit.get("dirty") else "")) if sha else "unknown"


def _records_of(docs, scenario):
    folder = Path(docs) / "records" / scenario
    found = [_read_json(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []
    return [r for r in found if r]


def write_results_page(manifest, docs):
    """Write ``DOCS/results.md`` from the records under ``DOCS/records`` (every scenario of the manifest;
    those without records say so) and copy each scenario's key figures of its first main seed."""
    docs = Path(docs)
    lines = ["# Results of the full-length runs", "",
             "<!-- generated by `spikelearn reproduce` from docs/papers/records/: do not edit -->", ""]
    lines += ["Every row comes from a record that `spikelearn reproduce` wrote after a full-length run "
              "(`spikelearn reproduce NAME` reruns a paper or scenario; the manifest `spikelearn/papers.toml` "
              "lists the seeds, the controls and the papers' numbers). A claim passes on a seed when the run "
              "met its threshold; a control must fail the claims it names.", "",
              "| paper | scenario | device | seeds | claims | controls | last record |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    sections = []
    for paper_key, paper in manifest["papers"].items():
        names = [s for s, e in manifest["scenarios"].items() if e["paper"] == paper_key]
        if not names:
            continue
        sections += [f"## {paper.get('cite', paper_key)}", "", f"*{paper.get('title', '')}*" if paper.get("title") else "", ""]
        for name in names:
            entry = manifest["scenarios"][name]
            records = _records_of(docs, name)
            summary, body = _scenario_section(docs, name, entry, records)
            lines.append(f"| {paper_key} | {{ref}}`{name} <repro-{name}>` | {summary} |")
            sections += body
    lines += [""] + sections
    (docs / "results.md").write_text("\n".join(lines).rstrip() + "\n")


def _scenario_section(docs, name, entry, records):
    device = entry.get("device", "cpp")
    mains = [r for r in records if r["variant"] == MAIN]
    controls = [r for r in records if r["variant"] != MAIN]
    body = [f"(repro-{name})=", f"### {name}", ""]
    if not records:
        body += [f"No record yet: `spikelearn reproduce {name}` runs seeds "
                 f"{', '.join(map(str, entry.get('seeds', [1])))} on {device}.", ""]
        return f"{device} | – | not run yet | – | –", body
    seeds = sorted({r["seed"] for r in mains})
    complete = [r for r in mains if r["status"] == "complete"]
    claim_names = list(dict.fromkeys(c["name"] for r in complete for c in r["claims"]))
    not_reproduced = set(entry.get("not_reproduced", []))
    passing = [n for n in claim_names if all(_claim(r, n) and _claim(r, n)["passed"] for r in complete)]
    devices = sorted({r["device"] for r in records})
    last = max(records, key=lambda r: r["finished"])
    claims_cell = (f"{len(passing)}/{len(claim_names)} pass on every seed" if complete else "no complete run")
    if any(not r["ok"] for r in mains):
        claims_cell += " (**a run failed**)"
    ctrl_ok = [r for r in controls if r["ok"]]
    controls_cell = f"{len(ctrl_ok)}/{len(controls)} fail as required" if controls else "none recorded"
    summary = (f"{', '.join(devices)} | {', '.join(map(str, seeds)) or '–'} | {claims_cell} | {controls_cell} | "
               f"{last['finished'][:10]}, {_commit(last)}")
    reference = entry.get("reference", {})
    body += ["| claim | statement | threshold | paper / authors' code | " +
             " | ".join(f"seed {r['seed']} ({r['device']})" for r in complete) + " |",
             "| --- | --- | --- | --- | " + " | ".join("---" for _ in complete) + " |"]
    for claim in claim_names:
        first = next(_claim(r, claim) for r in complete if _claim(r, claim))
        cells = []
        for r in complete:
            c = _claim(r, claim)
            cells.append("–" if c is None else f"{'pass' if c['passed'] else '**fail**'}: {_fmt(c.get('value'), 80)}")
        label = f"`{claim}`" + (" (not reproduced, reported)" if claim in not_reproduced else "")
        body.append(f"| {label} | {_fmt(first.get('statement', ''), 200)} | {_fmt(first.get('threshold'), 60)} | "
                    f"{_fmt(reference.get(claim, 'not stated in the manifest'), 160)} | " + " | ".join(cells) + " |")
    body.append("")
    for r in mains:
        if r["status"] != "complete":
            body += [f"Seed {r['seed']} ({r['device']}) did not complete: {_fmt(r.get('reason'), 300)}", ""]
    if controls:
        body += ["| control | overrides | must fail / its own claims | seed | result | why |",
                 "| --- | --- | --- | --- | --- | --- |"]
        whys = {k: v.get("why", "") for k, v in entry.get("controls", {}).items()}
        for r in sorted(controls, key=lambda r: (r["variant"], r["seed"])):
            body.append(f"| {r['variant']} | {_fmt(' '.join('--set ' + o for o in r['overrides']), 160)} | "
                        f"{_expectation(r)} | {r['seed']} ({r['device']}) | "
                        f"{_fmt(r['verdict'] + _control_values(r), 200)} | {_fmt(whys.get(r['variant'], ''), 160)} |")
        body.append("")
    body += ["Records: " + "; ".join(
        f"{r['variant']} seed {r['seed']} {r['device']}: {r['finished'][:10]}, commit {_commit(r)}, "
        f"{r['wall_s']:.0f} s wall / {r['cpu_s']:.0f} s CPU on {r['machine'].get('cores')} cores "
        f"({_fmt(r['machine'].get('cpu'), 60)})" for r in sorted(records, key=lambda r: (r['variant'] != MAIN, r['variant'], r['seed']))), ""]
    body += _figures(docs, name, entry, complete)
    return summary, body


def _claim(record, name):
    return next((c for c in record["claims"] if c["name"] == name), None)


def _expectation(record):
    must_pass = record.get("must_pass", [])
    return ", ".join(record["must_fail"] + [f"{n} (must pass)" for n in must_pass])


def _control_values(record):
    if record["status"] != "complete":
        return ""
    names = record["must_fail"] + record.get("must_pass", [])
    values = [f"{n} = {_fmt(_claim(record, n).get('value'), 60)}" for n in names if _claim(record, n)]
    return f" ({'; '.join(values)})" if values else ""


def _figures(docs, name, entry, complete):
    """Copy the key figures of the first complete main seed into ``DOCS/figures/<scenario>/``."""
    if not complete or not entry.get("figures"):
        return []
    first = min(complete, key=lambda r: r["seed"])
    source = Path(first["run_dir"] or "") / "figures"
    lines = []
    for figure in entry["figures"]:
        target = Path(docs) / "figures" / name / figure
        if (source / figure).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / figure, target)
        if target.is_file():
            lines += [f"![{name}: {figure} (seed {first['seed']})](figures/{name}/{figure})", ""]
    return lines
