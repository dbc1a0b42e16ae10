"""compare: a sweep's persisted point results -> ranked table, report, trade-off plots.

Reads `sweep_results` (written by the sweep), so it can be re-run alone after a point changed.
Outputs go to data/08_reporting/sweep/ and the MLflow run. The functions are reporting.compare's.
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.reporting.compare import collect_sweep, plot_comparison, ranking_report


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                collect_sweep,
                ["original_utility", "sweep_results"],
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
