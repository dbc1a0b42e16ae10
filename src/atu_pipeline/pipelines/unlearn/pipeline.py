"""unlearn (the rounds): τ-scheduled unlearning of the subject LLM against the aligned head.

The registered `unlearn` pipeline is the whole run (ingest -> inject -> embed -> align -> these
nodes); see pipeline_registry.py.
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.reporting.rounds import plot_rounds, plot_similarities, summary_line

from .nodes import unlearn_rounds


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
                    "retain_corpus",
                    "model_cache",
                    "atu_settings",
                    "params:eval",
                ],
                ["unlearned_llm", "round_scores", "unlearn_metrics", "concept_similarities"],
                name="unlearn_rounds",
            ),
            Node(
                summary_line,
                ["round_scores", "probes", "memorised_probes", "params:eval"],
                "unlearn_summary",
                name="summarize_unlearning",
            ),
            Node(plot_rounds, "round_scores", "rounds_plot", name="plot_rounds"),
            Node(
                plot_similarities,
                ["concept_similarities", "round_scores"],
                "similarity_plot",
                name="plot_similarities",
            ),
        ]
    )
