"""baseline_ga / baseline_npo: token-level unlearning of the subject LLM, namespaced `ga` / `npo`.

Each is ingest -> inject -> these nodes (pipeline_registry.py). Outputs are `<method>.round_scores`,
`<method>.unlearned_llm`, ... (catalog factories in conf/base/catalog_baselines.yml); the settings
are `params:<method>` (conf/base/parameters_baselines.yml).
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.params import BaselineParams, with_changes
from atu_pipeline.pipelines.unlearn.nodes import plot_rounds, summarize_unlearning

from .nodes import baseline_rounds

SHARED_INPUTS = {"subject_llm", "forget_corpus", "probes", "model_cache"}


def baseline_settings(changes: dict):
    """A node function: the method's settings with a sweep point's `changes` applied."""

    def settings(baseline: BaselineParams) -> BaselineParams:
        return with_changes(baseline, changes)

    return settings


def template(changes: dict | None = None) -> Pipeline:
    """One method's run from `params:baseline` (bound to `params:<method>` by the namespace
    wrapper), with a sweep point's `changes` applied first when given."""
    settings = "params:baseline"
    nodes = []
    if changes:
        nodes.append(Node(baseline_settings(changes), settings, "settings", name="settings"))
        settings = "settings"
    rounds_inputs = ["subject_llm", "forget_corpus", "probes", "model_cache", settings]
    return Pipeline(
        [
            *nodes,
            Node(
                baseline_rounds,
                [*rounds_inputs, "params:eval"],
                ["unlearned_llm", "round_scores", "unlearn_metrics"],
                name="baseline_rounds",
            ),
            Node(
                summarize_unlearning, "round_scores", "unlearn_summary", name="summarize_unlearning"
            ),
        ]
    )


def create_pipeline(method: str) -> Pipeline:
    """The `method` run, namespaced by the method's name, reading `params:<method>`."""
    run = template() + Pipeline(
        [Node(plot_rounds, "round_scores", "rounds_plot", name="plot_rounds")]
    )
    return Pipeline(
        run,
        namespace=method,
        inputs=SHARED_INPUTS,
        parameters={"params:baseline": f"params:{method}", "params:eval": "params:eval"},
        tags=[method],
    )
