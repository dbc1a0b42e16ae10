"""Align-then-Unlearn, top to bottom: the first alignment of the head, then τ-scheduled rounds of
unlearning (head frozen) and re-alignment (LLM frozen), probes scored after every round,
every round checkpointed, and the keep rule."""

import copy
import logging
from dataclasses import dataclass

import pandas as pd
import torch

from atu_pipeline.core.atu import (
    align_head,
    concept_similarities,
    unlearn_steps,
)
from atu_pipeline.core.checkpoint import load_head, save_head
from atu_pipeline.core.eval.metrics import roc_auc
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import CausalLM, check_layer, fingerprint, pick_device
from atu_pipeline.core.schedule import Round, build_rounds, quantile_tau
from atu_pipeline.core.training import RetainTerm, means, resolve_precision
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet, tokenize_corpus
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams, EvalParams, with_changes
from atu_pipeline.recipes.evaluation import probe_values
from atu_pipeline.recipes.rounds import (
    RoundLog,
    UnlearningResult,
    brief,
    corpus_hash,
    keep_round,
    lr_course,
    optim_spec,
    resume,
    retain_term,
    round_metrics,
    round_table,
    run_directory,
    save_round,
    seeded_generator,
    trainable_copy,
)
from atu_pipeline.reporting.progress import StepLog

logger = logging.getLogger(__name__)
LAYER_CHOICE_COLUMNS = ["layer", "auc", "target_cos", "other_cos"]  # atu.layer=auto's table


def first_alignment(
    subject_llm: CausalLM, windows: WindowSet, *, cache: ModelCache, atu: AtuParams
) -> tuple[EmbeddingHead, dict]:
    """A fresh head aligned to the frozen subject model at `atu.layer`, and its step losses.

    Cached by everything it depends on, so a resumed or repeated run does not retrain it.
    """
    check_layer(subject_llm.model, atu.layer)
    recipe = atu.model_dump(
        include={"layer", "head", "align", "first_align_steps", "seed", "precision"}
    )
    key = "head-" + cache.key(
        llm=fingerprint(subject_llm.model.state_dict()),
        windows=fingerprint(windows.to_tensors()),
        **recipe,
    )
    if (cache.path(key) / "head.json").is_file():
        return load_head(cache.path(key)), {}
    generator = seeded_generator(atu.seed)
    subject_llm.model.to(pick_device(atu.device))
    spec = atu.head
    config = HeadConfig(
        in_dim=subject_llm.hidden_size,
        out_dim=windows.embeddings.shape[1],
        **spec.model_dump(),
    )
    head = EmbeddingHead(config).to(subject_llm.device)
    progress = StepLog(atu.first_align_steps, f"align head at layer {atu.layer}")
    align_head(
        subject_llm.model,
        head,
        windows,
        layer=atu.layer,
        steps=atu.first_align_steps,
        optim=optim_spec(atu.align),
        generator=generator,
        precision=resolve_precision(atu.precision, subject_llm.device),
        on_step=progress.on_step("align"),
    )
    save_head(head.cpu(), cache.path(key))
    return head, progress.close()


def choose_layer(
    subject_llm: CausalLM,
    windows: WindowSet,
    forget_corpus: pd.DataFrame,
    retain_corpus: pd.DataFrame | None,
    concept: torch.Tensor,
    *,
    cache: ModelCache,
    atu: AtuParams,
) -> tuple[AtuParams, pd.DataFrame]:
    """`atu.layer: auto` (beyond the paper, whose hook layer is hand-picked): at each candidate
    layer a briefly aligned head (`auto_align_steps`) predicts the windows of the target's texts
    and of the other targets' texts; the hook layer is the one whose predictions separate the
    two best by similarity to the concept (ROC AUC). It reads the corpora, never a
    probe. Returns the settings at that layer and the candidates' table (empty for a set layer).
    """
    if atu.layer != "auto":
        return atu, pd.DataFrame()
    if retain_corpus is None or retain_corpus.empty:
        raise ValueError(
            "atu.layer=auto compares the target's texts with other targets' texts: "
            "the retain corpus is empty (set rwku.other_targets above 0)"
        )
    key = "layer-choice-" + cache.key(
        llm=fingerprint(subject_llm.model.state_dict()),
        windows=fingerprint(windows.to_tensors()),
        corpora=[corpus_hash(forget_corpus), corpus_hash(retain_corpus)],
        concept=concept[:8].tolist(),
        **atu.model_dump(include={"layer_candidates", "auto_align_steps", "head", "align", "seed"}),
    )
    table = cache.get_tensors(key)
    if table is None:
        texts = (list(forget_corpus["text"]), list(retain_corpus["text"]))
        rows = [
            _separation(subject_llm, windows, texts, concept, cache, atu, layer)
            for layer in atu.layer_candidates
        ]
        table = {column: torch.tensor([row[column] for row in rows]) for column in rows[0]}
        cache.put_tensors(key, table, {"kind": "atu.layer=auto: the candidates' separation"})
    table = pd.DataFrame({column: table[column].tolist() for column in LAYER_CHOICE_COLUMNS})
    layer = int(table.loc[table["auc"].idxmax(), "layer"])
    logger.info("atu.layer=auto chose layer %d of %s:\n%s", layer, atu.layer_candidates, table)
    return with_changes(atu, {"layer": layer}), table


def _separation(subject_llm, windows, texts, concept, cache, atu, layer: int) -> dict[str, float]:
    """One candidate layer: its briefly aligned head's concept similarities on the target's and
    on the other targets' texts, and how well they separate."""
    brief = with_changes(atu, {"layer": layer, "first_align_steps": atu.auto_align_steps})
    head, _ = first_alignment(subject_llm, windows, cache=cache, atu=brief)
    target, other = (
        concept_similarities(
            subject_llm.model,
            head,
            tokenize_corpus(subject_llm.tokenizer, corpus, atu.unlearn.max_length)[0],
            concept,
            layer=layer,
            batch_size=atu.unlearn.batch_size,
        )
        for corpus in texts
    )
    auc = roc_auc(target.tolist(), other.tolist())  # P(a target position is nearer the concept)
    return {"layer": layer, "auc": auc, "target_cos": target.mean(), "other_cos": other.mean()}


@dataclass(frozen=True)
class AtuRun:
    """What one ATU run trains (the LLM copy, the head, the optimizer, the batch RNG) and reads
    (the alignment windows, the forget corpus, the concept's embedding)."""

    llm: CausalLM
    head: EmbeddingHead
    windows: WindowSet
    corpus: TokenizedCorpus
    concept: torch.Tensor
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    precision: str  # fp32 | bf16, resolved for the run's device
    retain: RetainTerm | None  # a retain regulariser (beyond the paper), or none

    def similarities(self, atu: AtuParams) -> list[float]:
        """cos(ê_t, e_target) at every real position of the forget corpus, as it is now."""
        values = concept_similarities(
            self.llm.model,
            self.head,
            self.corpus,
            self.concept,
            layer=atu.layer,
            batch_size=atu.unlearn.batch_size,
        )
        return values.tolist()


def unlearn_atu(
    subject_llm: CausalLM,
    aligned_head: EmbeddingHead,
    windows: WindowSet,
    forget_corpus: pd.DataFrame,
    concept: torch.Tensor,
    probes: pd.DataFrame,
    *,
    cache: ModelCache,
    atu: AtuParams,
    eval_params: EvalParams,
    retain_corpus: pd.DataFrame | None = None,
) -> tuple[UnlearningResult, dict]:
    """All τ rounds, resumable. Returns the result and the concept similarities before the
    first round and after the kept one (the re-aligned head of the last round)."""
    check_layer(subject_llm.model, atu.layer)
    rounds = build_rounds(atu.taus, atu.steps_per_round, atu.realign_steps)
    llm = trainable_copy(subject_llm, atu, hook_layer=atu.layer)
    head = copy.deepcopy(aligned_head).to(llm.device).requires_grad_(False)
    corpus, _ = tokenize_corpus(llm.tokenizer, list(forget_corpus["text"]), atu.unlearn.max_length)
    inputs = {"subject_llm": subject_llm, "forget_corpus": forget_corpus, "probes": probes}
    recipe = {"atu": atu.training_recipe(), "head": fingerprint(aligned_head.state_dict())}
    recipe |= {
        "concept": concept[:8].tolist(),
        "retain_corpus": corpus_hash(retain_corpus) if atu.retain.kind != "none" else None,
    }
    run_dir = run_directory(cache, "atu", **inputs, eval_params=eval_params, **recipe)
    generator = seeded_generator(atu.seed + 1)
    optimizer = optim_spec(atu.unlearn).build(llm.model.parameters())
    precision = resolve_precision(atu.precision, llm.device)
    retain = retain_term(atu, retain_corpus, llm, subject_llm)
    run = AtuRun(llm, head, windows, corpus, concept, optimizer, generator, precision, retain)
    similarity_before = run.similarities(atu)  # the aligned head on the subject model
    log = resume(run_dir, llm, head, optimizer, generator)
    log = log or RoundLog(baseline=probe_values(llm, probes, eval_params))
    total = sum(r.unlearn_steps + r.realign_steps for r in rounds)
    done = sum(r.unlearn_steps + r.realign_steps for r in rounds if log.done(r.index))
    progress = StepLog(total, "ATU rounds", done=done)
    for round_ in rounds:
        if log.done(round_.index):
            continue
        if log.stopped_early(atu):
            break
        tau = round_.tau
        if atu.tau_mode == "quantile":  # the round's quantile of the similarities, as they are now
            tau = quantile_tau(torch.tensor(run.similarities(atu)), round_.tau)
        row = atu_round(run, round_, atu=atu, tau=tau, progress=progress)
        log.history.append(row | probe_values(llm, probes, eval_params))
        save_round(run_dir, log, llm=llm, head=head, optimizer=optimizer, generator=generator)
        progress.write(f"ATU {brief(log.history[-1])}")
    kept, kept_llm = keep_round(run_dir, log, atu, llm, subject_llm)
    scores = round_table(log, kept)
    metrics = progress.close() | round_metrics(scores)
    result = UnlearningResult(kept_llm, kept, scores, metrics, run_dir)
    similarities = {"before": similarity_before, "after": run.similarities(atu)}
    return result, similarities | {"kept_round": kept}


def atu_round(
    run: AtuRun, round_: Round, *, atu: AtuParams, tau: float, progress: StepLog
) -> dict[str, float]:
    """One round's training: unlearn the LLM against the frozen head at the round's τ, then
    re-align the head to the changed LLM. Returns the round, its τ (and the quantile it came
    from, in quantile mode), the mean unlearning losses and the last alignment step's."""
    tag = f"round_{round_.index}"
    unlearned = unlearn_steps(
        run.llm.model,
        run.head,
        run.corpus,
        run.concept,
        layer=atu.layer,
        tau=tau,
        steps=round_.unlearn_steps,
        optimizer=run.optimizer,
        batch_size=atu.unlearn.batch_size,
        grad_clip=atu.unlearn.grad_clip,
        generator=run.generator,
        precision=run.precision,
        retain=run.retain,
        lr_at=lr_course(atu.unlearn, round_.unlearn_steps),
        on_step=progress.on_step(f"{tag}/unlearn"),
    )
    realigned = align_head(
        run.llm.model,
        run.head,
        run.windows,
        layer=atu.layer,
        steps=round_.realign_steps,
        optim=optim_spec(atu.align),
        generator=run.generator,
        precision=run.precision,
        on_step=progress.on_step(f"{tag}/align"),
    )
    row = {"round": round_.index, "tau": tau, **means(unlearned)}
    if atu.tau_mode == "quantile":
        row["tau_quantile"] = round_.tau
    return row | (realigned[-1] if realigned else {})
