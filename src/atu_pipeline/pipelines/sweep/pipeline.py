"""sweep: the grid of `params:sweep` run point by point from one subject model (recipes.sweep).

Each point writes `08_reporting/sweep/<point>/` (result.json, round_scores.csv, summary) and logs
one child MLflow run; a point already in its folder with the same settings is not run again.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import original_utility, run_sweep, target_data


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                target_data,
                [
                    "target_info",
                    "probes",
                    "retain_probes",
                    "forget_corpus",
                    "retain_corpus",
                    "mia_texts",
                    "target_embedding",
                    "memorised_probes",
                ],
                "sweep_target",
                name="target_data",
            ),
            Node(
                original_utility,
                ["subject_llm", "sweep_target", "utility_items", "params:sweep", "params:eval"],
                "original_utility",
                name="original_utility",
            ),
            Node(
                run_sweep,
                [
                    "subject_llm",
                    "alignment_windows",
                    "sweep_target",
                    "utility_items",
                    "model_cache",
                    "sweep_folder",
                    "params:sweep",
                    "params:atu",
                    "params:ga",
                    "params:npo",
                    "params:eval",
                    "params:engine",
                ],
                "sweep_results",
                name="run_sweep",
            ),
        ],
        tags=["sweep"],
    )
