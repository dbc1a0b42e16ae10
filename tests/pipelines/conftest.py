"""Inputs of the unlearning nodes on the tiny models: window embeddings and an aligned head."""

import pytest

from atu_pipeline.io.models import ModelCache
from atu_pipeline.pipelines.align.nodes import align_head
from atu_pipeline.pipelines.embed.nodes import embed_alignment_windows, embed_target


@pytest.fixture
def model_cache(tmp_path):
    return ModelCache(tmp_path / "cache")


@pytest.fixture
def alignment_windows(tiny_llm, tiny_encoder, demo_tables, test_params, model_cache):
    corpora = (demo_tables["forget_corpus"], demo_tables["retain_corpus"])
    settings = (test_params["encoder"], test_params["embed"])
    return embed_alignment_windows(*corpora, tiny_llm, tiny_encoder, model_cache, *settings)


@pytest.fixture
def target_embedding(tiny_encoder, demo_tables, test_params):
    return embed_target(tiny_encoder, demo_tables["target_info"], test_params["embed"])


@pytest.fixture
def aligned_head(tiny_llm, alignment_windows, model_cache, test_params):
    return align_head(tiny_llm, alignment_windows, model_cache, test_params["atu"])[0]
