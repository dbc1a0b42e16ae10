"""Project pipelines.

Each folder under pipelines/ is one building block, joined to the others only through the
catalog. The runs people start from the CLI chain the blocks, so the registry is explicit:
kedro 1.7's `find_pipelines` loads only the pipeline named on the command line, and a chained
run needs all its blocks. No pipeline's shape depends on configuration.
"""

from kedro.pipeline import Pipeline

from atu_pipeline.pipelines import (
    align,
    attack,
    baselines,
    benchmark,
    compare,
    embed,
    evaluate,
    ingest,
    inject,
    sweep,
    unlearn,
)


def register_pipelines() -> dict[str, Pipeline]:
    ingesting = ingest.create_pipeline()
    injecting = inject.create_pipeline()
    load_model = injecting.only_nodes("load_base_llm")
    prepare_model = injecting.only_nodes("load_base_llm", "inject_knowledge")
    embedding = embed.create_pipeline()
    aligning = ingesting + prepare_model + embedding + align.create_pipeline()
    unlearning = aligning + unlearn.create_pipeline()
    comparing = compare.create_pipeline()
    load_encoder = embedding.only_nodes("load_text_encoder")
    return {
        "ingest": ingesting,
        "inject": ingesting + injecting,
        "embed": ingesting + load_model + embedding,
        "align": aligning,
        "unlearn": unlearning,
        "baseline_ga": ingesting + prepare_model + baselines.create_pipeline("ga"),
        "baseline_npo": ingesting + prepare_model + baselines.create_pipeline("npo"),
        "sweep": ingesting + prepare_model + embedding + sweep.create_pipeline() + comparing,
        "compare": comparing,
        "benchmark": ingesting + prepare_model + load_encoder + benchmark.create_pipeline(),
        "evaluate": ingesting + evaluate.create_pipeline(),
        "attack": ingesting + prepare_model + attack.create_pipeline(),
        "__default__": unlearning,
    }
