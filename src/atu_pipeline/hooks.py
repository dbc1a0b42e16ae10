"""Project hooks: typed parameter groups reach MLflow as one param per field; saved models are
logged by path; the run's summary line is printed with the run's wall time."""

import logging
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl
from pydantic import BaseModel

from atu_pipeline.tracking import flatten, log_unlearned_model, tag_experiment

log = logging.getLogger(__name__)


class ProjectHooks:
    #: model datasets (of any namespace) whose saved location is logged as an MLflow tag
    #: instead of uploading gigabytes of weights as an artifact
    MODEL_DATASET = "unlearned_llm"
    #: the one-line verdict of an unlearning run, printed to stdout with the minutes taken
    SUMMARY_DATASET = "unlearn_summary"

    def __init__(self):
        self._catalog = None
        self._started = time.time()
        self._experiment_tagged = False

    @hook_impl
    def after_catalog_created(self, catalog):
        self._catalog = catalog

    @hook_impl
    def before_pipeline_run(self):
        self._started = time.time()

    @hook_impl
    def after_dataset_saved(self, dataset_name, data):
        short_name = dataset_name.split(".")[-1]
        if short_name == self.SUMMARY_DATASET:
            minutes = (time.time() - self._started) / 60
            print(f"{data}, minutes {minutes:.1f}", flush=True)  # the run's verdict, on stdout
        if short_name == self.MODEL_DATASET:
            self._tag_model_path(dataset_name)
            if self._log_model_asked():
                self._log_model(dataset_name, data)

    def _log_model_asked(self) -> bool:
        """`tracking.log_model` (params.TrackingParams; read raw: hooks sit above params)."""
        if "params:tracking" not in self._catalog:
            return False
        tracking = self._catalog.load("params:tracking")
        if isinstance(tracking, BaseModel):
            tracking = tracking.model_dump()
        return bool(tracking.get("log_model", False))

    @staticmethod
    def _log_model(dataset_name: str, llm) -> None:
        import mlflow

        if mlflow.active_run() is not None:
            log.info("logging %s to MLflow as a transformers model", dataset_name)
            log_unlearned_model(llm.model, llm.tokenizer, dataset_name)

    def _tag_model_path(self, dataset_name: str) -> None:
        import mlflow

        if mlflow.active_run() is None:
            return
        path = self._catalog.get(dataset_name)._describe().get("path")
        if path:  # a model kept in memory only has no path
            mlflow.set_tag(f"{dataset_name}_path", str(Path(path).resolve()))

    @hook_impl
    def before_node_run(self, node, inputs):
        import mlflow

        run = mlflow.active_run()
        if run is None:
            return
        if not self._experiment_tagged:
            tag_experiment(run.info.experiment_id)
            self._experiment_tagged = True
        params = {}
        for name, value in inputs.items():
            if name.startswith("params:") and isinstance(value, BaseModel):
                params.update(flatten(name.removeprefix("params:"), value))
        try:
            mlflow.log_params({k: str(v)[:250] for k, v in params.items()})
        except mlflow.exceptions.MlflowException as err:  # same key, other value: keep going
            log.warning("MLflow refused some parameters of node %s: %s", node.name, err)
