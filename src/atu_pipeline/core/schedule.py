"""Rounds: ATU's falling τ margin or plain stages for the token-level baselines, when to stop
early, and which round to keep."""

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Round:
    index: int  # 1-based
    tau: float | None  # None for methods without a margin (GA, NPO)
    unlearn_steps: int
    realign_steps: int


def build_rounds(taus: list[float], unlearn_steps: int, realign_steps: int) -> list[Round]:
    """One round per τ: unlearn with the head frozen, then re-align the head to the changed LLM."""
    if not taus:
        raise ValueError("the τ schedule is empty")
    bad = [tau for tau in taus if not -1.0 < tau < 1.0]
    if bad:
        raise ValueError(f"τ must lie in (-1, 1): cosine similarities cannot cross {bad}")
    return [Round(i + 1, tau, unlearn_steps, realign_steps) for i, tau in enumerate(taus)]


def build_stages(rounds: int, unlearn_steps: int) -> list[Round]:
    """`rounds` equal stages of unlearning steps, each followed by an evaluation."""
    if rounds < 1:
        raise ValueError(f"at least one round is needed, got {rounds}")
    return [Round(i + 1, None, unlearn_steps, 0) for i in range(rounds)]


def tau_schedule(start: float, floor: float, rounds: int) -> list[float]:
    """`rounds` values falling evenly from `start` to `floor` (a sweep's τ floor), rounded."""
    if rounds == 1:
        return [floor]
    step = (floor - start) / (rounds - 1)
    return [round(start + i * step, 6) for i in range(rounds)]


# Decisions (the kept round, early stop) read the validation probes only; the test probes are
# scored in every round too, for plots and reports, but never read here.
FORGET, NEIGHBOR = "val/forget/all", "val/neighbor/all"


def choose_round(
    history: list[dict], baseline: dict[str, float], rule: str, neighbor_floor: float
) -> int:
    """Index of the round to keep: the last one, or the lowest validation forget score among the
    rounds whose validation neighbor score keeps at least `neighbor_floor` of the baseline's.
    The model before unlearning (0) competes too: a round that forgets less than it on
    validation is never kept, and 0 also wins ties and stands when no round qualifies."""
    if rule == "last":
        return history[-1]["round"]
    floor = neighbor_floor * baseline[NEIGHBOR]
    before = {"round": 0, FORGET: baseline[FORGET], NEIGHBOR: baseline[NEIGHBOR]}
    eligible = [before] + [row for row in history if row[NEIGHBOR] >= floor]
    return min(eligible, key=lambda row: (row[FORGET], -row[NEIGHBOR]))["round"]


def reached_early_stop(
    row: dict,
    baseline: dict[str, float],
    *,
    forget_at: float | None,
    neighbor_share_at: float | None,
) -> bool:
    """Whether a round ends the run: its validation forget score is at or below `forget_at`
    (the target is forgotten), or its validation neighbor score is at or below
    `neighbor_share_at` × before (the model has collapsed: no later round of any recorded run
    came back to the keep rule's neighbor floor, so the rounds left would only cost time)."""
    if forget_at is not None and row.get(FORGET, 100.0) <= forget_at:
        return True
    before = baseline.get(NEIGHBOR, 0.0)
    if neighbor_share_at is None or NEIGHBOR not in row or before <= 0:
        return False  # a model that knew no neighbor cannot collapse on them
    return row[NEIGHBOR] <= neighbor_share_at * before


def quantile_tau(similarities: torch.Tensor, quantile: float) -> float:
    """The τ that leaves the top `1 − quantile` share of positions above it: the `quantile`
    of the current concept similarities (P,). Whatever the encoder's similarity scale, the hinge
    then acts on that share of positions."""
    if not 0.0 < quantile < 1.0:
        raise ValueError(f"a τ quantile must lie in (0, 1), got {quantile}")
    return float(torch.quantile(similarities.float(), quantile))
