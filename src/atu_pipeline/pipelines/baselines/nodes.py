"""baseline nodes: GA or NPO rounds (recipes.baselines) in, the kept model and its scores out."""

import pandas as pd

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import BaselineParams, EvalParams
from atu_pipeline.recipes.baselines import unlearn_baseline


def baseline_rounds(
    subject_llm: CausalLM,
    forget_corpus: pd.DataFrame,
    probes: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    model_cache: ModelCache,
    baseline: BaselineParams,
    eval_params: EvalParams,
) -> tuple[CausalLM, pd.DataFrame, dict]:
    """All rounds of GA or NPO, resumable: the kept model, per-round scores, step metrics."""
    result = unlearn_baseline(
        subject_llm,
        forget_corpus,
        probes,
        cache=model_cache,
        baseline=baseline,
        eval_params=eval_params,
        retain_corpus=retain_corpus,
    )
    return result.llm, result.round_scores, result.metrics
