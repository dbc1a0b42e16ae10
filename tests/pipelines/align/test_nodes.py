"""The align node on the tiny models: a head of the configured shape, cached by recipe."""

import pytest

from atu_pipeline.io.models import ModelCache
from atu_pipeline.pipelines.align.nodes import align_head


def test_the_first_alignment_builds_the_configured_head_and_is_reused(
    tiny_llm, alignment_windows, test_params, tmp_path
):
    atu = test_params["atu"]
    head, metrics = align_head(tiny_llm, alignment_windows, ModelCache(tmp_path), atu)
    assert head.config.in_dim == tiny_llm.hidden_size
    assert head.config.out_dim == alignment_windows["embeddings"].shape[1]
    assert head.config.width == atu.head.width
    assert len(metrics["align.align_loss"]) == atu.first_align_steps
    again, again_metrics = align_head(tiny_llm, alignment_windows, ModelCache(tmp_path), atu)
    assert again_metrics == {}  # from the cache: no steps
    assert all(
        (a == b).all()
        for a, b in zip(head.state_dict().values(), again.state_dict().values(), strict=True)
    )


def test_a_hook_layer_outside_the_model_is_refused_before_training(
    tiny_llm, alignment_windows, test_params, tmp_path
):
    atu = test_params["atu"].model_copy(update={"layer": 9})
    with pytest.raises(ValueError, match="hook layer 9 is outside the model"):
        align_head(tiny_llm, alignment_windows, ModelCache(tmp_path), atu)
