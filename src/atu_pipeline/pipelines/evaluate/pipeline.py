"""evaluate: one model on one RWKU target -> metrics, a Table-2-style report and plots.

The registered `evaluate` run is ingest + these nodes (pipeline_registry.py). The model is
`eval.model` when set (HF id, directory such as data/06_models/unlearned_llm, .gguf,
embedded:..., tiny:...), else `llm`.
"""

from functools import partial

from kedro.pipeline import Node, Pipeline

from atu_pipeline.reporting.eval_report import run_report

from .nodes import (
    evaluate_model,
    evaluate_run,
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
                [
                    "evaluated_llm",
                    "probes",
                    "retain_probes",
                    "mia_texts",
                    "utility_items",
                    "params:eval",
                ],
                "evaluation",
                name="evaluate_model",
            ),
            Node(
                name_stage,
                ["evaluation", "params:llm", "params:eval"],
                "stage_evaluations",
                name="name_stage",
            ),
            Node(
                report_evaluation,
                ["stage_evaluations", "target_info"],
                REPORT_OUTPUTS,
                name="report_evaluation",
            ),
            Node(table_as_csv, "evaluation_table", "evaluation_table_csv", name="table_as_csv"),
        ]
    )


def run_table_pipeline(label: str) -> Pipeline:
    """An unlearning run's table (rows "Before" and `label`): `unlearned_llm` and the subject
    model fully evaluated -> `run_report`, `run_table`, `run_answers`, ... (catalog.yml)."""
    return Pipeline(
        [
            Node(
                partial(evaluate_run, label=label),
                [
                    "subject_llm",
                    "unlearned_llm",
                    "probes",
                    "retain_probes",
                    "mia_texts",
                    "utility_items",
                    "params:eval",
                ],
                ["run_evaluations", "run_answers"],
                name="evaluate_run",
            ),
            Node(
                run_report,
                ["run_evaluations", "run_answers", "target_info"],
                ["run_table", "run_report", "run_metrics", "run_plot", "run_answers_excerpt"],
                name="report_run",
            ),
        ]
    )
