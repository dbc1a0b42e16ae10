"""A finished benchmark's figures under the keep rule as it is now, from its recorded histories.

Until 858360d the keep rule chose among the unlearning rounds only, so a round that forgot less
than the model before (on validation) could be kept. The rule now lets the model before compete.
That can only move a kept round to round 0, whose scores are the "before" scores (every ratio
1.0), so a run made under the old rule can be recounted exactly, without retraining:

    .venv/bin/python benchmarks/keep_rule_recount.py docs/results/benchmark-demo-8
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from atu_pipeline.core.schedule import choose_round
from atu_pipeline.recipes.benchmark import choose_configurations
from atu_pipeline.reporting.benchmark import bootstrap

RATIOS = ["ratio:forget", "ratio:neighbor", "ratio:other_targets", "ratio:perplexity"]


def recount(result: dict, neighbor_floor: float) -> dict:
    """The result as the current rule keeps it (round 0: the before scores)."""
    rounds = [row for row in result["history"] if row["round"] > 0]
    kept = choose_round(rounds, result["before"], "best_tradeoff", neighbor_floor)
    if kept == result["kept_round"]:
        return result
    assert kept == 0, f"{result['point']}: the rule can only move a kept round to 0, got {kept}"
    return result | {"kept_round": 0, "kept": result["before"], "moved_from": result["kept_round"]}


def recounted(folder: Path, neighbor_floor: float) -> tuple[list[dict], pd.DataFrame]:
    """The folder's tuning and report results and its per-point table, under the current rule."""
    paths = sorted((folder / "points").glob("*/result.json"))
    stored = [json.loads(path.read_text()) for path in paths]
    results = [recount(r, neighbor_floor) for r in stored if r.get("stage") in ("tuning", "report")]
    points = pd.read_csv(folder / "points.csv")
    for r in results:
        if "moved_from" in r and r["stage"] == "report":
            row = (points["method"] == r["method"]) & (points["target"].astype(str) == r["target"])
            points.loc[row, RATIOS] = 1.0
    return results, points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a benchmark folder: points.csv and points/")
    parser.add_argument("--neighbor-floor", type=float, default=0.9)
    args = parser.parse_args()
    results, points = recounted(args.folder, args.neighbor_floor)
    for r in results:
        if "moved_from" in r:
            print(f"{r['point']}: kept round {r['moved_from']} -> 0")
    methods = sorted({r["method"] for r in results})
    tuned = [r for r in results if r["stage"] == "tuning"]
    print("chosen configurations:", choose_configurations(tuned, methods))
    for method, rows in points.groupby("method"):
        figures = [f"{name[6:]} {_interval(rows[name])}" for name in RATIOS]
        print(f"{method} (n = {len(rows)}): " + ", ".join(figures))
        print(f"  worst forget ratio {rows['ratio:forget'].max():.2f}")


def _interval(values: pd.Series) -> str:
    mean, low, high = bootstrap(values, 2000, 0.95)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


if __name__ == "__main__":
    main()
