"""unlearn (the rounds): τ-scheduled unlearning of the subject LLM against the aligned head.

The registered `unlearn` pipeline is the whole run (ingest -> inject -> embed -> align -> these
nodes); see pipeline_registry.py.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import plot_unlearning, summarize_unlearning, unlearn_rounds


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                unlearn_rounds,
                [
                    "subject_llm",
                    "aligned_head",
                    "alignment_windows",
                    "forget_corpus",
                    "target_embedding",
                    "probes",
                    "model_cache",
                    "params:atu",
                    "params:eval",
                ],
                ["unlearned_llm", "round_scores", "unlearn_metrics", "concept_similarities"],
                name="unlearn_rounds",
            ),
            Node(
                summarize_unlearning, "round_scores", "unlearn_summary", name="summarize_unlearning"
            ),
            Node(
                plot_unlearning,
                ["round_scores", "concept_similarities"],
                ["rounds_plot", "similarity_plot"],
                name="plot_unlearning",
            ),
        ]
    )
