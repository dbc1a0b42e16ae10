"""The plain functions every unlearning recipe (ATU, GA, NPO) calls around its loop.

A trainable copy of the subject model; a checkpoint directory keyed by everything a run depends
on, so that the same command resumes a killed run from its last finished round; saving and
resuming a round; the keep rule; the per-round table and its MLflow histories.
"""

import copy
import functools
import hashlib
import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch

from atu_pipeline.core.checkpoint import (
    drop_resume_state,
    load_checkpoint,
    read_trainable_weights,
    restore_rng,
    resumable_checkpoints,
    save_checkpoint,
)
from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import (
    CausalLM,
    fingerprint,
    pick_device,
    restore_trainable,
    set_trainable,
    trainable_state,
)
from atu_pipeline.core.schedule import choose_round, reached_early_stop
from atu_pipeline.core.training import LrAt, OptimSpec, RetainTerm, round_lr
from atu_pipeline.core.windows import tokenize_corpus
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import EvalParams, RoundsParams, TrainParams, UnlearnTrainParams

log = logging.getLogger(__name__)


@dataclass
class RoundLog:
    """What a run has measured so far: the scores before unlearning (round 0) and one row per
    finished round (round, τ, mean losses, probe scores). It is the checkpoint's progress.json."""

    baseline: dict[str, float]
    history: list[dict] = field(default_factory=list)

    def done(self, index: int) -> bool:
        return any(row["round"] == index for row in self.history)

    def stopped_early(self, params: RoundsParams) -> bool:
        """Whether the last finished round met the run's early stop (forgotten or collapsed)."""
        return bool(self.history) and reached_early_stop(
            self.history[-1],
            self.baseline,
            forget_at=params.early_stop_forget,
            neighbor_share_at=params.early_stop_neighbor,
        )

    def to_dict(self) -> dict:
        last = self.history[-1]["round"] if self.history else 0
        return {"round": last, "baseline": self.baseline, "history": self.history}


@dataclass(frozen=True)
class UnlearningResult:
    """A finished run: the kept model, its round, the per-round table and MLflow histories."""

    llm: CausalLM  # the subject model itself when no round kept the neighbor floor
    kept_round: int
    round_scores: pd.DataFrame  # one row per round, round 0 = before unlearning
    metrics: dict[str, list[dict]]  # per-step losses and per-round scores
    checkpoints: Path  # the run's round checkpoints (a study may discard them once recorded)


def optim_spec(train: TrainParams) -> OptimSpec:
    return OptimSpec(
        train.optimizer, train.lr, train.weight_decay, train.batch_size, train.grad_clip
    )


def lr_course(train: UnlearnTrainParams, steps: int) -> LrAt:
    """A round's learning rate by step (None when constant: the optimizer keeps its own)."""
    if train.lr_schedule == "constant":
        return None
    return functools.partial(round_lr, train.lr_schedule, train.lr, steps=steps)


def seeded_generator(seed: int) -> torch.Generator:
    """Seed torch's global RNG (dropout) and return a generator for batch sampling."""
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def trainable_copy(subject_llm: CausalLM, params: RoundsParams, *, hook_layer: int) -> CausalLM:
    """A copy with only the configured weights trainable, on the run's device: the subject
    model stays the "before" reference of every comparison."""
    trainable = params.trainable
    first_layer, last_layer = trainable.block_range(hook_layer)
    model = set_trainable(
        copy.deepcopy(subject_llm.model),
        trainable.mode,
        hook_layer=hook_layer,
        first_layer=first_layer,
        last_layer=last_layer,
        lora_rank=trainable.lora_rank,
        lora_alpha=trainable.lora_alpha,
        lora_targets=trainable.lora_targets,
    )
    if params.gradient_checkpointing:
        model.gradient_checkpointing_enable()
    return CausalLM(model.to(pick_device(params.device)), subject_llm.tokenizer)


def run_directory(
    cache: ModelCache,
    method: str,
    *,
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


def resume(
    run_dir: Path,
    llm: CausalLM,
    head: EmbeddingHead | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> RoundLog | None:
    """Load the latest readable round into the model, head, optimizer and RNGs; None if none.

    A checkpoint that cannot be read (a disk fault, a file cut short) is deleted, never trusted:
    the run goes on from the round before and recomputes it.
    """
    for checkpoint in resumable_checkpoints(run_dir):
        try:
            state = load_checkpoint(checkpoint)
        except Exception as err:  # safetensors, torch.load or JSON: any unreadable part
            log.warning("checkpoint %s cannot be read (%s): recomputing it", checkpoint, err)
            for later in run_dir.glob("round_*"):
                if later.name >= checkpoint.name:
                    shutil.rmtree(later)
            continue
        return _restore(checkpoint, state, llm, head, optimizer, generator)
    return None


def _restore(checkpoint: Path, state: dict, llm, head, optimizer, generator) -> RoundLog:
    restore_trainable(llm.model, state["llm_trainable"])
    if head is not None:
        head.load_state_dict(state["head"].state_dict())
    optimizer.load_state_dict(state["optimizer"])
    restore_rng(state["rng"], generator)
    log.info("resuming from %s", checkpoint)
    progress = state["progress"]
    return RoundLog(progress["baseline"], progress["history"])


def save_round(
    run_dir: Path,
    rounds: RoundLog,
    *,
    llm: CausalLM,
    head: EmbeddingHead | None,
    optimizer: torch.optim.Optimizer,
    generator: torch.Generator,
) -> None:
    """Checkpoint the last finished round; older rounds keep their weights only."""
    index = rounds.history[-1]["round"]
    save_checkpoint(
        run_dir / f"round_{index:02d}",
        llm_trainable=trainable_state(llm.model),
        head=head,
        optimizer=optimizer,
        generator=generator,
        progress=rounds.to_dict(),
    )
    drop_resume_state(run_dir)


def keep_round(
    run_dir: Path, rounds: RoundLog, params: RoundsParams, llm: CausalLM, subject_llm: CausalLM
) -> tuple[int, CausalLM]:
    """The round the keep rule picks and its model (the subject model when none qualifies)."""
    kept = choose_round(rounds.history, rounds.baseline, params.keep, params.neighbor_floor)
    if kept == 0:
        log.warning("no round kept the neighbor floor: keeping the model before unlearning")
        return kept, subject_llm
    if kept != rounds.history[-1]["round"]:
        restore_trainable(llm.model, read_trainable_weights(run_dir / f"round_{kept:02d}"))
    return kept, llm


def round_table(rounds: RoundLog, kept: int) -> pd.DataFrame:
    """One row per round (round 0 = before unlearning), `kept` marking the kept round."""
    table = pd.DataFrame([{"round": 0, "tau": None, **rounds.baseline}] + rounds.history)
    table["kept"] = table["round"] == kept
    return table


SCORE_PREFIXES = ("forget/", "neighbor/", "val/", "test/")


def round_metrics(scores: pd.DataFrame) -> dict[str, list[dict]]:
    """Each evaluation metric as an MLflow history over rounds (step 0 = before unlearning), and
    the kept round's as `kept/<metric>`."""
    columns = [c for c in scores.columns if c.startswith(SCORE_PREFIXES)]
    kept = scores[scores["kept"]].iloc[0]
    histories = {
        column: [
            {"value": float(v), "step": int(r)}
            for r, v in zip(scores["round"], scores[column], strict=True)
            if pd.notna(v)
        ]
        for column in columns
    }
    kept_values = {f"kept/{c}": [{"value": float(kept[c]), "step": 0}] for c in columns}
    return histories | {k: v for k, v in kept_values.items() if pd.notna(v[0]["value"])}


def brief(row: dict) -> str:
    """`round 3: forget/all 12.5, neighbor/all 90.6` (for a log line the terminal does not cut)."""
    keys = ("val/forget/all", "val/neighbor/all", "test/forget/all", "test/neighbor/all")
    scores = ", ".join(f"{k} {row[k]:.1f}" for k in keys if k in row)
    return f"round {row['round']}: {scores}"


def retain_term(
    params: RoundsParams, retain_corpus: pd.DataFrame | None, llm: CausalLM, subject_llm: CausalLM
) -> RetainTerm | None:
    """The run's retain regulariser (`params.retain`), on the other targets' texts; its KL
    reference is the subject model itself, which training never changes."""
    settings = params.retain
    if settings.kind == "none":
        return None
    if retain_corpus is None or retain_corpus.empty:
        raise ValueError(
            f"retain.kind={settings.kind} needs a retain corpus (rwku.other_targets > 0)"
        )
    corpus, _ = tokenize_corpus(llm.tokenizer, list(retain_corpus["text"]), settings.max_length)
    reference = subject_llm.model.to(llm.device).eval() if settings.kind == "kl" else None
    return RetainTerm(settings.kind, settings.weight, corpus, settings.batch_size, reference)


def corpus_hash(corpus: pd.DataFrame | None) -> str | None:
    return None if corpus is None else hashlib.sha256(corpus.to_json().encode()).hexdigest()
