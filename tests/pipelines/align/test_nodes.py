"""The align node on the tiny models: a head of the configured shape, cached by recipe."""

import pytest
import torch

from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import with_changes
from atu_pipeline.pipelines.align.nodes import align_head, choose_hook_layer


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


def test_layer_auto_takes_the_candidate_that_best_separates_the_target_from_the_others(
    tiny_llm, alignment_windows, demo_tables, test_params, tmp_path
):
    atu = with_changes(test_params["atu"], {"layer": "auto", "layer_candidates": [1, 2]})
    concept = torch.randn(
        alignment_windows["embeddings"].shape[1], generator=torch.Generator().manual_seed(0)
    )
    corpora = demo_tables["forget_corpus"], demo_tables["retain_corpus"]
    cache = ModelCache(tmp_path)
    args = (tiny_llm, alignment_windows, *corpora, {"embedding": concept}, cache)
    chosen, table = choose_hook_layer(*args, atu)
    assert table["layer"].tolist() == [1, 2] and table["auc"].between(0, 1).all()
    assert chosen.layer == int(table.loc[table["auc"].idxmax(), "layer"])
    assert chosen.model_copy(update={"layer": "auto"}) == atu  # only the layer was settled
    again, cached = choose_hook_layer(*args, atu)
    assert again == chosen and cached.equals(table)
    same, empty = choose_hook_layer(*args, test_params["atu"])  # a set layer passes through
    assert same == test_params["atu"] and empty.empty
    with pytest.raises(ValueError, match="retain corpus is empty"):
        choose_hook_layer(*args[:3], corpora[1][:0], *args[4:], atu)
