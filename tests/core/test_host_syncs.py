"""The training loops never copy a value back to the host inside a step (on a GPU each copy
stalls the queue of kernels): our code's reads like `.item()` happen a fixed number of times per
loop, so six steps make exactly as many as two. Reads inside torch and transformers are theirs
(Adam's step counter lives on the CPU) and are not counted."""

import contextlib
import sys

import pytest
import torch

from atu_pipeline.core.atu import align_head, unlearn_steps
from atu_pipeline.core.baselines import corpus_sequence_nll, token_unlearn_steps
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.training import OptimSpec, make_optimizer
from atu_pipeline.core.windows import TokenizedCorpus, WindowSet

READS = ("item", "tolist", "__float__", "__bool__")


@contextlib.contextmanager
def counting_reads():
    """Count calls from atu_pipeline's code to the tensor methods that read a value to the host."""
    calls = {"n": 0}
    originals = {name: getattr(torch.Tensor, name) for name in READS}

    def counted(original):
        def wrapper(self, *args, **kwargs):
            calls["n"] += sys._getframe(1).f_globals.get("__name__", "").startswith("atu_pipeline")
            return original(self, *args, **kwargs)

        return wrapper

    for name, original in originals.items():
        setattr(torch.Tensor, name, counted(original))
    try:
        yield calls
    finally:
        for name, original in originals.items():
            setattr(torch.Tensor, name, original)


def _corpus():
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 300, (6, 12), generator=generator)
    mask = torch.ones_like(ids)
    mask[0, 7:] = 0
    return TokenizedCorpus(ids, mask)


def _head(tiny_llm):
    return EmbeddingHead(HeadConfig(tiny_llm.hidden_size, 8, width=16, depth=1, heads=2))


def _unlearn(tiny_llm, steps):
    model = tiny_llm.model.requires_grad_(True)
    return unlearn_steps(
        model,
        _head(tiny_llm),
        _corpus(),
        torch.nn.functional.normalize(torch.randn(8), dim=0),
        layer=2,
        tau=-1.0,
        steps=steps,
        optimizer=make_optimizer(model.parameters(), "adam", 1e-3, 0.0),
        batch_size=4,
        grad_clip=1.0,
        generator=torch.Generator().manual_seed(0),
    )


def _align(tiny_llm, steps):
    corpus = _corpus()
    generator = torch.Generator().manual_seed(0)
    index = torch.randint(0, 4, (6, 12), generator=generator)
    windows = WindowSet(corpus, index, torch.nn.functional.normalize(torch.randn(4, 8), dim=-1))
    optim = OptimSpec("adam", 1e-3, 0.0, 4, 1.0)
    return align_head(
        tiny_llm.model,
        _head(tiny_llm),
        windows,
        layer=2,
        steps=steps,
        optim=optim,
        generator=generator,
    )


def _npo(tiny_llm, steps):
    model = tiny_llm.model.requires_grad_(True)
    corpus = _corpus()
    return token_unlearn_steps(
        model,
        corpus,
        method="npo",
        steps=steps,
        optimizer=make_optimizer(model.parameters(), "adam", 1e-3, 0.0),
        batch_size=4,
        grad_clip=1.0,
        generator=torch.Generator().manual_seed(0),
        reference_nll=corpus_sequence_nll(model, corpus, 4),
        beta=0.5,
    )


@pytest.mark.parametrize("loop", [_unlearn, _align, _npo], ids=["atu", "align", "npo"])
def test_host_reads_do_not_grow_with_the_number_of_steps(tiny_llm, loop):
    reads = []
    for steps in (2, 6):
        with counting_reads() as calls:
            history = loop(tiny_llm, steps)
        assert len(history) == steps and isinstance(next(iter(history[0].values())), float)
        reads.append(calls["n"])
    assert reads[0] == reads[1]
