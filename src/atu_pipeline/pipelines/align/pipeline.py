"""align: the hook layer and the embedding prediction head, aligned to the (frozen) subject LLM."""

from kedro.pipeline import Node, Pipeline

from .nodes import align_head, choose_hook_layer


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                choose_hook_layer,
                [
                    "subject_llm",
                    "alignment_windows",
                    "forget_corpus",
                    "retain_corpus",
                    "target_embedding",
                    "model_cache",
                    "params:atu",
                ],
                ["atu_settings", "layer_choice"],
                name="choose_hook_layer",
            ),
            Node(
                align_head,
                ["subject_llm", "alignment_windows", "model_cache", "atu_settings"],
                ["aligned_head", "align_metrics"],
                name="align_head",
            ),
        ]
    )
