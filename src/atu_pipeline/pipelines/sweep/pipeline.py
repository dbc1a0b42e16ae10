"""sweep: one namespaced instance per grid point (`sweep.<point>`), upstream outputs shared.

ATU points run align -> rounds at their hook layer and τ floor; GA / NPO points run their
rounds at their learning rate. Every point ends with its kept model's utility and a record
(`sweep.<point>.point_result`, a child MLflow run). Re-run one point with
`kedro run --pipeline sweep --namespaces sweep.<point>`.
"""

from kedro.pipeline import Node, Pipeline

from atu_pipeline.pipelines import align, baselines, unlearn

from .grid import Point
from .nodes import atu_settings, baseline_changes, point_recorder, utility_of

SHARED_INPUTS = {
    "subject_llm",
    "alignment_windows",
    "forget_corpus",
    "target_embedding",
    "probes",
    "model_cache",
    "utility_items",
}


def point_pipeline(point: Point) -> Pipeline:
    if point.method == "atu":
        settings = Node(atu_settings(point), "params:atu", "settings", name="settings")
        run = Pipeline([settings]) + align.create_pipeline("settings")
        run += unlearn.create_pipeline("settings", plots=False)
        parameters = {"params:atu": "params:atu"}
    else:
        run = baselines.pipeline.template(baseline_changes(point))
        parameters = {"params:baseline": f"params:{point.method}"}
    record = Pipeline(
        [
            Node(
                utility_of,
                ["unlearned_llm", "utility_items", "params:sweep", "params:eval"],
                "kept_utility",
                name="kept_utility",
            ),
            Node(
                point_recorder(point),
                ["round_scores", "kept_utility", "settings", "params:sweep"],
                "point_result",
                name="record_point",
            ),
        ]
    )
    return Pipeline(
        run + record,
        namespace=f"sweep.{point.namespace}",
        inputs=SHARED_INPUTS & set((run + record).inputs()),
        parameters={**parameters, "params:eval": "params:eval", "params:sweep": "params:sweep"},
        tags=["sweep", point.method],
    )


def create_pipeline(points: list[Point]) -> Pipeline:
    original = Node(
        utility_of,
        ["subject_llm", "utility_items", "params:sweep", "params:eval"],
        "original_utility",
        name="original_utility",
        tags=["sweep"],
    )
    return Pipeline([original]) + sum((point_pipeline(p) for p in points), Pipeline([]))
