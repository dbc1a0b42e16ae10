"""compare: a sweep's persisted point results -> ranked table, report, trade-off plots.

Reads `sweep.<point>.point_result` from the catalog, so it can be re-run after one point was
re-run by namespace. Outputs go to data/08_reporting/sweep/ and the MLflow run.
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.pipelines.sweep.grid import Point

from .nodes import collect_sweep, plot_comparison, ranking_report


def create_pipeline(points: list[Point]) -> Pipeline:
    results = [f"sweep.{p.namespace}.point_result" for p in points]
    return Pipeline(
        [
            Node(
                collect_sweep,
                ["original_utility", *results],
                ["sweep_rounds", "sweep_ranking"],
                name="collect_sweep",
            ),
            Node(
                ranking_report,
                ["sweep_ranking", "params:compare"],
                "sweep_report",
                name="ranking_report",
            ),
            Node(
                plot_comparison,
                ["sweep_ranking", "sweep_rounds", "params:compare"],
                ["tradeoff_neighbor_plot", "tradeoff_utility_plot", "forget_by_round_plot"],
                name="plot_comparison",
            ),
        ],
        tags=["compare"],
    )
