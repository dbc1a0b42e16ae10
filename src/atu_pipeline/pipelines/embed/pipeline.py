"""embed: the concept's embedding and the alignment corpus's future-window embeddings."""

from kedro.pipeline import Node, Pipeline

from .nodes import embed_alignment_windows, embed_target, load_text_encoder


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(load_text_encoder, "params:encoder", "text_encoder", name="load_text_encoder"),
            Node(
                embed_target,
                ["text_encoder", "target_info", "params:embed"],
                "target_embedding",
                name="embed_concept",
            ),
            Node(
                embed_alignment_windows,
                [
                    "forget_corpus",
                    "retain_corpus",
                    "base_llm",
                    "text_encoder",
                    "model_cache",
                    "params:encoder",
                    "params:embed",
                ],
                "alignment_windows",
                name="embed_alignment_windows",
            ),
        ]
    )
