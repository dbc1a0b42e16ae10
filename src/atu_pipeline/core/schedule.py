"""The τ schedule: a falling margin, one unlearning round per value."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Round:
    index: int  # 1-based
    tau: float
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
