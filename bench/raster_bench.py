"""Benchmark: how long a raster (with its population rate) of a million spikes takes to draw and save,
as PNG and SVG, against the marker raster it replaces.

    .venv/bin/python bench/raster_bench.py [--spikes 1000000] [--repeats 3]

1000 neurons, spikes uniform over 100 s. Writes bench/results/<machine>-<date>-raster.json and prints a
table (best of ``--repeats``; the load average is recorded next to the times: these machines are shared).
"""

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def timed_raster(i, t, path, max_markers=None):
    import matplotlib.pyplot as plt

    from spikelearn.analysis.rasters import MAX_MARKERS, raster_figure

    start = time.perf_counter()
    fig = raster_figure(i, t, 1000, 0.0, 100.0, title="bench",
                        max_markers=MAX_MARKERS if max_markers is None else max_markers)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return time.perf_counter() - start, path.stat().st_size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spikes", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--markers", action="store_true",
                        help="also time the marker raster (rasterised markers; slow: tens of seconds)")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    rng = np.random.default_rng(0)
    i = rng.integers(0, 1000, args.spikes)
    t = np.sort(rng.uniform(0, 100.0, args.spikes))
    rows = []
    cases = [("image", "png", None), ("image", "svg", None)]
    if args.markers:
        cases.append(("markers", "png", args.spikes + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for kind, fmt, max_markers in cases:
            runs = [timed_raster(i, t, Path(tmp) / f"r.{fmt}", max_markers) for _ in range(args.repeats)]
            best = min(r[0] for r in runs)
            rows.append({"drawing": kind, "format": fmt, "spikes": args.spikes, "best_seconds": round(best, 3),
                         "all_seconds": [round(r[0], 3) for r in runs], "file_bytes": runs[-1][1],
                         "load_average": list(os.getloadavg())})
            print(f"{kind:8s} {fmt}: best {best:.2f} s of {args.repeats}, {runs[-1][1] / 1024:.0f} KiB, "
                  f"load {os.getloadavg()[0]:.1f}")
    out = ROOT / "bench" / "results" / f"{platform.node() or 'machine'}-{date.today()}-raster.json"
    out.write_text(json.dumps({"machine": platform.node(), "cpus": os.cpu_count(), "results": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
