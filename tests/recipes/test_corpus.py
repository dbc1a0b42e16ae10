"""`rwku.forget_corpus: generate` on the tiny model, with a project-made prefix file."""

import json

import pytest

from atu_pipeline.data.rwku import RwkuFormatError
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import GenerationParams, ModelSpec
from atu_pipeline.recipes import corpus

PREFIXES = ["", "Ann Lee was", "In 1990,"]


@pytest.fixture
def generation(tmp_path):
    folder = tmp_path / "generation"
    folder.mkdir()
    intros = {"Ann Lee": ["Ann Lee is a poet."] * 3, "Bo Ray": ["Bo Ray is a painter."] * 3}
    (folder / "all_intro.json").write_text(json.dumps(intros))
    (folder / "all_truncated_outputs.json").write_text(json.dumps(PREFIXES + ["Later"]))
    return GenerationParams(inputs=str(folder), max_texts=3, max_new_tokens=6, batch_size=2)


def test_the_model_writes_one_text_per_prefix_once(tiny_llm_dir, tmp_path, generation, monkeypatch):
    cache = ModelCache(tmp_path / "cache")
    llm = ModelSpec(spec=str(tiny_llm_dir))
    table = corpus.generated_corpus(
        ["1_Ann_Lee", "2_Bo_Ray"], llm=llm, cache=cache, generation=generation
    )
    assert list(table.columns) == ["subject", "text"]
    assert table["subject"].tolist() == ["Ann Lee"] * 3 + ["Bo Ray"] * 3
    pairs = zip(table["text"], PREFIXES * 2, strict=True)
    assert all(text.startswith(prefix) for text, prefix in pairs)  # prefix + the model's text

    def no_writing(*_args, **_kwargs):
        raise AssertionError("a cached corpus must not be written again")

    monkeypatch.setattr(corpus, "write_biographies", no_writing)
    again = corpus.generated_corpus(
        ["1_Ann_Lee", "2_Bo_Ray"], llm=llm, cache=cache, generation=generation
    )
    assert again.equals(table)


def test_the_same_seed_writes_the_same_texts(tiny_llm, generation):
    texts = [
        corpus.write_biographies(tiny_llm, "Ann Lee", "A poet.", PREFIXES, generation)
        for _ in range(2)
    ]
    assert texts[0] == texts[1]


def test_missing_generation_files_are_named(tmp_path):
    generation = GenerationParams(inputs=str(tmp_path))
    with pytest.raises(RwkuFormatError, match="all_intro.json"):
        corpus.generation_inputs(generation)
