"""Sweep nodes: a point's settings, its kept model's utility, and its record (MLflow + JSON)."""

import pandas as pd

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.schedule import tau_schedule
from atu_pipeline.hooks import flatten
from atu_pipeline.params import AtuParams, EvalParams, Params, SweepParams, with_changes
from atu_pipeline.pipelines.evaluate.nodes import utility_scores
from atu_pipeline.tracking import log_child_run

from .grid import Point

ROUND_COLUMNS = ["round", "tau", "forget/all", "neighbor/all", "kept"]


def atu_settings(point: Point):
    """A node function: ATU's settings at the point's hook layer, with τ falling evenly from
    the configured schedule's first value to the point's floor in the sweep's rounds."""

    def settings(atu: AtuParams) -> AtuParams:
        taus = tau_schedule(atu.taus[0], point.tau_floor, point.rounds)
        return with_changes(atu, {"layer": point.layer, "taus": taus})

    return settings


def baseline_changes(point: Point) -> dict:
    return {"train": {"lr": point.lr}, "rounds": point.rounds}


def utility_of(
    llm: CausalLM,
    utility_items: dict[str, list[dict]],
    sweep: SweepParams,
    eval_params: EvalParams,
) -> dict[str, float]:
    """The utility sets named in `sweep.utility_limits` (None = all items) on one model."""
    chosen = {name: rows for name, rows in utility_items.items() if name in sweep.utility_limits}
    limited = eval_params.model_copy(update={"utility_limits": sweep.utility_limits})
    return {k: v["value"] for k, v in utility_scores(llm, chosen, limited).items()}


def point_recorder(point: Point):
    """A node function: the point's result as JSON, and as a child MLflow run."""

    def record_point(
        round_scores: pd.DataFrame, utility: dict[str, float], settings: Params, sweep: SweepParams
    ) -> dict:
        history = round_scores[ROUND_COLUMNS].astype(object).where(round_scores.notna(), None)
        result = {
            "namespace": point.namespace,
            **point.labels(),
            "kept_round": int(round_scores.loc[round_scores["kept"], "round"].iloc[0]),
            "history": history.to_dict("records"),  # one row per round
            "utility": utility,
        }
        histories = {
            key: [(row[key], row["round"]) for row in result["history"] if row[key] is not None]
            for key in ("forget/all", "neighbor/all")
        }
        histories |= {f"kept/{key}": [(value, 0)] for key, value in utility.items()}
        kept = next(row for row in result["history"] if row["kept"])
        histories |= {f"kept/{key}": [(kept[key], 0)] for key in ("forget/all", "neighbor/all")}
        params = {k: v for k, v in point.labels().items() if v is not None}
        params |= flatten("settings", settings) | {"sweep": sweep.name}
        result["mlflow_run_id"] = log_child_run(
            point.namespace, params, histories, {"sweep": sweep.name, "method": point.method}
        )
        return result

    return record_point
