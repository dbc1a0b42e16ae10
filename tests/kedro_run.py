"""Run a registered pipeline in the `test` environment with everything under one directory."""

from pathlib import Path

import pandas as pd
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

PROJECT = Path(__file__).resolve().parents[1]


def run(pipeline: str, root: Path, namespaces: list[str] | None = None, **params):
    bootstrap_project(PROJECT)
    runtime = {
        "data_root": str(root / "data"),
        "mlflow_db": str(root / "mlflow.db"),
        "mlflow_artifacts": str(root / "mlruns"),
        **params,
    }
    try:
        with KedroSession.create(PROJECT, env="test", runtime_params=runtime) as session:
            return session.run(pipeline_names=[pipeline], namespaces=namespaces)
    finally:
        _close_mlflow_runs()


def _close_mlflow_runs() -> None:
    """kedro-mlflow re-enters its run before every node, and with mlflow 3 each re-entry stacks
    another handle; it ends only one. A CLI run exits with the process, but a second session in
    the same process would log into the first one's run. Close them all."""
    import mlflow

    while mlflow.active_run() is not None:
        mlflow.end_run()


def mlflow_runs(root: Path) -> pd.DataFrame:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    return mlflow.search_runs(search_all_experiments=True)
