"""Knowledge injection: fine-tune the base LLM on the world it will later be asked to forget
(forgetting cannot be measured on knowledge the model never had). Cached by recipe."""

import copy
import hashlib
import logging
import time

import pandas as pd

from atu_pipeline.core.eval.prompts import probe_prompt, render
from atu_pipeline.core.llm import CausalLM, pick_device
from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.training import finetune_lm, make_optimizer, resolve_precision
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import EvalParams, InjectParams, ModelSpec
from atu_pipeline.recipes.evaluation import probe_scores
from atu_pipeline.recipes.rounds import seeded_generator
from atu_pipeline.reporting.progress import StepLog

log = logging.getLogger(__name__)


def injection_pairs(corpus: pd.DataFrame, tokenizer) -> tuple[list, list]:
    """(prompt, completion) pairs: questions in the exact probe format, passages as plain text."""
    prompts, completions = [], []
    for row in corpus.itertuples():
        if row.kind == "text":
            prompts.append("")
            completions.append(row.text)
        else:
            prompts.append(render(tokenizer, *probe_prompt(row.kind, "", row.query)))
            completions.append(f" {row.answer}")
    return prompts, completions


def training_rows(corpus: pd.DataFrame, target_name: str, inject: InjectParams) -> pd.DataFrame:
    """The injection rows that `inject.scope` and `inject.include_texts` select, re-indexed."""
    if inject.scope == "target":
        corpus = corpus[corpus["subject"] == target_name]
    if not inject.include_texts:
        corpus = corpus[corpus["kind"] != "text"]
    return corpus.reset_index(drop=True)


def memorised_probe_files(rows: pd.DataFrame) -> list[str]:
    """The probe files whose own wordings the rows teach verbatim (RWKU has no paraphrases)."""
    return sorted(set(rows["origin"]) - {""})


def inject_knowledge(
    base_llm: CausalLM,
    injection_corpus: pd.DataFrame,
    target_name: str,
    *,
    cache: ModelCache,
    llm: ModelSpec,
    inject: InjectParams,
) -> tuple[CausalLM, dict, list[str]]:
    """A fine-tuned copy of the base model (the base model stays as it was: it is evaluated too),
    its step losses, and the probe files it was taught verbatim (scores on those probes measure
    recall of memorised strings); a cached result when the same rows were trained on before."""
    if not inject.enabled or inject.epochs == 0:
        log.info("knowledge injection disabled: unlearning the base model as it is")
        return base_llm, {}, []
    rows = training_rows(injection_corpus, target_name, inject)
    if rows.empty:
        raise ValueError(f"no injection examples for {target_name!r} (inject.scope={inject.scope})")
    memorised = memorised_probe_files(rows)
    if memorised:
        log.warning(
            "injection trains on the evaluation probes' own wordings (%s): scores before and "
            "after unlearning measure forgetting of memorised probes, and every report says so",
            ", ".join(memorised),
        )
    # Hashing only the rows trained on: editing texts that are not trained on must not retrain.
    corpus_hash = hashlib.sha256(rows.to_json().encode()).hexdigest()
    key = cache.key(
        kind="inject", llm=llm.model_dump(), inject=inject.model_dump(), corpus=corpus_hash
    )
    cached = cache.get(key, llm.dtype)
    if cached is not None:
        return cached, {}, memorised
    subject = copy.deepcopy(base_llm)
    history = finetune(subject, rows, inject)
    cache.put(key, subject, {"llm": llm.model_dump(), "inject": inject.model_dump()})
    return subject, history, memorised


def finetune(llm: CausalLM, rows: pd.DataFrame, inject: InjectParams) -> dict:
    """Fine-tune `llm` in place on the injection rows; returns the step losses."""
    generator = seeded_generator(inject.seed)
    prompts, completions = injection_pairs(rows, llm.tokenizer)
    train = inject.train
    ids, mask, labels = lm_examples(llm.tokenizer, prompts, completions, train.max_length)
    device = pick_device(inject.device)
    llm.model.to(device).requires_grad_(True)
    optimizer = make_optimizer(
        llm.model.parameters(), train.optimizer, train.lr, train.weight_decay
    )
    steps = inject.epochs * -(-len(ids) // train.batch_size)
    progress = StepLog(steps, f"inject {len(ids)} examples x {inject.epochs} epochs")
    finetune_lm(
        llm.model,
        ids,
        mask,
        labels,
        epochs=inject.epochs,
        optimizer=optimizer,
        batch_size=train.batch_size,
        grad_clip=train.grad_clip,
        generator=generator,
        precision=resolve_precision(inject.precision, device),
        on_step=progress.on_step("inject"),
    )
    llm.model.requires_grad_(False).cpu()
    return progress.close()


def injection_report(
    base_llm: CausalLM, subject_llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams
) -> tuple[dict, dict]:
    """Probe scores before and after injection (the acceptance check of the demo world): the
    report `{stage: {metric: {value, n}, seconds}}` and the same scores as MLflow metrics."""
    report, metrics = {}, {}
    for stage, llm in (("base", base_llm), ("injected", subject_llm)):
        started = time.perf_counter()
        report[stage] = probe_scores(llm, probes, eval_params)
        report[stage]["seconds"] = round(time.perf_counter() - started, 1)
        for name, entry in report[stage].items():
            if isinstance(entry, dict):
                metrics[f"inject.{stage}.{name}"] = {"value": entry["value"], "step": 0}
    for key in ("forget/all", "neighbor/all"):
        values = [report[s].get(key, {}).get("value") for s in ("base", "injected")]
        log.info("injection: %s %s -> %s", key, *values)
    return report, metrics
