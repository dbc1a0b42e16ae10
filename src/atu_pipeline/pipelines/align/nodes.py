"""align nodes: the first alignment of the head (recipes.atu), cached by recipe."""

import torch

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams
from atu_pipeline.recipes.atu import first_alignment


def align_head(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    model_cache: ModelCache,
    atu: AtuParams,
) -> tuple[EmbeddingHead, dict]:
    """A fresh head aligned to the frozen subject model at `atu.layer`, and its step losses."""
    windows = WindowSet.from_tensors(alignment_windows)
    return first_alignment(subject_llm, windows, cache=model_cache, atu=atu)
