"""Batched greedy generation and teacher-forced scoring on the tiny random Llama."""

from collections import Counter

import torch

from atu_pipeline.core.eval.generate import (
    batches_by_length,
    cut_at_stop,
    generate,
    next_token_logits,
    pad,
    prefix_groups,
    stop_ids,
    token_logprobs,
)
from atu_pipeline.core.eval.prompts import prompt_ids, render

QUESTIONS = [
    "Where was she born?",
    "He wrote novels, poems and plays, and founded an institute in 1962. Who?",
    "Why?",
    "The quick brown fox jumps over the lazy dog. What jumps?",
    "Please answer.",
]


def _prompts(tokenizer) -> list[str]:
    return [render(tokenizer, q, "Answer:") for q in QUESTIONS]


def test_pad_left_and_right():
    ids, mask = pad([[1, 2, 3], [4]], pad_id=0, side="left")
    assert ids.tolist() == [[1, 2, 3], [0, 0, 4]] and mask.tolist() == [[1, 1, 1], [0, 0, 1]]
    ids, mask = pad([[1, 2, 3], [4]], pad_id=0, side="right")
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]] and mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_batches_by_length_cover_every_row_longest_first():
    seqs = [[1], [1, 2, 3], [1, 2], [1, 2, 3, 4]]
    batches = batches_by_length(seqs, 3)
    assert batches == [[3, 1, 2], [0]]


def test_cut_at_stop():
    assert cut_at_stop([5, 6, 2, 7, 2], [2]) == [5, 6]
    assert cut_at_stop([5, 6], [2]) == [5, 6]
    assert cut_at_stop([2, 5], [2, 9]) == []


def test_stop_ids_include_tokenizer_and_generation_eos(tiny_llm):
    eos = tiny_llm.tokenizer.eos_token_id
    assert stop_ids(tiny_llm) == [eos]
    tiny_llm.model.generation_config.eos_token_id = [eos, 7]
    assert stop_ids(tiny_llm) == sorted({eos, 7})


def _one_prompt_generate(llm, prompt: str, max_new_tokens: int) -> list[int]:
    """transformers' own greedy `generate` on one prompt: its new ids."""
    ids = torch.tensor([prompt_ids(llm.tokenizer, prompt)])
    out = llm.model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=stop_ids(llm),
        pad_token_id=llm.tokenizer.pad_token_id,
    )
    return out[0, ids.shape[1] :].tolist()


def test_generate_decodes_only_new_tokens_like_unbatched_generate(lively_llm):
    """Batched output = plain one-prompt generate, sliced by token count."""
    tok = lively_llm.tokenizer
    prompts = _prompts(tok)
    got = generate(lively_llm, prompts, max_new_tokens=6, batch_size=5)
    assert any(got)  # the random model does emit text, so the comparison means something
    for prompt, text in zip(prompts, got, strict=True):
        new = cut_at_stop(_one_prompt_generate(lively_llm, prompt, 6), stop_ids(lively_llm))
        assert text == tok.decode(new, skip_special_tokens=True).strip()


def test_shared_prefixes_and_rows_leaving_at_their_stop_id_give_the_same_texts(lively_llm):
    tok = lively_llm.tokenizer
    examples = " ".join(f"Example {i}: the answer is {7 * i}." for i in range(12))
    prompts = [render(tok, f"{examples} {q}", "Answer:") for q in QUESTIONS] + _prompts(tok)
    assert any(shared for shared, _ in prefix_groups([prompt_ids(tok, p) for p in prompts], 32))
    # a token that some answers emit after their first stops them there: rows leave the batch
    answers = [_one_prompt_generate(lively_llm, prompt, 8) for prompt in prompts]
    counts = Counter(token for new in answers for token in set(new[1:]))
    early = max((token for token in counts if counts[token] < len(answers)), key=counts.get)
    lively_llm.model.generation_config.eos_token_id = [tok.eos_token_id, early]
    got = generate(lively_llm, prompts, max_new_tokens=8, batch_size=4)
    lengths = []
    for prompt, text in zip(prompts, got, strict=True):
        new = _one_prompt_generate(lively_llm, prompt, 8)
        lengths.append(len(new))
        expected = tok.decode(cut_at_stop(new, stop_ids(lively_llm)), skip_special_tokens=True)
        assert text == expected.strip()
    assert min(lengths) < 8 == max(lengths)  # some rows stopped early, others ran to the end


def test_generate_is_deterministic_and_batch_size_invariant(lively_llm):
    prompts = _prompts(lively_llm.tokenizer)
    one = generate(lively_llm, prompts, max_new_tokens=5, batch_size=1)
    assert len(set(one)) > 1
    assert generate(lively_llm, prompts, max_new_tokens=5, batch_size=3) == one
    assert generate(lively_llm, prompts, max_new_tokens=5, batch_size=3) == one


def test_generate_restores_mode_and_padding_side_and_reports_progress(tiny_llm):
    tok = tiny_llm.tokenizer
    side = tok.padding_side
    tiny_llm.model.train()
    calls = []
    generate(tiny_llm, _prompts(tok), 2, batch_size=2, on_batch=lambda d, n: calls.append((d, n)))
    assert tiny_llm.model.training and tok.padding_side == side
    assert calls == [(2, 5), (4, 5), (5, 5)]
    tiny_llm.model.eval()
    generate(tiny_llm, _prompts(tok)[:1], 2)
    assert not tiny_llm.model.training


def test_token_logprobs_match_a_manual_forward(tiny_llm):
    tok = tiny_llm.tokenizer
    seqs = [tok(t).input_ids for t in ["The quick brown fox.", "He wrote novels and plays."]]
    seqs.append(seqs[0][:1])  # one token: nothing to predict
    stats = token_logprobs(tiny_llm, seqs, batch_size=3, with_stats=True)
    ids = torch.tensor([seqs[1]])
    with torch.no_grad():
        log_probs = tiny_llm.model(input_ids=ids).logits[0, :-1].log_softmax(-1)
    expected = log_probs.gather(-1, ids[0, 1:, None]).squeeze(-1)
    assert torch.allclose(stats[1]["logp"], expected, atol=1e-5)
    assert [len(s["logp"]) for s in stats] == [len(seqs[0]) - 1, len(seqs[1]) - 1, 0]
    assert stats[0]["mu"].shape == stats[0]["sigma"].shape == stats[0]["logp"].shape
    unbatched = token_logprobs(tiny_llm, seqs, batch_size=1)
    assert torch.allclose(unbatched[0]["logp"], stats[0]["logp"], atol=1e-5)
    assert "mu" not in unbatched[0]


def test_next_token_logits_pick_the_last_real_position(tiny_llm):
    tok = tiny_llm.tokenizer
    seqs = [tok(t).input_ids for t in ["The quick brown fox", "Why"]]
    got = next_token_logits(tiny_llm, seqs, candidates=[3, 5, 7], batch_size=2)
    for row, seq in enumerate(seqs):
        with torch.no_grad():
            last = tiny_llm.model(input_ids=torch.tensor([seq])).logits[0, -1]
        assert torch.allclose(got[row], last[[3, 5, 7]], atol=1e-5)


def test_token_logprobs_with_shared_prefixes_equal_every_row_run_whole(lively_llm):
    """TruthfulQA's shape: one primer and question, several answers (one a single token)."""
    tok = lively_llm.tokenizer
    primer = tok(" ".join(f"Q: what is {i}? A: {i}." for i in range(8))).input_ids
    seqs = [primer + tok(answer).input_ids for answer in (" yes", " no, never", " maybe so")]
    seqs += [primer[:-1], tok("Another text entirely, alone.").input_ids]
    assert any(shared for shared, _ in prefix_groups(seqs, 32))
    shared = token_logprobs(lively_llm, seqs, batch_size=2, with_stats=True)
    whole = token_logprobs(lively_llm, seqs, batch_size=2, with_stats=True, min_prefix=10**9)
    for got, expected, seq in zip(shared, whole, seqs, strict=True):
        assert len(got["logp"]) == len(seq) - 1
        for key in ("logp", "mu", "sigma"):
            assert torch.allclose(got[key], expected[key], atol=1e-4), key


def test_prefix_groups_share_a_long_run_and_leave_every_row_a_token_of_its_own():
    shared = list(range(100, 140))
    seqs = [shared + [1, 2], shared + [3], [7, 8, 9], shared + [1, 5, 6], [7, 8]]
    groups = prefix_groups(seqs, min_prefix=32)
    grouped = {tuple(sorted(rows)): length for length, rows in groups}
    assert grouped[(0, 1, 3)] == 40  # the whole shared run, each row keeps >= 1 token
    assert grouped[(2,)] == 0 and grouped[(4,)] == 0  # too little in common: alone
    assert sorted(r for _, rows in groups for r in rows) == list(range(len(seqs)))


def test_prefix_groups_keep_long_blocks_apart_when_every_row_shares_a_short_header():
    header = list(range(100, 140))  # a chat template's system turn: shared by every row
    blocks = [header + list(range(start, start + 60)) for start in (200, 300)]
    seqs = [block + [row] for block in blocks for row in (1, 2, 3)] + [header + [9]]
    groups = {tuple(sorted(rows)): length for length, rows in prefix_groups(seqs, 32)}
    assert groups == {(0, 1, 2): 100, (3, 4, 5): 100, (6,): 0}  # not one group sharing 40


def _mmlu_rows() -> list[dict]:
    examples = [
        {"question": f"What is {i} + {i}?", "choices": ["1", "2", str(2 * i), "5"], "answer": 2}
        for i in range(5)
    ]
    rows = []
    for task in ("astronomy", "anatomy"):
        for i in range(5):
            question = f"Which number {'is' if i % 2 else 'comes'} after {i}?"
            choices = [str(i + 1), str(i + 2), str(i), str(i + 9)]
            rows.append(
                {
                    "task": task,
                    "question": question,
                    "choices": choices,
                    "answer": 0,
                    "examples": examples,
                }
            )
    return rows


def test_shared_prefix_logits_equal_the_full_forwards_and_pick_the_same_letters(tiny_llm):
    from atu_pipeline.core.eval.prompts import letter_token_ids, mmlu_prompt

    tok = tiny_llm.tokenizer
    seqs = [prompt_ids(tok, render(tok, *mmlu_prompt(row))) for row in _mmlu_rows()]
    letters = letter_token_ids(tok)
    assert any(length for length, _ in prefix_groups(seqs, 32))  # the test shares prefixes
    full = next_token_logits(tiny_llm, seqs, letters, batch_size=3, min_prefix=None)
    shared = next_token_logits(tiny_llm, seqs, letters, batch_size=3)
    assert torch.allclose(full, shared, atol=1e-4)  # float32: summation order only
    assert torch.equal(full.argmax(-1), shared.argmax(-1))
