"""A batch benchmark's members against the same targets unlearned alone: each member's test
forget ratio beside its single-target point's, and the paired difference with a bootstrap
interval that resamples whole batch points (members of one point share a run, so they are not
independent).

    .venv/bin/python benchmarks/batch_members.py \\
        docs/results/benchmark-atu-batch2 docs/results/benchmark-atu-short-rounds:atu
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from paired_difference import method_points  # noqa: E402

from atu_pipeline.reporting.tables import markdown_table  # noqa: E402


def members(folder: Path) -> pd.DataFrame:
    """One row per member of every report point: its batch point, target id and forget ratio."""
    rows = []
    for path in sorted((folder / "points").glob("report-*/result.json")):
        result = json.loads(path.read_text())
        for name, scores in result.get("members", {}).items():
            target = name.partition("_")[0]
            rows.append(
                {"point": result["target"], "target": target, "seed": result["seed"]}
                | {"before": scores["before"], "batch": scores["kept"] / scores["before"]}
            )
    if not rows:
        raise SystemExit(f"{folder}/points/report-*/result.json: no batch members")
    return pd.DataFrame(rows)


def with_alone(batch: pd.DataFrame, alone: pd.DataFrame) -> pd.DataFrame:
    alone = alone.reset_index()[["target", "seed", "ratio:forget", "before:test/forget/all"]]
    table = batch.merge(alone, on=["target", "seed"], how="left")
    if table["ratio:forget"].isna().any():
        missing = sorted(table.loc[table["ratio:forget"].isna(), "target"])
        raise SystemExit(f"no single-target point for members {missing}")
    if not np.allclose(table["before"], table["before:test/forget/all"]):
        raise SystemExit("members' before scores differ from the single-target points'")
    return table.rename(columns={"ratio:forget": "alone"})[["point", "target", "batch", "alone"]]


def grouped_interval(table: pd.DataFrame, resamples: int = 2000, seed: int = 0) -> tuple:
    """Mean member difference (batch − alone) and its interval, resampling batch points."""
    diffs = (table["batch"] - table["alone"]).groupby(table["point"]).apply(list).tolist()
    rng = np.random.default_rng(seed)
    means = [
        np.mean(sum((diffs[i] for i in rng.integers(len(diffs), size=len(diffs))), []))
        for _ in range(resamples)
    ]
    return np.mean(sum(diffs, [])), *np.percentile(means, [2.5, 97.5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("batch", type=Path, help="a benchmark folder run with benchmark.batch > 1")
    parser.add_argument("alone", help="FOLDER:METHOD of the same targets unlearned one at a time")
    args = parser.parse_args()
    table = with_alone(members(args.batch), method_points(args.alone, 0.9))
    print(markdown_table(table.round(3)))
    mean, low, high = grouped_interval(table)
    print(
        f"\nbatch − alone, forget ratio: {mean:.3f} [{low:.3f}, {high:.3f}] "
        f"(n = {len(table)} members in {table['point'].nunique()} batch points)"
    )


if __name__ == "__main__":
    main()
