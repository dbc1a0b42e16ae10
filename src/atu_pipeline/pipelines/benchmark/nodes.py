"""benchmark nodes: every target's data, the shared alignment windows, the points
(recipes.benchmark) and the report (reporting.benchmark)."""

import pandas as pd
import torch
from matplotlib.figure import Figure

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import (
    AtuParams,
    BaselineParams,
    BenchmarkParams,
    EmbedParams,
    EngineParams,
    EvalParams,
    ModelSpec,
    RwkuParams,
    WorldParams,
)
from atu_pipeline.recipes import benchmark as recipe
from atu_pipeline.recipes.embed import cached_window_embeddings
from atu_pipeline.recipes.points import SharedWork, TargetData, group_target, load_target
from atu_pipeline.reporting import benchmark as report


def benchmark_targets(
    text_encoder,
    memorised_probes: list[str],
    model_cache: ModelCache,
    benchmark: BenchmarkParams,
    rwku: RwkuParams,
    world: WorldParams,
    embed: EmbedParams,
    llm: ModelSpec,
) -> dict[str, TargetData]:
    """Every tuning and report target's tables and concept, by the name the parameters use,
    and each group of targets unlearned at once (`benchmark.batch`) as `1+2`."""
    settings = {"rwku": rwku, "world": world, "embed": embed, "llm": llm, "cache": model_cache}
    names = dict.fromkeys([*benchmark.tuning_targets, *benchmark.targets])
    targets = {
        name: load_target(name, text_encoder, memorised_probes, **settings) for name in names
    }
    for group in benchmark.report_targets:
        if group not in targets:
            targets[group] = group_target([targets[name] for name in group.split("+")])
    return targets


def benchmark_windows(
    benchmark_targets: dict[str, TargetData],
    base_llm: CausalLM,
    text_encoder,
    model_cache: ModelCache,
    encoder: ModelSpec,
    embed: EmbedParams,
) -> dict[str, torch.Tensor]:
    """One alignment corpus for every point: all benchmark targets' corpora, in id order, so
    that every target's points share one head per hook layer and seed."""
    singles = [target for target in benchmark_targets.values() if "members" not in target.info]
    targets = sorted(singles, key=lambda target: target.info["id"])  # a group repeats its members
    texts = [text for target in targets for text in target.forget_corpus["text"]]
    return cached_window_embeddings(
        texts,
        base_llm.tokenizer,
        text_encoder,
        cache=model_cache,
        encoder_spec=encoder.spec,
        embed=embed,
    )


def run_benchmark(
    subject_llm: CausalLM,
    benchmark_windows: dict[str, torch.Tensor],
    benchmark_targets: dict[str, TargetData],
    utility_items: dict[str, list[dict]],
    model_cache: ModelCache,
    benchmark_folder: ResultFolder,
    benchmark: BenchmarkParams,
    atu: AtuParams,
    ga: BaselineParams,
    npo: BaselineParams,
    eval_params: EvalParams,
    engine: EngineParams,
) -> dict:
    """Tuning, the chosen configurations, the report points and the scores before unlearning."""
    windows = WindowSet.from_tensors(benchmark_windows)
    shared = SharedWork.persisted(subject_llm, windows, utility_items, model_cache, eval_params)
    settings = recipe.method_settings(benchmark, atu=atu, ga=ga, npo=npo)
    study = recipe.Study(benchmark_targets, shared, settings, benchmark)
    return recipe.run_benchmark(study, folder=benchmark_folder, engine=engine)


def report_benchmark(
    benchmark_results: dict, benchmark: BenchmarkParams
) -> tuple[str, pd.DataFrame, Figure, dict]:
    """The markdown report, the per-point table, the trade-off plot, the MLflow metrics."""
    return (
        report.benchmark_markdown(benchmark_results, benchmark),
        report.point_table(benchmark_results),
        report.plot_tradeoff(benchmark_results, benchmark),
        report.benchmark_metrics(benchmark_results, benchmark),
    )
