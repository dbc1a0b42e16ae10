"""Attacks on an unlearned model and on its original: quantization, relearning, logit lens.

"original" is `subject_llm` (the model before unlearning, injected in the demo world);
"unlearned" is the model named by `attack.unlearned`. Both are read-only here: quantization and
relearning work on copies. Probe scores are `recipes.evaluation`'s `{metric: {"value", "n"}}`.
"""

import copy
import logging
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from atu_pipeline.core.attacks import (
    hold_out_answers,
    logit_lens,
    mentions,
    quantize_weights,
    relearn,
    relearning_texts,
    sentences,
)
from atu_pipeline.core.llm import CausalLM, pick_device
from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.training import make_optimizer
from atu_pipeline.params import AttackParams, EvalParams
from atu_pipeline.recipes.evaluation import on_device, probe_records, probe_scores
from atu_pipeline.reporting.progress import StepLog

log = logging.getLogger(__name__)

Scores = dict[str, dict[str, float | int]]
# the run that writes each default location (conf/base/catalog*.yml)
PRODUCERS = {"ga": "baseline_ga", "npo": "baseline_npo"}


def check_unlearned_model(attack: AttackParams) -> str:
    """`attack.unlearned`, after checking that a local model directory or file is there.

    Runs first (no data inputs), so a missing model stops the run before any model is loaded.
    Hugging Face ids (`org/name`), `tiny:` and `embedded:` specs are left to the loader.
    """
    spec = attack.unlearned
    path = Path(spec)
    is_local = spec.endswith(".gguf") or spec.startswith(("/", ".", "~")) or spec.count("/") != 1
    if spec.startswith(("tiny:", "embedded:")) or not is_local:
        return spec
    if path.is_file() if spec.endswith(".gguf") else (path / "config.json").is_file():
        return spec
    producer = PRODUCERS.get(path.parent.name, "unlearn")
    raise FileNotFoundError(
        f"attack.unlearned: no model at {spec!r}. `kedro run --pipeline {producer}` writes it "
        f"(add the same --env and --params); or point attack.unlearned at another model "
        f"directory or spec: kedro run --pipeline attack --params attack.unlearned=<dir>"
    )


def quantize_and_score(
    subject_llm: CausalLM,
    attacked_llm: CausalLM,
    probes: pd.DataFrame,
    eval_params: EvalParams,
    attack: AttackParams,
) -> dict[str, dict[str, Scores]]:
    """Forget / neighbor probe scores of both models in full precision ("fp") and after
    quantizing their weights to each `attack.quantize` format.

    Returns:
        `{model: {setting: {metric: {"value", "n"}}}}`, models "original" and "unlearned".
    """
    out: dict[str, dict[str, Scores]] = {}
    total = 2 * (1 + len(attack.quantize))
    with tqdm(total=total, desc="attack quantization", unit="model", dynamic_ncols=True) as bar:
        for name, llm in _models(subject_llm, attacked_llm):
            with on_device(llm, pick_device(attack.device)):
                out[name] = {"fp": probe_scores(llm, probes, eval_params)}
                bar.update()
                for fmt in attack.quantize:
                    bar.set_postfix_str(f"{name} {fmt}")
                    model = quantize_weights(
                        llm.model, fmt, attack.group_size, attack.quantize_lm_head
                    )
                    quantized = CausalLM(model, llm.tokenizer)
                    out[name][fmt] = probe_scores(quantized, probes, eval_params)
                    del model  # one quantized copy at a time
                    bar.update()
    return out


def relearn_and_score(
    subject_llm: CausalLM,
    attacked_llm: CausalLM,
    probes: pd.DataFrame,
    forget_corpus: pd.DataFrame,
    target_info: dict,
    eval_params: EvalParams,
    attack: AttackParams,
) -> dict:
    """Fine-tune a copy of each model on the same relearning text, same seed and batch order,
    scoring held-out forget and neighbor probes every `attack.relearn.eval_every` steps.

    Returns:
        `{"data": what was trained and scored, "curves": {model: [{"step", "scores"}]},
        "loss": {model: {"relearn.lm_loss": [{"value", "step"}]}}}`.
    """
    texts, evaluated, data = relearning_split(probes, forget_corpus, target_info, attack)
    curves, losses = {}, {}
    for name, llm in _models(subject_llm, attacked_llm):
        curves[name], losses[name] = _relearn_copy(llm, texts, evaluated, eval_params, attack, name)
    return {"data": data, "curves": curves, "loss": losses}


def read_logit_lens(
    subject_llm: CausalLM, attacked_llm: CausalLM, probes: pd.DataFrame, attack: AttackParams
) -> pd.DataFrame:
    """Rank and probability of every forget probe's gold first answer token at every layer.

    Returns:
        One row per model x probe x layer: model, probe, kind, type, answer, token, layer
        (1..L), rank (0 = top), prob.
    """
    records = probe_records(probes[probes["set"] == "forget"], attack.logit_lens.max_probes)
    frames = []
    for name, llm in tqdm(list(_models(subject_llm, attacked_llm)), desc="attack logit lens"):
        with on_device(llm, pick_device(attack.device)):
            ranks, probs, tokens = logit_lens(llm, records, attack.logit_lens.batch_size)
        frames.append(_lens_frame(name, records, ranks, probs, tokens))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- helpers


def _lens_frame(
    model: str, records: list[dict], ranks: torch.Tensor, probs: torch.Tensor, tokens: list[int]
) -> pd.DataFrame:
    """One row per probe x layer of one model's logit lens."""
    n, layers = ranks.shape

    def per_probe(values) -> list:
        return [value for value in values for _ in range(layers)]

    return pd.DataFrame(
        {
            "model": model,
            "probe": per_probe(range(n)),
            "kind": per_probe(p["kind"] for p in records),
            "type": per_probe(p["type"] for p in records),
            "answer": per_probe(p["answer"] for p in records),
            "token": per_probe(tokens),
            "layer": list(range(1, layers + 1)) * n,
            "rank": ranks.flatten().numpy(),
            "prob": probs.flatten().numpy(),
        }
    )


def _models(subject_llm: CausalLM, attacked_llm: CausalLM):
    return (("original", subject_llm), ("unlearned", attacked_llm))


def relearning_split(
    probes: pd.DataFrame, forget_corpus: pd.DataFrame, target_info: dict, attack: AttackParams
) -> tuple[list[str], pd.DataFrame, dict]:
    """Relearning text, the probes scored during relearning, and a summary of both.

    A seeded `attack.relearn.held_out` share of the forget answers is held out (answers naming
    the target never are); the text is the forget corpus without every sentence that mentions
    a held-out or a neighbor answer, so no scored answer appears in it. Scored: the forget
    probes with a held-out answer, and the neighbor probes.
    """
    forget, neighbor = (probes[probes["set"] == s] for s in ("forget", "neighbor"))
    name_parts = [part for part in target_info["name"].split() if len(part) >= 3]
    held_out = hold_out_answers(forget["answer"], name_parts, attack.relearn.held_out, attack.seed)
    texts = relearning_texts(forget_corpus["text"], held_out | set(neighbor["answer"]))
    scored_forget = forget[forget["answer"].isin(held_out)]
    if not texts or scored_forget.empty:
        raise ValueError(
            f"relearning needs text and held-out probes: {len(texts)} texts, "
            f"{len(scored_forget)} held-out forget probes; change attack.relearn.held_out"
        )
    data = {
        "texts": len(texts),
        "sentences": sum(len(sentences(text)) for text in texts),
        "held_out": sorted(held_out),
        "forget_answers": len(set(forget["answer"])),
        "naming_the_target": sorted({a for a in forget["answer"] if mentions(a, name_parts)}),
        "held_out_probes": len(scored_forget),
    }
    return texts, pd.concat([scored_forget, neighbor]), data


def _relearn_copy(
    llm: CausalLM,
    texts: list[str],
    evaluated: pd.DataFrame,
    eval_params: EvalParams,
    attack: AttackParams,
    name: str,
) -> tuple[list[dict], dict]:
    settings, train = attack.relearn, attack.relearn.train
    ids, mask, labels = lm_examples(llm.tokenizer, [""] * len(texts), texts, train.max_length)
    # Train a copy: both models are shared with the other attacks (and compared to each other).
    model = copy.deepcopy(llm.model).to(pick_device(attack.device)).requires_grad_(True)
    student = CausalLM(model, llm.tokenizer)
    optimizer = make_optimizer(model.parameters(), train.optimizer, train.lr, train.weight_decay)
    torch.manual_seed(attack.seed)
    progress = StepLog(settings.steps, f"relearn {name} ({len(texts)} texts)")
    curve = relearn(
        model,
        ids,
        mask,
        labels,
        steps=settings.steps,
        eval_every=settings.eval_every,
        optimizer=optimizer,
        batch_size=train.batch_size,
        grad_clip=train.grad_clip,
        seed=attack.seed,
        evaluate=lambda: probe_scores(student, evaluated, eval_params),
        on_step=progress.on_step("relearn"),
    )
    return curve, progress.close()
