"""Project pipelines.

Each folder under pipelines/ is one building block, joined to the others only through the
catalog. The runs people start from the CLI chain the blocks, so the registry is explicit:
kedro 1.7's `find_pipelines` loads only the pipeline named on the command line, and a chained
run needs all its blocks. The sweep's points come from `params:sweep` (pipelines/sweep/grid.py).
"""

from kedro.pipeline import Pipeline

from atu_pipeline.pipelines import (
    align,
    attack,
    baselines,
    compare,
    embed,
    evaluate,
    ingest,
    inject,
    sweep,
    unlearn,
)
from atu_pipeline.pipelines.sweep import grid


def register_pipelines() -> dict[str, Pipeline]:
    ingesting = ingest.create_pipeline()
    injecting = inject.create_pipeline()
    load_model = injecting.only_nodes("load_base_llm")
    prepare_model = injecting.only_nodes("load_base_llm", "inject_knowledge")
    embedding = embed.create_pipeline()
    aligning = ingesting + prepare_model + embedding + align.create_pipeline()
    unlearning = aligning + unlearn.create_pipeline()
    points = grid.points(grid.active())
    comparing = compare.create_pipeline(points)
    sweep_upstream = ingesting + prepare_model
    if any(p.method == "atu" for p in points):
        sweep_upstream += embedding
    return {
        "ingest": ingesting,
        "inject": ingesting + injecting,
        "embed": ingesting + load_model + embedding,
        "align": aligning,
        "unlearn": unlearning,
        "baseline_ga": ingesting + prepare_model + baselines.create_pipeline("ga"),
        "baseline_npo": ingesting + prepare_model + baselines.create_pipeline("npo"),
        "sweep": sweep_upstream + sweep.create_pipeline(points) + comparing,
        "compare": comparing,
        "evaluate": ingesting + evaluate.create_pipeline(),
        "attack": ingesting + prepare_model + attack.create_pipeline(),
        "__default__": unlearning,
    }
