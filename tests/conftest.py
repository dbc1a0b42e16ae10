"""Shared fixtures: tiny random models (built once per session) and MLflow hygiene."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory):
    from atu_pipeline.io.tiny import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("tiny_llm"))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    from atu_pipeline.io.tiny import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"))


@pytest.fixture
def tiny_llm(tiny_llm_dir):
    """A fresh copy for every test: training tests change weights in place."""
    from atu_pipeline.io.models import load_llm

    return load_llm(str(tiny_llm_dir))


@pytest.fixture
def tiny_encoder(tiny_encoder_dir):
    from atu_pipeline.io.models import load_encoder

    return load_encoder(str(tiny_encoder_dir))


@pytest.fixture(autouse=True)
def _end_leftover_mlflow_runs():
    yield
    import sys

    if "mlflow" in sys.modules:
        mlflow = sys.modules["mlflow"]
        while mlflow.active_run() is not None:
            mlflow.end_run()
