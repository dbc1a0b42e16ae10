"""Align-then-Unlearn: alignment stages, concept similarities and one ATU round."""

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
from atu_pipeline.core.rounds import means, tagged
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


def atu_round_trainer(
    model: nn.Module,
    head: EmbeddingHead,
    align_windows: WindowSet,
    forget_corpus: TokenizedCorpus,
    concept: torch.Tensor,
    layer: int,
    llm_optimizer: torch.optim.Optimizer,
    head_optim: OptimSpec,
    llm_optim: OptimSpec,
    generator: torch.Generator,
    on_step: Callable[[str, int, dict[str, float]], None] | None = None,
) -> Callable[[Round], dict[str, float]]:
    """One ATU round for `run_rounds`: unlearn the LLM against the frozen head at the round's τ,
    then re-align the head to the changed LLM. Returns the mean unlearning losses and the last
    alignment step's."""

    def train_round(round_: Round) -> dict[str, float]:
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
            tagged(on_step, f"round_{round_.index}/unlearn"),
        )
        realigned = align(
            model,
            head,
            align_windows,
            layer,
            round_.realign_steps,
            head_optim,
            generator,
            tagged(on_step, f"round_{round_.index}/align"),
        )
        return {**means(unlearned), **(realigned[-1] if realigned else {})}

    return train_round
