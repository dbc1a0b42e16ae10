"""Two methods' benchmark points paired by (target, seed): the mean per-point difference of each
ratio with a bootstrap interval, and each method's own interval beside it.

Two runs can be paired only when their "before" scores agree (the same subject model, targets and
probes); this checks that, point by point. Each folder is recounted under the current keep rule
(benchmarks/keep_rule_recount.py). Resampling the pairs keeps what the targets share: a hard target
is hard for both methods, which separate intervals ignore.

    .venv/bin/python benchmarks/paired_difference.py \\
        docs/results/benchmark-atu-layer8:atu docs/results/benchmark-demo-8:npo
"""

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from keep_rule_recount import RATIOS, recounted  # noqa: E402

from atu_pipeline.reporting.benchmark import bootstrap  # noqa: E402
from atu_pipeline.reporting.tables import markdown_table  # noqa: E402

KEYS = ["target", "seed"]
BEFORE = ["before:test/forget/all", "before:test/neighbor/all", "before:utility/perplexity"]


def method_points(spec: str, neighbor_floor: float) -> pd.DataFrame:
    """FOLDER:METHOD -> that method's report points, one row per (target, seed)."""
    folder, _, method = spec.rpartition(":")
    if not folder:
        raise SystemExit(f"{spec!r}: expected FOLDER:METHOD, e.g. docs/results/benchmark-demo-8:ga")
    _, points = recounted(Path(folder), neighbor_floor)
    rows = points[points["method"] == method]
    if rows.empty:
        found = sorted(points["method"].unique())
        raise SystemExit(f"{folder}/points.csv: no points of method {method!r} (it has {found})")
    return rows.astype({"target": str}).set_index(KEYS)[RATIOS + BEFORE]


def paired(a: pd.DataFrame, b: pd.DataFrame, names: tuple[str, str]) -> pd.DataFrame:
    """One row per ratio: each side's mean [interval] and the paired difference a - b."""
    shared = a.index.intersection(b.index)
    if shared.empty:
        raise SystemExit(f"{names[0]} and {names[1]} share no (target, seed) point")
    a, b = a.loc[shared], b.loc[shared]
    differs = ~np.isclose(a[BEFORE], b[BEFORE]).all(axis=1)
    if differs.any():
        raise SystemExit(
            f"before-unlearning scores differ at {list(shared[differs])}: "
            "not the same subject model or probes, so the points cannot be paired"
        )
    rows = []
    for ratio in RATIOS:
        rows.append(
            {
                "ratio": ratio.removeprefix("ratio:"),
                "n": len(shared),
                names[0]: _interval(a[ratio]),
                names[1]: _interval(b[ratio]),
                f"{names[0]} - {names[1]} (paired)": _interval(a[ratio] - b[ratio]),
            }
        )
    return pd.DataFrame(rows)


def _interval(values: pd.Series) -> str:
    mean, low, high = bootstrap(values, 2000, 0.95)
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", help="FOLDER:METHOD, e.g. docs/results/benchmark-atu-layer8:atu")
    parser.add_argument("b", help="FOLDER:METHOD, e.g. docs/results/benchmark-demo-8:npo")
    parser.add_argument("--targets", nargs="*", help="only these targets (default: all shared)")
    parser.add_argument("--neighbor-floor", type=float, default=0.9)
    args = parser.parse_args()
    names = (args.a.rpartition(":")[2] + " (a)", args.b.rpartition(":")[2] + " (b)")
    a, b = (method_points(spec, args.neighbor_floor) for spec in (args.a, args.b))
    if args.targets:
        a = a[a.index.get_level_values("target").isin(args.targets)]
    print(markdown_table(paired(a, b, names)))


if __name__ == "__main__":
    main()
