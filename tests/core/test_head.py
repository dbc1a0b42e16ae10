import pytest
import torch

from atu_pipeline.core.head import EmbeddingHead, HeadConfig


def test_head_is_strictly_causal():
    """Perturbing inputs after position t leaves the predictions at positions <= t unchanged."""
    torch.manual_seed(0)
    head = EmbeddingHead(HeadConfig(in_dim=12, out_dim=6, width=16, depth=2, heads=4)).eval()
    hidden = torch.randn(2, 10, 12)
    perturbed = hidden.clone()
    perturbed[:, 6:] += torch.randn(2, 4, 12) * 5
    before, after = head(hidden), head(perturbed)
    assert before.shape == (2, 10, 6)
    assert torch.allclose(before[:, :6], after[:, :6], atol=1e-5)
    assert not torch.allclose(before[:, 6:], after[:, 6:], atol=1e-3)


def test_head_sees_positions():
    """The same hidden state at two positions gives two predictions (learned positions)."""
    torch.manual_seed(0)
    head = EmbeddingHead(HeadConfig(in_dim=4, out_dim=3, width=8, depth=1, heads=2)).eval()
    out = head(torch.ones(1, 2, 4))
    assert not torch.allclose(out[0, 0], out[0, 1])


def test_width_must_divide_by_heads():
    with pytest.raises(ValueError, match="divisible"):
        HeadConfig(in_dim=4, out_dim=3, width=10, heads=4)


def test_sequence_longer_than_positions_is_refused():
    head = EmbeddingHead(
        HeadConfig(in_dim=4, out_dim=3, width=8, depth=1, heads=2, max_positions=8)
    )
    with pytest.raises(ValueError, match="max_positions"):
        head(torch.ones(1, 9, 4))
