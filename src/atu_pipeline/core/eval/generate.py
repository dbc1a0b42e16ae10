"""Batched greedy generation and teacher-forced scoring with a causal LM.

Padding is done here on id lists, never through the tokenizer, so its `padding_side` is never
changed. Prompt forwards pad on the RIGHT with explicit position ids, a shared prefix's cache in
front where rows share one; greedy decoding then joins prompts of any lengths by left-padding
their caches (masked), each row at its own position. Sampling (`sample`) pads prompts on the
LEFT for `model.generate`, which derives position ids from the mask. Rows are sorted by length,
longest first, so batches waste little padding and a memory error shows up on the first batch;
results come back in input order.
"""

import copy
import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from transformers import DynamicCache, GenerationConfig

from atu_pipeline.core.eval.metrics import target_logprobs, vocab_moments
from atu_pipeline.core.eval.prompts import prompt_ids
from atu_pipeline.core.llm import CausalLM

OnBatch = Callable[[int, int], None]  # (rows done, rows in total)
# rows sharing at least this many leading tokens run them once (None: never); a chat
# template's system turn alone (~35 tokens for SmolLM2) is worth sharing, barely
SHARED_PREFIX_MIN = 32


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd inside; the model's previous train/eval mode after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def pad(seqs: list[list[int]], pad_id: int, side: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack id lists into (B, T) ids and (B, T) attention mask, padding on `side`."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for row, seq in enumerate(seqs):
        span = slice(width - len(seq), width) if side == "left" else slice(0, len(seq))
        ids[row, span] = torch.tensor(seq, dtype=torch.long)
        mask[row, span] = 1
    return ids, mask


def batches_by_length(seqs: list[list[int]], batch_size: int) -> list[list[int]]:
    """Row indices grouped into batches of similar length, longest first."""
    order = sorted(range(len(seqs)), key=lambda i: -len(seqs[i]))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def stop_ids(llm: CausalLM) -> list[int]:
    """Token ids that end an answer: the tokenizer's eos and the model's generation eos ids
    (e.g. Llama-3-Instruct's `<|eot_id|>`, Phi-3's `<|end|>`)."""
    found = [llm.tokenizer.eos_token_id, getattr(llm.model.generation_config, "eos_token_id", None)]
    flat = [i for x in found for i in (x if isinstance(x, list) else [x]) if i is not None]
    return sorted(set(flat))


def pad_id(llm: CausalLM) -> int:
    tokenizer = llm.tokenizer
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids(llm)[0]


def cut_at_stop(ids: list[int], stops: list[int]) -> list[int]:
    """Ids before the first stop id (the whole list when none occurs)."""
    for i, token in enumerate(ids):
        if token in stops:
            return ids[:i]
    return ids


def generate(
    llm: CausalLM,
    prompts: list[str],
    max_new_tokens: int = 30,
    batch_size: int = 16,
    on_batch: OnBatch | None = None,
    min_prefix: int | None = SHARED_PREFIX_MIN,
) -> list[str]:
    """Greedy continuations of rendered prompts, stripped, in input order.

    Rows that share a long prefix (BBH's chain-of-thought examples) run it once; rows of any
    prefix then decode together in batches of `batch_size`, and each row leaves its batch at
    its first stop id, so one long answer does not hold the others. Only the new tokens are
    decoded, cut at the first stop id, with special tokens skipped.
    """
    seqs = [prompt_ids(llm.tokenizer, p) for p in prompts]
    stops = stop_ids(llm)
    answers: list[list[int]] = [[] for _ in seqs]
    with eval_mode(llm.model):
        prompted = _prefill(llm, seqs, batch_size, min_prefix)
        done = 0
        while batch := list(itertools.islice(prompted, batch_size)):
            for row, new in _decode(llm, batch, max_new_tokens, stops):
                answers[row] = new
            done += len(batch)
            if on_batch is not None:
                on_batch(done, len(seqs))
    decode = llm.tokenizer.decode
    return [decode(cut_at_stop(new, stops), skip_special_tokens=True).strip() for new in answers]


@dataclass
class _Prompted:
    """One row after its prompt's forward: the prompt's keys and values per layer (1, H, L, d),
    and the first new token."""

    row: int
    kv: list[tuple[torch.Tensor, torch.Tensor]]
    length: int
    first: int


def _prefill_jobs(seqs: list[list[int]], min_prefix: int | None) -> list[tuple[int, list[int]]]:
    """(shared prefix length, rows): each group of `prefix_groups`, and every row that shares
    nothing in one job of its own (so that they still batch together). `min_prefix` None:
    nothing is shared, every row runs its whole prompt."""
    if min_prefix is None:
        return [(0, list(range(len(seqs))))]
    groups = prefix_groups(seqs, min_prefix)
    alone = [row for shared, rows in groups if not shared for row in rows]
    return [group for group in groups if group[0]] + ([(0, alone)] if alone else [])


@dataclass
class _Forward:
    """One batch of `_forwards`: `module`'s output on the rows' own tokens (right-padded), after
    their group's shared prefix."""

    rows: list[int]  # the batch's row indices in the input
    shared: int  # leading tokens its rows share, run once per group
    out: object  # the module's output on each row's own tokens
    cache: DynamicCache  # the prefix's and the rows' keys and values
    lengths: torch.Tensor  # each row's own token count
    prefix_out: object | None  # the module's output on the shared prefix (None: no prefix)
    opens_group: bool  # the first batch of its prefix group


def _forwards(
    module: nn.Module,
    llm: CausalLM,
    seqs: list[list[int]],
    batch_size: int,
    min_prefix: int | None,
) -> Iterator[_Forward]:
    """`module` (the decoder, or the whole LM for logits) over every id list: each prefix
    group's shared tokens once, then its rows' own tokens in length-sorted batches."""
    for shared, rows in _prefill_jobs(seqs, min_prefix):
        prefix, prefix_out = None, None
        if shared:
            prefix, prefix_out = _prefix_cache(llm, seqs[rows[0]][:shared], module)
        suffixes = [seqs[row][shared:] for row in rows]
        for number, batch in enumerate(batches_by_length(suffixes, batch_size)):
            out, cache, lengths = _after_prefix(module, llm, [suffixes[i] for i in batch], prefix)
            batch_rows = [rows[i] for i in batch]
            yield _Forward(batch_rows, shared, out, cache, lengths, prefix_out, number == 0)


def _prefill(
    llm: CausalLM, seqs: list[list[int]], batch_size: int, min_prefix: int | None
) -> Iterator[_Prompted]:
    """Every prompt's forward (shared prefixes once); yields each row's prompt cache and
    greedy first token."""
    for forward in _forwards(llm.model.get_decoder(), llm, seqs, batch_size, min_prefix):
        firsts = _next_logits(llm, forward.out, forward.lengths).argmax(-1).tolist()
        for b, row in enumerate(forward.rows):
            length = forward.shared + int(forward.lengths[b])
            kv = [
                (layer.keys[b : b + 1, :, :length], layer.values[b : b + 1, :, :length])
                for layer in forward.cache.layers
            ]
            yield _Prompted(row, kv, length, firsts[b])


def _prefix_cache(llm: CausalLM, prefix: list[int], module: nn.Module) -> tuple:
    """A shared prefix run once through `module`: its cache and the module's output."""
    cache = DynamicCache()
    out = module(
        input_ids=torch.tensor([prefix], device=llm.device), past_key_values=cache, use_cache=True
    )
    return cache, out


def _after_prefix(
    module: nn.Module, llm: CausalLM, suffixes: list[list[int]], prefix: DynamicCache | None
) -> tuple:
    """`module` (the decoder, or the whole LM for logits) on right-padded rows that continue
    `prefix` (expanded over the batch), or that start at position 0 when it is None.
    Returns the output, the batch's cache and each row's own token count."""
    shared = 0 if prefix is None else prefix.get_seq_length()
    ids, mask = pad(suffixes, pad_id(llm), "right")
    cache = DynamicCache() if prefix is None else copy.deepcopy(prefix)
    if prefix is not None:
        cache.batch_repeat_interleave(len(suffixes))
    full_mask = torch.cat([torch.ones(len(suffixes), shared, dtype=mask.dtype), mask], dim=1)
    positions = torch.arange(shared, shared + ids.shape[1]).expand(len(suffixes), -1)
    out = module(
        input_ids=ids.to(llm.device),
        attention_mask=full_mask.to(llm.device),
        position_ids=positions.to(llm.device),
        past_key_values=cache,
        use_cache=True,
    )
    return out, cache, mask.sum(dim=1)


def _next_logits(llm: CausalLM, decoded, lengths: torch.Tensor) -> torch.Tensor:
    """The LM head at each row's last real position of a right-padded decoder output: (B, V)."""
    rows = torch.arange(len(lengths))
    last = decoded.last_hidden_state[rows, (lengths - 1).to(llm.device)]
    return llm.model.get_output_embeddings()(last)


def _decode(
    llm: CausalLM, batch: list[_Prompted], max_new_tokens: int, stops: list[int]
) -> list[tuple[int, list[int]]]:
    """Greedy decoding of prompted rows of any lengths: their caches left-padded to one width
    (masked), each row at its own position, and a row dropped from the batch at its stop id."""
    device, decoder = llm.device, llm.model.get_decoder()
    width = max(row.length for row in batch)
    stacked = [
        tuple(
            torch.cat([F.pad(row.kv[layer][part], (0, 0, width - row.length, 0)) for row in batch])
            for part in (0, 1)
        )
        for layer in range(len(batch[0].kv))
    ]
    cache = DynamicCache(stacked)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for b, row in enumerate(batch):
        mask[b, width - row.length :] = 1
    owners = [row.row for row in batch]
    tokens = torch.tensor([row.first for row in batch])
    positions = torch.tensor([row.length for row in batch])
    answers = {row.row: [row.first] for row in batch}
    for _ in range(max_new_tokens - 1):
        running = [b for b, token in enumerate(tokens.tolist()) if token not in stops]
        if not running:
            break
        if len(running) < len(owners):  # rows that stopped leave the batch
            keep = torch.tensor(running)
            cache.batch_select_indices(keep.to(device))
            mask, positions, tokens = mask[keep], positions[keep], tokens[keep]
            owners = [owners[b] for b in running]
        mask = torch.cat([mask, torch.ones(len(owners), 1, dtype=mask.dtype)], dim=1)
        hidden = decoder(
            input_ids=tokens[:, None].to(device),
            attention_mask=mask.to(device),
            position_ids=positions[:, None].to(device),
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state[:, -1]
        tokens = llm.model.get_output_embeddings()(hidden).argmax(-1).cpu()
        positions = positions + 1
        for owner, token in zip(owners, tokens.tolist(), strict=True):
            answers[owner].append(token)
    return list(answers.items())


def generate_in_batches(
    llm: CausalLM,
    prompts: list[str],
    decoding: dict,
    batch_size: int,
    on_batch: OnBatch | None,
) -> list[str]:
    """`model.generate` with the `decoding` settings (GenerationConfig fields) over
    length-sorted, left-padded batches, stopping at the model's stop ids; each row's new tokens
    decoded up to its first stop id, in input order."""
    seqs = [prompt_ids(llm.tokenizer, p) for p in prompts]
    stops, pid = stop_ids(llm), pad_id(llm)
    config = GenerationConfig(**decoding, eos_token_id=stops, pad_token_id=pid)
    outputs: list[str] = [""] * len(prompts)
    with eval_mode(llm.model):
        for done, rows in enumerate(batches_by_length(seqs, batch_size)):
            ids, mask = pad([seqs[i] for i in rows], pid, "left")
            out = llm.model.generate(
                input_ids=ids.to(llm.device),
                attention_mask=mask.to(llm.device),
                generation_config=config,
            )
            for row, new in zip(rows, out[:, ids.shape[1] :].tolist(), strict=True):
                outputs[row] = llm.tokenizer.decode(
                    cut_at_stop(new, stops), skip_special_tokens=True
                )
            if on_batch is not None:
                on_batch(min((done + 1) * batch_size, len(prompts)), len(prompts))
    return outputs


def sample(
    llm: CausalLM,
    prompts: list[str],
    *,
    max_new_tokens: int,
    batch_size: int,
    temperature: float,
    top_p: float,
    seed: int,
    on_batch: OnBatch | None = None,
) -> list[str]:
    """Sampled continuations (temperature, nucleus top-p) of rendered prompts, in input order;
    the same seed and batches give the same texts."""
    decoding = {
        "do_sample": True,
        "temperature": temperature,
        "top_p": top_p,
        "max_new_tokens": max_new_tokens,
    }
    torch.manual_seed(seed)
    return generate_in_batches(llm, prompts, decoding, batch_size, on_batch)


def token_logprobs(
    llm: CausalLM,
    seqs: list[list[int]],
    batch_size: int = 8,
    with_stats: bool = False,
    on_batch: OnBatch | None = None,
    min_prefix: int | None = SHARED_PREFIX_MIN,
) -> list[dict[str, torch.Tensor]]:
    """Teacher-forced log p(x_t | x_<t) for t = 1..T-1 of every id list, in input order.

    Returns per sequence {"logp": (T-1,)} and, with `with_stats`, also the mean "mu" (T-1,)
    and standard deviation "sigma" (T-1,) of log p over the vocabulary (for Min-K%++).
    Sequences shorter than 2 tokens get empty tensors. Rows that share a long prefix
    (TruthfulQA's primer and question under each of its answer choices) run it once.
    """
    results: list[dict[str, torch.Tensor]] = [{} for _ in seqs]
    done, head = 0, None  # head: the group prefix's own log-probs (shared, V)
    with eval_mode(llm.model):
        for forward in _forwards(llm.model, llm, seqs, batch_size, min_prefix):
            if forward.opens_group:
                prefix_out = forward.prefix_out
                head = None if prefix_out is None else prefix_out.logits[0].float().log_softmax(-1)
            logits = forward.out.logits
            for b, row in enumerate(forward.rows):
                seq = torch.tensor(seqs[row], device=logits.device)
                # logits at position t predict token t + 1; float32 one row at a time
                tail = logits[b, : len(seqs[row]) - forward.shared - 1].float().log_softmax(-1)
                log_probs = tail if head is None else torch.cat([head, tail])  # (T-1, V)
                stats = {"logp": target_logprobs(log_probs, seq[1:]).cpu()}
                if with_stats:
                    mu, sigma = vocab_moments(log_probs)
                    stats |= {"mu": mu.cpu(), "sigma": sigma.cpu()}
                results[row] = stats
            done += len(forward.rows)
            if on_batch is not None:
                on_batch(done, len(seqs))
    return results


def next_token_logits(
    llm: CausalLM,
    seqs: list[list[int]],
    candidates: list[int],
    batch_size: int = 8,
    min_prefix: int | None = SHARED_PREFIX_MIN,
    on_batch: OnBatch | None = None,
) -> torch.Tensor:
    """Logits of the `candidates` ids for the token after each id list: (N, C). Rows that
    share a long prefix (MMLU's few-shot block) run it once."""
    out = torch.empty(len(seqs), len(candidates))
    done = 0
    with eval_mode(llm.model):
        for forward in _forwards(llm.model.get_decoder(), llm, seqs, batch_size, min_prefix):
            logits = _next_logits(llm, forward.out, forward.lengths)[:, candidates]
            out[forward.rows] = logits.float().cpu()
            done += len(forward.rows)
            if on_batch is not None:
                on_batch(done, len(seqs))
    return out


def prefix_groups(seqs: list[list[int]], min_prefix: int) -> list[tuple[int, list[int]]]:
    """Rows grouped so that running each group's shared leading tokens once saves the most
    work: (shared length, row indices). A group shares at least `min_prefix` tokens and leaves
    every row at least one token of its own; a row worth no sharing is alone, shared length 0.

    Rows that share a long block (MMLU's few-shot examples) must not merge into one group with
    rows that share only a short header (the chat template's system turn): groups are the
    split of the sorted rows that saves the most tokens, (rows - 1) x shared length per group.
    """
    order = sorted(range(len(seqs)), key=lambda i: seqs[i])  # shared prefixes sort together
    # common[k]: what rows order[k - 1] and order[k] share, each keeping a token of its own
    common = [0] + [
        _common_length(seqs[a], seqs[b], min(len(seqs[a]), len(seqs[b])) - 1)
        for a, b in itertools.pairwise(order)
    ]
    saved = [0] * (len(order) + 1)  # saved[j]: the most tokens saved over order[:j]
    start = [0] * (len(order) + 1)  # where the last group of that best split starts
    for end in range(1, len(order) + 1):
        saved[end], start[end] = saved[end - 1], end - 1  # order[end - 1] alone
        shared = None
        for first in range(end - 2, -1, -1):  # the group order[first:end]
            shared = common[first + 1] if shared is None else min(shared, common[first + 1])
            if shared < min_prefix:
                break
            if saved[first] + (end - 1 - first) * shared > saved[end]:
                saved[end], start[end] = saved[first] + (end - 1 - first) * shared, first
    groups, end = [], len(order)
    while end:
        first = start[end]
        rows = order[first:end]
        shared = min(common[first + 1 : end]) if len(rows) > 1 else 0
        groups.append((shared, rows))
        end = first
    return groups[::-1]


def _common_length(a: list[int], b: list[int], limit: int) -> int:
    length = 0
    while length < limit and a[length] == b[length]:
        length += 1
    return length
