"""A sweep: a grid of unlearning runs from one subject model (ATU τ floors × hook layers, GA and
NPO learning rates), each point a whole run with its own checkpoints, all at equal budgets.

The grid comes from `params:sweep` when the sweep runs, not when pipelines are registered, so
the pipeline's shape never depends on configuration. A finished point's result is kept in its
folder with a key of everything it depends on; running the sweep again reuses it.
"""

import time
from dataclasses import dataclass
from functools import partial

import pandas as pd

from atu_pipeline.core.llm import CausalLM, fingerprint
from atu_pipeline.core.schedule import tau_schedule
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import (
    AtuParams,
    BaselineParams,
    EngineParams,
    SweepParams,
    with_changes,
)
from atu_pipeline.recipes.engine import run_points
from atu_pipeline.recipes.evaluation import other_target_scores, utility_scores
from atu_pipeline.recipes.points import (
    SharedWork,
    TargetData,
    align_heads,
    discard_checkpoints,
    run_unlearning,
    table_rows,
    with_hook_layer,
)
from atu_pipeline.reporting.rounds import summary_line
from atu_pipeline.tracking import flatten, log_child_run

SCORES = ["val/forget/all", "val/neighbor/all", "test/forget/all", "test/neighbor/all"]
ROUND_COLUMNS = ["round", "tau", *SCORES, "kept"]


@dataclass(frozen=True)
class Point:
    method: str  # atu | ga | npo
    updates: int  # LLM updates, as every other point of the sweep
    layer: int | None = None  # ATU's hook layer
    tau_floor: float | None = None  # ATU's last τ
    lr: float | None = None  # a baseline's learning rate

    @property
    def name(self) -> str:
        """Readable and dot-free: atu_tau0p05_layer10, atu_taum0p1_layer5, ga_lr1em05."""
        if self.method == "atu":
            return f"atu_tau{_slug(self.tau_floor)}_layer{self.layer}"
        return f"{self.method}_lr{_slug(self.lr)}"

    def labels(self) -> dict[str, object]:
        """The point's coordinates, as MLflow parameters and table columns."""
        labels = {"method": self.method, "tau": self.tau_floor, "layer": self.layer}
        return labels | {"lr": self.lr, "updates": self.updates}


def _slug(value: float) -> str:
    return f"{value:g}".replace("-", "m").replace(".", "p").replace("+", "")


def sweep_points(sweep: SweepParams) -> list[Point]:
    updates = sweep.updates
    grid = [Point("atu", updates, layer, tau) for tau in sweep.tau_floors for layer in sweep.layers]
    grid += [Point("ga", updates, lr=lr) for lr in sweep.ga_lrs]
    grid += [Point("npo", updates, lr=lr) for lr in sweep.npo_lrs]
    names = [p.name for p in grid]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"params:sweep repeats grid points {duplicates}")
    return grid


def point_settings(
    point: Point, *, atu: AtuParams, ga: BaselineParams, npo: BaselineParams
) -> AtuParams | BaselineParams:
    """The method's settings at the point, in as many rounds of its own `steps_per_round` as make
    the sweep's updates: ATU at its hook layer with τ falling evenly from the configured
    schedule's first value to the point's floor; a baseline at its learning rate."""
    settings = atu if point.method == "atu" else {"ga": ga, "npo": npo}[point.method]
    rounds, rest = divmod(point.updates, settings.steps_per_round)
    if rest or not rounds:
        raise ValueError(
            f"params:sweep.updates={point.updates} is not a whole number of "
            f"{point.method}.steps_per_round={settings.steps_per_round}: every point trains as "
            "long, in whole rounds; set sweep.updates to a common multiple"
        )
    if point.method == "atu":
        taus = tau_schedule(atu.taus[0], point.tau_floor, rounds)
        return with_changes(atu, {"layer": point.layer, "taus": taus})
    return with_changes(settings, {"train": {"lr": point.lr}, "rounds": rounds})


def run_sweep(
    points: list[tuple[Point, AtuParams | BaselineParams]],
    target: TargetData,
    shared: SharedWork,
    *,
    folder: ResultFolder,
    sweep: SweepParams,
    engine: EngineParams,
) -> list[dict]:
    """Every point's result, in grid order: reused from its folder when nothing it depends on
    changed, else run (on the engine), written to its folder and logged as a child MLflow run."""
    inputs = {
        "subject": fingerprint(shared.subject_llm.model.state_dict()),
        "target": target.fingerprint(),
        "eval": shared.eval_params.model_dump(),
        "utility": sweep.utility_limits,
    }
    keys = {
        point.name: shared.cache.key(
            point=point.labels(), settings=settings.run_identity(), **inputs
        )
        for point, settings in points
    }
    saved = {point.name: folder.read(point.name) for point, _ in points}
    missing = [(p, s) for p, s in points if (saved[p.name] or {}).get("key") != keys[p.name]]

    def record(job: tuple[Point, object], outcome: tuple[dict, pd.DataFrame]) -> None:
        point, settings = job
        result, round_scores = outcome
        result["key"] = keys[point.name]
        result["mlflow_run_id"] = log_child_run(
            point.name,
            {k: v for k, v in point.labels().items() if v is not None}
            | flatten("settings", settings)
            | {"sweep": sweep.name},
            point_histories(result),
            {"sweep": sweep.name, "method": point.method},
            started=result["started"],
            ended=result["ended"],
        )
        folder.write(point.name, result, round_scores, result["summary"])
        saved[point.name] = result
        discard_checkpoints([result], engine)

    align_heads([with_hook_layer(settings, target, shared) for _, settings in missing], shared)
    run_one = partial(sweep_point, target=target, shared=shared, sweep=sweep)
    run_points(missing, run_one, engine=engine, on_done=record, title=f"sweep {sweep.name}")
    return [saved[point.name] for point, _ in points]


def sweep_point(
    job: tuple[Point, AtuParams | BaselineParams],
    *,
    target: TargetData,
    shared: SharedWork,
    sweep: SweepParams,
) -> tuple[dict, pd.DataFrame]:
    """One point: its whole run, the kept model's utility, its result and round table."""
    point, settings = job
    started = time.time()
    outcome = run_unlearning(point.method, settings, target, shared)
    scores = outcome.round_scores
    result = {
        "point": point.name,
        **point.labels(),
        "kept_round": outcome.kept_round,
        "history": table_rows(scores[ROUND_COLUMNS]),  # one row per round
        "utility": utility_of(outcome.llm, target, shared, sweep),
        "summary": summary_line(scores, target.probes, target.memorised_probes, shared.eval_params),
        "checkpoints": str(outcome.checkpoints),
        "started": started,
        "ended": time.time(),
    }
    return result, scores


def utility_of(
    llm: CausalLM, target: TargetData, shared: SharedWork, sweep: SweepParams
) -> dict[str, float]:
    """The utility sets named in `sweep.utility_limits` (None = all items) on one model."""
    chosen = {k: rows for k, rows in shared.utility_items.items() if k in sweep.utility_limits}
    limited = shared.eval_params.model_copy(update={"utility_limits": sweep.utility_limits})
    scores = utility_scores(llm, chosen, limited)
    if "other_targets" in sweep.utility_limits:
        scores |= other_target_scores(llm, target.retain_probes, limited)
    return {k: v["value"] for k, v in scores.items()}


def point_histories(result: dict) -> dict[str, list[tuple[float, int]]]:
    """A point's MLflow metrics: forget and neighbor (validation and test) per round, and
    `kept/*` at step 0."""
    rows = result["history"]
    histories = {key: [(r[key], r["round"]) for r in rows if r[key] is not None] for key in SCORES}
    kept = next(row for row in rows if row["kept"])
    histories |= {f"kept/{key}": [(kept[key], 0)] for key in SCORES}
    return histories | {f"kept/{key}": [(value, 0)] for key, value in result["utility"].items()}
