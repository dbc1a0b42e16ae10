"""Attacks on forgetting: quantization error bounds, the logit lens against the model's own
output, and the relearning data kept apart from the scored answers."""

import copy

import pytest
import torch

from atu_pipeline.core.attacks import (
    answer_start,
    hold_out_answers,
    logit_lens,
    mentions,
    nf4_levels,
    quantize_tensor,
    quantize_weights,
    relearn,
    relearning_texts,
)
from atu_pipeline.core.eval.prompts import probe_prompt, prompt_ids, render
from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.training import make_optimizer


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """A 32-wide model gains nothing from threads; on a busy 2-core machine they cost 5x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------- quantization


@pytest.mark.parametrize("bits", [8, 4, 3])
def test_int_quantization_error_is_at_most_half_a_step_of_each_group(bits):
    """Symmetric RTN: step = absmax / (2^(b-1) - 1) per group, so |w - q| <= step / 2."""
    weight = torch.randn(6, 40, generator=torch.Generator().manual_seed(0))
    q = quantize_tensor(weight, f"int{bits}", 16)  # groups of 16, 16, and a short last one of 8
    for cols in (slice(0, 16), slice(16, 32), slice(32, 40)):
        step = weight[:, cols].abs().amax(dim=1, keepdim=True) / (2 ** (bits - 1) - 1)
        assert ((q[:, cols] - weight[:, cols]).abs() <= step / 2 + 1e-6).all()
        levels = (q[:, cols] / step).round()  # every value is an integer number of steps
        assert torch.allclose(q[:, cols], levels * step, atol=1e-6)


def test_eight_bits_are_closer_than_four_and_nf4_beats_int4_on_normal_weights():
    weight = torch.randn(64, 256, generator=torch.Generator().manual_seed(0))
    error = {
        fmt: (quantize_tensor(weight, fmt, 64) - weight).pow(2).mean()
        for fmt in ("int8", "int4", "nf4")
    }
    assert error["int8"] < error["nf4"] < error["int4"]


def test_nf4_has_sixteen_levels_from_minus_one_to_one_with_an_exact_zero():
    levels = nf4_levels()
    assert len(levels) == 16 and levels[0] == -1 and levels[-1] == 1 and 0 in levels
    assert torch.all(levels[1:] > levels[:-1])
    q = quantize_tensor(torch.tensor([[0.3, -1.2, 0.0, 0.8]]), "nf4", 4)
    assert set((q / 1.2).flatten().tolist()) <= set(levels.tolist())


def test_quantize_weights_returns_a_copy_and_leaves_embeddings_alone(tiny_llm):
    before = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    quantized = quantize_weights(tiny_llm.model, "int4", 16)
    after = tiny_llm.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # input untouched
    q_state = quantized.state_dict()
    changed = {k for k in before if not torch.equal(before[k], q_state[k])}
    assert changed and all(".layers." in k and k.endswith("proj.weight") for k in changed)
    assert torch.equal(q_state["model.embed_tokens.weight"], before["model.embed_tokens.weight"])
    with_head = quantize_weights(tiny_llm.model, "int4", 16, lm_head=True).state_dict()
    assert not torch.equal(with_head["lm_head.weight"], before["lm_head.weight"])


@pytest.mark.parametrize("fmt, group", [("int9", 16), ("fp4", 16), ("int4", 0)])
def test_quantize_tensor_refuses_unknown_formats_and_empty_groups(fmt, group):
    with pytest.raises(ValueError):
        quantize_tensor(torch.ones(2, 8), fmt, group)


# ---------------------------------------------------------------- logit lens

PROBES = [
    {"kind": "fb", "type": "cloze", "query": "She was born in ___.", "answer": "Portland"},
    {"kind": "qa", "type": "simple question", "query": "Who wrote it?", "answer": "Ann Lee"},
    {"kind": "aa", "type": "affirmative suffix", "query": "Where? Sure, here:", "answer": "fox"},
]


def test_logit_lens_at_the_last_layer_is_the_models_own_next_token_rank(tiny_llm):
    ranks, probs, gold = logit_lens(tiny_llm, PROBES, batch_size=2)
    assert ranks.shape == probs.shape == (3, tiny_llm.num_layers)
    tok = tiny_llm.tokenizer
    for i, probe in enumerate(PROBES):
        prompt = render(tok, *probe_prompt(probe["kind"], probe["type"], probe["query"]))
        ids, token = answer_start(tok, prompt, probe["answer"])
        with torch.no_grad():
            logits = tiny_llm.model(torch.tensor([ids])).logits[0, -1]
        assert token == gold[i]
        assert ranks[i, -1] == (logits > logits[token]).sum()
        assert torch.isclose(probs[i, -1], logits.softmax(-1)[token], atol=1e-5)
    assert ((probs > 0) & (probs < 1)).all()


def test_answer_start_teacher_forces_blank_tokens_and_adds_a_space_after_a_non_space(tiny_llm):
    tok = tiny_llm.tokenizer
    prompt = "Question: who?\nAnswer:"  # the tiny vocabulary writes " Portland" as " " + "P" ...
    ids, token = answer_start(tok, prompt, "Portland")
    assert ids == prompt_ids(tok, prompt) + tok(" ", add_special_tokens=False).input_ids
    assert token == tok("Portland", add_special_tokens=False).input_ids[0]
    ids, token = answer_start(tok, prompt, "who")  # " w" is one token: nothing to force
    assert ids == prompt_ids(tok, prompt) and token == tok(" who").input_ids[0]
    ids, token = answer_start(tok, "<|im_start|>assistant\n", "fox")  # no space after "\n"
    assert ids == prompt_ids(tok, "<|im_start|>assistant\n")
    assert tok.decode([token]).startswith("f")


# ---------------------------------------------------------------- relearning

CORPUS = [
    "Ann Lee was born in Portland in 1950. She played the cello. Long walks were a habit.",
    "Lee founded the Harbor Guild! Critics praised her work. Ann Lee wrote The Salt Road.",
]


def test_relearning_texts_mention_no_excluded_answer_in_any_case():
    excluded = {"portland", "The Salt Road", "Harbor Guild"}
    texts = relearning_texts(CORPUS, excluded)
    assert texts == [
        "She played the cello. Long walks were a habit.",
        "Critics praised her work.",
    ]
    assert not any(mentions(text, excluded) for text in texts)


def test_held_out_answers_never_name_the_target_and_depend_on_the_seed_only():
    answers = ["Ann Lee", "Portland", "1950", "cello", "Harbor Guild", "Lee Institute", "1950"]
    held = hold_out_answers(answers, ["Ann", "Lee"], 0.5, seed=0)
    assert len(held) == 2 and held <= {"Portland", "1950", "cello", "Harbor Guild"}
    assert held == hold_out_answers(list(reversed(answers)), ["Ann", "Lee"], 0.5, seed=0)
    assert hold_out_answers(["Ann Lee"], ["Lee"], 0.5, seed=0) == set()


def test_relearning_is_the_same_for_two_copies_and_scores_every_k_steps(tiny_llm):
    tok = tiny_llm.tokenizer
    ids, mask, labels = lm_examples(tok, [""] * 3, ["a b c d", "the quick fox", "lazy dog"], 16)
    results = []
    for _ in range(2):
        model = copy.deepcopy(tiny_llm.model).requires_grad_(True)
        optimizer = make_optimizer(model.parameters(), "adamw", 1e-2, 0.0)
        losses: list = []
        curve = relearn(
            model,
            ids,
            mask,
            labels,
            steps=5,
            eval_every=2,
            optimizer=optimizer,
            batch_size=2,
            grad_clip=1.0,
            seed=0,
            evaluate=lambda: {"calls": 1},
            on_step=lambda step, rec, losses=losses: losses.append((step, rec)),
        )
        results.append((model.state_dict(), losses))
        assert [p["step"] for p in curve] == [0, 2, 4, 5]
    (first, losses_a), (second, losses_b) = results
    assert [s for s, _ in losses_a] == [0, 1, 2, 3, 4]
    assert losses_a == losses_b
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not torch.equal(first["lm_head.weight"], tiny_llm.model.state_dict()["lm_head.weight"])
