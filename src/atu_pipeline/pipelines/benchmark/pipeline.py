"""benchmark: methods × configurations × targets × seeds from one subject model, configurations
chosen on validation probes, results on test probes (recipes/benchmark.py, docs/benchmarks.md).

The registered run is ingest -> inject (the whole world, one cached model) -> these nodes.
"""

from kedro.pipeline import Node, Pipeline

from .nodes import benchmark_targets, benchmark_windows, report_benchmark, run_benchmark


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                benchmark_targets,
                [
                    "text_encoder",
                    "memorised_probes",
                    "model_cache",
                    "params:benchmark",
                    "params:rwku",
                    "params:world",
                    "params:embed",
                    "params:llm",
                ],
                "benchmark_targets",
                name="benchmark_targets",
            ),
            Node(
                benchmark_windows,
                [
                    "benchmark_targets",
                    "base_llm",
                    "text_encoder",
                    "model_cache",
                    "params:encoder",
                    "params:embed",
                ],
                "benchmark_windows",
                name="benchmark_windows",
            ),
            Node(
                run_benchmark,
                [
                    "subject_llm",
                    "benchmark_windows",
                    "benchmark_targets",
                    "utility_items",
                    "model_cache",
                    "benchmark_folder",
                    "params:benchmark",
                    "params:atu",
                    "params:ga",
                    "params:npo",
                    "params:eval",
                    "params:engine",
                ],
                "benchmark_results",
                name="run_benchmark",
            ),
            Node(
                report_benchmark,
                ["benchmark_results", "params:benchmark"],
                ["benchmark_report", "benchmark_points", "benchmark_plot", "benchmark_metrics"],
                name="report_benchmark",
            ),
        ],
        tags=["benchmark"],
    )
