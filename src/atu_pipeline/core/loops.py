"""Training loops: plain for-loops that call `on_step(step, metrics)` and return a history."""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import hidden_states_at
from atu_pipeline.core.losses import alignment_loss, concept_similarity, unlearning_hinge_loss
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet

OnStep = Callable[[int, dict[str, float]], None] | None
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


def autocast(device: torch.device):
    """bf16 autocast on CUDA (the reference runs fp32 with TF32 matmuls); a no-op on CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def make_optimizer(params, name: str, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    trainable = [p for p in params if p.requires_grad]
    if not trainable:
        raise ValueError("no trainable parameters: check the trainable-layer settings")
    return OPTIMIZERS[name](trainable, lr=lr, weight_decay=weight_decay)


def update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, params, grad_clip: float) -> None:
    """One optimizer step on `loss`, the gradient of `params` clipped to norm `grad_clip`."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()


def sample_rows(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n, (min(batch_size, n),), generator=generator)


def trim(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop columns that are padding in every row (right padding), so short batches cost less."""
    length = int(mask.sum(dim=1).max())
    return ids[:, :length], mask[:, :length]


@torch.no_grad()
def corpus_hidden_states(
    model: nn.Module, corpus: TokenizedCorpus, layer: int, batch_size: int, on_batch=None
) -> torch.Tensor:
    """Hidden states at `layer` for the whole corpus, on CPU: (N, T, H).

    The LLM is frozen during an alignment stage, so one pass serves every step of the stage.
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = []
    for start in range(0, len(corpus.input_ids), batch_size):
        ids = corpus.input_ids[start : start + batch_size].to(device)
        mask = corpus.attention_mask[start : start + batch_size].to(device)
        chunks.append(hidden_states_at(model, ids, mask, layer).float().cpu())
        if on_batch:
            on_batch(len(ids))
    model.train(was_training)
    return torch.cat(chunks)


def train_head(
    head: EmbeddingHead,
    hidden: torch.Tensor,
    windows: WindowSet,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Alignment: fit the head to predict future-window embeddings from frozen hidden states."""
    device = next(head.parameters()).device
    head.train()
    history = []
    for step in range(steps):
        rows = sample_rows(len(hidden), batch_size, generator)
        target, valid = windows.targets(rows)
        length = int(windows.corpus.attention_mask[rows].sum(dim=1).max())
        with autocast(device):
            predicted = head(hidden[rows, :length].to(device))
            loss = alignment_loss(
                predicted, target[:, :length].to(device), valid[:, :length].to(device)
            )
        update(loss, optimizer, head.parameters(), grad_clip)
        record = {"align_loss": loss.item(), "align_cos": 1.0 - loss.item()}
        history.append(record)
        if on_step:
            on_step(step, record)
    head.eval()
    return history


def unlearn_steps(
    model: nn.Module,
    head: EmbeddingHead,
    corpus: TokenizedCorpus,
    concept: torch.Tensor,
    layer: int,
    tau: float,
    steps: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Unlearning: move the LLM so that no predicted future is within τ of the concept."""
    device = next(model.parameters()).device
    head.eval().requires_grad_(False)
    model.train()
    concept = concept.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    history = []
    for step in range(steps):
        rows = sample_rows(len(corpus.input_ids), batch_size, generator)
        ids, mask = trim(corpus.input_ids[rows], corpus.attention_mask[rows])
        ids, mask = ids.to(device), mask.to(device)
        with autocast(device):
            predicted = head(hidden_states_at(model, ids, mask, layer))
            loss = unlearning_hinge_loss(predicted, concept, mask, tau)
        update(loss, optimizer, trainable, grad_clip)
        with torch.no_grad():
            similarity = concept_similarity(predicted.float(), concept)[mask.bool()]
        record = {
            "unlearn_loss": loss.item(),
            "concept_cos_mean": similarity.mean().item(),
            "above_tau_share": (similarity > tau).float().mean().item(),
        }
        history.append(record)
        if on_step:
            on_step(step, record)
    model.eval()
    return history


def supervised_logits(
    model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Next-token logits (K, V) and gold ids (K,) at the K supervised positions only.

    Position t predicts token t+1 (shifted once; the reference shifts twice). The vocabulary
    projection is the costliest matmul of a small LM and most prompt tokens carry no label,
    so it runs on the supervised positions alone.
    """
    hidden = model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state
    keep = labels[:, 1:] != -100  # (B, T-1)
    return model.get_output_embeddings()(hidden[:, :-1][keep]), labels[:, 1:][keep]


def finetune_lm(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Causal-LM fine-tuning; labels are -100 where no loss is wanted (prompt, padding)."""
    device = next(model.parameters()).device
    model.train()
    history, step = [], 0
    for _ in range(epochs):
        order = torch.randperm(len(input_ids), generator=generator)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = trim(input_ids[rows], attention_mask[rows])
            gold = labels[rows, : ids.shape[1]]
            with autocast(device):
                logits, gold = supervised_logits(
                    model, ids.to(device), mask.to(device), gold.to(device)
                )
            loss = F.cross_entropy(logits.float(), gold)
            update(loss, optimizer, [p for p in model.parameters() if p.requires_grad], grad_clip)
            record = {"lm_loss": loss.item()}
            history.append(record)
            if on_step:
                on_step(step, record)
            step += 1
    model.eval()
    return history
