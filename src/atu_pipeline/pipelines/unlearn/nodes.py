"""Unlearning rounds: the LLM moves away from the concept, the head re-aligns, probes are scored.

Each round is checkpointed under the model cache, keyed by everything the run depends on, so
the same command resumes a killed run from its last finished round.
"""

import copy
import hashlib
import logging
import time

import pandas as pd
import psutil
import torch

from atu_pipeline.core.atu import RoundsResult, choose_round, concept_similarities, run_rounds
from atu_pipeline.core.checkpoint import (
    latest_checkpoint,
    load_checkpoint,
    restore_rng,
    save_checkpoint,
)
from atu_pipeline.core.evaluation import score_probes, summarize_probes
from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import (
    CausalLM,
    check_layer,
    fingerprint,
    pick_device,
    set_trainable,
    trainable_state,
)
from atu_pipeline.core.schedule import build_rounds
from atu_pipeline.core.windows import WindowSet, tokenize_corpus
from atu_pipeline.models import ModelCache
from atu_pipeline.params import AtuParams, EvalParams
from atu_pipeline.pipelines.align.nodes import optim_spec
from atu_pipeline.progress import StepLog

log = logging.getLogger(__name__)


def probe_records(probes: pd.DataFrame, max_probes: int | None) -> list[dict]:
    """Forget and neighbor probes, capped per (set, kind) when `max_probes` is set."""
    if max_probes is not None:
        probes = probes.groupby(["set", "kind"], sort=False).head(max_probes)
    return probes.to_dict("records")


def make_evaluator(llm: CausalLM, records: list[dict], eval_params: EvalParams):
    def evaluate() -> dict[str, float]:
        scored = score_probes(llm, records, eval_params.batch_size, eval_params.max_new_tokens)
        return {name: entry["value"] for name, entry in summarize_probes(scored).items()}

    return evaluate


def unlearn_rounds(
    subject_llm: CausalLM,
    aligned_head: EmbeddingHead,
    alignment_windows: dict[str, torch.Tensor],
    forget_corpus: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    probes: pd.DataFrame,
    model_cache: ModelCache,
    atu: AtuParams,
    eval_params: EvalParams,
) -> tuple[CausalLM, pd.DataFrame, dict, dict]:
    """All τ rounds, resumable: the kept model, per-round scores, step metrics, similarities."""
    check_layer(subject_llm.model, atu.layer)
    rounds = build_rounds(atu.taus, atu.steps_per_round, atu.realign_steps)
    device = pick_device(atu.device)
    # Train a copy: the subject model is the "before" reference of every comparison.
    model = _trainable_copy(subject_llm.model, atu).to(device)
    llm = CausalLM(model, subject_llm.tokenizer)
    head = copy.deepcopy(aligned_head).to(device).requires_grad_(False)
    corpus, _ = tokenize_corpus(llm.tokenizer, list(forget_corpus["text"]), atu.unlearn.max_length)
    concept = target_embedding["embedding"]
    checkpoints = model_cache.path(
        _run_key(
            model_cache, subject_llm, aligned_head, forget_corpus, concept, probes, atu, eval_params
        )
    )
    evaluate = make_evaluator(llm, probe_records(probes, eval_params.max_probes), eval_params)

    def similarity() -> torch.Tensor:
        return concept_similarities(model, head, corpus, concept, atu.layer, atu.unlearn.batch_size)

    torch.manual_seed(atu.seed + 1)
    generator = torch.Generator().manual_seed(atu.seed + 1)
    optimizer = optim_spec(atu.unlearn).build(model.parameters())
    resumed = _resume(checkpoints, model, head, optimizer, generator)
    if resumed:
        baseline, history, before = (
            resumed["baseline"],
            resumed["history"],
            resumed["similarity_before"],
        )
    else:
        baseline, history, before = evaluate(), [], similarity().tolist()
    progress = StepLog(len(rounds) * (atu.steps_per_round + atu.realign_steps), "unlearning rounds")
    progress.bar.update(len(history) * (atu.steps_per_round + atu.realign_steps))

    def after_round(round_, rows):
        save_checkpoint(
            checkpoints / f"round_{round_.index:02d}",
            trainable_state(model),
            head,
            optimizer,
            generator,
            {
                "round": round_.index,
                "baseline": baseline,
                "history": rows,
                "similarity_before": before,
            },
        )
        log.info("round %d (τ=%.2f): %s", round_.index, round_.tau, _brief(rows[-1]))

    result = run_rounds(
        model,
        head,
        WindowSet.from_tensors(alignment_windows),
        corpus,
        concept,
        rounds,
        atu.layer,
        optimizer,
        optim_spec(atu.align),
        optim_spec(atu.unlearn),
        generator,
        evaluate,
        after_round,
        history,
        atu.early_stop_forget,
        lambda tag, step, record: progress.record(tag, record),
    )
    after = similarity().tolist()
    kept, unlearned = _keep(result, baseline, atu, checkpoints, llm, subject_llm)
    scores = _round_table(baseline, result.history, kept)
    metrics = {**progress.close(), **_round_metrics(scores)}
    return unlearned, scores, metrics, {"before": before, "after": after, "kept_round": kept}


def _trainable_copy(model: torch.nn.Module, atu: AtuParams) -> torch.nn.Module:
    trainable = atu.trainable
    copied = set_trainable(
        copy.deepcopy(model),
        trainable.mode,
        atu.layer,
        trainable.first_layer,
        trainable.last_layer,
        trainable.lora_rank,
        trainable.lora_alpha,
        trainable.lora_targets,
    )
    if atu.gradient_checkpointing:
        copied.gradient_checkpointing_enable()
    return copied


def _run_key(cache, subject_llm, head, forget_corpus, concept, probes, atu, eval_params) -> str:
    return "unlearn-" + cache.key(
        llm=fingerprint(subject_llm.model.state_dict()),
        head=fingerprint(head.state_dict()),
        corpus=hashlib.sha256(forget_corpus.to_json().encode()).hexdigest(),
        probes=hashlib.sha256(probes.to_json().encode()).hexdigest(),
        concept=concept[:8].tolist(),
        atu=atu.model_dump(),
        eval=eval_params.model_dump(include={"batch_size", "max_new_tokens", "max_probes"}),
    )


def _resume(checkpoints, model, head: EmbeddingHead, optimizer, generator) -> dict | None:
    latest = latest_checkpoint(checkpoints)
    if latest is None:
        return None
    state = load_checkpoint(latest)
    _load_trainable(model, state["llm_trainable"])
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


def _keep(
    result: RoundsResult,
    baseline,
    atu: AtuParams,
    checkpoints,
    llm: CausalLM,
    subject_llm: CausalLM,
):
    """The round chosen by `atu.keep` and its model (round 0 = the subject model unchanged)."""
    kept = choose_round(result.history, baseline, atu.keep, atu.neighbor_floor)
    if kept == 0:
        log.warning(
            "no round kept %.0f%% of the neighbor score: keeping the model before unlearning",
            100 * atu.neighbor_floor,
        )
        return 0, subject_llm
    if kept != result.history[-1]["round"]:
        _load_trainable(
            llm.model, load_checkpoint(checkpoints / f"round_{kept:02d}")["llm_trainable"]
        )
    return kept, llm


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


def summarize_unlearning(round_scores: pd.DataFrame) -> str:
    """The one-line verdict: pooled forget and neighbor before vs the kept round, and wall time."""
    before = round_scores.iloc[0]
    kept = round_scores[round_scores["kept"]].iloc[0]
    minutes = (time.time() - psutil.Process().create_time()) / 60

    def change(key: str) -> str:
        ratio = kept[key] / before[key] if before[key] else float("nan")
        return f"{before[key]:.1f} -> {kept[key]:.1f} (x{ratio:.2f})"

    forget, neighbor = change("forget/all"), change("neighbor/all")
    line = f"summary: forget {forget}, neighbor {neighbor}, minutes {minutes:.1f}"
    print(line, flush=True)  # the run's verdict belongs on stdout, not only in the log
    return line


def plot_unlearning(round_scores: pd.DataFrame, similarities: dict):
    """Forget and neighbor per round; the concept-similarity histogram before and after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds, ax = plt.subplots(figsize=(6, 4))
    for key, style in (("forget/all", "o-"), ("neighbor/all", "s--")):
        ax.plot(round_scores["round"], round_scores[key], style, label=key)
    kept = round_scores[round_scores["kept"]]["round"].iloc[0]
    ax.axvline(kept, color="grey", lw=0.8, ls=":", label=f"kept round {kept}")
    ax.set(xlabel="round (0 = before unlearning)", ylabel="ROUGE-L recall x100", ylim=(0, 100))
    ax.legend()
    histogram, ax = plt.subplots(figsize=(6, 4))
    ax.hist(similarities["before"], bins=50, alpha=0.6, label="before unlearning", density=True)
    ax.hist(
        similarities["after"],
        bins=50,
        alpha=0.6,
        label="after the last round (re-aligned head)",
        density=True,
    )
    ax.set(xlabel="cos(predicted future, target embedding)", ylabel="density")
    ax.legend()
    return rounds, histogram
