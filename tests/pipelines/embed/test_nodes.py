"""embed nodes on the tiny encoder: the concept's embedding and the cached window embeddings."""

import pytest
import torch

from atu_pipeline.io.models import ModelCache
from atu_pipeline.pipelines.embed.nodes import embed_alignment_windows, embed_target


def test_the_concept_is_a_unit_vector_of_the_name_or_the_name_and_intro(tiny_encoder, test_params):
    info = {"name": "Ann Lee", "intro": "Ann Lee is a poet."}
    embed = test_params["embed"]
    name = embed_target(tiny_encoder, info, embed.model_copy(update={"concept": "name"}))
    both = embed_target(tiny_encoder, info, embed.model_copy(update={"concept": "name_and_intro"}))
    assert torch.linalg.norm(name["embedding"]).item() == pytest.approx(1.0, abs=1e-5)
    assert not torch.allclose(name["embedding"], both["embedding"])


def test_window_embeddings_cover_both_corpora_and_come_from_the_cache_the_second_time(
    tiny_llm, tiny_encoder, demo_tables, test_params, tmp_path
):
    cache = ModelCache(tmp_path)
    inputs = (demo_tables["forget_corpus"], demo_tables["retain_corpus"], tiny_llm, tiny_encoder)
    settings = (test_params["encoder"], test_params["embed"])
    windows = embed_alignment_windows(*inputs, cache, *settings)
    rows = len(demo_tables["forget_corpus"]) + len(demo_tables["retain_corpus"])
    assert windows["input_ids"].shape[0] == rows
    assert int(windows["window_index"].max()) + 1 == len(windows["embeddings"])

    def fail(*_args, **_kwargs):
        raise AssertionError("cached windows must not be embedded again")

    tiny_encoder.encode = fail
    again = embed_alignment_windows(*inputs, cache, *settings)
    assert all(torch.equal(windows[k], again[k]) for k in windows)


def test_an_empty_alignment_corpus_is_refused(tiny_llm, tiny_encoder, demo_tables, test_params):
    empty = demo_tables["forget_corpus"].iloc[:0]
    with pytest.raises(ValueError, match="alignment corpus is empty"):
        embed_alignment_windows(
            empty, empty, tiny_llm, tiny_encoder, None, test_params["encoder"], test_params["embed"]
        )
