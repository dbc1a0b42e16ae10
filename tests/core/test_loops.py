import torch

from atu_pipeline.core.atu import OptimSpec, align
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import set_trainable
from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.loops import finetune_lm, make_optimizer, supervised_logits, unlearn_steps
from atu_pipeline.core.rounds import choose_round, run_rounds
from atu_pipeline.core.schedule import build_rounds
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet


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
        model, ids, mask, labels, 15, optimizer, 4, 1.0, torch.Generator().manual_seed(0)
    )
    assert history[-1]["lm_loss"] < 0.5 * history[0]["lm_loss"]


def _setup(tiny_llm, layer=2):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 300, (6, 12), generator=generator)
    corpus = TokenizedCorpus(ids, torch.ones_like(ids))
    index = torch.randint(0, 4, (6, 12), generator=generator)
    windows = WindowSet(corpus, index, torch.nn.functional.normalize(torch.randn(4, 8), dim=-1))
    head = EmbeddingHead(
        HeadConfig(tiny_llm.hidden_size, 8, width=16, depth=1, heads=2, dropout=0.0)
    )
    return corpus, windows, head, generator


def test_alignment_lowers_its_loss(tiny_llm):
    torch.manual_seed(0)
    corpus, windows, head, generator = _setup(tiny_llm)
    history = align(
        tiny_llm.model, head, windows, 2, 60, OptimSpec("adam", 1e-2, 0.0, 6, 1.0), generator
    )
    first, last = history[0]["align_loss"], history[-1]["align_loss"]
    assert last < first
    assert not any(p.requires_grad for p in head.parameters())  # frozen again afterwards


def test_unlearning_lowers_similarity_to_the_concept_and_leaves_upper_layers(tiny_llm):
    torch.manual_seed(0)
    corpus, windows, head, generator = _setup(tiny_llm)
    concept = head(
        tiny_llm.model(corpus.input_ids, output_hidden_states=True).hidden_states[2]
    ).mean((0, 1))
    model = set_trainable(tiny_llm.model, "layers", hook_layer=2)
    top = model.model.layers[3].mlp.up_proj.weight.clone()
    optimizer = make_optimizer(model.parameters(), "adam", 1e-2, 0.0)
    history = unlearn_steps(
        model, head, corpus, concept.detach(), 2, -0.5, 30, optimizer, 6, 1.0, generator
    )
    assert history[-1]["concept_cos_mean"] < history[0]["concept_cos_mean"]
    assert torch.equal(model.model.layers[3].mlp.up_proj.weight, top)


def test_keep_rule_picks_lowest_forget_that_keeps_neighbors():
    history = [
        {"round": 1, "forget/all": 60.0, "neighbor/all": 78.0},
        {"round": 2, "forget/all": 30.0, "neighbor/all": 74.0},
        {"round": 3, "forget/all": 10.0, "neighbor/all": 50.0},
    ]
    baseline = {"forget/all": 90.0, "neighbor/all": 80.0}
    assert choose_round(history, baseline, "best_tradeoff", 0.9) == 2
    assert choose_round(history, baseline, "last", 0.9) == 3
    assert choose_round(history, baseline, "best_tradeoff", 0.99) == 0


def test_a_resumed_run_that_already_stopped_early_runs_no_more_rounds():
    history = [{"round": 1, "tau": 0.5, "forget/all": 5.0, "neighbor/all": 80.0}]

    def never(*_args):
        raise AssertionError("no round may run")

    result = run_rounds(build_rounds([0.5, 0.3], 1, 1), never, never, never, history, 10.0)
    assert result.stopped_early and result.history == history


def test_rounds_run_in_order_evaluate_after_each_and_stop_early():
    calls = []

    def train(round_):
        calls.append(("train", round_.index))
        return {"loss": float(round_.index)}

    scores = iter([50.0, 8.0, 1.0])

    def evaluate():
        calls.append(("evaluate",))
        return {"forget/all": next(scores), "neighbor/all": 90.0}

    saved = []
    result = run_rounds(
        build_rounds([0.3, 0.2, 0.1], 1, 0), train, evaluate,
        lambda round_, rows: saved.append((round_.index, len(rows))), None, 10.0,
    )  # fmt: skip
    assert calls == [("train", 1), ("evaluate",), ("train", 2), ("evaluate",)]
    assert saved == [(1, 1), (2, 2)]
    assert result.stopped_early
    assert result.history[1] == {
        "round": 2, "tau": 0.2, "loss": 2.0, "forget/all": 8.0, "neighbor/all": 90.0
    }  # fmt: skip
