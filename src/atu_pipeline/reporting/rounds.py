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


def plot_similarities(similarities: dict, round_scores: pd.DataFrame) -> Figure:
    """Whether τ binds: the concept-similarity histogram before and after ATU's rounds, and per
    round the τ used beside the share of positions above it (where the hinge acts)."""
    figure = Figure(figsize=(11, 4), layout="constrained")
    histogram, binding = figure.subplots(1, 2)
    histogram.hist(
        similarities["before"], bins=50, alpha=0.6, label="before unlearning", density=True
    )
    after = "after the last round (re-aligned head)"
    histogram.hist(similarities["after"], bins=50, alpha=0.6, label=after, density=True)
    histogram.set(xlabel="cos(predicted future, target embedding)", ylabel="density")
    histogram.legend()
    rounds = round_scores[round_scores["round"] > 0]
    binding.plot(rounds["round"], rounds["tau"], "o-", color="tab:grey", label="τ")
    binding.set(xlabel="round", ylabel="τ (cosine)")
    binding.xaxis.set_major_locator(MaxNLocator(integer=True))
    share = binding.twinx()
    share.plot(rounds["round"], rounds["above_tau_share"], "s-", color="tab:red")
    share.set(ylabel="share of positions above τ (mean over the round's steps)", ylim=(0, 1.05))
    share.yaxis.label.set_color("tab:red")
    binding.legend(loc="lower left")
    return figure
