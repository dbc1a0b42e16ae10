"""MLflow: typed parameter groups as one param per field, and child runs for a sweep's points.

kedro-mlflow gives a whole `kedro run` one MLflow run. The compare view needs one run per grid
point, so each point is logged through the client API (not the fluent `start_run`, which would
fight kedro-mlflow over the active run) as a child run with its own parameters and metrics.
kedro-mlflow also flattens only plain dicts; a pydantic params object would be logged as one long
repr string (reference/kedro.md, stack trap 2), which MLflow's compare view cannot use.
"""

import logging
import tempfile

from pydantic import BaseModel

log = logging.getLogger(__name__)

MAX_BATCH = 100  # parameters per log_batch call (MLflow's limit; metrics allow 1000)


def flatten(prefix: str, value: object) -> dict[str, object]:
    """`{"atu.head.width": 256, ...}` from nested dicts and pydantic models."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        flat = {}
        for key, inner in value.items():
            flat.update(flatten(f"{prefix}.{key}", inner))
        return flat
    return {prefix: value}


# The experiment's kind, for MLflow's experiment list and APIs. MLflow 3.17's UI still opens it on
# its GenAI pages unless the URL asks for `workflowType=machine_learning` (README).
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def tag_experiment(experiment_id: str) -> None:
    """Marks the experiment as model development (custom training, not a GenAI app)."""
    import mlflow

    client = mlflow.MlflowClient()
    for key, value in EXPERIMENT_KIND.items():
        if client.get_experiment(experiment_id).tags.get(key) != value:
            client.set_experiment_tag(experiment_id, key, value)


def log_child_run(
    name: str,
    params: dict[str, object],
    histories: dict[str, list[tuple[float, int]]],
    tags: dict[str, str],
    *,
    started: float | None = None,
    ended: float | None = None,
) -> str | None:
    """A finished child run of the active run: params, metric histories ((value, step) pairs),
    tags, and the point's own start and end times (seconds since the epoch; now when None).
    Returns its id; None (with a warning) when no MLflow run is active."""
    import time

    import mlflow
    from mlflow.entities import Metric, Param

    parent = mlflow.active_run()
    if parent is None:
        log.warning("no active MLflow run: point %s is not logged to MLflow", name)
        return None
    client = mlflow.MlflowClient()
    ended = ended or time.time()
    run = client.create_run(
        parent.info.experiment_id,
        start_time=int((started or ended) * 1000),
        run_name=name,
        tags={"mlflow.parentRunId": parent.info.run_id, **tags},
    )
    run_id = run.info.run_id
    now = int(ended * 1000)
    entries = [Param(k, str(v)[:250]) for k, v in params.items()]
    for start in range(0, len(entries), MAX_BATCH):
        client.log_batch(run_id, params=entries[start : start + MAX_BATCH])
    metrics = [
        Metric(key, float(value), now, int(step))
        for key, history in histories.items()
        for value, step in history
    ]
    for start in range(0, len(metrics), 10 * MAX_BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + 10 * MAX_BATCH])
    client.set_terminated(run_id, end_time=now)
    return run_id


def log_unlearned_model(model, tokenizer, name: str) -> None:
    """Logs a Hugging Face causal LM to the active run as an MLflow `transformers` model, so it
    can be registered and served; a LoRA model logs its adapters alone, as artifacts."""
    import mlflow

    if hasattr(model, "peft_config"):
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            mlflow.log_artifacts(folder, f"{name}_adapters")
        return
    mlflow.transformers.log_model(
        {"model": model, "tokenizer": tokenizer},
        name=name,
        task="text-generation",
        pip_requirements=serving_requirements(),  # MLflow's own guess asks for torchvision
    )


def serving_requirements() -> list[str]:
    """What serving the logged model needs, pinned to this environment's versions (without
    local labels such as `+cpu`, which PyPI does not serve)."""
    from importlib.metadata import version

    return [f"{name}=={version(name).split('+')[0]}" for name in ("torch", "transformers")]
