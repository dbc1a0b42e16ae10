"""Compare a sweep's runs: a ranked table, the trade-off plots, forget per round per method."""

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from atu_pipeline.params import CompareParams
from atu_pipeline.reporting.tables import markdown_table

LABELS = ["point", "method", "tau", "layer", "lr", "updates"]
LOWER_IS_BETTER = {"utility/perplexity"}
COLORS = {"atu": "tab:blue", "ga": "tab:red", "npo": "tab:orange"}
SHADES = {"atu": "Blues", "ga": "Reds", "npo": "Oranges"}


def collect_sweep(
    original_utility: dict[str, float], point_results: list[dict]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every point's rounds (one row per point and round) and its kept round (one row per point,
    ranked; `original` is the model before unlearning). `forget` and `neighbor` are test
    scores; the rank reads the validation scores (`val_forget`, `val_neighbor`) only."""
    rounds = pd.DataFrame(
        [
            {**{k: result[k] for k in LABELS}, **row}
            for result in point_results
            for row in result["history"]
        ]
    )
    ranking = pd.DataFrame([_kept_row(result) for result in point_results])
    before = rounds[rounds["round"] == 0].iloc[0]
    original = {"point": "original", "method": "original", "kept_round": 0}
    original |= _scores(before)
    ranking = pd.concat([ranking, pd.DataFrame([original | original_utility])], ignore_index=True)
    return rounds, _ranked(ranking, _scores(before))


def _scores(row) -> dict[str, float]:
    return {
        "forget": row["test/forget/all"],
        "neighbor": row["test/neighbor/all"],
        "val_forget": row["val/forget/all"],
        "val_neighbor": row["val/neighbor/all"],
    }


def _kept_row(result: dict) -> dict:
    kept = next(row for row in result["history"] if row["kept"])
    last = result["history"][-1]
    return {
        **{k: result[k] for k in LABELS},
        "kept_round": kept["round"],
        **_scores(kept),
        "last_forget": last["test/forget/all"],
        "last_neighbor": last["test/neighbor/all"],
        **result["utility"],
        "mlflow_run_id": result.get("mlflow_run_id"),
    }


def _ratio(value: pd.Series, before: float) -> pd.Series:
    return value / before if before else value * float("nan")


def _ranked(table: pd.DataFrame, before: dict[str, float]) -> pd.DataFrame:
    """Ratios to the model before unlearning, the forget-neighbor Pareto front (test), and the
    rank: by validation neighbor kept minus validation forget left (both as ratios), best first."""
    table = table.copy()
    for key in ("forget", "neighbor", "val_forget", "val_neighbor"):
        table[f"{key}_ratio"] = _ratio(table[key], before[key])
    table["pareto"] = pareto_front(table["forget"], -table["neighbor"])
    table["score"] = table["val_neighbor_ratio"] - table["val_forget_ratio"]
    table = table.sort_values("score", ascending=False, ignore_index=True)
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


def pareto_front(cost_a: pd.Series, cost_b: pd.Series) -> list[bool]:
    """True where no other row is at least as low on both costs and lower on one."""
    points = list(zip(cost_a, cost_b, strict=True))
    return [
        not any(
            (a2 <= a and b2 <= b) and (a2 < a or b2 < b)
            for j, (a2, b2) in enumerate(points)
            if j != i
        )
        for i, (a, b) in enumerate(points)
    ]


def ranking_report(ranking: pd.DataFrame, compare: CompareParams) -> str:
    """The ranking as a markdown table (for docs and the MLflow run)."""
    columns = ["rank", *LABELS[1:], "kept_round", "val_forget_ratio", "val_neighbor_ratio"]
    columns += ["forget", "forget_ratio", "neighbor", "neighbor_ratio", "pareto"]
    if compare.utility_metric in ranking:
        columns.append(compare.utility_metric)
    shown = ranking[columns].astype(object).where(ranking[columns].notna(), None)
    for column in ("layer", "kept_round"):
        shown[column] = [None if v is None else int(v) for v in shown[column]]
    note = (
        "Ranked by validation (`val_neighbor_ratio − val_forget_ratio`); `forget` and `neighbor`"
        " are test scores (ROUGE-L recall x100) at the round kept on validation."
    )
    return "# Sweep ranking\n\n" + note + "\n\n" + markdown_table(shown)


def plot_comparison(ranking: pd.DataFrame, sweep_rounds: pd.DataFrame, compare: CompareParams):
    """Forget vs neighbor and forget vs utility (a marker per run at its kept round, the Pareto
    front drawn), and forget per round for every run."""
    metric = compare.utility_metric
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    axes = (
        ("neighbor", -ranking["neighbor"], "neighbor ROUGE-L recall x100 (higher is better)"),
        (metric, sign * ranking.get(metric, pd.Series(dtype=float)), f"{metric} (kept model)"),
    )
    figures = [_tradeoff(ranking, x, x_cost, xlabel) for x, x_cost, xlabel in axes]
    return (*figures, _forget_by_round(sweep_rounds))


def _tradeoff(ranking: pd.DataFrame, x: str, x_cost: pd.Series, xlabel: str) -> Figure:
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = figure.subplots()
    if x not in ranking:
        ax.set_title(f"{x}: not measured in this sweep")
        return figure
    _scatter(ax, ranking, x)
    front = ranking[pareto_front(ranking["forget"], x_cost)].sort_values(x)
    ax.plot(front[x], front["forget"], "k--", lw=0.8, label="Pareto front")
    ax.set(xlabel=xlabel, ylabel="forget ROUGE-L recall x100 (lower is better)")
    ax.margins(x=0.2, y=0.1)  # room for the labels
    ax.legend(fontsize=7)
    return figure


def _forget_by_round(sweep_rounds: pd.DataFrame) -> Figure:
    figure = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = figure.subplots()
    for method, runs in sweep_rounds.groupby("method", sort=False):
        # one colour family per method, one shade per run, so that a grid's runs stay apart
        count = runs["point"].nunique()
        shades = matplotlib.colormaps[SHADES.get(method, "Greys")]
        for i, (point, rows) in enumerate(runs.groupby("point", sort=False)):
            shade = shades(0.35 + 0.6 * (i + 1) / (count + 1))
            style = {"ms": 3, "lw": 1, "color": shade, "alpha": 0.9, "label": point}
            ax.plot(rows["round"], rows["test/forget/all"], "o-", **style)
    ax.set(xlabel="round (0 = before unlearning)", ylabel="test forget ROUGE-L recall x100")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.legend(fontsize=6, ncol=2)
    return figure


def _scatter(ax, ranking: pd.DataFrame, x: str) -> None:
    for _, row in ranking.iterrows():
        original = row["method"] == "original"
        color = COLORS.get(row["method"], "black")
        ax.scatter(
            row[x],
            row["forget"],
            marker="*" if original else "o",
            s=80 if original else 30,
            color=color,
        )
    # runs that land on the same spot (τ floors the hinge never reached, say) share one label
    spots = [ranking[x].round(1), ranking["forget"].round(1)]
    for (x_value, forget), runs in ranking.groupby(spots, sort=False):
        label = "\n".join(runs["point"])
        style = {"fontsize": 6, "alpha": 0.7, "xytext": (4, 0), "va": "center"}
        ax.annotate(label, (x_value, forget), textcoords="offset points", **style)
    for method, color in {**COLORS, "original": "black"}.items():
        if (ranking["method"] == method).any():
            marker = "*" if method == "original" else "o"
            ax.scatter([], [], color=color, marker=marker, label=method)
