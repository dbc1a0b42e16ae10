"""Project settings: hooks and the configuration loader."""

from kedro.config import OmegaConfigLoader

from atu_pipeline.hooks import ProjectHooks

HOOKS = (ProjectHooks(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment overrides single keys (`atu.layer`) and inherits the rest from base.
    "merge_strategy": {"parameters": "soft", "mlflow": "soft"},
}
