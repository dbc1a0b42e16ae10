import math

import pytest
import torch

from atu_pipeline.core.baselines import corpus_sequence_nll, sequence_nll, token_unlearn_steps
from atu_pipeline.core.losses import ga_loss, npo_loss
from atu_pipeline.core.training import make_optimizer
from atu_pipeline.core.windows import TokenizedCorpus, tokenize_corpus

TEXTS = ["Emrys Callowen wrote The Glass Orchard.", "He lives in Tarnby.", "Ann Lee sings."]


def _manual_nll(model, ids: list[int]) -> float:
    """Sum over t of -log p(x_{t+1} | x_{<=t}) from the full model, one row alone."""
    row = torch.tensor([ids])
    logp = torch.log_softmax(model(input_ids=row).logits[0, :-1].float(), dim=-1)
    return -logp.gather(1, row[0, 1:, None]).sum().item()


def test_sequence_nll_shifts_once_and_ignores_padding(tiny_llm):
    corpus, _ = tokenize_corpus(tiny_llm.tokenizer, TEXTS, 32)
    nll, tokens = sequence_nll(tiny_llm.model, corpus.input_ids, corpus.attention_mask)
    for row in range(len(TEXTS)):
        length = int(corpus.attention_mask[row].sum())
        expected = _manual_nll(tiny_llm.model, corpus.input_ids[row, :length].tolist())
        assert nll[row].item() == pytest.approx(expected, rel=1e-4)
        assert tokens[row].item() == length - 1
    assert corpus.attention_mask.sum(1).unique().numel() > 1  # the batch really was padded


def test_corpus_nll_equals_the_batched_one(tiny_llm):
    corpus, _ = tokenize_corpus(tiny_llm.tokenizer, TEXTS, 32)
    whole, _ = sequence_nll(tiny_llm.model, corpus.input_ids, corpus.attention_mask)
    in_batches = corpus_sequence_nll(tiny_llm.model, corpus, batch_size=2)
    assert torch.allclose(whole.detach(), in_batches, rtol=1e-4)


def test_npo_starts_at_two_over_beta_log_two_and_its_gradient_raises_the_nll():
    nll = torch.tensor([5.0, 7.0], requires_grad=True)
    loss = npo_loss(nll, nll.detach().clone(), beta=0.2)
    assert loss.item() == pytest.approx(2 / 0.2 * math.log(2))
    loss.backward()
    assert (nll.grad < 0).all()  # descending the loss raises each sequence's NLL


def test_ga_is_the_negated_token_mean():
    assert ga_loss(torch.tensor([6.0, 2.0]), torch.tensor([3.0, 1.0])).item() == -2.0


@pytest.mark.parametrize("method", ["ga", "npo"])
def test_a_few_steps_make_the_forget_corpus_less_likely(tiny_llm, method):
    torch.manual_seed(0)
    corpus, _ = tokenize_corpus(tiny_llm.tokenizer, TEXTS, 32)
    model = tiny_llm.model.requires_grad_(True)
    before = corpus_sequence_nll(model, corpus, 4)
    optimizer = make_optimizer(model.parameters(), "adam", 1e-2, 0.0)
    generator = torch.Generator().manual_seed(0)
    history = token_unlearn_steps(
        model,
        corpus,
        method=method,
        steps=6,
        optimizer=optimizer,
        batch_size=3,
        grad_clip=1.0,
        generator=generator,
        reference_nll=before,
        beta=0.5,
    )
    assert len(history) == 6
    assert (corpus_sequence_nll(model, corpus, 4) > before).all()


def test_npo_without_reference_and_unknown_methods_are_refused(tiny_llm):
    corpus = TokenizedCorpus(torch.ones(2, 4, dtype=torch.long), torch.ones(2, 4, dtype=torch.long))
    optimizer = make_optimizer(tiny_llm.model.parameters(), "sgd", 1e-3, 0.0)
    step = {
        "steps": 1,
        "optimizer": optimizer,
        "batch_size": 2,
        "grad_clip": 1.0,
        "generator": None,
    }
    with pytest.raises(ValueError, match="reference"):
        token_unlearn_steps(tiny_llm.model, corpus, method="npo", **step)
    with pytest.raises(ValueError, match="unknown token-level method"):
        token_unlearn_steps(tiny_llm.model, corpus, method="dpo", **step)


def test_a_learning_rate_course_sets_each_step_and_a_zero_rate_moves_nothing(tiny_llm):
    """SGD moves weights by lr × gradient: the linear course's rates are recorded per step, and a
    course of zeros leaves every weight where it was."""
    corpus, _ = tokenize_corpus(tiny_llm.tokenizer, TEXTS, 32)
    model = tiny_llm.model.requires_grad_(True)
    step = {"method": "ga", "batch_size": 3, "grad_clip": 1.0}
    optimizer = make_optimizer(model.parameters(), "sgd", 1e-2, 0.0)
    history = token_unlearn_steps(
        model,
        corpus,
        steps=4,
        optimizer=optimizer,
        generator=torch.Generator().manual_seed(0),
        lr_at=lambda s: 1e-2 * (1 - s / 4),
        **step,
    )
    assert [record["lr"] for record in history] == pytest.approx([1e-2, 7.5e-3, 5e-3, 2.5e-3])
    before = [p.detach().clone() for p in model.parameters()]
    token_unlearn_steps(
        model,
        corpus,
        steps=3,
        optimizer=optimizer,
        generator=torch.Generator().manual_seed(0),
        lr_at=lambda s: 0.0,
        **step,
    )
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
