"""sweep: the grid of `params:sweep` run point by point from one subject model (recipes.sweep).

Each point writes `08_reporting/sweep/<point>/` (result.json, round_scores.csv, summary) and logs
one child MLflow run; a point already in its folder with the same settings is not run again.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import original_utility, run_sweep


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                original_utility,
                ["subject_llm", "utility_items", "params:sweep", "params:eval"],
                "original_utility",
                name="original_utility",
            ),
            Node(
                run_sweep,
                [
                    "subject_llm",
                    "alignment_windows",
                    "forget_corpus",
                    "target_embedding",
                    "probes",
                    "utility_items",
                    "model_cache",
                    "sweep_folder",
                    "params:sweep",
                    "params:atu",
                    "params:ga",
                    "params:npo",
                    "params:eval",
                ],
                "sweep_results",
                name="run_sweep",
            ),
        ],
        tags=["sweep"],
    )
