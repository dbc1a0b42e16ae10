"""Project pipelines.

Each folder under pipelines/ is one building block, joined to the others only through the
catalog. The runs people start from the CLI chain the blocks, so the registry is explicit:
kedro 1.7's `find_pipelines` loads only the pipeline named on the command line, and a chained
run needs all its blocks. Every block is a Kedro namespace that keeps its datasets' names, so
`kedro viz` draws it as a group that opens and closes. No pipeline's shape depends on `conf/`.
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


def block(pipeline: Pipeline, name: str) -> Pipeline:
    """The pipeline as the namespace `name`: nodes grouped, datasets keep their names."""
    datasets = pipeline.datasets()
    parameters = {d for d in datasets if d.startswith("params:")}
    inputs = set(pipeline.inputs()) - parameters
    return Pipeline(
        pipeline,
        namespace=name,
        inputs=inputs,
        outputs=datasets - parameters - inputs,
        parameters=parameters,
    )


def method_run(method: str) -> Pipeline:
    """A token-level baseline's run and its table, in the method's namespace (`ga.*`, `npo.*`)."""
    shared = {"subject_llm", "probes", "retain_probes", "mia_texts", "utility_items", "target_info"}
    table = Pipeline(
        evaluate.run_table_pipeline(method.upper()),
        namespace=method,
        inputs=shared,
        parameters={"params:eval"},
    )
    return baselines.create_pipeline(method) + table


def register_pipelines() -> dict[str, Pipeline]:
    ingesting = block(ingest.create_pipeline(), "ingest")
    injecting = block(inject.create_pipeline(), "inject")
    load_model = injecting.only_nodes("inject.load_base_llm")
    prepare_model = injecting.only_nodes("inject.load_base_llm", "inject.inject_knowledge")
    embedding = block(embed.create_pipeline(), "embed")
    load_encoder = embedding.only_nodes("embed.load_text_encoder")
    aligning = ingesting + prepare_model + embedding + block(align.create_pipeline(), "align")
    run_table = evaluate.run_table_pipeline("ATU")
    unlearning = aligning + block(unlearn.create_pipeline() + run_table, "unlearn")
    comparing = block(compare.create_pipeline(), "compare")
    return {
        "ingest": ingesting,
        "inject": ingesting + injecting,
        "embed": ingesting + load_model + embedding,
        "align": aligning,
        "unlearn": unlearning,
        "baseline_ga": ingesting + prepare_model + method_run("ga"),
        "baseline_npo": ingesting + prepare_model + method_run("npo"),
        "sweep": ingesting
        + prepare_model
        + embedding
        + block(sweep.create_pipeline(), "sweep")
        + comparing,
        "compare": comparing,
        "benchmark": ingesting
        + prepare_model
        + load_encoder
        + block(benchmark.create_pipeline(), "benchmark"),
        "evaluate": ingesting + block(evaluate.create_pipeline(), "evaluate"),
        "attack": ingesting + prepare_model + block(attack.create_pipeline(), "attack"),
        "__default__": unlearning,
    }
