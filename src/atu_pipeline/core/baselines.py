"""Token-level baselines on the forget corpus: gradient ascent (GA) and NPO, as RWKU defines them.

Both score the corpus with the causal-LM loss: position t predicts token t+1 (labels shifted
once), padding never counts. GA ascends the token-mean loss; NPO pushes each sequence's summed
NLL above a frozen reference model's (`losses.npo_loss`). The reference NLLs are computed once,
before the first step, so no second model stays in memory.
"""

import torch
import torch.nn.functional as F
from torch import nn

from atu_pipeline.core.losses import ga_loss, npo_loss
from atu_pipeline.core.training import (
    DeviceCorpus,
    LrAt,
    OnStep,
    RetainTerm,
    as_floats,
    autocast,
    follow_lr_course,
    supervised_logits,
    trim,
    update,
)
from atu_pipeline.core.windows import TokenizedCorpus

METHODS = ("ga", "npo")


def sequence_nll(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed NLL (B,) of every real next token of each row, and the token counts (B,)."""
    labels = ids.masked_fill(mask == 0, -100)
    logits, gold = supervised_logits(model, ids, mask, labels)
    token_nll = F.cross_entropy(logits.float(), gold, reduction="none")
    rows = (labels[:, 1:] != -100).nonzero()[:, 0]
    zeros = torch.zeros(len(ids), device=token_nll.device)
    return zeros.index_add(0, rows, token_nll), zeros.index_add(0, rows, torch.ones_like(token_nll))


@torch.no_grad()
def corpus_sequence_nll(
    model: nn.Module, corpus: TokenizedCorpus, batch_size: int, precision: str = "fp32"
) -> torch.Tensor:
    """Summed NLL (N,) of every corpus row under `model` as it is now (NPO's reference)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    values = []
    for start in range(0, len(corpus.input_ids), batch_size):
        ids, mask = trim(
            corpus.input_ids[start : start + batch_size],
            corpus.attention_mask[start : start + batch_size],
        )
        with autocast(device, precision):
            nll, _ = sequence_nll(model, ids.to(device), mask.to(device))
        values.append(nll.float().cpu())
    model.train(was_training)
    return torch.cat(values)


def token_unlearn_steps(
    model: nn.Module,
    corpus: TokenizedCorpus,
    *,
    method: str,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    reference_nll: torch.Tensor | None = None,
    beta: float = 0.1,
    precision: str = "fp32",
    retain: RetainTerm | None = None,
    lr_at: LrAt = None,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """`steps` GA or NPO updates on batches drawn from the corpus (as ATU draws them), plus
    `retain`'s regulariser when given (RWKU's GA+GD, NPO+KL, ...)."""
    if method not in METHODS:
        raise ValueError(f"unknown token-level method {method!r}; expected one of {METHODS}")
    if method == "npo" and reference_nll is None:
        raise ValueError("NPO needs the reference model's NLL of every corpus row")
    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.train()
    history = []
    batches = DeviceCorpus(corpus, device)
    for step in range(steps):
        rows, ids, mask = batches.batch(batch_size, generator)
        with autocast(device, precision):
            nll, tokens = sequence_nll(model, ids, mask)
        # sequence_nll's cross-entropy and NPO's log-sigmoid run in fp32 (.float() on the logits)
        if method == "ga":
            loss = ga_loss(nll, tokens)
        else:
            loss = npo_loss(nll, reference_nll[rows].to(device), beta)
        # the forget NLL per token is the one before this update
        record = {"unlearn_loss": loss.detach(), "forget_nll": (nll.sum() / tokens.sum()).detach()}
        if retain is not None:
            with autocast(device, precision):
                retained = retain.loss(model, generator)
            loss = loss + retain.weight * retained
            record["retain_loss"] = retained.detach()
        follow_lr_course(optimizer, lr_at, step, record)  # UnlearnTrainParams.lr_schedule
        update(loss, optimizer, trainable, grad_clip)
        history.append(record)
        if on_step:
            on_step(step, history[-1])
    model.eval()
    return as_floats(history)
