"""What every training loop shares: optimizers, one update step, batch sampling, autocast, the
frozen model's hidden states, and causal-LM fine-tuning. Loops are plain for-loops that call
`on_step(step, record)` and return a history of records."""

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from atu_pipeline.core.llm import hidden_states_at
from atu_pipeline.core.losses import kl_to_reference
from atu_pipeline.core.windows import TokenizedCorpus

log = logging.getLogger(__name__)
OnStep = Callable[[int, dict[str, float]], None] | None
LrAt = Callable[[int], float] | None  # a round's learning rate by step (None: the optimizer's)
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
    """`auto`: bf16 on CUDA, fp32 on CPU (the same numbers on every CPU). `bf16` on a CPU that
    would emulate it runs fp32, with a warning: emulated, an injection step took 130 s against
    7 s in fp32 on an AVX2 CPU (docs/benchmarks.md, "Injection"), so one conf serves both."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be auto, fp32 or bf16; got {precision!r}")
    if precision == "bf16" and device.type == "cpu" and not cpu_runs_bf16_natively():
        log.warning(
            "precision bf16 asked on a CPU without AVX512-BF16 or AMX, where bf16 is emulated "
            "(about 20x slower): running fp32 instead; results differ from a bf16 run"
        )
        return "fp32"
    return precision


@functools.cache
def cpu_runs_bf16_natively(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU has bf16 arithmetic (x86 AVX512-BF16 or AMX, read from Linux's cpuinfo;
    elsewhere assumed not)."""
    try:
        flags = set(cpuinfo.read_text().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


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


def round_lr(schedule: str, lr: float, step: int, steps: int) -> float:
    """The learning rate of update `step` (0-based) of a round of `steps`: `lr` throughout
    (constant), or falling from `lr` towards 0, linearly (lr × (1 − step / steps)) or along half a
    cosine (lr × (1 + cos(π step / steps)) / 2). The last update keeps a little of `lr`."""
    if schedule == "constant":
        return lr
    progress = step / steps
    if schedule == "linear":
        return lr * (1.0 - progress)
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown learning-rate schedule {schedule!r}: constant, linear or cosine")


def follow_lr_course(
    optimizer: torch.optim.Optimizer, lr_at: LrAt, step: int, record: dict
) -> None:
    """Set this step's learning rate from the round's course and record it (None: no course)."""
    if lr_at is None:
        return
    lr = lr_at(step)
    for group in optimizer.param_groups:
        group["lr"] = lr
    record["lr"] = torch.tensor(lr)


def sample_rows(n: int, batch_size: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randint(0, n, (min(batch_size, n),), generator=generator)


def trim(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop columns that are padding in every row (right padding), so short batches cost less."""
    length = int(mask.sum(dim=1).max())
    return ids[:, :length], mask[:, :length]


class DeviceCorpus:
    """A tokenized corpus moved to the device once; batches are drawn with the CPU generator and
    cut to their longest row from the CPU copy of the mask, so a step never waits on the device
    to learn a shape."""

    def __init__(self, corpus: TokenizedCorpus, device: torch.device):
        self.lengths = corpus.attention_mask.sum(dim=1)  # (N,) on the CPU
        self.ids = corpus.input_ids.to(device)
        self.mask = corpus.attention_mask.to(device)

    def batch(
        self, batch_size: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(rows (B,) on the CPU, ids (B, T), mask (B, T) on the device), T the longest row."""
        rows = sample_rows(len(self.lengths), batch_size, generator)
        length = int(self.lengths[rows].max())
        on_device = rows.to(self.ids.device, non_blocking=True)
        return rows, self.ids[on_device, :length], self.mask[on_device, :length]


def as_floats(history: list[dict[str, torch.Tensor]]) -> list[dict[str, float]]:
    """A loop's per-step records (0-d tensors, kept on the device during the loop so that no
    step waits for a copy) as floats, one transfer per key."""
    if not history:
        return []
    columns = {k: torch.stack([r[k] for r in history]).float().tolist() for k in history[0]}
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


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
            history.append({"lm_loss": loss.detach()})
            if on_step:
                on_step(len(history) - 1, history[-1])
    model.eval()
    return as_floats(history)


@dataclass(frozen=True)
class RetainTerm:
    """A retain regulariser added to an unlearning loss (RWKU's and OpenUnlearning's GD and KL):
    `weight` × the language-model loss on retain text ("gd"), or × KL(reference ‖ model) on it
    ("kl", the reference being the frozen model before unlearning)."""

    kind: str  # gd | kl
    weight: float
    corpus: TokenizedCorpus  # the retain texts (other targets' corpora)
    batch_size: int
    reference: nn.Module | None = None  # for kl

    def loss(self, model: nn.Module, generator: torch.Generator) -> torch.Tensor:
        """The term on one batch drawn from the retain corpus (unweighted)."""
        device = next(model.parameters()).device
        rows = sample_rows(len(self.corpus.input_ids), self.batch_size, generator)
        ids, mask = trim(self.corpus.input_ids[rows], self.corpus.attention_mask[rows])
        ids, mask = ids.to(device), mask.to(device)
        labels = ids.masked_fill(mask == 0, -100)
        logits, gold = supervised_logits(model, ids, mask, labels)
        if self.kind == "gd":
            return F.cross_entropy(logits.float(), gold)
        with torch.no_grad():
            reference, _ = supervised_logits(self.reference, ids, mask, labels)
        return kl_to_reference(logits.float().log_softmax(-1), reference.float().log_softmax(-1))
