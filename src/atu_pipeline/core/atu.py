"""Align-then-Unlearn rounds: unlearn the LLM against a frozen head, re-align the head, evaluate."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.loops import (
    OnStep,
    corpus_hidden_states,
    make_optimizer,
    train_head,
    unlearn_steps,
)
from atu_pipeline.core.losses import concept_similarity
from atu_pipeline.core.schedule import Round
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet


@dataclass(frozen=True)
class OptimSpec:
    name: str
    lr: float
    weight_decay: float
    batch_size: int
    grad_clip: float

    def build(self, params) -> torch.optim.Optimizer:
        return make_optimizer(params, self.name, self.lr, self.weight_decay)


def align(
    model: nn.Module,
    head: EmbeddingHead,
    windows: WindowSet,
    layer: int,
    steps: int,
    optim: OptimSpec,
    generator: torch.Generator,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """One alignment stage: a fresh Adam for the head, hidden states computed once, then steps."""
    if steps == 0:
        return []
    head.requires_grad_(True)
    hidden = corpus_hidden_states(model, windows.corpus, layer, optim.batch_size)
    optimizer = optim.build(head.parameters())
    history = train_head(
        head,
        hidden,
        windows,
        steps,
        optimizer,
        optim.batch_size,
        optim.grad_clip,
        generator,
        on_step,
    )
    head.requires_grad_(False)
    return history


@torch.no_grad()
def concept_similarities(
    model: nn.Module,
    head: EmbeddingHead,
    corpus: TokenizedCorpus,
    concept: torch.Tensor,
    layer: int,
    batch_size: int,
) -> torch.Tensor:
    """cos(ê_t, e_target) at every real position of the corpus: (P,). What the hinge pushes down."""
    hidden = corpus_hidden_states(model, corpus, layer, batch_size)
    device = next(head.parameters()).device
    head.eval()
    values = []
    for start in range(0, len(hidden), batch_size):
        predicted = head(hidden[start : start + batch_size].to(device)).float()
        mask = corpus.attention_mask[start : start + batch_size].bool()
        values.append(concept_similarity(predicted, concept.to(device)).cpu()[mask])
    return torch.cat(values)


@dataclass
class RoundsResult:
    history: list[dict]  # one row per round: round, tau, evaluation metrics, mean losses
    stopped_early: bool


def run_rounds(
    model: nn.Module,
    head: EmbeddingHead,
    align_windows: WindowSet,
    forget_corpus: TokenizedCorpus,
    concept: torch.Tensor,
    rounds: list[Round],
    layer: int,
    llm_optimizer: torch.optim.Optimizer,
    head_optim: OptimSpec,
    llm_optim: OptimSpec,
    generator: torch.Generator,
    evaluate: Callable[[], dict[str, float]],
    after_round: Callable[[Round, list[dict]], None],
    history: list[dict] | None = None,
    early_stop_forget: float | None = None,
    on_step: Callable[[str, int, dict[str, float]], None] | None = None,
) -> RoundsResult:
    """Run the rounds not yet in `history` (a resumed run passes the checkpoint's history)."""
    history = list(history or [])
    if history and _reached(history[-1], early_stop_forget):
        return RoundsResult(history, stopped_early=True)  # a finished run, resumed: nothing to do
    done = {row["round"] for row in history}
    for round_ in rounds:
        if round_.index in done:
            continue
        unlearned = unlearn_steps(
            model,
            head,
            forget_corpus,
            concept,
            layer,
            round_.tau,
            round_.unlearn_steps,
            llm_optimizer,
            llm_optim.batch_size,
            llm_optim.grad_clip,
            generator,
            _tagged(on_step, f"round_{round_.index}/unlearn"),
        )
        realigned = align(
            model,
            head,
            align_windows,
            layer,
            round_.realign_steps,
            head_optim,
            generator,
            _tagged(on_step, f"round_{round_.index}/align"),
        )
        row = {"round": round_.index, "tau": round_.tau, **_means(unlearned), **_last(realigned)}
        row.update(evaluate())
        history.append(row)
        after_round(round_, history)
        if _reached(row, early_stop_forget):
            return RoundsResult(history, stopped_early=True)
    return RoundsResult(history, stopped_early=False)


def _reached(row: dict, early_stop_forget: float | None) -> bool:
    return early_stop_forget is not None and row.get("forget/all", 100.0) <= early_stop_forget


def _tagged(on_step, tag: str):
    return (lambda step, record: on_step(tag, step, record)) if on_step else None


def _means(records: list[dict[str, float]]) -> dict[str, float]:
    keys = records[0].keys() if records else []
    return {key: sum(r[key] for r in records) / len(records) for key in keys}


def _last(records: list[dict[str, float]]) -> dict[str, float]:
    return dict(records[-1]) if records else {}


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
