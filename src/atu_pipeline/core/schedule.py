"""Round schedules: ATU's falling τ margin, or plain stages for the token-level baselines."""

from dataclasses import dataclass


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
