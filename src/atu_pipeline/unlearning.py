"""What the unlearning nodes of every method (ATU, GA, NPO) share around `core.rounds`.

A trainable copy of the subject model, a checkpoint directory keyed by everything the run
depends on (so the same command resumes a killed run from its last finished round), the
probe evaluation after each round, the keep rule, and the per-round table and MLflow histories.
"""

import copy
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from atu_pipeline.core.checkpoint import (
    drop_resume_state,
    latest_checkpoint,
    load_checkpoint,
    load_trainable,
    restore_rng,
    save_checkpoint,
)
from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM, fingerprint, set_trainable, trainable_state
from atu_pipeline.core.rounds import choose_round, run_rounds
from atu_pipeline.core.schedule import Round
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import EvalParams, RoundsParams
from atu_pipeline.pipelines.evaluate.nodes import probe_scores
from atu_pipeline.progress import StepLog

log = logging.getLogger(__name__)

OnStep = Callable[[str, int, dict[str, float]], None]


@dataclass
class Outcome:
    kept: int  # the kept round; 0 = none qualified, the subject model is returned unchanged
    llm: CausalLM
    scores: pd.DataFrame  # one row per round, round 0 = before unlearning
    metrics: dict[str, list[dict]]  # per-step losses and per-round scores as MLflow histories
    started: dict  # what `start()` computed before round 1 (restored by a resumed run)


def trainable_copy(model: torch.nn.Module, params: RoundsParams, hook_layer: int):
    """A copy with only the configured weights trainable: the subject model stays the "before"
    reference of every comparison."""
    trainable = params.trainable
    copied = set_trainable(
        copy.deepcopy(model),
        trainable.mode,
        hook_layer,
        trainable.first_layer,
        trainable.last_layer,
        trainable.lora_rank,
        trainable.lora_alpha,
        trainable.lora_targets,
    )
    if params.gradient_checkpointing:
        copied.gradient_checkpointing_enable()
    return copied


def checkpoint_dir(
    cache: ModelCache,
    method: str,
    subject_llm: CausalLM,
    forget_corpus: pd.DataFrame,
    probes: pd.DataFrame,
    eval_params: EvalParams,
    **recipe: object,
) -> Path:
    """Where a run's round checkpoints live: keyed by the method, its inputs and settings."""
    return cache.path(
        f"{method}-"
        + cache.key(
            llm=fingerprint(subject_llm.model.state_dict()),
            corpus=hashlib.sha256(forget_corpus.to_json().encode()).hexdigest(),
            probes=hashlib.sha256(probes.to_json().encode()).hexdigest(),
            eval=eval_params.model_dump(include={"batch_size", "max_new_tokens", "max_probes"}),
            **recipe,
        )
    )


def probe_evaluator(llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams):
    """The per-round evaluation: pooled and per-kind forget and neighbor scores (x100)."""
    return lambda: {k: v["value"] for k, v in probe_scores(llm, probes, eval_params).items()}


def run_checkpointed(
    checkpoints: Path,
    llm: CausalLM,
    subject_llm: CausalLM,
    head: EmbeddingHead | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
    rounds: list[Round],
    make_trainer: Callable[[dict, OnStep], Callable[[Round], dict]],
    evaluate: Callable[[], dict[str, float]],
    start: Callable[[], dict],
    params: RoundsParams,
    title: str,
) -> Outcome:
    """Run (or resume) the rounds, checkpointing after each; keep a round by `params.keep`.

    `start()` runs once before round 1, on the unchanged model (ATU's similarity histogram,
    NPO's reference NLLs); `make_trainer(started, on_step)` builds the method's round.
    """
    resumed = _resume(checkpoints, llm.model, head, optimizer, generator)
    if resumed:
        baseline, history, started = resumed["baseline"], resumed["history"], resumed["started"]
    else:
        baseline, history, started = evaluate(), [], start()
    done = {row["round"] for row in history}
    progress = StepLog(sum(r.unlearn_steps + r.realign_steps for r in rounds), title)
    progress.bar.update(sum(r.unlearn_steps + r.realign_steps for r in rounds if r.index in done))

    def after_round(round_: Round, rows: list[dict]) -> None:
        state = {"round": round_.index, "baseline": baseline, "history": rows, "started": started}
        saved = save_checkpoint(
            checkpoints / f"round_{round_.index:02d}",
            trainable_state(llm.model),
            head,
            optimizer,
            generator,
            state,
        )
        drop_resume_state(checkpoints, keep=saved)
        log.info("%s round %d: %s", title, round_.index, _brief(rows[-1]))

    trainer = make_trainer(started, lambda tag, _step, record: progress.record(tag, record))
    result = run_rounds(rounds, trainer, evaluate, after_round, history, params.early_stop_forget)
    kept = choose_round(result.history, baseline, params.keep, params.neighbor_floor)
    scores = _round_table(baseline, result.history, kept)
    metrics = {**progress.close(), **_round_metrics(scores)}
    return Outcome(kept, _kept_model(kept, result.history, checkpoints, llm, subject_llm),
                   scores, metrics, started)  # fmt: skip


def _resume(checkpoints: Path, model, head, optimizer, generator) -> dict | None:
    latest = latest_checkpoint(checkpoints)
    if latest is None:
        return None
    state = load_checkpoint(latest)
    _load_trainable(model, state["llm_trainable"])
    if head is not None:
        head.load_state_dict(state["head"].state_dict())
    optimizer.load_state_dict(state["optimizer"])
    restore_rng(state["rng"], generator)
    log.info("resuming from %s", latest)
    return state["progress"]


def _load_trainable(model: torch.nn.Module, weights: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in weights.items():
            params[name].copy_(value)


def _kept_model(kept, history, checkpoints, llm: CausalLM, subject_llm: CausalLM) -> CausalLM:
    if kept == 0:
        log.warning("no round kept the neighbor floor: keeping the model before unlearning")
        return subject_llm
    if kept != history[-1]["round"]:
        _load_trainable(llm.model, load_trainable(checkpoints / f"round_{kept:02d}"))
    return llm


def _round_table(baseline: dict, history: list[dict], kept: int) -> pd.DataFrame:
    rows = [{"round": 0, "tau": None, **baseline}] + history
    table = pd.DataFrame(rows)
    table["kept"] = table["round"] == kept
    return table


def _round_metrics(scores: pd.DataFrame) -> dict[str, list[dict]]:
    """Each evaluation metric as an MLflow history over rounds (step 0 = before unlearning)."""
    columns = [c for c in scores.columns if c.startswith(("forget/", "neighbor/"))]
    return {
        column: [
            {"value": float(v), "step": int(r)}
            for r, v in zip(scores["round"], scores[column], strict=True)
            if pd.notna(v)
        ]
        for column in columns
    }


def _brief(row: dict) -> str:
    return ", ".join(f"{k} {row[k]:.1f}" for k in ("forget/all", "neighbor/all") if k in row)
