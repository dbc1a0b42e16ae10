"""Align-then-Unlearn's two inner loops (arXiv 2506.13181, §3): align the head to the frozen LLM,
unlearn the LLM against the frozen head; and the concept similarities the hinge pushes down."""

import torch
from torch import nn

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import hidden_states_at
from atu_pipeline.core.losses import (
    alignment_loss,
    concept_similarity,
    masked_mean,
    unlearning_hinge_loss,
)
from atu_pipeline.core.training import (
    DeviceCorpus,
    LrAt,
    OnStep,
    OptimSpec,
    RetainTerm,
    as_floats,
    autocast,
    corpus_hidden_states,
    follow_lr_course,
    sample_rows,
    update,
)
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet


def align_head(
    model: nn.Module,
    head: EmbeddingHead,
    windows: WindowSet,
    *,
    layer: int,
    steps: int,
    optim: OptimSpec,
    generator: torch.Generator,
    precision: str = "fp32",
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """One alignment stage: hidden states of the frozen LLM computed once, a fresh optimizer for
    the head (the reference re-creates Adam at every stage), then `steps` updates."""
    if steps == 0:
        return []
    head.requires_grad_(True)
    hidden = corpus_hidden_states(model, windows.corpus, layer, optim.batch_size)
    history = train_head(
        head,
        hidden,
        windows,
        steps=steps,
        optimizer=optim.build(head.parameters()),
        batch_size=optim.batch_size,
        grad_clip=optim.grad_clip,
        generator=generator,
        precision=precision,
        on_step=on_step,
    )
    head.requires_grad_(False)
    return history


def train_head(
    head: EmbeddingHead,
    hidden: torch.Tensor,
    windows: WindowSet,
    *,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    precision: str = "fp32",
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Fit the head to predict future-window embeddings from hidden states (N, T, H)."""
    device = next(head.parameters()).device
    head.train()
    history = []
    for step in range(steps):
        rows = sample_rows(len(hidden), batch_size, generator)
        target, valid = windows.targets(rows)
        length = int(windows.corpus.attention_mask[rows].sum(dim=1).max())
        with autocast(device, precision):
            predicted = head(hidden[rows, :length].to(device))
        # fp32 from here: a cosine in bf16 (8 bits of mantissa) is off by ~1e-2
        loss = alignment_loss(
            predicted.float(), target[:, :length].to(device), valid[:, :length].to(device)
        )
        update(loss, optimizer, head.parameters(), grad_clip)
        history.append({"align_loss": loss.detach(), "align_cos": 1.0 - loss.detach()})
        if on_step:
            on_step(step, history[-1])
    head.eval()
    return as_floats(history)


def unlearn_steps(
    model: nn.Module,
    head: EmbeddingHead,
    corpus: TokenizedCorpus,
    concept: torch.Tensor,
    *,
    layer: int,
    tau: float,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    precision: str = "fp32",
    retain: RetainTerm | None = None,
    lr_at: LrAt = None,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Move the LLM so that no predicted future lies within cosine τ of the concept (head frozen),
    plus `retain`'s regulariser when given (beyond the paper).

    Records per step: the hinge loss, the mean concept similarity and the share of positions
    above τ (the positions the hinge acts on), and the retain term.
    """
    device = next(model.parameters()).device
    head.eval().requires_grad_(False)
    model.train()
    concept = concept.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    batches = DeviceCorpus(corpus, device)
    history = []
    for step in range(steps):
        _, ids, mask = batches.batch(batch_size, generator)
        with autocast(device, precision):
            predicted = head(hidden_states_at(model, ids, mask, layer)).float()
        # fp32 from here: cos − τ with τ as close to 0 as −0.05 must not drown in bf16 rounding
        hinge = unlearning_hinge_loss(predicted, concept, mask, tau)
        record = {"unlearn_loss": hinge.detach()}
        loss = hinge
        if retain is not None:
            with autocast(device, precision):
                record["retain_loss"] = retain.loss(model, generator)
            loss = hinge + retain.weight * record["retain_loss"]
            record["retain_loss"] = record["retain_loss"].detach()
        follow_lr_course(optimizer, lr_at, step, record)  # UnlearnTrainParams.lr_schedule
        update(loss, optimizer, trainable, grad_clip)
        with torch.no_grad():  # masked means: no boolean indexing, which would wait on the device
            similarity = concept_similarity(predicted, concept)
            record["concept_cos_mean"] = masked_mean(similarity, mask)
            record["above_tau_share"] = masked_mean((similarity > tau).float(), mask)
        history.append(record)
        if on_step:
            on_step(step, record)
    model.eval()
    return as_floats(history)


@torch.no_grad()
def concept_similarities(
    model: nn.Module,
    head: EmbeddingHead,
    corpus: TokenizedCorpus,
    concept: torch.Tensor,
    *,
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
