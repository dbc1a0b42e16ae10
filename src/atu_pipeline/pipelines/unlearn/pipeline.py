"""unlearn (the rounds): τ-scheduled unlearning of the subject LLM against the aligned head.

The registered `unlearn` pipeline is the whole run (ingest -> inject -> embed -> align -> these
nodes); see pipeline_registry.py.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import plot_rounds, plot_similarities, summarize_unlearning, unlearn_rounds


def create_pipeline(settings: str = "params:atu", plots: bool = True, **kwargs) -> Pipeline:
    """`settings`: where the AtuParams come from (a sweep point passes its own, without plots)."""
    rounds = Pipeline(
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
                    settings,
                    "params:eval",
                ],
                ["unlearned_llm", "round_scores", "unlearn_metrics", "concept_similarities"],
                name="unlearn_rounds",
            ),
            Node(
                summarize_unlearning, "round_scores", "unlearn_summary", name="summarize_unlearning"
            ),
        ]
    )
    if not plots:
        return rounds
    return rounds + Pipeline(
        [
            Node(plot_rounds, "round_scores", "rounds_plot", name="plot_rounds"),
            Node(
                plot_similarities,
                "concept_similarities",
                "similarity_plot",
                name="plot_similarities",
            ),
        ]
    )
