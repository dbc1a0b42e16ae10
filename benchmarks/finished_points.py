"""What a benchmark stopped early has measured: its finished report points, read from the
result folder, as a per-point table and per-method means over the targets every method finished.

The pipeline's own report (`report.md`) is written only when every point has finished; this reads
the points' `result.json` files as they are, test probes only (each point's round 0 is its
"before"), with no utility "before" (the pipeline scores that at the end). With `--tuning`,
a study stopped in its tuning stage: the finished tuning points' validation ratios (what decides)
and each configuration's mean trade-off over the targets every configuration finished.

    .venv/bin/python benchmarks/finished_points.py data/08_reporting/benchmark/points [--tuning]
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from atu_pipeline.recipes.benchmark import validation_tradeoff
from atu_pipeline.reporting.benchmark import bootstrap
from atu_pipeline.reporting.tables import markdown_table


def point_rows(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob("report-*/result.json")):
        result = json.loads(path.read_text())
        before, kept = result["before"], result["kept"]
        row = {k: result[k] for k in ("method", "config", "target", "seed", "kept_round")}
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
    """Mean and 95 % bootstrap interval per method (and configuration, where a folder holds
    several), over the targets every one of them finished."""
    runs = points["method"] + " c" + points["config"].astype(str)
    complete = points[
        runs.groupby([points["target"], points["seed"]]).transform("nunique") == runs.nunique()
    ]
    rows = []
    for (method, config), group in complete.groupby(["method", "config"], sort=False):
        row = {"method": method, "config": f"c{config}", "n": len(group)}
        for column in ("forget ratio", "neighbor ratio", "other targets", "perplexity"):
            mean, low, high = bootstrap(group[column], resamples=2000, confidence=0.95)
            row[column] = f"{mean:.2f} [{low:.2f}, {high:.2f}]"
        row["worst forget ratio"] = f"{group['forget ratio'].max():.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def tuning_rows(folder: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(folder.glob("tuning-*/result.json")):
        result = json.loads(path.read_text())
        before, kept = result["before"], result["kept"]
        row = {k: result[k] for k in ("method", "config", "target", "seed", "kept_round")}
        for name in ("forget", "neighbor"):
            metric = f"val/{name}/all"
            row[f"val {name} ratio"] = kept[metric] / before[metric] if before[metric] else None
        row["trade-off"] = validation_tradeoff(result)
        row["minutes"] = (result["ended"] - result["started"]) / 60
        rows.append(row)
    return pd.DataFrame(rows)


def configuration_means(points: pd.DataFrame) -> pd.DataFrame:
    """Per method and configuration, mean validation ratios and trade-off over the (target,
    seed) points every configuration of that method finished."""
    rows = []
    for method, group in points.groupby("method", sort=False):
        configs = group["config"].nunique()
        per_point = group.groupby(["target", "seed"])["config"].transform("nunique")
        complete = group[per_point == configs]
        for config, runs in complete.groupby("config"):
            row = {"method": method, "config": f"c{config}", "n": len(runs)}
            for column in ("val forget ratio", "val neighbor ratio", "trade-off"):
                row[column] = round(runs[column].mean(), 3)
            rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "folder", type=Path, nargs="?", default="data/08_reporting/benchmark/points"
    )
    parser.add_argument("--tuning", action="store_true", help="the tuning stage's points")
    args = parser.parse_args()
    points = (tuning_rows if args.tuning else point_rows)(args.folder)
    if points.empty:
        raise SystemExit(
            f"{args.folder}: no finished {'tuning' if args.tuning else 'report'} points"
        )
    print(markdown_table(points.round(3)))
    print()
    print(markdown_table((configuration_means if args.tuning else method_means)(points)))


if __name__ == "__main__":
    main()
