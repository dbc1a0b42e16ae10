"""Rounds of any unlearning method: train, evaluate, checkpoint, stop early, keep the best round.

A method is a `train_round(round) -> dict` callable (ATU: unlearn against the frozen head, then
re-align it; GA / NPO: token-level steps). Everything around it is shared, so the methods are
compared under the same evaluation, early stop and keep rule.
"""

from collections.abc import Callable
from dataclasses import dataclass

from atu_pipeline.core.schedule import Round


@dataclass
class RoundsResult:
    history: list[dict]  # one row per round: round, tau, evaluation metrics, mean losses
    stopped_early: bool


def run_rounds(
    rounds: list[Round],
    train_round: Callable[[Round], dict[str, float]],
    evaluate: Callable[[], dict[str, float]],
    after_round: Callable[[Round, list[dict]], None],
    history: list[dict] | None = None,
    early_stop_forget: float | None = None,
) -> RoundsResult:
    """Run the rounds not yet in `history` (a resumed run passes the checkpoint's history)."""
    history = list(history or [])
    if history and _reached(history[-1], early_stop_forget):
        return RoundsResult(history, stopped_early=True)  # a finished run, resumed: nothing to do
    done = {row["round"] for row in history}
    for round_ in rounds:
        if round_.index in done:
            continue
        row = {"round": round_.index, "tau": round_.tau, **train_round(round_)}
        row.update(evaluate())
        history.append(row)
        after_round(round_, history)
        if _reached(row, early_stop_forget):
            return RoundsResult(history, stopped_early=True)
    return RoundsResult(history, stopped_early=False)


def _reached(row: dict, early_stop_forget: float | None) -> bool:
    return early_stop_forget is not None and row.get("forget/all", 100.0) <= early_stop_forget


def choose_round(
    history: list[dict], baseline: dict[str, float], rule: str, neighbor_floor: float
) -> int:
    """Index of the round to keep: the last one, or the lowest forget score among the rounds
    whose neighbor score keeps at least `neighbor_floor` of the baseline's (0 = none qualifies)."""
    if rule == "last":
        return history[-1]["round"]
    floor = neighbor_floor * baseline["neighbor/all"]
    eligible = [row for row in history if row["neighbor/all"] >= floor]
    if not eligible:
        return 0
    return min(eligible, key=lambda row: (row["forget/all"], -row["neighbor/all"]))["round"]


def means(records: list[dict[str, float]]) -> dict[str, float]:
    keys = records[0].keys() if records else []
    return {key: sum(r[key] for r in records) / len(records) for key in keys}


def tagged(on_step, tag: str):
    """A loop's `on_step(step, record)` that reports to `on_step(tag, step, record)`, or None."""
    return (lambda step, record: on_step(tag, step, record)) if on_step else None
