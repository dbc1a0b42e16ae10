"""The benchmark's report: RWKU Table 2's columns on the test probes, as the mean and a
bootstrap interval over the (target, seed) points, the ratios to the model before unlearning,
the tuning table, the per-point table and the trade-off plot."""

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from atu_pipeline.params import BenchmarkParams
from atu_pipeline.reporting.tables import markdown_table

# RWKU Table 2's columns, scored on the test probes: (column, metric, better)
COLUMNS = [
    ("FB", "test/forget/fb", "↓"),
    ("QA", "test/forget/qa", "↓"),
    ("AA", "test/forget/aa", "↓"),
    ("All", "test/forget/all", "↓"),
    ("N-FB", "test/neighbor/fb", "↑"),
    ("N-QA", "test/neighbor/qa", "↑"),
    ("N-All", "test/neighbor/all", "↑"),
    ("FM", "mia/fm_loss", "↑"),
    ("RM", "mia/rm_loss", "↓"),
    ("Other targets", "utility/other_targets", "↑"),
    ("PPL", "utility/perplexity", "↓"),
]
# kept / before, per point: what "forgets the target, keeps the rest" means in numbers
RATIOS = {
    "forget": "test/forget/all",
    "neighbor": "test/neighbor/all",
    "other_targets": "utility/other_targets",
    "perplexity": "utility/perplexity",
}
LABELS = ["method", "config", "target", "seed", "kept_round"]
COLORS = {
    "atu": "tab:blue",
    "ga": "tab:red",
    "npo": "tab:orange",
    "atu+gd": "tab:cyan",
    "atu+kl": "tab:purple",
    "ga+gd": "tab:pink",
    "ga+kl": "tab:brown",
    "npo+gd": "gold",
    "npo+kl": "tab:olive",
}


def point_table(results: dict) -> pd.DataFrame:
    """One row per report point: its labels, kept-model scores, scores before, and ratios."""
    rows = []
    for result in results["points"]:
        before = result["before"] | results["before"][result["target"]]
        row = {k: result[k] for k in LABELS} | result["kept"]
        row |= {f"before:{k}": v for k, v in before.items()}
        for name, metric in RATIOS.items():
            known = metric in result["kept"] and before.get(metric)
            row[f"ratio:{name}"] = result["kept"][metric] / before[metric] if known else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def bootstrap(values, resamples: int, confidence: float, seed: int = 0) -> tuple[float, ...]:
    """Mean and percentile bootstrap interval of the mean (NaN values left out)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    draws = np.random.default_rng(seed).choice(values, size=(resamples, len(values)))
    tail = (1 - confidence) / 2
    low, high = np.quantile(draws.mean(axis=1), [tail, 1 - tail])
    return float(values.mean()), float(low), float(high)


def summary_table(points: pd.DataFrame, bench: BenchmarkParams) -> pd.DataFrame:
    """Rows "before" and one per method; per metric and ratio its mean, low and high."""
    per_target = points.drop_duplicates("target")
    groups = [("before", per_target, "before:")]
    for method, rows in points.groupby("method", sort=False):
        groups.append((method, rows, ""))
        untuned = rows[~rows["target"].map(bench.tuned_on)]
        if bench.tuning_targets and 0 < len(untuned) < len(rows):
            groups.append((f"{method} (never tuned on)", untuned, ""))
    metrics = [metric for _, metric, _ in COLUMNS] + [f"ratio:{name}" for name in RATIOS]
    rows = []
    for label, rows_of, prefix in groups:
        row = {"row": label, "n": len(rows_of)}
        for metric in metrics:
            column = prefix + metric if not metric.startswith("ratio:") else metric
            if label == "before" and metric.startswith("ratio:"):
                continue
            values = rows_of[column] if column in rows_of else []
            stats = bootstrap(values, bench.bootstrap, bench.confidence)
            row |= dict(zip((metric, f"{metric}:low", f"{metric}:high"), stats, strict=True))
        rows.append(row)
    return pd.DataFrame(rows)


def _interval(row: pd.Series, metric: str, digits: int = 1) -> str:
    mean = row.get(metric, np.nan)
    if not np.isfinite(mean):
        return "–"
    low, high = row[f"{metric}:low"], row[f"{metric}:high"]
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def benchmark_markdown(results: dict, bench: BenchmarkParams) -> str:
    """The whole report: protocol, Table 2 layout, ratios, worst points, tuning."""
    points = point_table(results)
    summary = summary_table(points, bench)
    level = f"{bench.confidence:.0%}"
    parts = [
        f"# Benchmark {bench.name}",
        _protocol(results, bench),
        f"## Test probes, RWKU Table 2 layout (mean [{level} bootstrap interval])",
        _table2(summary),
        "## Ratios to the model before unlearning (kept / before, per point)",
        _ratios(summary, points, bench),
        "## Tuning (validation probes of the tuning targets)",
        _tuning(results),
    ]
    if bench.batch > 1:
        parts += [
            "## Each target of a batch point alone (its test forget probes)",
            _members(results),
        ]
    return "\n\n".join(parts) + "\n"


def _protocol(results: dict, bench: BenchmarkParams) -> str:
    n = len(bench.report_targets) * len(bench.seeds)
    batch = f" unlearned {bench.batch} at a time" if bench.batch > 1 else ""
    return (
        f"Report targets {', '.join(bench.report_targets)}{batch} × seeds {bench.seeds}: "
        f"n = {n} points per "
        f"method; intervals: {bench.bootstrap} percentile-bootstrap resamples of those points. "
        f"Configurations chosen on the validation probes of the tuning targets "
        f"{', '.join(bench.tuning_targets) or '(none: one configuration each)'} × seeds "
        f"{bench.tuning_seeds}; the kept round chosen on each point's validation probes; every "
        f"number below is on test probes (wordings never trained on, facts never decided on). "
        f"Chosen configurations: {results['chosen']}."
        + (
            " Rows `atu+gd` / `atu+kl` add a retain term to ATU: beyond the paper."
            if any(m.startswith("atu+") for m in bench.methods)
            else ""
        )
    )


def _table2(summary: pd.DataFrame) -> str:
    header = ["", "n", *(f"{name} {arrow}" for name, _, arrow in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|---|---:" + "|---:" * len(COLUMNS) + "|"]
    for _, row in summary.iterrows():
        cells = [row["row"], str(row["n"]), *(_interval(row, m) for _, m, _ in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _ratios(summary: pd.DataFrame, points: pd.DataFrame, bench: BenchmarkParams) -> str:
    names = list(RATIOS)
    lines = ["| method | n | " + " | ".join(names) + " | worst forget |"]
    lines.append("|---|---:" + "|---:" * (len(names) + 1) + "|")
    for _, row in summary[summary["row"] != "before"].iterrows():
        cells = [_interval(row, f"ratio:{name}", 2) for name in names]
        rows = points[points["method"] == row["row"].split(" ")[0]]
        if row["row"].endswith("(never tuned on)"):
            rows = rows[~rows["target"].map(bench.tuned_on)]
        worst = rows["ratio:forget"].max()
        lines.append(f"| {row['row']} | {row['n']} | " + " | ".join(cells) + f" | {worst:.2f} |")
    return "\n".join(lines)


def _members(results: dict) -> str:
    rows = [
        {"method": result["method"], "point target": result["target"], "seed": result["seed"]}
        | {"member": member, "before": score["before"], "kept": score["kept"]}
        | {"ratio": score["kept"] / score["before"] if score["before"] else np.nan}
        for result in results["points"]
        for member, score in result.get("members", {}).items()
    ]
    return markdown_table(pd.DataFrame(rows))


def _tuning(results: dict) -> str:
    if not results["tuning"]:
        return "No tuning: each method ran its one configuration."
    rows = []
    for result in results["tuning"]:
        before, kept = result["before"], result["kept"]
        ratios = {
            f"val {name} ratio": kept[f"val/{name}/all"] / before[f"val/{name}/all"]
            if before[f"val/{name}/all"]
            else np.nan
            for name in ("forget", "neighbor")
        }
        rows.append({"method": result["method"], "config": result["config"], **ratios})
    table = pd.DataFrame(rows).groupby(["method", "config"], sort=False).mean().reset_index()
    table["trade-off"] = table["val neighbor ratio"] - table["val forget ratio"]
    table["chosen"] = [
        results["chosen"][m] == c for m, c in zip(table["method"], table["config"], strict=True)
    ]
    return markdown_table(table)


def plot_tradeoff(results: dict, bench: BenchmarkParams) -> Figure:
    """Test forget ratio against test neighbor ratio: each point faint, each method's mean with
    its bootstrap interval on both axes."""
    points = point_table(results)
    summary = summary_table(points, bench).set_index("row")
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = figure.subplots()
    for method, rows in points.groupby("method", sort=False):
        color = COLORS.get(method, "black")
        ax.scatter(rows["ratio:neighbor"], rows["ratio:forget"], color=color, alpha=0.25, s=15)
        row = summary.loc[method]
        x, y = row["ratio:neighbor"], row["ratio:forget"]
        xerr = [[x - row["ratio:neighbor:low"]], [row["ratio:neighbor:high"] - x]]
        yerr = [[y - row["ratio:forget:low"]], [row["ratio:forget:high"] - y]]
        ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=color, capsize=3, label=method)
    ax.axhline(1.0, color="grey", lw=0.6, ls=":")
    ax.axvline(1.0, color="grey", lw=0.6, ls=":")
    ax.set(xlabel="neighbor kept (test, kept / before)", ylabel="forget left (test, kept / before)")
    ax.set_title(f"{bench.name}: mean and {bench.confidence:.0%} interval, faint = one point")
    ax.legend()
    return figure


def metric_name(*parts: str) -> str:
    """An MLflow metric key from report labels: `atu+kl (never tuned on)`, `ratio:forget` become
    `atu_kl_never_tuned_on`, `ratio_forget` (MLflow refuses brackets and plus signs)."""
    return "/".join(re.sub(r"[^A-Za-z0-9/.-]+", "_", part).strip("_") for part in parts)


def benchmark_metrics(results: dict, bench: BenchmarkParams) -> dict[str, list[dict]]:
    """Every method's mean per metric and ratio, as MLflow metrics `benchmark/<row>/<metric>`."""
    summary = summary_table(point_table(results), bench)
    metrics = {}
    for _, row in summary.iterrows():
        for column, value in row.items():
            if column not in ("row", "n") and np.isfinite(value):
                metrics[metric_name("benchmark", row["row"], column)] = [
                    {"value": float(value), "step": 0}
                ]
    return metrics
