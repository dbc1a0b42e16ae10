"""ATU's inner loops on the tiny random model: alignment fits the head, unlearning moves the
LLM away from the concept without touching the blocks above the hook layer."""

import torch

from atu_pipeline.core.atu import align_head, concept_similarities, unlearn_steps
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import set_trainable
from atu_pipeline.core.training import OptimSpec, make_optimizer
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet


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
    optim = OptimSpec("adam", 1e-2, 0.0, 6, 1.0)
    history = align_head(
        tiny_llm.model, head, windows, layer=2, steps=60, optim=optim, generator=generator
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
        model,
        head,
        corpus,
        concept.detach(),
        layer=2,
        tau=-0.5,
        steps=30,
        optimizer=optimizer,
        batch_size=6,
        grad_clip=1.0,
        generator=generator,
    )
    assert history[-1]["concept_cos_mean"] < history[0]["concept_cos_mean"]
    assert torch.equal(model.model.layers[3].mlp.up_proj.weight, top)


def test_concept_similarities_cover_every_real_position(tiny_llm):
    corpus, _, head, _ = _setup(tiny_llm)
    corpus.attention_mask[0, 6:] = 0  # row 0 has 6 real tokens, the other five all 12
    values = concept_similarities(
        tiny_llm.model, head, corpus, torch.ones(8), layer=2, batch_size=4
    )
    assert values.shape == (6 + 5 * 12,)
    assert ((values >= -1) & (values <= 1)).all()
