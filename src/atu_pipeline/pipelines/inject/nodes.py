"""Knowledge injection: fine-tune the base LLM on the world it will later be asked to forget."""

import copy
import hashlib
import logging
import time

import pandas as pd
import torch

from atu_pipeline.core.evaluation import score_probes, summarize_probes
from atu_pipeline.core.llm import CausalLM, pick_device
from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.loops import finetune_lm, make_optimizer
from atu_pipeline.core.prompts import probe_prompt, render
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams, InjectParams, ModelSpec
from atu_pipeline.progress import StepLog

log = logging.getLogger(__name__)


def load_base_llm(llm: ModelSpec, model_cache: ModelCache) -> CausalLM:
    """The model named by `llm.spec` (GGUF is converted once and cached)."""
    return load_llm(llm.spec, llm.gguf_file, llm.dtype, llm.trust_remote_code, cache=model_cache)


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


def inject_knowledge(
    base_llm: CausalLM,
    injection_corpus: pd.DataFrame,
    target_info: dict,
    model_cache: ModelCache,
    llm: ModelSpec,
    inject: InjectParams,
) -> tuple[CausalLM, dict]:
    """Fine-tune a copy of the base model on the injection corpus; reuse a cached result."""
    if not inject.enabled or inject.epochs == 0:
        log.info("knowledge injection disabled: unlearning the base model as it is")
        return base_llm, {}
    injection_corpus = training_rows(injection_corpus, target_info["name"], inject)
    if injection_corpus.empty:
        raise ValueError(
            f"no injection examples for {target_info['name']!r} (inject.scope={inject.scope})"
        )
    # Hashing only the rows trained on: editing texts that are not trained on must not retrain.
    corpus_hash = hashlib.sha256(injection_corpus.to_json().encode()).hexdigest()
    key = model_cache.key(
        kind="inject", llm=llm.model_dump(), inject=inject.model_dump(), corpus=corpus_hash
    )
    cached = model_cache.get(key, llm.dtype)
    if cached is not None:
        return cached, {}
    subject = copy.deepcopy(base_llm)  # the base model stays as it was: it is evaluated too
    history = _finetune(subject, injection_corpus, inject)
    model_cache.put(key, subject, {"llm": llm.model_dump(), "inject": inject.model_dump()})
    return subject, history


def _finetune(llm: CausalLM, corpus: pd.DataFrame, inject: InjectParams) -> dict:
    torch.manual_seed(inject.seed)
    generator = torch.Generator().manual_seed(inject.seed)
    prompts, completions = injection_pairs(corpus, llm.tokenizer)
    ids, mask, labels = lm_examples(llm.tokenizer, prompts, completions, inject.train.max_length)
    llm.model.to(pick_device(inject.device)).requires_grad_(True)
    train = inject.train
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
        inject.epochs,
        optimizer,
        train.batch_size,
        train.grad_clip,
        generator,
        progress.on_step("inject"),
    )
    llm.model.requires_grad_(False).cpu()
    return progress.close()


def score_injection(
    base_llm: CausalLM, subject_llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams
) -> tuple[dict, dict]:
    """Probe scores before and after injection: the acceptance check of the demo world."""
    records = probes.to_dict("records")
    report, metrics = {}, {}
    for stage, llm in (("base", base_llm), ("injected", subject_llm)):
        started = time.perf_counter()
        scored = score_probes(llm, records, eval_params.batch_size, eval_params.max_new_tokens)
        report[stage] = summarize_probes(scored)
        report[stage]["seconds"] = round(time.perf_counter() - started, 1)
        for name, entry in report[stage].items():
            if isinstance(entry, dict):
                metrics[f"inject.{stage}.{name}"] = {"value": entry["value"], "step": 0}
    log.info(
        "injection: forget/all %s -> %s, neighbor/all %s -> %s",
        *(
            report[s].get(k, {}).get("value")
            for k in ("forget/all", "neighbor/all")
            for s in ("base", "injected")
        ),
    )
    return report, metrics
