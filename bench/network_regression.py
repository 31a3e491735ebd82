"""Record or compare every built-in scenario's arrays, shortened as the reproducibility tests shorten them.

Used around a change to how networks are built (issue "one network description"): record before the
change, compare after it. Each recorded array is stored in OUT/<scenario>/<file>.npz (so a difference can
be inspected) and summarised by its SHA-256 in OUT/hashes.json.

    python bench/network_regression.py record OUT [--device cpp] [--only NAME ...]
    python bench/network_regression.py compare BEFORE AFTER
"""

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "reliability"))
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402


def _hashes(run):
    from test_rel_repro import data_files

    out = {}
    for fname, arrays in data_files(run).items():
        for key, arr in arrays.items():
            out[f"{fname}:{key}"] = f"{arr.dtype.str}{list(arr.shape)}:{hashlib.sha256(arr.tobytes()).hexdigest()[:16]}"
    return out


def record(out, device, only):
    from test_rel_repro import SHORT, _run_shortened

    from spikelearn.registry import default_registry

    registry = default_registry()
    out.mkdir(parents=True, exist_ok=True)
    hashes_path = out / "hashes.json"
    hashes = json.loads(hashes_path.read_text()) if hashes_path.exists() else {}
    for name in sorted(only or SHORT):
        with tempfile.TemporaryDirectory() as tmp:
            run = _run_shortened(name, device, registry, Path(tmp))
            hashes[name] = _hashes(run)
            shutil.copytree(run / "data", out / name, dirs_exist_ok=True)
        hashes_path.write_text(json.dumps(hashes, indent=1, sort_keys=True))
        print(f"{name}: {len(hashes[name])} arrays", flush=True)


def compare(before, after):
    a = json.loads((before / "hashes.json").read_text())
    b = json.loads((after / "hashes.json").read_text())
    differ = 0
    for name in sorted(set(a) | set(b)):
        if name not in a or name not in b:
            print(f"{name}: only in {'after' if name in b else 'before'}")
            differ += 1
            continue
        keys = sorted(set(a[name]) | set(b[name]))
        bad = [k for k in keys if a[name].get(k) != b[name].get(k)]
        print(f"{name}: {'identical' if not bad else 'DIFFERS in ' + ', '.join(bad)} ({len(keys)} arrays)")
        differ += bool(bad)
    return 1 if differ else 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out", type=Path)
    r.add_argument("--device", default="cpp")
    r.add_argument("--only", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "record":
        record(args.out, args.device, args.only)
        return 0
    return compare(args.before, args.after)


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
