"""align nodes: the hook layer (set, or chosen by `atu.layer: auto`) and the first alignment of
the head (recipes.atu), both cached by recipe."""

import pandas as pd
import torch

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams
from atu_pipeline.recipes.atu import choose_layer, first_alignment


def choose_hook_layer(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    forget_corpus: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    model_cache: ModelCache,
    atu: AtuParams,
) -> tuple[AtuParams, pd.DataFrame]:
    """The ATU settings every later node reads, at a hook layer: `atu.layer` as set, or for
    `auto` the candidate that best separates the target's texts from the others' (and the
    candidates' table; empty for a set layer)."""
    windows = WindowSet.from_tensors(alignment_windows)
    return choose_layer(
        subject_llm,
        windows,
        forget_corpus,
        retain_corpus,
        target_embedding["embedding"],
        cache=model_cache,
        atu=atu,
    )


def align_head(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    model_cache: ModelCache,
    atu: AtuParams,
) -> tuple[EmbeddingHead, dict]:
    """A fresh head aligned to the frozen subject model at `atu.layer`, and its step losses."""
    windows = WindowSet.from_tensors(alignment_windows)
    return first_alignment(subject_llm, windows, cache=model_cache, atu=atu)
