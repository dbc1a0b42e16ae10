"""Round checkpoints: everything needed to continue a run bit-for-bit.

Layout of one checkpoint directory (written to `<dir>.partial` and renamed, so a run killed
while saving never leaves a half checkpoint behind; one that cannot be read all the same is
deleted and its round recomputed from the round before):
  llm_trainable.safetensors   the LLM weights that training can change (or LoRA adapters)
  head.safetensors, head.json the head's weights and architecture
  state.pt                    optimizer state, RNG states (tensors only: loaded with
                              weights_only=True, so a shared cache never unpickles code)
  progress.json               round index, τ, evaluation history
"""

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from atu_pipeline.core.head import EmbeddingHead, HeadConfig


def save_head(head: EmbeddingHead, path: Path) -> None:
    """Weights, then the architecture (written aside and renamed: its presence marks a complete
    head, so a reader never loads a half-written one)."""
    path.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in head.state_dict().items()}
    save_file(state, path / "head.safetensors.partial")
    (path / "head.safetensors.partial").replace(path / "head.safetensors")
    (path / "head.json.partial").write_text(json.dumps(head.config.to_dict(), indent=2))
    (path / "head.json.partial").replace(path / "head.json")


def load_head(path: Path) -> EmbeddingHead:
    head = EmbeddingHead(HeadConfig(**json.loads((path / "head.json").read_text())))
    head.load_state_dict(load_file(path / "head.safetensors"))
    return head.eval()


def rng_state(generator: torch.Generator) -> dict:
    state = {"torch": torch.get_rng_state(), "batches": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["batches"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: Path,
    *,
    llm_trainable: dict[str, torch.Tensor],
    head: EmbeddingHead | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    progress: dict,
) -> Path:
    """Write a round's state atomically (to `<path>.partial`, then renamed). `head` is None for
    methods without one (GA, NPO)."""
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    save_file(
        {k: v.contiguous() for k, v in llm_trainable.items()}, partial / "llm_trainable.safetensors"
    )
    if head is not None:
        save_head(head, partial)
    torch.save(
        {"optimizer": optimizer.state_dict(), "rng": rng_state(generator)}, partial / "state.pt"
    )
    (partial / "progress.json").write_text(json.dumps(progress, indent=2))
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    return path


def load_checkpoint(path: Path) -> dict:
    state = torch.load(path / "state.pt", weights_only=True, map_location="cpu")
    return {
        "llm_trainable": load_file(path / "llm_trainable.safetensors"),
        "head": load_head(path) if (path / "head.json").is_file() else None,
        "optimizer": state["optimizer"],
        "rng": state["rng"],
        "progress": json.loads((path / "progress.json").read_text()),
    }


def read_trainable_weights(path: Path) -> dict[str, torch.Tensor]:
    """A round's trainable weights alone (all the keep rule needs from an older round)."""
    return load_file(path / "llm_trainable.safetensors")


RESUMABLE_ROUNDS = 2  # the latest, and the one before it should the latest prove unreadable


def drop_resume_state(root: Path) -> None:
    """Delete the optimizer and RNG state of all but the last `RESUMABLE_ROUNDS` rounds: the
    optimizer state is the bulk of a checkpoint (2x the weights with Adam)."""
    for round_dir in resumable_checkpoints(root)[RESUMABLE_ROUNDS:]:
        (round_dir / "state.pt").unlink()


def resumable_checkpoints(root: Path) -> list[Path]:
    """Complete `round_XX` directories that still hold their resume state, newest first."""
    done = [p for p in root.glob("round_*") if (p / "progress.json").is_file()]
    return sorted((p for p in done if (p / "state.pt").is_file()), reverse=True)
