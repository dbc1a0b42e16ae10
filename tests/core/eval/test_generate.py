"""Batched greedy generation and teacher-forced scoring on the tiny random Llama."""

import torch

from atu_pipeline.core.eval.generate import (
    batches_by_length,
    cut_at_stop,
    generate,
    next_token_logits,
    pad,
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


def test_generate_decodes_only_new_tokens_like_unbatched_generate(tiny_llm):
    """Batched left-padded output = plain one-prompt generate, sliced by token count."""
    tok = tiny_llm.tokenizer
    prompts = _prompts(tok)
    got = generate(tiny_llm, prompts, max_new_tokens=6, batch_size=5)
    assert any(got)  # the random model does emit text, so the comparison means something
    for prompt, text in zip(prompts, got, strict=True):
        ids = torch.tensor([prompt_ids(tok, prompt)])
        out = tiny_llm.model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            do_sample=False,
            max_new_tokens=6,
            pad_token_id=tok.pad_token_id,
        )
        new = cut_at_stop(out[0, ids.shape[1] :].tolist(), stop_ids(tiny_llm))
        assert text == tok.decode(new, skip_special_tokens=True).strip()


def test_generate_is_deterministic_and_batch_size_invariant(tiny_llm):
    prompts = _prompts(tiny_llm.tokenizer)
    one = generate(tiny_llm, prompts, max_new_tokens=5, batch_size=1)
    assert generate(tiny_llm, prompts, max_new_tokens=5, batch_size=3) == one
    assert generate(tiny_llm, prompts, max_new_tokens=5, batch_size=3) == one


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
