"""Project pipelines."""

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Every folder under pipelines/ is one pipeline; composites are assembled in their own folder."""
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = pipelines.get("unlearn", sum(pipelines.values(), Pipeline([])))
    return pipelines
