"""Brian2 (the reproduce records) against the NumPy oracle's spread over seeds, for every circuit and measure of
the adversarial-* scenarios: z = (Brian2 - oracle mean) / oracle SD, and the claims' differences.

    python bench/benjamin_kording_compare.py

Reads docs/papers/records/adversarial-*/main-seed*-cpp.json and bench/results/benjamin-kording-oracle.json;
writes bench/results/benjamin-kording-compare.json and prints a markdown table (the paper page's).
"""

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from benjamin_kording_oracle import METHOD as CIRCUITS  # noqa: E402  (task circuit -> oracle method)

SCENARIOS = {"digits": "adversarial-digits", "mnist": "adversarial-mnist", "moving_digits": "adversarial-moving-digits"}
MEASURES = ("separability_z", "separability_h", "frechet", "surprise")


def main():
    oracle = json.loads((ROOT / "bench" / "results" / "benjamin-kording-oracle.json").read_text())
    out, lines = {}, ["| data | circuit | measure | oracle (seeds 1-5) | Brian2 cpp (seeds) | z |", "|---|---|---|---|---|---|"]
    for ds, scenario in SCENARIOS.items():
        records = sorted((ROOT / "docs" / "papers" / "records" / scenario).glob("main-seed*-cpp.json"))
        runs = [json.loads(r.read_text()) for r in records]
        runs = [r for r in runs if r.get("status") == "complete" or r.get("metrics")]
        if not runs or ds not in oracle:
            continue
        summary = oracle[ds]["summary"]
        out[ds] = {}
        for c, name in CIRCUITS.items():
            for m in MEASURES:
                mean, sd = summary[f"{name}.{m}"]
                vals = [r["metrics"][f"{c}.{m}"] for r in runs]
                z = [(v - mean) / sd if sd > 0 else float("nan") for v in vals]
                out[ds][f"{c}.{m}"] = {"oracle": [mean, sd], "brian2": vals, "z": z}
                lines.append(f"| {ds} | {name} | {m} | {mean:.3f} ± {sd:.3f} | "
                             f"{' / '.join(f'{v:.3f}' for v in vals)} | {' / '.join(f'{x:+.1f}' for x in z)} |")
    path = ROOT / "bench" / "results" / "benjamin-kording-compare.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
