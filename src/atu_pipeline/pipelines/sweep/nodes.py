"""sweep nodes: the original model's utility, and the grid of points (recipes.sweep)."""

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import (
    AtuParams,
    BaselineParams,
    EngineParams,
    EvalParams,
    SweepParams,
)
from atu_pipeline.recipes import sweep as recipe
from atu_pipeline.recipes.points import SharedWork, TargetData


def target_data(
    target_info: dict,
    probes: pd.DataFrame,
    retain_probes: pd.DataFrame,
    forget_corpus: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    mia_texts: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    memorised_probes: list[str],
) -> TargetData:
    """The target's tables and concept, bundled for the points."""
    return TargetData(
        info=target_info,
        probes=probes,
        retain_probes=retain_probes,
        forget_corpus=forget_corpus,
        retain_corpus=retain_corpus,
        mia_texts=mia_texts,
        concept=target_embedding["embedding"],
        memorised_probes=memorised_probes,
    )


def run_sweep(
    subject_llm: CausalLM,
    alignment_windows: dict[str, torch.Tensor],
    sweep_target: TargetData,
    utility_items: dict[str, list[dict]],
    model_cache: ModelCache,
    sweep_folder: ResultFolder,
    sweep: SweepParams,
    atu: AtuParams,
    ga: BaselineParams,
    npo: BaselineParams,
    eval_params: EvalParams,
    engine: EngineParams,
) -> list[dict]:
    """Every grid point's result (one whole unlearning run each), in grid order."""
    windows = WindowSet.from_tensors(alignment_windows)
    shared = SharedWork.persisted(subject_llm, windows, utility_items, model_cache, eval_params)
    grid = recipe.sweep_points(sweep)
    points = [(point, recipe.point_settings(point, atu=atu, ga=ga, npo=npo)) for point in grid]
    return recipe.run_sweep(
        points, sweep_target, shared, folder=sweep_folder, sweep=sweep, engine=engine
    )


def original_utility(
    subject_llm: CausalLM,
    sweep_target: TargetData,
    utility_items: dict[str, list[dict]],
    sweep: SweepParams,
    eval_params: EvalParams,
) -> dict[str, float]:
    """The subject model's utility on the sets that every point's kept model is scored on."""
    shared = SharedWork(subject_llm, None, utility_items, None, eval_params)
    return recipe.utility_of(subject_llm, sweep_target, shared, sweep)
