"""unlearn nodes: ATU's rounds (recipes.atu) in, the kept model and its reports out."""

import pandas as pd
import torch

from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams, EvalParams
from atu_pipeline.recipes.atu import unlearn_atu


def unlearn_rounds(
    subject_llm: CausalLM,
    aligned_head: EmbeddingHead,
    alignment_windows: dict[str, torch.Tensor],
    forget_corpus: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    probes: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    model_cache: ModelCache,
    atu: AtuParams,
    eval_params: EvalParams,
) -> tuple[CausalLM, pd.DataFrame, dict, dict]:
    """All τ rounds, resumable: the kept model, per-round scores, step metrics, similarities."""
    result, similarities = unlearn_atu(
        subject_llm,
        aligned_head,
        WindowSet.from_tensors(alignment_windows),
        forget_corpus,
        target_embedding["embedding"],
        probes,
        cache=model_cache,
        atu=atu,
        eval_params=eval_params,
        retain_corpus=retain_corpus,
    )
    return result.llm, result.round_scores, result.metrics, similarities
