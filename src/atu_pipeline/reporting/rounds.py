"""The unlearning run's own reports: the summary line, scores by round, concept similarities."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from atu_pipeline.data.rwku import first_probes
from atu_pipeline.params import EvalParams


def summary_line(
    round_scores: pd.DataFrame,
    probes: pd.DataFrame,
    memorised_probes: list[str],
    eval_params: EvalParams,
) -> str:
    """The one-line verdict on the test probes, with the validation probes (on which the round
    was chosen) beside them: pooled forget and neighbor before vs the kept round, and n. When the
    injection taught the probes verbatim, the line says that it measures memorised probes."""
    before = round_scores.iloc[0]
    kept = round_scores[round_scores["kept"]].iloc[0]

    def change(split: str, probe_set: str) -> str:
        key = f"{split}/{probe_set}/all"
        ratio = kept[key] / before[key] if before[key] else float("nan")
        return f"{probe_set} {before[key]:.1f} -> {kept[key]:.1f} (x{ratio:.2f})"

    counts = first_probes(probes, eval_params.max_probes).groupby(["split", "set"]).size()
    n = f"n {counts.get(('test', 'forget'), 0)} / {counts.get(('test', 'neighbor'), 0)}"
    test = f"{change('test', 'forget')}, {change('test', 'neighbor')}"
    validation = f"{change('val', 'forget')}, {change('val', 'neighbor')}"
    line = f"summary: {test} (test probes, {n}); validation: {validation}"
    if memorised_probes:
        line += "; forgetting of memorised probes (injected verbatim)"
    return line


def plot_rounds(round_scores: pd.DataFrame) -> Figure:
    """Forget and neighbor per round on the test probes (not used for any decision) and on the
    validation probes (which chose the kept round), the kept round marked."""
    figure = Figure(figsize=(6.5, 4), layout="constrained")
    ax = figure.subplots()
    lines = {"test/forget/all": "o-", "test/neighbor/all": "s-"}
    lines |= {"val/forget/all": "o:", "val/neighbor/all": "s:"}
    for key, style in lines.items():
        color = "tab:red" if "forget" in key else "tab:blue"
        ax.plot(round_scores["round"], round_scores[key], style, color=color, label=key)
    kept = round_scores[round_scores["kept"]]["round"].iloc[0]
    ax.axvline(kept, color="grey", lw=0.8, ls=":", label=f"kept round {kept}")
    ax.set(xlabel="round (0 = before unlearning)", ylabel="ROUGE-L recall x100", ylim=(0, 100))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    return figure


def plot_similarities(similarities: dict) -> Figure:
    """The concept-similarity histogram before and after ATU's rounds."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.subplots()
    ax.hist(similarities["before"], bins=50, alpha=0.6, label="before unlearning", density=True)
    after = "after the last round (re-aligned head)"
    ax.hist(similarities["after"], bins=50, alpha=0.6, label=after, density=True)
    ax.set(xlabel="cos(predicted future, target embedding)", ylabel="density")
    ax.legend()
    return figure
