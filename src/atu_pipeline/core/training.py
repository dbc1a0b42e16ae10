"""What every training loop shares: optimizers, one update step, batch sampling, autocast, the
frozen model's hidden states, and causal-LM fine-tuning. Loops are plain for-loops that call
`on_step(step, record)` and return a history of records."""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from atu_pipeline.core.llm import hidden_states_at
from atu_pipeline.core.windows import TokenizedCorpus

OnStep = Callable[[int, dict[str, float]], None] | None
OPTIMIZERS = {"adamw": torch.optim.AdamW, "adam": torch.optim.Adam, "sgd": torch.optim.SGD}


@dataclass(frozen=True)
class OptimSpec:
    """An optimizer and its batching, as plain values (configuration objects stay out of core)."""

    name: str
    lr: float
    weight_decay: float
    batch_size: int
    grad_clip: float

    def build(self, params) -> torch.optim.Optimizer:
        return make_optimizer(params, self.name, self.lr, self.weight_decay)


PRECISIONS = ("fp32", "bf16")


def resolve_precision(precision: str, device: torch.device) -> str:
    """`auto`: bf16 on CUDA, fp32 on CPU (the same numbers on every CPU); else as given."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be auto, fp32 or bf16; got {precision!r}")
    return precision


def autocast(device: torch.device, precision: str):
    """bf16 autocast for "bf16" (CUDA, or a CPU that runs bf16 natively: AVX512-BF16, AMX);
    nothing for "fp32". Callers compute their losses from `.float()` outputs."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


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


def means(records: list[dict[str, float]]) -> dict[str, float]:
    """The mean of every key over a history of step records ({} for an empty history)."""
    keys = records[0].keys() if records else []
    return {key: sum(r[key] for r in records) / len(records) for key in keys}


@torch.no_grad()
def corpus_hidden_states(
    model: nn.Module, corpus: TokenizedCorpus, layer: int, batch_size: int
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
    model.train(was_training)
    return torch.cat(chunks)


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
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    generator: torch.Generator,
    precision: str = "fp32",
    on_step: OnStep = None,
) -> list[dict[str, float]]:
    """Causal-LM fine-tuning; labels are -100 where no loss is wanted (prompt, padding)."""
    device = next(model.parameters()).device
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.train()
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(input_ids), generator=generator)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            ids, mask = trim(input_ids[rows], attention_mask[rows])
            gold = labels[rows, : ids.shape[1]]
            with autocast(device, precision):
                logits, gold = supervised_logits(
                    model, ids.to(device), mask.to(device), gold.to(device)
                )
            loss = F.cross_entropy(logits.float(), gold)
            update(loss, optimizer, trainable, grad_clip)
            history.append({"lm_loss": loss.item()})
            if on_step:
                on_step(len(history) - 1, history[-1])
    model.eval()
    return history
