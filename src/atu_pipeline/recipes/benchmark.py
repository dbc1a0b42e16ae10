"""The benchmark: methods × configurations × targets × seeds, each point a whole unlearning run
from the same subject model, with decisions on validation probes and results on test probes.

1. Tuning: every configuration of every method runs on the tuning targets; each method keeps
   the configuration with the best mean validation trade-off (`choose_configurations`), so every
   method gets the same number of tries.
2. Report: the chosen configurations run on the report targets × seeds; their kept models are
   scored on the test probes, MIA and utility (reporting/benchmark.py aggregates them).
A finished point's result stays in its folder with a key of everything it depends on, so a
killed benchmark resumes at its first unfinished point.
"""

import time
from dataclasses import dataclass
from functools import partial

import pandas as pd

from atu_pipeline.core.llm import CausalLM, fingerprint
from atu_pipeline.io.results import ResultFolder
from atu_pipeline.params import (
    AtuParams,
    BaselineParams,
    BenchmarkParams,
    EngineParams,
    with_changes,
)
from atu_pipeline.recipes.engine import run_points
from atu_pipeline.recipes.evaluation import (
    mia_scores,
    other_target_scores,
    probe_values,
    utility_scores,
)
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


@dataclass(frozen=True)
class BenchPoint:
    stage: str  # tuning | report
    method: str
    config: int  # index into the method's configurations
    target: str  # target id
    seed: int

    @property
    def name(self) -> str:
        return f"{self.stage}-{self.method}-c{self.config}-{self.target}-s{self.seed}"

    def labels(self) -> dict[str, object]:
        names = ("stage", "method", "config", "target", "seed")
        return {name: getattr(self, name) for name in names}


@dataclass(frozen=True)
class Study:
    """What every point of one benchmark reads."""

    targets: dict[str, TargetData]  # by target id, tuning and report targets alike
    shared: SharedWork
    settings: dict[str, list[AtuParams | BaselineParams]]  # each method's configurations
    bench: BenchmarkParams


def method_settings(
    bench: BenchmarkParams, *, atu: AtuParams, ga: BaselineParams, npo: BaselineParams
) -> dict[str, list[AtuParams | BaselineParams]]:
    """Each method's configurations; every one must make the same number of LLM updates as
    ATU's default schedule (rounds × steps per round), so that methods compare at equal cost."""
    budget = len(atu.taus) * atu.steps_per_round
    defaults = {"atu": atu, "ga": ga, "npo": npo}
    settings = {}
    for method in bench.methods:
        base, _, retain = method.partition("+")  # "npo+kl": NPO with a KL retain term
        default = defaults[base]
        if retain:
            default = with_changes(
                default, {"retain": {"kind": retain, "weight": bench.retain_weight}}
            )
        changes = bench.configurations.get(method, [{}])
        settings[method] = [with_changes(default, change) for change in changes]
        for index, config in enumerate(settings[method]):
            if _updates(config) != budget:
                raise ValueError(
                    f"benchmark.configurations.{method}[{index}] makes {_updates(config)} LLM "
                    f"updates; ATU's default makes {budget} (atu.taus x atu.steps_per_round): "
                    f"set rounds and steps_per_round so that every method trains as long"
                )
    return settings


def _updates(settings: AtuParams | BaselineParams) -> int:
    rounds = len(settings.taus) if isinstance(settings, AtuParams) else settings.rounds
    return rounds * settings.steps_per_round


def run_benchmark(study: Study, *, folder: ResultFolder, engine: EngineParams) -> dict:
    """Tuning, the choice of each method's configuration, then the report points."""
    bench = study.bench
    tuning = [
        BenchPoint("tuning", method, config, target, seed)
        for method in bench.methods
        for config in range(len(study.settings[method]))
        for target in bench.tuning_targets
        for seed in bench.tuning_seeds
    ]
    tuned = _results(tuning, study, folder, engine)
    chosen = choose_configurations(tuned, bench.methods)
    # the chosen configurations' tuning runs are report points too (their checkpoints resume)
    discard_checkpoints([r for r in tuned if r["config"] != chosen[r["method"]]], engine)
    # seed- and target-major: whatever stops a study early, every method has the same points
    report = [
        BenchPoint("report", method, chosen[method], target, seed)
        for seed in bench.seeds
        for target in bench.report_targets
        for method in bench.methods
    ]
    reported = _results(report, study, folder, engine)
    discard_checkpoints(tuned, engine)
    before = {target: before_scores(target, study, folder) for target in bench.report_targets}
    return {"tuning": tuned, "chosen": chosen, "points": reported, "before": before}


def choose_configurations(tuned: list[dict], methods: list[str]) -> dict[str, int]:
    """Per method, the configuration with the highest mean validation trade-off over its tuning
    points: validation neighbor kept minus validation forget left, both as ratios to before
    unlearning (the first configuration when there was nothing to tune)."""
    if not tuned:
        return dict.fromkeys(methods, 0)
    table = pd.DataFrame([{**_labels(r), "score": validation_tradeoff(r)} for r in tuned])
    means = table.groupby(["method", "config"])["score"].mean().reset_index()
    ranked = means.sort_values(["score", "config"], ascending=[False, True], na_position="last")
    best = ranked.groupby("method").head(1)
    return {row.method: int(row.config) for row in best.itertuples()}


def validation_tradeoff(result: dict) -> float:
    """Validation neighbor kept minus validation forget left, as ratios (NaN without a score
    before unlearning to compare with)."""
    before, kept = result["before"], result["kept"]
    neighbor = _ratio(kept["val/neighbor/all"], before["val/neighbor/all"])
    return neighbor - _ratio(kept["val/forget/all"], before["val/forget/all"])


def _ratio(value: float, before: float) -> float:
    return value / before if before else float("nan")


def _labels(result: dict) -> dict:
    return {k: result[k] for k in ("stage", "method", "config", "target", "seed")}


def _results(
    points: list[BenchPoint], study: Study, folder: ResultFolder, engine: EngineParams
) -> list[dict]:
    """Each point's result: from its folder when its key matches, else run (and recorded)."""
    keys = {point: point_key(point, study) for point in points}
    saved = {point: folder.read(point.name) for point in points}
    missing = [p for p in points if (saved[p] or {}).get("key") != keys[p]]
    shared, targets = study.shared, study.targets
    align_heads(
        [with_hook_layer(_settings(p, study), targets[p.target], shared) for p in missing], shared
    )

    def record(point: BenchPoint, outcome: tuple[dict, pd.DataFrame]) -> None:
        result, round_scores = outcome
        result["key"] = keys[point]
        result["mlflow_run_id"] = _log(result, study)
        folder.write(point.name, result, round_scores, result["summary"])
        saved[point] = result
        if point.stage == "report":
            discard_checkpoints([result], engine)

    run_points(
        missing,
        partial(run_point, study=study),
        engine=engine,
        on_done=record,
        describe=lambda point, outcome: f"{point.name}: {brief(outcome[0])}",
        title=f"{study.bench.name} ({points[0].stage if points else ''})",
    )
    return [saved[point] for point in points]


def brief(result: dict) -> str:
    """`test forget 12.5, neighbor 90.6` at the kept round."""
    kept = result["kept"]
    return f"test forget {kept['test/forget/all']:.1f}, neighbor {kept['test/neighbor/all']:.1f}"


def point_key(point: BenchPoint, study: Study) -> str:
    shared = study.shared
    return shared.cache.key(
        point=point.labels(),
        settings=study.settings[point.method][point.config].run_identity(),
        subject=fingerprint(shared.subject_llm.model.state_dict()),
        windows=fingerprint(shared.windows.to_tensors()),
        target=study.targets[point.target].fingerprint(),
        eval=shared.eval_params.model_dump(),
        utility=study.bench.utility_limits,
    )


def run_point(point: BenchPoint, study: Study) -> tuple[dict, pd.DataFrame]:
    """One whole run at the point's method, configuration, target and seed; report points also
    score the kept model's membership inference and utility."""
    target = study.targets[point.target]
    settings = _settings(point, study)
    started = time.time()
    outcome = run_unlearning(point.method.partition("+")[0], settings, target, study.shared)
    scores = outcome.round_scores
    probe_columns = [c for c in scores.columns if c.startswith(("val/", "test/"))]
    kept = scores[scores["kept"]].iloc[0]
    result = {
        "point": point.name,
        **point.labels(),
        "kept_round": outcome.kept_round,
        "before": scores.iloc[0][probe_columns].to_dict(),
        "kept": kept[probe_columns].to_dict(),
        "history": table_rows(scores[["round", "tau", *SCORES, "kept"]]),
        "summary": summary_line(
            scores, target.probes, target.memorised_probes, study.shared.eval_params
        ),
        "settings": {k: str(v) for k, v in flatten("settings", settings).items()},
        "checkpoints": str(outcome.checkpoints),
    }
    if point.stage == "report":
        result["kept"] |= full_scores(outcome.llm, target, study)
    if point.stage == "report" and "members" in target.info:
        result["members"] = member_scores(outcome.llm, target, study)
    return result | {"started": started, "ended": time.time()}, scores


def _settings(point: BenchPoint, study: Study) -> AtuParams | BaselineParams:
    return with_changes(study.settings[point.method][point.config], {"seed": point.seed})


def full_scores(llm: CausalLM, target: TargetData, study: Study) -> dict[str, float]:
    """Membership inference and utility of one model (the probes come from its rounds)."""
    eval_params = study.shared.eval_params.model_copy(
        update={"utility_limits": study.bench.utility_limits}
    )
    items = {k: v for k, v in study.shared.utility_items.items() if k in study.bench.utility_limits}
    scores = mia_scores(llm, target.mia_texts, eval_params)
    scores |= other_target_scores(llm, target.retain_probes, eval_params)
    scores |= utility_scores(llm, items, eval_params)
    return {key: score["value"] for key, score in scores.items()}


def member_scores(llm: CausalLM, group: TargetData, study: Study) -> dict[str, dict]:
    """A batch point's forgetting of each member alone: its own forget probes' test score
    before unlearning and at the kept model."""
    scores = {}
    for member, name in group.info["members"].items():
        own = group.probes[(group.probes["set"] == "forget") & (group.probes["subject"] == name)]
        before, kept = (
            probe_values(model, own, study.shared.eval_params)["test/forget/all"]
            for model in (study.shared.subject_llm, llm)
        )
        scores[member] = {"before": before, "kept": kept}
    return scores


def before_scores(target: str, study: Study, folder: ResultFolder) -> dict[str, float]:
    """The subject model's membership inference and utility on one target (its probe scores
    are every point's round 0), kept in the folder like a point's result."""
    key = study.shared.cache.key(
        subject=fingerprint(study.shared.subject_llm.model.state_dict()),
        target=study.targets[target].fingerprint(),
        eval=study.shared.eval_params.model_dump(),
        utility=study.bench.utility_limits,
    )
    saved = folder.read(f"before-{target}")
    if saved is None or saved.get("key") != key:
        saved = {
            "key": key,
            "scores": full_scores(study.shared.subject_llm, study.targets[target], study),
        }
        folder.write(f"before-{target}", saved)
    return saved["scores"]


def _log(result: dict, study: Study) -> str | None:
    histories = {
        key: [(row[key], row["round"]) for row in result["history"] if row[key] is not None]
        for key in SCORES
    }
    histories |= {f"kept/{k}": [(v, 0)] for k, v in result["kept"].items() if v is not None}
    params = {**_labels(result), **result["settings"], "benchmark": study.bench.name}
    tags = {"benchmark": study.bench.name, "method": result["method"], "stage": result["stage"]}
    times = {"started": result["started"], "ended": result["ended"]}
    return log_child_run(result["point"], params, histories, tags, **times)
