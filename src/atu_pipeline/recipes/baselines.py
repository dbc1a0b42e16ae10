"""The token-level baselines (GA, NPO), top to bottom: the same rounds, probes, checkpoints and
keep rule as ATU, with a token-level loss on the forget corpus instead of the embedding hinge."""

from pathlib import Path

import pandas as pd

from atu_pipeline.core.baselines import corpus_sequence_nll, token_unlearn_steps
from atu_pipeline.core.llm import CausalLM, decoder_layers
from atu_pipeline.core.schedule import build_stages
from atu_pipeline.core.training import means, resolve_precision
from atu_pipeline.core.windows import tokenize_corpus
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import BaselineParams, EvalParams
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


def baseline_run_directory(
    cache: ModelCache,
    baseline: BaselineParams,
    eval_params: EvalParams,
    subject_llm: CausalLM,
    forget_corpus: pd.DataFrame,
    probes: pd.DataFrame,
    retain_corpus: pd.DataFrame | None,
) -> Path:
    """The folder of this run's round checkpoints, keyed by everything that shapes them."""
    inputs = {"subject_llm": subject_llm, "forget_corpus": forget_corpus, "probes": probes}
    recipe = {"eval_params": eval_params, "baseline": baseline.training_recipe()}
    recipe["retain_corpus"] = corpus_hash(retain_corpus) if baseline.retain.kind != "none" else None
    return run_directory(cache, baseline.method, **inputs, **recipe)


def unlearn_baseline(
    subject_llm: CausalLM,
    forget_corpus: pd.DataFrame,
    probes: pd.DataFrame,
    *,
    cache: ModelCache,
    baseline: BaselineParams,
    eval_params: EvalParams,
    retain_corpus: pd.DataFrame | None = None,
) -> UnlearningResult:
    """All rounds of GA or NPO, resumable."""
    rounds = build_stages(baseline.rounds, baseline.steps_per_round)
    top = len(decoder_layers(subject_llm.model))  # no hook layer: blocks up to the top one
    llm = trainable_copy(subject_llm, baseline, hook_layer=top)
    train = baseline.train
    corpus, _ = tokenize_corpus(llm.tokenizer, list(forget_corpus["text"]), train.max_length)
    run_dir = baseline_run_directory(
        cache, baseline, eval_params, subject_llm, forget_corpus, probes, retain_corpus
    )
    generator = seeded_generator(baseline.seed + 1)
    optimizer = optim_spec(train).build(llm.model.parameters())
    precision = resolve_precision(baseline.precision, llm.device)
    # NPO's reference is the model before unlearning: its NLLs, once, instead of a second model
    npo = baseline.method == "npo"
    reference = corpus_sequence_nll(llm.model, corpus, train.batch_size, precision) if npo else None
    retain = retain_term(baseline, retain_corpus, llm, subject_llm)
    log = resume(run_dir, llm, None, optimizer, generator)
    log = log or RoundLog(baseline=probe_values(llm, probes, eval_params))
    title = baseline.method.upper()
    done = sum(r.unlearn_steps for r in rounds if log.done(r.index))
    progress = StepLog(sum(r.unlearn_steps for r in rounds), f"{title} rounds", done=done)
    for round_ in rounds:
        if log.done(round_.index):
            continue
        if log.stopped_early(baseline):
            break
        history = token_unlearn_steps(
            llm.model,
            corpus,
            method=baseline.method,
            steps=round_.unlearn_steps,
            optimizer=optimizer,
            batch_size=train.batch_size,
            grad_clip=train.grad_clip,
            generator=generator,
            reference_nll=reference,
            beta=baseline.beta,
            precision=precision,
            retain=retain,
            lr_at=lr_course(train, round_.unlearn_steps),
            on_step=progress.on_step(f"round_{round_.index}/unlearn"),
        )
        row = {"round": round_.index, "tau": None, **means(history)}
        log.history.append(row | probe_values(llm, probes, eval_params))
        save_round(run_dir, log, llm=llm, head=None, optimizer=optimizer, generator=generator)
        progress.write(f"{title} {brief(log.history[-1])}")
    kept, kept_llm = keep_round(run_dir, log, baseline, llm, subject_llm)
    scores = round_table(log, kept)
    metrics = progress.close() | round_metrics(scores)
    return UnlearningResult(kept_llm, kept, scores, metrics, run_dir)
