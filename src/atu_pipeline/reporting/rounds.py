"""The unlearning run's own reports: the summary line, scores by round, concept similarities."""

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def summary_line(round_scores: pd.DataFrame) -> str:
    """The one-line verdict: pooled forget and neighbor before vs the kept round."""
    before = round_scores.iloc[0]
    kept = round_scores[round_scores["kept"]].iloc[0]

    def change(key: str) -> str:
        ratio = kept[key] / before[key] if before[key] else float("nan")
        return f"{before[key]:.1f} -> {kept[key]:.1f} (x{ratio:.2f})"

    return f"summary: forget {change('forget/all')}, neighbor {change('neighbor/all')}"


def plot_rounds(round_scores: pd.DataFrame) -> Figure:
    """Forget and neighbor per round, the kept round marked."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.subplots()
    for key, style in (("forget/all", "o-"), ("neighbor/all", "s--")):
        ax.plot(round_scores["round"], round_scores[key], style, label=key)
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
