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


class _Catalog:
    """The two entries the model hook reads."""

    def __init__(self, tracking: dict, model_path: str):
        self._tracking, self._path = tracking, model_path

    def __contains__(self, name: str) -> bool:
        return name == "params:tracking"

    def load(self, name: str) -> dict:
        return self._tracking

    def get(self, name: str):
        path = self._path
        return type("Dataset", (), {"_describe": lambda self: {"path": path}})()


def _save_model_in_a_run(tmp_path, tiny_llm, tracking: dict) -> str:
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("models", artifact_location=str(tmp_path / "artifacts"))
    hooks = ProjectHooks()
    hooks.after_catalog_created(_Catalog(tracking, str(tmp_path / "unlearned_llm")))
    with mlflow.start_run(experiment_id=experiment) as run:
        hooks.after_dataset_saved("unlearned_llm", tiny_llm)
    return run.info.run_id


def test_the_unlearned_model_is_logged_as_a_transformers_model_only_when_asked(tmp_path, tiny_llm):
    import torch

    quiet = _save_model_in_a_run(tmp_path / "off", tiny_llm, {"log_model": False})
    assert mlflow.MlflowClient().list_artifacts(quiet) == []
    logged = _save_model_in_a_run(tmp_path / "on", tiny_llm, {"log_model": True})
    model_uri = mlflow.get_run(logged).outputs.model_outputs[0].model_id
    loaded = mlflow.transformers.load_model(f"models:/{model_uri}", return_type="components")
    tokens = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        expected = tiny_llm.model(tokens).logits
        assert torch.allclose(loaded["model"](tokens).logits, expected, atol=1e-5)
