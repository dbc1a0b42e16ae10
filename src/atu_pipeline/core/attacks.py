"""Attacks on forgetting: weight quantization, relearning on related text, the logit lens.

Each asks whether unlearned knowledge is gone from the weights or only hidden: does it come
back after 4-bit rounding, after a few fine-tuning steps on text that never states the
evaluated answers, or is it readable in the residual stream below the layer that was changed?
"""

import copy
import random
import re
from collections.abc import Callable, Iterable

import torch
from torch import nn

from atu_pipeline.core.eval.generate import batches_by_length, eval_mode, pad, pad_id
from atu_pipeline.core.eval.prompts import probe_prompt, prompt_ids, render
from atu_pipeline.core.llm import CausalLM, decoder_layers
from atu_pipeline.core.training import OnStep, finetune_lm

# ---------------------------------------------------------------- quantization


def nf4_levels() -> torch.Tensor:
    """The 16 NormalFloat-4 levels (QLoRA, Dettmers et al. 2023, §3): quantiles of N(0, 1),
    8 on the positive side and 7 on the negative side plus an exact zero, scaled to [-1, 1].
    The outermost quantile is taken at 0.9677 (bitsandbytes' offset), not at 1 (infinite)."""
    normal = torch.distributions.Normal(0.0, 1.0)
    offset = 0.9677083
    positive = normal.icdf(torch.linspace(offset, 0.5, 9, dtype=torch.float64)[:-1])
    negative = -normal.icdf(torch.linspace(offset, 0.5, 8, dtype=torch.float64)[:-1])
    levels = torch.cat([positive, negative, torch.zeros(1, dtype=torch.float64)]).sort().values
    return (levels / levels.max()).float()  # (16,)


def quantize_tensor(weight: torch.Tensor, fmt: str, group_size: int) -> torch.Tensor:
    """Round-to-nearest, symmetric absmax quantization in groups of `group_size` consecutive
    input columns, returned de-quantized (same shape and dtype as `weight`).

    `fmt` is `int<b>` (b = 2..8: integers -(2^(b-1)-1)..2^(b-1)-1 times the group's absmax /
    (2^(b-1)-1)) or `nf4` (the nearest NF4 level times the group's absmax). A last group
    shorter than `group_size` is quantized on its own (zero padding does not change an absmax).
    """
    if group_size < 1:
        raise ValueError(f"group_size must be >= 1, got {group_size}")
    out_features, in_features = weight.shape
    width = -(-in_features // group_size) * group_size
    w = nn.functional.pad(weight.detach().float(), (0, width - in_features))
    groups = w.view(out_features, width // group_size, group_size)  # (O, G, g)
    absmax = groups.abs().amax(dim=-1, keepdim=True).clamp_min(1e-12)  # (O, G, 1)
    if fmt == "nf4":
        levels = nf4_levels().to(w.device)
        nearest = (groups / absmax).unsqueeze(-1).sub(levels).abs().argmin(dim=-1)  # (O, G, g)
        dequantized = levels[nearest] * absmax
    elif re.fullmatch(r"int[2-8]", fmt):
        top = 2 ** (int(fmt[3:]) - 1) - 1
        scale = absmax / top
        dequantized = (groups / scale).round().clamp(-top, top) * scale
    else:
        raise ValueError(f"unknown quantization format {fmt!r}; expected int2..int8 or nf4")
    return dequantized.view(out_features, width)[:, :in_features].to(weight.dtype)


def quantize_weights(
    model: nn.Module, fmt: str, group_size: int = 64, lm_head: bool = False
) -> nn.Module:
    """A copy of `model` whose decoder-block linear weights are quantized (`quantize_tensor`);
    the input model is not changed.

    Embeddings, norms and biases stay in full precision, as in bitsandbytes' and GPTQ's
    defaults; the LM head too unless `lm_head` (tied to the input embeddings in small models,
    so quantizing it would quantize those as well).
    """
    quantized = copy.deepcopy(model)
    linears = [m for m in decoder_layers(quantized).modules() if isinstance(m, nn.Linear)]
    if lm_head:
        linears.append(quantized.get_output_embeddings())
    with torch.no_grad():
        for linear in linears:
            linear.weight.copy_(quantize_tensor(linear.weight, fmt, group_size))
    return quantized


# ---------------------------------------------------------------- logit lens


def final_norm(model: nn.Module) -> nn.Module:
    """The norm applied between the last decoder block and the LM head."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model.base_model
    for name in ("norm", "final_layernorm", "ln_f"):
        if isinstance(getattr(decoder, name, None), nn.Module):
            return getattr(decoder, name)
    raise ValueError(f"cannot find the final norm of {type(model).__name__}")


def answer_start(tokenizer, prompt: str, answer: str) -> tuple[list[int], int]:
    """Where the answer's first informative token is predicted: (ids before it, its id).

    The answer follows a space unless the prompt ends in whitespace ("Answer:" -> " Paris"), as
    in the injection data and in what greedy decoding produces, and is tokenized together with
    the prompt. Whitespace-only tokens at its start (a bare "Ġ" before split digits, "▁" in
    sentencepiece) carry no knowledge: they are appended to the prompt ids (teacher-forced),
    and the gold token is the first non-blank one.
    """
    separator = "" if not prompt or prompt[-1].isspace() else " "
    head = prompt_ids(tokenizer, prompt)
    full = prompt_ids(tokenizer, prompt + separator + answer.strip())
    tail = full[len(head) :] if full[: len(head)] == head else None
    if tail is None:  # the answer merged with the prompt's last token: tokenize it alone
        tail = tokenizer(separator + answer.strip(), add_special_tokens=False).input_ids
    for i, token in enumerate(tail):
        if tokenizer.decode([token]).strip():
            return head + tail[:i], token
    raise ValueError(f"answer {answer!r} has no non-blank token")


def logit_lens(
    llm: CausalLM, probes: list[dict], batch_size: int = 8
) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Rank and probability of each probe's gold first answer token, read at every layer.

    The residual stream after block l (= HF `hidden_states[l]`) at the position that predicts
    the answer's first informative token (`answer_start`) goes through the final norm and the
    LM head; at l = L that is exactly the model's next-token distribution. Prompts are rendered
    as `score_probes` renders them.

    Returns:
        ranks (N, L) (0 = the top token), probabilities (N, L), the N gold token ids.
    """
    tok, model = llm.tokenizer, llm.model
    prompts = [render(tok, *probe_prompt(p["kind"], p["type"], p["query"])) for p in probes]
    starts = [answer_start(tok, text, p["answer"]) for text, p in zip(prompts, probes, strict=True)]
    seqs, gold = [ids for ids, _ in starts], [token for _, token in starts]
    layers, norm, head = decoder_layers(model), final_norm(model), model.get_output_embeddings()
    ranks = torch.empty(len(seqs), len(layers), dtype=torch.long)
    probs = torch.empty(len(seqs), len(layers))
    with eval_mode(model):
        for rows in batches_by_length(seqs, batch_size):
            ids, mask = pad([seqs[i] for i in rows], pad_id(llm), "right")
            last = mask.sum(dim=1) - 1  # (B,)
            states: list[torch.Tensor] = []

            def keep_last(_module, _inputs, output, states=states, last=last):
                hidden = output[0] if isinstance(output, tuple) else output  # (B, T, H)
                states.append(hidden[torch.arange(len(last)), last.to(hidden.device)])

            handles = [layer.register_forward_hook(keep_last) for layer in layers]
            try:
                model(
                    input_ids=ids.to(llm.device),
                    attention_mask=mask.to(llm.device),
                    use_cache=False,
                    logits_to_keep=1,
                )
            finally:
                for handle in handles:
                    handle.remove()
            logits = head(norm(torch.stack(states, dim=1))).float()  # (B, L, V)
            target = torch.tensor([gold[i] for i in rows], device=logits.device)[:, None, None]
            index = target.expand(-1, len(layers), 1)  # (B, L, 1)
            ranks[rows] = (logits > logits.gather(-1, index)).sum(dim=-1).cpu()
            probs[rows] = logits.softmax(-1).gather(-1, index)[..., 0].cpu()
    return ranks, probs, gold


# ---------------------------------------------------------------- relearning

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def mentions(text: str, answers: Iterable[str]) -> bool:
    """Whether `text` contains any of the answers (case-insensitive substring)."""
    low = text.lower()
    return any(answer.lower() in low for answer in answers if answer.strip())


def hold_out_answers(
    answers: Iterable[str], protected: Iterable[str], share: float, seed: int
) -> set[str]:
    """A seeded `share` (at least one) of the distinct answers that contain no protected string.

    Protected strings are the target's name parts: every sentence about a person names them, so
    a fact whose answer is the name cannot be kept out of the relearning text.
    """
    protected = [p for p in protected if p.strip()]
    candidates = sorted({a for a in answers if a.strip() and not mentions(a, protected)})
    random.Random(seed).shuffle(candidates)
    return set(candidates[: max(1, round(share * len(candidates)))]) if candidates else set()


def sentences(text: str) -> list[str]:
    """Sentences end at ".", "!" or "?" followed by whitespace."""
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def relearning_texts(texts: Iterable[str], excluded: Iterable[str]) -> list[str]:
    """Each text without its sentences that mention an excluded answer; texts left empty are
    dropped."""
    excluded = list(excluded)
    kept = []
    for text in texts:
        sentences_kept = [s for s in sentences(text) if not mentions(s, excluded)]
        if sentences_kept:
            kept.append(" ".join(sentences_kept))
    return kept


def relearn(
    model: nn.Module,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    labels: torch.Tensor,
    *,
    steps: int,
    eval_every: int,
    optimizer: torch.optim.Optimizer,
    batch_size: int,
    grad_clip: float,
    seed: int,
    evaluate: Callable[[], dict],
    on_step: OnStep = None,
) -> list[dict]:
    """Fine-tune `model` in place for `steps` optimizer steps of `batch_size` rows, evaluating
    before the first step and after every `eval_every` steps (and the last).

    The row order depends on `seed` and the data only, so two models relearn on the same
    batches in the same order. Returns `[{"step": s, "scores": evaluate()}, ...]`.
    """
    generator = torch.Generator().manual_seed(seed)
    epochs = -(-steps * batch_size // len(input_ids))
    order = torch.cat([torch.randperm(len(input_ids), generator=generator) for _ in range(epochs)])
    curve = [{"step": 0, "scores": evaluate()}]
    for start in range(0, steps, eval_every):
        stop = min(start + eval_every, steps)
        rows = order[start * batch_size : stop * batch_size]
        finetune_lm(
            model,
            input_ids[rows],
            attention_mask[rows],
            labels[rows],
            epochs=1,
            optimizer=optimizer,
            batch_size=batch_size,
            grad_clip=grad_clip,
            generator=torch.Generator().manual_seed(seed + start),
            on_step=on_step and (lambda step, record, start=start: on_step(start + step, record)),
        )
        curve.append({"step": stop, "scores": evaluate()})
    return curve
