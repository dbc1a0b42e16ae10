"""Project hooks: typed parameter groups reach MLflow one field at a time; the summary line is
printed with the run's minutes."""

import mlflow

from atu_pipeline.hooks import ProjectHooks
from atu_pipeline.params import HeadParams
from atu_pipeline.tracking import flatten


class _Node:
    name = "some_node"


def test_flatten_expands_nested_dicts_and_pydantic_models():
    flat = flatten("atu", {"layer": 10, "head": HeadParams(width=64, heads=4), "taus": [0.5]})
    assert flat["atu.layer"] == 10 and flat["atu.taus"] == [0.5]
    assert flat["atu.head.width"] == 64 and flat["atu.head.dropout"] == 0.1


def test_typed_parameters_are_logged_one_field_each(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("hooks")  # not the id an earlier test left active
    with mlflow.start_run(experiment_id=experiment) as run:
        inputs = {"params:head": HeadParams(width=64), "params:plain": {"a": 1}, "data": 3}
        ProjectHooks().before_node_run(_Node(), inputs)
    params = mlflow.get_run(run.info.run_id).data.params
    assert params["head.width"] == "64" and params["head.heads"] == "4"
    assert not any(key.startswith(("plain", "data")) for key in params)  # kedro-mlflow's job


def test_nothing_is_logged_without_an_active_run():
    ProjectHooks().before_node_run(_Node(), {"params:head": HeadParams()})  # no error


def test_the_summary_line_is_printed_with_minutes(capsys):
    hooks = ProjectHooks()
    hooks.before_pipeline_run()
    hooks.after_dataset_saved("ga.unlearn_summary", "summary: forget 80.0 -> 20.0 (x0.25)")
    out = capsys.readouterr().out
    assert out.startswith("summary: forget 80.0 -> 20.0 (x0.25), minutes 0.0")
