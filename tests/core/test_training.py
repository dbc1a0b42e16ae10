import pytest
import torch

from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.training import (
    RetainTerm,
    finetune_lm,
    make_optimizer,
    means,
    round_lr,
    sample_rows,
    supervised_logits,
)
from atu_pipeline.core.windows import TokenizedCorpus


def test_supervised_logits_equal_the_full_models_at_labelled_positions(tiny_llm):
    ids, mask, labels = lm_examples(tiny_llm.tokenizer, ["Q: who?\nA:", ""], [" Ann", "a b c"], 32)
    logits, gold = supervised_logits(tiny_llm.model, ids, mask, labels)
    full = tiny_llm.model(input_ids=ids, attention_mask=mask).logits[:, :-1]
    keep = labels[:, 1:] != -100
    assert torch.allclose(logits, full[keep], atol=1e-5)
    assert torch.equal(gold, labels[:, 1:][keep])


def test_finetune_lm_learns_a_fact(tiny_llm):
    ids, mask, labels = lm_examples(tiny_llm.tokenizer, ["Q: who?\nA:"] * 4, [" Ann Lee"] * 4, 32)
    model = tiny_llm.model.requires_grad_(True)
    optimizer = make_optimizer(model.parameters(), "adamw", 2e-2, 0.0)
    history = finetune_lm(
        model,
        ids,
        mask,
        labels,
        epochs=15,
        optimizer=optimizer,
        batch_size=4,
        grad_clip=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert history[-1]["lm_loss"] < 0.5 * history[0]["lm_loss"]


def test_means_average_every_key_and_an_empty_history_is_empty():
    assert means([{"a": 1.0, "b": 4.0}, {"a": 3.0, "b": 0.0}]) == {"a": 2.0, "b": 2.0}
    assert means([]) == {}


def test_the_retain_terms_are_the_lm_loss_and_zero_kl_at_the_reference(tiny_llm):
    ids, mask, _ = lm_examples(tiny_llm.tokenizer, [""] * 2, ["a b c d", "the quick fox"], 16)
    corpus = TokenizedCorpus(ids, mask)
    model = tiny_llm.model
    generator = torch.Generator().manual_seed(0)
    gd = RetainTerm("gd", 1.0, corpus, batch_size=2).loss(model, generator)
    rows = sample_rows(2, 2, torch.Generator().manual_seed(0))  # the same draw
    labels = ids[rows].masked_fill(mask[rows] == 0, -100)
    logits, gold = supervised_logits(model, ids[rows], mask[rows], labels)
    assert gd.item() == pytest.approx(
        torch.nn.functional.cross_entropy(logits, gold).item(), rel=1e-5
    )
    kl = RetainTerm("kl", 1.0, corpus, batch_size=2, reference=model).loss(model, generator)
    assert kl.item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("constant", [1.0, 1.0, 1.0, 1.0]),
        ("linear", [1.0, 0.75, 0.5, 0.25]),
        # (1 + cos(π s / 4)) / 2 for s = 0..3
        ("cosine", [1.0, 0.853553, 0.5, 0.146447]),
    ],
)
def test_a_round_learning_rate_falls_from_lr_as_its_schedule_says(schedule, expected):
    got = [round_lr(schedule, 2e-3, step, 4) / 2e-3 for step in range(4)]
    assert got == pytest.approx(expected, abs=1e-6)


def test_an_unknown_learning_rate_schedule_is_refused():
    with pytest.raises(ValueError, match="constant, linear or cosine"):
        round_lr("step", 1e-3, 0, 4)
