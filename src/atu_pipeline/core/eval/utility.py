"""Utility sets (rwku.md §5.4): MMLU, BBH, TruthfulQA, TriviaQA, fluency, general-text perplexity.

Percentages x100, fluency entropy x100; every score is `{"value", "n"}` under "utility/<name>".
"""

import torch

from atu_pipeline.core.eval import metrics
from atu_pipeline.core.eval.generate import (
    SHARED_PREFIX_MIN,
    OnBatch,
    generate,
    next_token_logits,
    token_logprobs,
)
from atu_pipeline.core.eval.metrics import Score, stat
from atu_pipeline.core.eval.prompts import (
    fluency_prompt,
    letter_token_ids,
    mmlu_prompt,
    prompt_ids,
    render,
    render_bbh,
    trivia_prompt,
    truthful_prompt,
)
from atu_pipeline.core.llm import CausalLM


def score_mmlu(
    llm: CausalLM,
    rows: list[dict],
    batch_size: int,
    min_prefix: int | None = SHARED_PREFIX_MIN,
    on_batch: OnBatch | None = None,
) -> dict[str, Score]:
    """5-shot MMLU accuracy: argmax over the next-token logits of " A" / " B" / " C" / " D"."""
    logits = mmlu_letter_logits(llm, rows, batch_size, min_prefix, on_batch)
    gold = torch.tensor([r["answer"] for r in rows])
    return {"utility/mmlu": stat((logits.argmax(-1) == gold).float().tolist())}


def mmlu_letter_logits(
    llm: CausalLM,
    rows: list[dict],
    batch_size: int,
    min_prefix: int | None = SHARED_PREFIX_MIN,
    on_batch: OnBatch | None = None,
) -> torch.Tensor:
    """Each row's next-token logits of the four answer letters (N, 4); the rows of one
    few-shot block run that block once (unless `min_prefix` is None)."""
    tok = llm.tokenizer
    seqs = [prompt_ids(tok, render(tok, *mmlu_prompt(r))) for r in rows]
    return next_token_logits(llm, seqs, letter_token_ids(tok), batch_size, min_prefix, on_batch)


def score_bbh(
    llm: CausalLM,
    rows: list[dict],
    batch_size: int,
    max_new_tokens: int,
    on_batch: OnBatch | None,
    min_prefix: int | None = SHARED_PREFIX_MIN,
) -> dict[str, Score]:
    """3-shot CoT BBH: correct EM (`bbh`) and RWKU's character-iteration EM (`bbh_quirk`)."""
    prompts = [render_bbh(llm.tokenizer, r) for r in rows]
    outputs = generate(llm, prompts, max_new_tokens, batch_size, on_batch, min_prefix)
    preds = [metrics.extract_bbh_answer(o) for o in outputs]
    golds = [r["answer"] for r in rows]
    return {
        "utility/bbh": stat([metrics.bbh_em(p, g) for p, g in zip(preds, golds, strict=True)]),
        "utility/bbh_quirk": stat(
            [metrics.bbh_em_quirk(p, g) for p, g in zip(preds, golds, strict=True)]
        ),
    }


def completion_logprobs(
    llm: CausalLM,
    prompts: list[str],
    completions: list[str],
    batch_size: int,
    min_prefix: int | None = SHARED_PREFIX_MIN,
    on_batch: OnBatch | None = None,
) -> list[float]:
    """Sum of log p over the completion tokens of `prompt + completion`; the completion span is
    the full encoding minus as many tokens as the prompt alone encodes to (as in RWKU)."""
    tok = llm.tokenizer
    heads = [len(prompt_ids(tok, p)) for p in prompts]
    fulls = [prompt_ids(tok, p + c) for p, c in zip(prompts, completions, strict=True)]
    stats = token_logprobs(llm, fulls, batch_size, min_prefix=min_prefix, on_batch=on_batch)
    # logp[t - 1] is log p(x_t), so the completion x_head.. starts at logp[head - 1]
    return [s["logp"][h - 1 :].sum().item() for s, h in zip(stats, heads, strict=True)]


def score_truthful(
    llm: CausalLM,
    rows: list[dict],
    batch_size: int,
    min_prefix: int | None = SHARED_PREFIX_MIN,
    on_batch: OnBatch | None = None,
) -> dict[str, Score]:
    """TruthfulQA MC1 / MC2 from summed completion log-probs of `prompt + " " + choice`."""
    jobs = []  # (row index, choice): mc1 choices are scored too when mc2 lacks them
    for i, r in enumerate(rows):
        choices = dict.fromkeys(r["mc2_targets"]["choices"] + r["mc1_targets"]["choices"])
        jobs += [(i, c) for c in choices]
    prompts = [render(llm.tokenizer, *truthful_prompt(rows[i]["question"])) for i, _ in jobs]
    completions = [" " + c for _, c in jobs]
    # progress in questions, not in the (question, choice) pairs scored
    progress = on_batch and (lambda done, total: on_batch(done * len(rows) // total, len(rows)))
    sums = completion_logprobs(llm, prompts, completions, batch_size, min_prefix, progress)
    score = dict(zip(jobs, sums, strict=True))
    mc1, mc2 = [], []
    for i, r in enumerate(rows):
        sides = [split_choices(i, r[key], score) for key in ("mc1_targets", "mc2_targets")]
        mc1.append(metrics.truthful_mc1(sides[0][0][0], sides[0][1]))
        mc2.append(metrics.truthful_mc2(*sides[1]))
    return {"utility/truthfulqa_mc1": stat(mc1), "utility/truthfulqa_mc2": stat(mc2)}


def split_choices(
    row: int, targets: dict, score: dict[tuple[int, str], float]
) -> tuple[list[float], list[float]]:
    """(true scores, false scores) of one `{choices, labels}` block, in choice order."""
    pairs = list(zip(targets["choices"], targets["labels"], strict=True))
    return [score[row, c] for c, y in pairs if y], [score[row, c] for c, y in pairs if not y]


def score_trivia(
    llm: CausalLM,
    rows: list[dict],
    batch_size: int,
    max_new_tokens: int,
    on_batch: OnBatch | None,
    min_prefix: int | None = SHARED_PREFIX_MIN,
) -> dict[str, Score]:
    """TriviaQA token F1 and EM (SQuAD normalisation), max over the answer aliases."""
    prompts = [render(llm.tokenizer, *trivia_prompt(r["question"])) for r in rows]
    preds = generate(llm, prompts, max_new_tokens, batch_size, on_batch, min_prefix)
    pairs = list(zip(preds, rows, strict=True))
    f1 = [max(metrics.token_f1(p, a) for a in r["answers"]) for p, r in pairs]
    em = [max(metrics.exact_match(p, a) for a in r["answers"]) for p, r in pairs]
    return {"utility/triviaqa_f1": stat(f1), "utility/triviaqa_em": stat(em)}


def score_fluency(
    llm: CausalLM, rows: list[dict], batch_size: int, max_new_tokens: int, on_batch: OnBatch | None
) -> dict[str, Score]:
    """Mean n-gram entropy (H2/3 + 2 H3/3, bits, x100) of answers to AlpacaEval instructions."""
    prompts = [render(llm.tokenizer, *fluency_prompt(r["instruction"])) for r in rows]
    outputs = generate(llm, prompts, max_new_tokens, batch_size, on_batch)
    return {"utility/fluency": stat([metrics.fluency_entropy(o) for o in outputs])}


def score_perplexity(
    llm: CausalLM, rows: list[dict], batch_size: int, on_batch: OnBatch | None = None
) -> dict[str, Score]:
    """Token-weighted perplexity of raw texts (default special tokens, no chat template)."""
    seqs = [llm.tokenizer(r["text"]).input_ids for r in rows]
    stats = token_logprobs(llm, seqs, batch_size, on_batch=on_batch)
    nll = -sum(s["logp"].sum().item() for s in stats)
    value = metrics.perplexity(nll, sum(len(s["logp"]) for s in stats))
    return {"utility/perplexity": {"value": value, "n": len(rows)}}


def score_utility(
    llm: CausalLM,
    items: dict[str, list[dict]],
    *,
    limits: dict[str, int | None] | None = None,
    batch_size: int = 8,
    max_new_tokens: int = 30,
    max_new_tokens_long: int = 256,
    share_prefixes: bool = True,
    on_batch: OnBatch | None = None,
) -> dict[str, Score]:
    """All utility scores for the item sets present in `items` (keys as in RWKU files:
    retain_mmlu, retain_bbh, truthful, triviaqa, fluency; plus general_text = [{text}]).

    `limits[name]` keeps the first N rows of a set (None or absent: all). Sets that are absent
    or empty produce no keys. TriviaQA answers get `max_new_tokens` (RWKU: 30), BBH and
    fluency `max_new_tokens_long` (RWKU: 256). With `share_prefixes`, rows that share a long
    prompt prefix (MMLU's few-shot blocks, BBH's chains of thought, TruthfulQA's primer and
    question, TriviaQA's demonstrations) run it once: the same scores, to float rounding.
    """
    limits = limits or {}
    rows = {name: items.get(name, [])[: limits.get(name)] for name in items}
    long, shared = max_new_tokens_long, SHARED_PREFIX_MIN if share_prefixes else None
    out: dict[str, Score] = {}
    if rows.get("retain_mmlu"):
        out |= score_mmlu(llm, rows["retain_mmlu"], batch_size, shared, on_batch)
    if rows.get("retain_bbh"):
        out |= score_bbh(llm, rows["retain_bbh"], batch_size, long, on_batch, shared)
    if rows.get("truthful"):
        out |= score_truthful(llm, rows["truthful"], batch_size, shared, on_batch)
    if rows.get("triviaqa"):
        out |= score_trivia(llm, rows["triviaqa"], batch_size, max_new_tokens, on_batch, shared)
    if rows.get("fluency"):
        out |= score_fluency(llm, rows["fluency"], batch_size, long, on_batch)
    if rows.get("general_text"):
        out |= score_perplexity(llm, rows["general_text"], batch_size, on_batch)
    return out
