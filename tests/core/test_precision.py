"""The precision switch and gradient checkpointing on the tiny model, on CPU: the code path a
GPU run takes, exercised in CI."""

import copy

import pytest
import torch

from atu_pipeline.core import training
from atu_pipeline.core.atu import unlearn_steps
from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.llm import hidden_states_at, set_trainable
from atu_pipeline.core.losses import unlearning_hinge_loss
from atu_pipeline.core.training import make_optimizer, resolve_precision
from atu_pipeline.core.windows import TokenizedCorpus


def _setup(tiny_llm):
    torch.manual_seed(0)
    ids = torch.randint(3, 300, (4, 24), generator=torch.Generator().manual_seed(0))
    corpus = TokenizedCorpus(ids, torch.ones_like(ids))
    head = EmbeddingHead(HeadConfig(tiny_llm.hidden_size, 8, 16, 1, 2, 0.0, 64)).eval()
    concept = torch.nn.functional.normalize(torch.randn(8), dim=0)
    return corpus, head, concept


def test_auto_is_bf16_on_cuda_and_fp32_on_cpu_and_nothing_else_is_accepted(monkeypatch):
    monkeypatch.setattr(training, "cpu_runs_bf16_natively", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == "bf16"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        resolve_precision("fp16", torch.device("cpu"))


def test_bf16_falls_back_to_fp32_on_a_cpu_that_would_emulate_it(monkeypatch, caplog):
    monkeypatch.setattr(training, "cpu_runs_bf16_natively", lambda: False)
    assert resolve_precision("bf16", torch.device("cpu")) == "fp32"
    assert "emulated" in caplog.text
    assert resolve_precision("bf16", torch.device("cuda")) == "bf16"


@pytest.mark.parametrize(
    ("flags", "native"), [("fpu avx2 avx512f", False), ("avx2 amx_bf16", True)]
)
def test_native_bf16_is_read_from_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor : 0\nflags : {flags}\n")
    assert training.cpu_runs_bf16_natively.__wrapped__(cpuinfo) is native
    assert training.cpu_runs_bf16_natively.__wrapped__(tmp_path / "missing") is False


def test_bf16_unlearning_steps_are_finite_and_close_to_fp32(tiny_llm):
    """bf16 keeps 8 bits of mantissa: one step's loss and the weights after a few steps agree
    with fp32 to a few parts in a hundred (the tolerance), not to the last bit."""
    corpus, head, concept = _setup(tiny_llm)
    runs = {}
    for precision in ("fp32", "bf16"):
        model = set_trainable(copy.deepcopy(tiny_llm.model), "layers", hook_layer=2)
        optimizer = make_optimizer(model.parameters(), "adamw", 1e-3, 0.0)
        history = unlearn_steps(
            model,
            head,
            corpus,
            concept,
            layer=2,
            tau=-0.5,
            steps=3,
            optimizer=optimizer,
            batch_size=4,
            grad_clip=1.0,
            generator=torch.Generator().manual_seed(0),
            precision=precision,
        )
        runs[precision] = (history, model)
    (fp32, fp32_model), (bf16, bf16_model) = runs["fp32"], runs["bf16"]
    for a, b in zip(fp32, bf16, strict=True):
        assert all(torch.isfinite(torch.tensor(v)) for v in b.values())
        assert b["unlearn_loss"] == pytest.approx(a["unlearn_loss"], rel=5e-2, abs=5e-3)
    for a, b in zip(fp32_model.parameters(), bf16_model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=5e-3)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_llm):
    corpus, head, concept = _setup(tiny_llm)
    grads = []
    for checkpointing in (False, True):
        model = set_trainable(copy.deepcopy(tiny_llm.model), "layers", hook_layer=3)
        model.train()
        if checkpointing:
            model.gradient_checkpointing_enable()
        loss = unlearning_hinge_loss(
            head(hidden_states_at(model, corpus.input_ids, corpus.attention_mask, 3)),
            concept,
            corpus.attention_mask,
            -0.5,
        )
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and grads[0]
    for name in grads[0]:
        assert torch.allclose(grads[0][name], grads[1][name], atol=1e-6), name
