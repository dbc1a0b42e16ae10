"""Project hooks: typed parameter groups reach MLflow as one param per field; saved models are
logged by path; the sweep's grid is read from the run's configuration.

kedro-mlflow flattens only plain dicts; a pydantic params object would be logged as one long
repr string (see reference/kedro.md, stack trap 2), which MLflow's compare view cannot use.
"""

import logging
from pathlib import Path

from kedro.framework.hooks import hook_impl
from pydantic import BaseModel

log = logging.getLogger(__name__)


def flatten(prefix: str, value: object) -> dict[str, object]:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(flatten(f"{prefix}.{key}", inner))
        return flat
    return {prefix: value}


class ProjectHooks:
    #: model datasets (of any namespace) whose saved location is logged as an MLflow tag
    #: instead of uploading gigabytes of weights as an artifact
    MODEL_DATASET = "unlearned_llm"

    def __init__(self):
        self._catalog = None

    @hook_impl
    def after_context_created(self, context):
        """The sweep's points are pipeline structure: hand the run's grid (environment and
        --params included) to the registry before it builds the pipelines."""
        from kedro.framework.project import pipelines

        from atu_pipeline import pipeline_registry
        from atu_pipeline.pipelines.sweep import grid

        if grid.configure(context.config_loader["parameters"].get("sweep")):
            pipelines.configure(pipeline_registry.__name__)  # rebuild with the new grid

    @hook_impl
    def after_catalog_created(self, catalog):
        self._catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        import mlflow

        if dataset_name.split(".")[-1] != self.MODEL_DATASET or mlflow.active_run() is None:
            return
        path = self._catalog.get(dataset_name)._describe().get("path")
        if path:  # a sweep point's model lives in memory only
            mlflow.set_tag(f"{dataset_name}_path", str(Path(path).resolve()))

    @hook_impl
    def before_node_run(self, node, inputs):
        import mlflow

        if mlflow.active_run() is None:
            return
        typed = {
            name.removeprefix("params:"): value
            for name, value in inputs.items()
            if name.startswith("params:") and isinstance(value, BaseModel)
        }
        params = {}
        for name, value in typed.items():
            params.update(flatten(name, value))
        try:
            mlflow.log_params({k: str(v)[:250] for k, v in params.items()})
        except mlflow.exceptions.MlflowException as err:  # same key, other value: keep going
            log.warning("MLflow refused some parameters of node %s: %s", node.name, err)
