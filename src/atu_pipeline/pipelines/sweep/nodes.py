"""sweep nodes: the original model's utility, and the grid of points (recipes.sweep)."""

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import AtuParams, BaselineParams, EvalParams, SweepParams
from atu_pipeline.recipes import sweep as recipe


def run_sweep(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    forget_corpus: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    probes: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    model_cache: ModelCache,
    sweep_folder: ResultFolder,
    sweep: SweepParams,
    atu: AtuParams,
    ga: BaselineParams,
    npo: BaselineParams,
    eval_params: EvalParams,
) -> list[dict]:
    """Every grid point's result (one whole unlearning run each), in grid order."""
    shared = recipe.SharedWork(
        subject_llm=subject_llm,
        windows=WindowSet.from_tensors(alignment_windows),
        forget_corpus=forget_corpus,
        concept=target_embedding["embedding"],
        probes=probes,
        utility_items=utility_items,
        cache=model_cache,
        eval_params=eval_params,
    )
    grid = recipe.sweep_points(sweep)
    points = [(point, recipe.point_settings(point, atu=atu, ga=ga, npo=npo)) for point in grid]
    return recipe.run_sweep(points, shared, folder=sweep_folder, sweep=sweep)


def original_utility(
    subject_llm: CausalLM,
    utility_items: dict[str, list[dict]],
    sweep: SweepParams,
    eval_params: EvalParams,
) -> dict[str, float]:
    """The subject model's utility on the sets that every point's kept model is scored on."""
    return recipe.utility_of(subject_llm, utility_items, sweep, eval_params)
