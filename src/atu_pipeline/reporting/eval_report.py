"""Evaluation reports: a tidy table, a markdown report laid out like RWKU's Table 2, MLflow
metric histories and plots. Pure functions of `{stage: {metric: score}}`; no Kedro, no files.

A score is `{"value": float, "n": int}` (as `core.evaluation` writes it) or a bare number.
Stages keep their order (e.g. "before", "round_1", ..., "after"); a stage's position is its
MLflow step. Definitions of every metric: docs/evaluation.md.
"""

import math
import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

COLUMNS = ["stage", "step", "metric", "value", "n", "of"]  # of: the set's size when capped

# RWKU Table 2: (column, metric, better); the paper's Gen/Rea/Tru/Fac/Flu named by benchmark.
TABLE2 = [
    ("FB", "forget/fb", "↓"),
    ("QA", "forget/qa", "↓"),
    ("AA", "forget/aa", "↓"),
    ("All", "forget/all", "↓"),
    ("N-FB", "neighbor/fb", "↑"),
    ("N-QA", "neighbor/qa", "↑"),
    ("N-All", "neighbor/all", "↑"),
    ("FM", "mia/fm_loss", "↑"),
    ("RM", "mia/rm_loss", "↓"),
    ("MMLU", "utility/mmlu", "↑"),
    ("BBH", "utility/bbh", "↑"),
    ("TruthfulQA", "utility/truthfulqa_mc1", "↑"),
    ("TriviaQA", "utility/triviaqa_f1", "↑"),
    ("Fluency", "utility/fluency", "↑"),
]
GROUP_ORDER = ["forget", "neighbor", "mia", "utility"]
SUB_ORDER = [
    "fb",
    "qa",
    "aa",
    "all",
    "fm",
    "rm",
    "auc",
    "mmlu",
    "bbh",
    "truthfulqa",
    "triviaqa",
    "fluency",
    "perplexity",
]
PERCENT_UTILITY = [
    "utility/mmlu",
    "utility/bbh",
    "utility/bbh_quirk",
    "utility/truthfulqa_mc1",
    "utility/truthfulqa_mc2",
    "utility/triviaqa_f1",
    "utility/triviaqa_em",
]
NOTES = """\
Scales as in the paper: ROUGE-L recall, accuracy, EM and F1 x100; FM/RM = 100 x mean token NLL
(LOSS attack); Fluency = n-gram entropy x100. **All** pools every probe of the set
(count-weighted), it is not the mean of FB/QA/AA. **BBH** is correct exact match; RWKU's
character-iteration EM (the paper's number) is `utility/bbh_quirk` below. **TruthfulQA** = MC1,
**TriviaQA** = token F1. Definitions: docs/evaluation.md."""


def metric_order(metric: str) -> tuple[int, int, str]:
    """Sort key: forget, neighbor, MIA, utility, then anything else; inside a group, Table 2
    order (fb, qa, aa, aa/<type>, all; fm, rm, auc; mmlu, bbh, ...), then by name."""
    group, _, rest = metric.partition("/")
    rank = GROUP_ORDER.index(group) if group in GROUP_ORDER else len(GROUP_ORDER)
    head = re.split(r"[/_]", rest, maxsplit=1)[0]
    return rank, SUB_ORDER.index(head) if head in SUB_ORDER else len(SUB_ORDER), metric


def _score(entry) -> tuple[float, int | None, int | None]:
    """Value, items scored and, for a set capped by `eval.utility_limits`, its full size."""
    if not isinstance(entry, dict):
        return float(entry), None, None
    count = lambda key: None if entry.get(key) is None else int(entry[key])  # noqa: E731
    return float(entry["value"]), count("n"), count("of")


def tidy_table(stage_metrics: dict[str, dict]) -> pd.DataFrame:
    """One row per stage x metric: stage, step (stage order, 0-based), metric, value, n.

    Entries that are neither a score dict nor a number (nested reports, strings) are skipped.
    """
    rows = []
    for step, (stage, metrics) in enumerate(stage_metrics.items()):
        for metric in sorted(metrics, key=metric_order):
            entry = metrics[metric]
            if isinstance(entry, bool) or not isinstance(entry, dict | int | float):
                continue
            value, n, of = _score(entry)
            row = {"stage": stage, "step": step, "metric": metric, "value": value, "n": n}
            rows.append(row | {"of": of})
    table = pd.DataFrame(rows, columns=COLUMNS)
    types = {"stage": str, "step": int, "metric": str, "value": float, "n": "Int64", "of": "Int64"}
    return table.astype(types)


def mlflow_metrics(table: pd.DataFrame) -> dict[str, list[dict]]:
    """`{metric: [{"value", "step"}, ...]}` for MlflowMetricsHistoryDataset; NaN values (no
    items behind them) are left out, because MLflow has no use for them."""
    out: dict[str, list[dict]] = {}
    for row in table.itertuples():
        if math.isfinite(row.value):
            out.setdefault(row.metric, []).append({"value": row.value, "step": int(row.step)})
    return out


def wide_table(table: pd.DataFrame) -> pd.DataFrame:
    """Metrics as rows, stages as columns (in stage order), values only."""
    stages = list(dict.fromkeys(table["stage"]))
    wide = table.pivot(index="metric", columns="stage", values="value")
    return wide.reindex(index=sorted(wide.index, key=metric_order), columns=stages)


def _cell(value: float, digits: int = 1) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _detail(value: float, n, of=None) -> str:
    if not math.isfinite(value):
        return "–"
    digits = 1 if abs(value) >= 10 or value == 0 else 2 if abs(value) >= 1 else 3
    count = "" if pd.isna(n) else f" ({n})" if pd.isna(of) else f" ({n} of {of}, capped)"
    return f"{value:.{digits}f}" + count


def table2_markdown(table: pd.DataFrame) -> str:
    """Rows = stages; RWKU Table 2 columns; plus a last-minus-first row with two or more stages."""
    wide = wide_table(table)
    stages = list(wide.columns)
    header = ["Stage", *(f"{name} {arrow}" for name, _, arrow in TABLE2)]
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(TABLE2) + "|"]

    def row(label: str, values: list[float]) -> str:
        return "| " + " | ".join([label, *(_cell(v) for v in values)]) + " |"

    def column(stage: str) -> list[float]:
        return [wide.at[m, stage] if m in wide.index else math.nan for _, m, _ in TABLE2]

    lines += [row(stage, column(stage)) for stage in stages]
    if len(stages) > 1:
        first, last = np.array(column(stages[0])), np.array(column(stages[-1]))
        lines.append(row(f"Δ {stages[-1]} − {stages[0]}", list(last - first)))
    return "\n".join(lines)


def details_markdown(table: pd.DataFrame) -> str:
    """Every metric (rows) per stage (columns) as `value (n)`."""
    stages = list(dict.fromkeys(table["stage"]))
    cells = {(r.metric, r.stage): _detail(r.value, r.n, r.of) for r in table.itertuples()}
    metrics = sorted(set(table["metric"]), key=metric_order)
    lines = ["| metric | " + " | ".join(stages) + " |", "|---" + "|---:" * len(stages) + "|"]
    for metric in metrics:
        values = [cells.get((metric, stage), "–") for stage in stages]
        lines.append(f"| `{metric}` | " + " | ".join(values) + " |")
    return "\n".join(lines)


def report_markdown(table: pd.DataFrame, title: str) -> str:
    """The whole report: Table 2 layout, notes, and every metric with its item count."""
    groups = (
        "Forget set: FB QA AA All (lower is better) | Neighbor set: N-FB N-QA N-All (higher) | "
        "MIA set: FM (higher) RM (lower) | Utility set: MMLU (Gen) BBH (Rea) TruthfulQA (Tru) "
        "TriviaQA (Fac) Fluency (Flu), higher is better."
    )
    parts = [f"# {title}", groups, table2_markdown(table), NOTES]
    capped = table.dropna(subset=["of"]).drop_duplicates("metric")
    if not capped.empty:
        sets = ", ".join(f"`{r.metric}` {r.n} of {r.of}" for r in capped.itertuples())
        parts.append(
            f"**Capped sets** (`eval.utility_limits`; scored on their first items): {sets}."
        )
    parts += ["## All metrics", "Value (number of items behind it).", details_markdown(table)]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- plots


def _stages_with(wide: pd.DataFrame, metrics: list[str]) -> list[str]:
    present = [m for m in metrics if m in wide.index]
    return [s for s in wide.columns if present and wide.loc[present, s].notna().any()]


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def plot_forget_neighbor(table: pd.DataFrame) -> Figure:
    """Forget (FB, QA, AA, All) and neighbor (FB, QA, All) ROUGE-L recall across stages."""
    wide = wide_table(table)
    fig = Figure(figsize=(10, 4), layout="constrained")
    for ax, group in zip(fig.subplots(1, 2), ("forget", "neighbor"), strict=True):
        metrics = [m for k in ("fb", "qa", "aa", "all") if (m := f"{group}/{k}") in wide.index]
        stages = _stages_with(wide, metrics)
        if not stages:
            _empty(ax, f"no {group} scores")
            continue
        for metric in metrics:
            values = wide.loc[metric, stages].to_numpy(float)
            x = np.flatnonzero(np.isfinite(values))  # lines join the stages that have the metric
            style = {"lw": 2.5, "marker": "o"} if metric.endswith("/all") else {"marker": "."}
            ax.plot(x, values[x], label=metric, **style)
        ax.set_xticks(range(len(stages)), stages, rotation=30, ha="right")
        ax.set(title=f"{group} set", xlabel="stage", ylabel="ROUGE-L recall x100", ylim=(0, 100))
        ax.legend()
    return fig


def _grouped_bars(ax, wide: pd.DataFrame, metrics: list[str], labels: list[str], legend=True):
    """One group of bars per metric, one bar per stage that has any of them, values on top."""
    stages = _stages_with(wide, metrics)
    width = 0.8 / max(len(stages), 1)
    x = np.arange(len(metrics))
    for i, stage in enumerate(stages):
        values = wide.loc[metrics, stage].to_numpy(float)
        bars = ax.bar(x + (i - (len(stages) - 1) / 2) * width, values, width, label=stage)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    if legend:
        ax.legend()


def plot_attack_types(table: pd.DataFrame) -> Figure:
    """Forget ROUGE-L recall per adversarial-attack type (level 3), one bar per stage."""
    wide = wide_table(table)
    metrics = [m for m in wide.index if re.fullmatch(r"forget/aa/.+", m)]
    fig = Figure(figsize=(max(6, 1.2 * len(metrics) + 2), 4.5), layout="constrained")
    ax = fig.subplots()
    if not metrics:
        _empty(ax, "no adversarial-attack probes")
        return fig
    _grouped_bars(
        ax, wide, metrics, [m.removeprefix("forget/aa/").replace("_", " ") for m in metrics]
    )
    ax.set(title="forget set, adversarial attacks by type", ylabel="ROUGE-L recall x100")
    ax.set_ylim(0, 105)
    return fig


def plot_utility(table: pd.DataFrame) -> Figure:
    """Utility per stage: the percentage benchmarks, fluency (entropy x100), perplexity."""
    wide = wide_table(table)
    panels = [
        ([m for m in PERCENT_UTILITY if m in wide.index], "score x100"),
        (["utility/fluency"], "n-gram entropy x100"),
        (["utility/perplexity"], "perplexity"),
    ]
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[4, 1, 1])
    for i, (ax, (metrics, ylabel)) in enumerate(zip(axes, panels, strict=True)):
        metrics = [m for m in metrics if m in wide.index]
        if not _stages_with(wide, metrics):
            _empty(ax, f"no {ylabel} scores")
            continue
        labels = [m.removeprefix("utility/") for m in metrics]
        _grouped_bars(ax, wide, metrics, labels, legend=i == 0)
        ax.set(ylabel=ylabel)
    axes[0].set(title="utility", ylim=(0, 105))
    return fig


def on_test_probes(stage_metrics: dict[str, dict]) -> dict[str, dict]:
    """A run's table on its test probes: `test/<metric>` reads as `<metric>` (so Table 2's
    columns are test scores), `val/<metric>` stays beside it, and the scores pooled over both
    splits leave."""
    view = {}
    for stage, metrics in stage_metrics.items():
        split = {k: v for k, v in metrics.items() if k.startswith(("test/", "val/"))}
        pooled = {k.removeprefix("test/") for k in split if k.startswith("test/")}
        kept = {k: v for k, v in metrics.items() if k not in pooled and k not in split}
        view[stage] = kept | {k.removeprefix("test/"): v for k, v in split.items()}
    return view


def answers_markdown(answers: pd.DataFrame, count: int = 12) -> str:
    """The probes whose recall changed most (test split first), as a markdown table."""
    shown = answers.assign(size=answers["change"].abs(), test=answers["split"] == "test")
    shown = shown.sort_values(["test", "size"], ascending=False).head(count)
    columns = ["set", "split", "kind", "query", "answer", "answer_before", "answer_after"]
    lines = ["| " + " | ".join([*columns, "recall before", "recall after"]) + " |"]
    lines.append("|" + "---|" * (len(columns) + 2))
    for row in shown.itertuples():
        cells = [str(getattr(row, c)).replace("|", "/").replace("\n", " ")[:80] for c in columns]
        cells += [f"{row.recall_before:.0f}", f"{row.recall_after:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    header = f"# Answers that changed most ({len(answers)} probes scored; all in the CSV)"
    return header + "\n\n" + "\n".join(lines) + "\n"


def run_report(
    stage_evaluations: dict[str, dict], answers: pd.DataFrame, target_info: dict
) -> tuple[pd.DataFrame, str, dict, Figure, str]:
    """A run's table (RWKU Table 2 layout on its test probes), its metrics and plot, and the
    excerpt of the answers that changed most."""
    table = tidy_table(on_test_probes(stage_evaluations))
    name = target_info.get("name", target_info.get("id", "target"))
    markdown = report_markdown(table, f"Unlearning run on {name}: test probes")
    metrics = {f"run/{k}": v for k, v in mlflow_metrics(table).items()}
    figure = plot_forget_neighbor(table)
    return table, markdown, metrics, figure, answers_markdown(answers)
