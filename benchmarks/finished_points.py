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

LABELS = ("method", "config", "target", "seed", "kept_round")


def finished_rows(folder: Path, stage: str, columns) -> pd.DataFrame:
    """One row per finished point of `stage`: its labels, `columns(result)` and its minutes."""
    rows = []
    for path in sorted(folder.glob(f"{stage}-*/result.json")):
        result = json.loads(path.read_text())
        row = {k: result[k] for k in LABELS} | columns(result)
        row["minutes"] = (result["ended"] - result["started"]) / 60
        rows.append(row)
    return pd.DataFrame(rows)


def report_columns(result: dict) -> dict:
    before, kept = result["before"], result["kept"]
    row = {}
    for name in ("forget", "neighbor"):
        metric = f"test/{name}/all"
        row |= {f"{name} before": before[metric], f"{name} kept": kept[metric]}
        row[f"{name} ratio"] = _ratio(result, metric)
    row["other targets"] = kept.get("utility/other_targets")
    row["perplexity"] = kept.get("utility/perplexity")
    return row


def tuning_columns(result: dict) -> dict:
    row = {
        f"val {name} ratio": _ratio(result, f"val/{name}/all") for name in ("forget", "neighbor")
    }
    return row | {"trade-off": validation_tradeoff(result)}


def _ratio(result: dict, metric: str) -> float | None:
    before = result["before"][metric]
    return result["kept"][metric] / before if before else None


def on_common_points(points: pd.DataFrame, runs: pd.Series) -> pd.DataFrame:
    """The rows of the (target, seed) points that every run named in `runs` finished."""
    per_point = runs.groupby([points["target"], points["seed"]]).transform("nunique")
    return points[per_point == runs.nunique()]


def method_means(points: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95 % bootstrap interval per method (and configuration, where a folder holds
    several), over the targets every one of them finished."""
    complete = on_common_points(points, points["method"] + " c" + points["config"].astype(str))
    rows = []
    for (method, config), group in complete.groupby(["method", "config"], sort=False):
        row = {"method": method, "config": f"c{config}", "n": len(group)}
        for column in ("forget ratio", "neighbor ratio", "other targets", "perplexity"):
            mean, low, high = bootstrap(group[column], resamples=2000, confidence=0.95)
            row[column] = f"{mean:.2f} [{low:.2f}, {high:.2f}]"
        row["worst forget ratio"] = f"{group['forget ratio'].max():.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def configuration_means(points: pd.DataFrame) -> pd.DataFrame:
    """Per method and configuration, mean validation ratios and trade-off over the (target,
    seed) points every configuration of that method finished."""
    rows = []
    for method, group in points.groupby("method", sort=False):
        for config, runs in on_common_points(group, group["config"]).groupby("config"):
            row = {"method": method, "config": f"c{config}", "n": len(runs)}
            for column in ("val forget ratio", "val neighbor ratio", "trade-off"):
                row[column] = round(runs[column].mean(), 3)
            rows.append(row)
    return pd.DataFrame(rows)


STAGES = {"report": (report_columns, method_means), "tuning": (tuning_columns, configuration_means)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "folder", type=Path, nargs="?", default="data/08_reporting/benchmark/points"
    )
    parser.add_argument("--tuning", action="store_true", help="the tuning stage's points")
    args = parser.parse_args()
    stage = "tuning" if args.tuning else "report"
    columns, means = STAGES[stage]
    points = finished_rows(args.folder, stage, columns)
    if points.empty:
        raise SystemExit(f"{args.folder}: no finished {stage} points")
    print(markdown_table(points.round(3)))
    print()
    print(markdown_table(means(points)))


if __name__ == "__main__":
    main()
