"""Token-level baselines on the forget corpus: gradient ascent (GA) and NPO, as RWKU defines them.

Both score the corpus with the causal-LM loss: position t predicts token t+1 (labels shifted
once), padding never counts. GA ascends the token-mean loss; NPO (Zhang et al. 2024) pushes each
sequence's summed NLL above a frozen reference model's, with a loss that saturates:
    L_NPO = −(2/β) · mean_batch log σ(β · (NLL_θ(y) − NLL_ref(y))).
The reference NLLs are computed once, before the first step, so no second model stays in memory.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from atu_pipeline.core.loops import (
    OnStep,
    autocast,
    sample_rows,
    supervised_logits,
    trim,
    update,
)
from atu_pipeline.core.rounds import means, tagged
from atu_pipeline.core.schedule import Round
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
def corpus_sequence_nll(model: nn.Module, corpus: TokenizedCorpus, batch_size: int) -> torch.Tensor:
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
        with autocast(device):
            nll, _ = sequence_nll(model, ids.to(device), mask.to(device))
        values.append(nll.float().cpu())
    model.train(was_training)
    return torch.cat(values)


def ga_loss(nll: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Gradient ascent: the negated token-mean NLL of the batch."""
    return -nll.sum() / tokens.sum().clamp(min=1.0)


def npo_loss(nll: torch.Tensor, reference_nll: torch.Tensor, beta: float) -> torch.Tensor:
    """NPO on per-sequence summed NLLs; (2/β)·log 2 where the model still equals the reference."""
    return -(2.0 / beta) * F.logsigmoid(beta * (nll - reference_nll)).mean()


def token_unlearn_steps(
    model: nn.Module,
    corpus: TokenizedCorpus,
    method: str,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    reference_nll: torch.Tensor | None = None,
    beta: float = 0.1,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """`steps` GA or NPO updates on batches drawn from the corpus (as ATU draws them)."""
    if method not in METHODS:
        raise ValueError(f"unknown token-level method {method!r}; expected one of {METHODS}")
    if method == "npo" and reference_nll is None:
        raise ValueError("NPO needs the reference model's NLL of every corpus row")
    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.train()
    history = []
    for step in range(steps):
        rows = sample_rows(len(corpus.input_ids), batch_size, generator)
        ids, mask = trim(corpus.input_ids[rows], corpus.attention_mask[rows])
        with autocast(device):
            nll, tokens = sequence_nll(model, ids.to(device), mask.to(device))
        if method == "ga":
            loss = ga_loss(nll, tokens)
        else:
            loss = npo_loss(nll, reference_nll[rows].to(device), beta)
        update(loss, optimizer, trainable, grad_clip)
        record = {
            "unlearn_loss": loss.item(),
            "forget_nll": (nll.sum() / tokens.sum()).item(),  # per token, before this update
        }
        history.append(record)
        if on_step:
            on_step(step, record)
    model.eval()
    return history


def token_round_trainer(
    model: nn.Module,
    corpus: TokenizedCorpus,
    method: str,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    reference_nll: torch.Tensor | None = None,
    beta: float = 0.1,
    on_step: Callable[[str, int, dict[str, float]], None] | None = None,
) -> Callable[[Round], dict[str, float]]:
    """One GA / NPO round for `run_rounds`: its steps, then their mean losses."""

    def train_round(round_: Round) -> dict[str, float]:
        history = token_unlearn_steps(
            model,
            corpus,
            method,
            round_.unlearn_steps,
            optimizer,
            batch_size,
            grad_clip,
            generator,
            reference_nll,
            beta,
            tagged(on_step, f"round_{round_.index}/unlearn"),
        )
        return means(history)

    return train_round
