"""The LLM side of ATU: truncated forward to the hook layer, and the choice of trainable weights."""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CausalLM:
    """A Hugging Face causal LM with its tokenizer: they only make sense together."""

    model: nn.Module
    tokenizer: object

    @property
    def num_layers(self) -> int:
        return len(decoder_layers(self.model))

    @property
    def hidden_size(self) -> int:
        return self.model.config.hidden_size

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The stack of transformer blocks: the first ModuleList as long as config.num_hidden_layers.

    Works for Llama/Phi-3/Qwen (`model.layers`), GPT-2 (`transformer.h`) and peft wrappers.
    """
    n = model.config.num_hidden_layers
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == n:
            return module
    raise ValueError(f"cannot find the {n} decoder layers of {type(model).__name__}")


def check_layer(model: nn.Module, layer: int) -> None:
    n = len(decoder_layers(model))
    if not 1 <= layer <= n:
        raise ValueError(f"hook layer {layer} is outside the model: it has layers 1..{n}")


class _StopForward(Exception):
    def __init__(self, hidden: torch.Tensor):
        self.hidden = hidden


def hidden_states_at(
    model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, layer: int
) -> torch.Tensor:
    """Residual stream after decoder block `layer` (1-based, = HF `hidden_states[layer]`).

    The forward stops right there: blocks above the hook layer cannot receive gradient from a
    loss on this layer, so running them would be wasted compute. A hook that raises keeps the
    model object untouched (replacing its `layers` on a shallow copy would truncate the original).

    Returns: (B, T, H).
    """

    def stop(_module, _inputs, output):
        raise _StopForward(output[0] if isinstance(output, tuple) else output)

    handle = decoder_layers(model)[layer - 1].register_forward_hook(stop)
    try:
        model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
    except _StopForward as stopped:
        return stopped.hidden
    finally:
        handle.remove()
    raise RuntimeError("the hook layer never ran")


def set_trainable(
    model: nn.Module,
    mode: str,
    *,
    hook_layer: int,
    first_layer: int = 0,
    last_layer: int | None = None,
    lora_rank: int = 8,
    lora_alpha: float = 16.0,
    lora_targets: list[str] | None = None,
) -> nn.Module:
    """Freeze all but the chosen weights; returns the model to train (a peft wrapper for LoRA).

    Layers are 0-based block indices here, as in `model.layers[i]`; block i feeds
    `hidden_states[i + 1]`, so the hook layer L is fed by blocks 0..L-1.
    """
    model.requires_grad_(False)
    if mode == "lora":
        from peft import LoraConfig, get_peft_model

        last = hook_layer - 1 if last_layer is None else last_layer
        config = LoraConfig(
            r=lora_rank,
            lora_alpha=lora_alpha,
            target_modules=lora_targets or ["q_proj", "v_proj"],
            layers_to_transform=list(range(first_layer, last + 1)),
            lora_dropout=0.0,
        )
        return get_peft_model(model, config)
    if mode == "all":
        return model.requires_grad_(True)
    last = hook_layer - 1 if last_layer is None else last_layer
    blocks = decoder_layers(model)
    if not 0 <= first_layer <= last < len(blocks):
        raise ValueError(
            f"trainable layers {first_layer}..{last} are outside the model's 0..{len(blocks) - 1}"
        )
    for block in blocks[first_layer : last + 1]:
        block.requires_grad_(True)
    return model


def trainable_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The weights that training can change (what a round checkpoint must keep)."""
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


@torch.no_grad()
def restore_trainable(model: nn.Module, weights: Mapping[str, torch.Tensor]) -> None:
    """Copy saved trainable weights (from `trainable_state`) back into the model, in place."""
    params = dict(model.named_parameters())
    for name, value in weights.items():
        params[name].copy_(value)


def fingerprint(tensors: Mapping[str, torch.Tensor]) -> str:
    """A cheap identity of named tensors (a state dict, window embeddings): a few values and
    the sum of every tensor's bit patterns. Keys caches and checkpoints without hashing gigabytes.

    The sum is of integers, so it is exact in any order: a float sum differs with the thread
    count, and the Dask workers (1 thread) would then miss what the driver cached.
    """
    digest = hashlib.sha256()
    for name, tensor in tensors.items():
        flat = tensor.detach().float().contiguous().flatten()
        bits = flat.view(torch.int32).sum(dtype=torch.int64).item()
        digest.update(name.encode())
        digest.update(repr((flat[:8].tolist(), tuple(tensor.shape), bits)).encode())
    return digest.hexdigest()
