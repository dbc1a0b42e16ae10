"""What a benchmark stopped early has measured: its finished report points, read from the
result folder, as a per-point table and per-method means over the targets every method finished.

The pipeline's own report (`report.md`) is written only when every point has finished; this reads
the points' `result.json` files as they are, test probes only (each point's round 0 is its
"before"), with no utility "before" (the pipeline scores that at the end).

    .venv/bin/python benchmarks/finished_points.py data/08_reporting/benchmark/points
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from atu_pipeline.reporting.benchmark import bootstrap
from atu_pipeline.reporting.tables import markdown_table


def point_rows(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob("report-*/result.json")):
        result = json.loads(path.read_text())
        before, kept = result["before"], result["kept"]
        row = {k: result[k] for k in ("method", "target", "seed", "kept_round")}
        for name in ("forget", "neighbor"):
            metric = f"test/{name}/all"
            row |= {f"{name} before": before[metric], f"{name} kept": kept[metric]}
            row[f"{name} ratio"] = kept[metric] / before[metric] if before[metric] else None
        row["other targets"] = kept.get("utility/other_targets")
        row["perplexity"] = kept.get("utility/perplexity")
        row["minutes"] = (result["ended"] - result["started"]) / 60
        rows.append(row)
    return pd.DataFrame(rows)


def method_means(points: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % bootstrap interval per method, over the targets every method finished."""
    methods = points["method"].nunique()
    complete = points.groupby(["target", "seed"]).filter(lambda rows: len(rows) == methods)
    rows = []
    for method, group in complete.groupby("method", sort=False):
        row = {"method": method, "n": len(group)}
        for column in ("forget ratio", "neighbor ratio", "other targets", "perplexity"):
            mean, low, high = bootstrap(group[column], resamples=2000, confidence=0.95)
            row[column] = f"{mean:.2f} [{low:.2f}, {high:.2f}]"
        row["worst forget ratio"] = f"{group['forget ratio'].max():.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "folder", type=Path, nargs="?", default="data/08_reporting/benchmark/points"
    )
    points = point_rows(parser.parse_args().folder)
    print(markdown_table(points.round(3)))
    print()
    print(markdown_table(method_means(points)))


if __name__ == "__main__":
    main()
