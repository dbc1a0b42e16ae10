"""evaluate: one model on one RWKU target -> metrics, a Table-2-style report and plots.

The registered `evaluate` run is ingest + these nodes (pipeline_registry.py). The model is
`eval.model` when set (HF id, directory such as data/06_models/unlearned_llm, .gguf,
embedded:..., tiny:...), else `llm`.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    evaluate_before_after,
    evaluate_model,
    load_evaluated_llm,
    name_stage,
    report_evaluation,
    table_as_csv,
)

REPORT_OUTPUTS = [
    "evaluation_table",
    "evaluation_report",
    "evaluation_metrics",
    "evaluation_scores_plot",
    "evaluation_attacks_plot",
    "evaluation_utility_plot",
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                load_evaluated_llm,
                ["model_cache", "params:llm", "params:eval"],
                "evaluated_llm",
                name="load_evaluated_llm",
            ),
            Node(
                evaluate_model,
                ["evaluated_llm", "probes", "mia_texts", "utility_items", "params:eval"],
                "evaluation",
                name="evaluate_model",
            ),
            Node(
                name_stage,
                ["evaluation", "params:llm", "params:eval"],
                "stage_evaluations",
                name="name_stage",
            ),
            *report_pipeline().nodes,
        ]
    )


def report_pipeline() -> Pipeline:
    """`stage_evaluations` ({stage: metrics}) + `target_info` -> table, report, metrics, plots."""
    return Pipeline(
        [
            Node(
                report_evaluation,
                ["stage_evaluations", "target_info"],
                REPORT_OUTPUTS,
                name="report_evaluation",
            ),
            Node(table_as_csv, "evaluation_table", "evaluation_table_csv", name="table_as_csv"),
        ]
    )


def before_after_pipeline() -> Pipeline:
    """For the unlearn run: subject_llm ("before") and unlearned_llm ("after") -> the report."""
    evaluate = Node(
        evaluate_before_after,
        ["subject_llm", "unlearned_llm", "probes", "mia_texts", "utility_items", "params:eval"],
        "stage_evaluations",
        name="evaluate_before_after",
    )
    return Pipeline([evaluate]) + report_pipeline()
