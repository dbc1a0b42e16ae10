"""baseline_ga / baseline_npo: token-level unlearning of the subject LLM, namespaced `ga` / `npo`.

Each is ingest -> inject -> these nodes (pipeline_registry.py). Outputs are `<method>.round_scores`,
`<method>.unlearned_llm`, ... (catalog factories in conf/base/catalog_baselines.yml); the settings
are `params:<method>` (conf/base/parameters_baselines.yml).
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.reporting.rounds import plot_rounds, summary_line

from .nodes import baseline_rounds


def create_pipeline(method: str) -> Pipeline:
    """The `method` run, namespaced by the method's name, reading `params:<method>`."""
    run = Pipeline(
        [
            Node(
                baseline_rounds,
                [
                    "subject_llm",
                    "forget_corpus",
                    "probes",
                    "retain_corpus",
                    "model_cache",
                    "params:baseline",
                    "params:eval",
                ],
                ["unlearned_llm", "round_scores", "unlearn_metrics"],
                name="baseline_rounds",
            ),
            Node(
                summary_line,
                ["round_scores", "probes", "memorised_probes", "params:eval"],
                "unlearn_summary",
                name="summarize_unlearning",
            ),
            Node(plot_rounds, "round_scores", "rounds_plot", name="plot_rounds"),
        ]
    )
    return Pipeline(
        run,
        namespace=method,
        inputs={
            "subject_llm",
            "forget_corpus",
            "probes",
            "retain_corpus",
            "memorised_probes",
            "model_cache",
        },
        parameters={"params:baseline": f"params:{method}", "params:eval": "params:eval"},
        tags=[method],
    )
