"""attack: is the forgotten knowledge gone, or only hidden? Quantization, relearning, logit lens.

The registered `attack` run is ingest -> inject (the original model, cached) -> these nodes
(pipeline_registry.py). The attacked model is `attack.unlearned` (default: the unlearn run's
data/06_models/unlearned_llm); `check_unlearned_model` has no data inputs, so it runs first and
a missing model stops the run before any model is loaded.
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.recipes.attack import (
    check_unlearned_model,
    quantize_and_score,
    read_logit_lens,
    relearn_and_score,
)

from .nodes import attack_table_as_csv, load_unlearned_llm, report_attacks

MODELS = ["subject_llm", "attacked_llm"]
REPORT_OUTPUTS = [
    "attack_table",
    "attack_report",
    "attack_metrics",
    "attack_quantization_plot",
    "attack_relearning_plot",
    "attack_logit_lens_plot",
    "attack_types_plot",
]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                check_unlearned_model,
                "params:attack",
                "unlearned_spec",
                name="check_unlearned_model",
            ),
            Node(
                load_unlearned_llm,
                ["unlearned_spec", "model_cache", "params:llm"],
                "attacked_llm",
                name="load_unlearned_llm",
            ),
            Node(
                quantize_and_score,
                [*MODELS, "probes", "params:eval", "params:attack"],
                "quantization_scores",
                name="quantize_and_score",
            ),
            Node(
                relearn_and_score,
                [*MODELS, "probes", "forget_corpus", "target_info", "params:eval", "params:attack"],
                "relearning_scores",
                name="relearn_and_score",
            ),
            Node(
                read_logit_lens,
                [*MODELS, "probes", "params:attack"],
                "logit_lens_ranks",
                name="read_logit_lens",
            ),
            Node(
                report_attacks,
                [
                    "quantization_scores",
                    "relearning_scores",
                    "logit_lens_ranks",
                    "target_info",
                    "params:attack",
                ],
                REPORT_OUTPUTS,
                name="report_attacks",
            ),
            Node(
                attack_table_as_csv, "attack_table", "attack_table_csv", name="attack_table_as_csv"
            ),
        ]
    )
