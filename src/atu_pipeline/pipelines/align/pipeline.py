"""align: the embedding prediction head, aligned to the (frozen) subject LLM."""

from kedro.pipeline import Node, Pipeline

from .nodes import align_head


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                align_head,
                ["subject_llm", "alignment_windows", "model_cache", "params:atu"],
                ["aligned_head", "align_metrics"],
                name="align_head",
            )
        ]
    )
