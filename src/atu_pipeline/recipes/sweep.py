"""A sweep: a grid of unlearning runs from one subject model (ATU τ floors × hook layers, GA and
NPO learning rates), each point a whole run with its own checkpoints, all at equal budgets.

The grid comes from `params:sweep` when the sweep runs, not when pipelines are registered, so
the pipeline's shape never depends on configuration. A finished point's result is kept in its
folder with a key of everything it depends on; running the sweep again reuses it.
"""

import hashlib
import time
from dataclasses import dataclass

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM, fingerprint
from atu_pipeline.core.schedule import tau_schedule
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.io.models import ModelCache
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import AtuParams, BaselineParams, EvalParams, SweepParams, with_changes
from atu_pipeline.recipes.atu import first_alignment, unlearn_atu
from atu_pipeline.recipes.baselines import unlearn_baseline
from atu_pipeline.recipes.evaluation import utility_scores
from atu_pipeline.recipes.rounds import UnlearningResult
from atu_pipeline.reporting.rounds import summary_line
from atu_pipeline.tracking import flatten, log_child_run

ROUND_COLUMNS = ["round", "tau", "forget/all", "neighbor/all", "kept"]


@dataclass(frozen=True)
class Point:
    method: str  # atu | ga | npo
    rounds: int  # as every other point of the sweep
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
        return labels | {"lr": self.lr, "rounds": self.rounds}


@dataclass(frozen=True)
class SharedWork:
    """What every point reads and none changes: computed once, before the first point."""

    subject_llm: CausalLM
    windows: WindowSet
    forget_corpus: pd.DataFrame
    concept: torch.Tensor
    probes: pd.DataFrame
    utility_items: dict[str, list[dict]]
    cache: ModelCache
    eval_params: EvalParams


def _slug(value: float) -> str:
    return f"{value:g}".replace("-", "m").replace(".", "p").replace("+", "")


def sweep_points(sweep: SweepParams) -> list[Point]:
    rounds = sweep.rounds
    grid = [Point("atu", rounds, layer, tau) for tau in sweep.tau_floors for layer in sweep.layers]
    grid += [Point("ga", rounds, lr=lr) for lr in sweep.ga_lrs]
    grid += [Point("npo", rounds, lr=lr) for lr in sweep.npo_lrs]
    names = [p.name for p in grid]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"params:sweep repeats grid points {duplicates}")
    return grid


def point_settings(
    point: Point, *, atu: AtuParams, ga: BaselineParams, npo: BaselineParams
) -> AtuParams | BaselineParams:
    """The method's settings at the point: ATU at its hook layer with τ falling evenly from the
    configured schedule's first value to the point's floor; a baseline at its learning rate."""
    if point.method == "atu":
        taus = tau_schedule(atu.taus[0], point.tau_floor, point.rounds)
        return with_changes(atu, {"layer": point.layer, "taus": taus})
    baseline = {"ga": ga, "npo": npo}[point.method]
    return with_changes(baseline, {"train": {"lr": point.lr}, "rounds": point.rounds})


def run_sweep(
    points: list[tuple[Point, AtuParams | BaselineParams]],
    shared: SharedWork,
    *,
    folder: ResultFolder,
    sweep: SweepParams,
) -> list[dict]:
    """Every point's result, in grid order: reused from its folder when nothing it depends on
    changed, else run, written to its folder and logged as a child MLflow run."""
    inputs = {
        "subject": fingerprint(shared.subject_llm.model.state_dict()),
        "probes": hashlib.sha256(shared.probes.to_json().encode()).hexdigest(),
        "corpus": hashlib.sha256(shared.forget_corpus.to_json().encode()).hexdigest(),
        "eval": shared.eval_params.model_dump(),
        "utility": sweep.utility_limits,
    }
    results = []
    for point, settings in points:
        key = shared.cache.key(point=point.labels(), settings=settings.model_dump(), **inputs)
        result = folder.read(point.name)
        if result is None or result.get("key") != key:
            result, round_scores = _run_and_record(point, settings, shared, sweep=sweep)
            result["key"] = key
            folder.write(point.name, result, round_scores, result["summary"])
        results.append(result)
    return results


def _run_and_record(
    point: Point, settings, shared: SharedWork, *, sweep: SweepParams
) -> tuple[dict, pd.DataFrame]:
    started = time.time()
    outcome = run_point(point, settings, shared)
    scores = outcome.round_scores
    result = {
        "point": point.name,
        **point.labels(),
        "kept_round": outcome.kept_round,
        "history": _rows(scores[ROUND_COLUMNS]),  # one row per round
        "utility": utility_of(outcome.llm, shared.utility_items, sweep, shared.eval_params),
        "summary": summary_line(scores),
        "started": started,
        "ended": time.time(),
    }
    result["mlflow_run_id"] = log_child_run(
        point.name,
        {k: v for k, v in point.labels().items() if v is not None}
        | flatten("settings", settings)
        | {"sweep": sweep.name},
        point_histories(result),
        {"sweep": sweep.name, "method": point.method},
    )
    return result, scores


def run_point(point: Point, settings, shared: SharedWork) -> UnlearningResult:
    """One whole unlearning run from the subject model (ATU: with its head aligned first)."""
    subject, cache, eval_params = shared.subject_llm, shared.cache, shared.eval_params
    if point.method != "atu":
        return unlearn_baseline(
            subject,
            shared.forget_corpus,
            shared.probes,
            cache=cache,
            baseline=settings,
            eval_params=eval_params,
        )
    head, _ = first_alignment(subject, shared.windows, cache=cache, atu=settings)
    result, _ = unlearn_atu(
        subject,
        head,
        shared.windows,
        shared.forget_corpus,
        shared.concept,
        shared.probes,
        cache=cache,
        atu=settings,
        eval_params=eval_params,
    )
    return result


def utility_of(
    llm: CausalLM, utility_items: dict[str, list[dict]], sweep: SweepParams, eval_params: EvalParams
) -> dict[str, float]:
    """The utility sets named in `sweep.utility_limits` (None = all items) on one model."""
    chosen = {k: rows for k, rows in utility_items.items() if k in sweep.utility_limits}
    limited = eval_params.model_copy(update={"utility_limits": sweep.utility_limits})
    return {k: v["value"] for k, v in utility_scores(llm, chosen, limited).items()}


def _rows(round_scores: pd.DataFrame) -> list[dict]:
    """The round table as JSON-able rows (NaN as None)."""
    return round_scores.astype(object).where(round_scores.notna(), None).to_dict("records")


def point_histories(result: dict) -> dict[str, list[tuple[float, int]]]:
    """A point's MLflow metrics: forget and neighbor per round, and `kept/*` at step 0."""
    rows = result["history"]
    keys = ("forget/all", "neighbor/all")
    histories = {key: [(r[key], r["round"]) for r in rows if r[key] is not None] for key in keys}
    kept = next(row for row in rows if row["kept"])
    histories |= {f"kept/{key}": [(kept[key], 0)] for key in keys}
    return histories | {f"kept/{key}": [(value, 0)] for key, value in result["utility"].items()}
