"""Kedro datasets for what pandas/json cannot hold: models, heads, tensors and caches.

These are the only classes that read or write model files; nodes receive plain objects.
"""

import json
from pathlib import Path

import torch
from kedro.io import AbstractDataset
from safetensors.torch import load_file, save_file

from atu_pipeline.core.checkpoint import load_head, save_head
from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM
from atu_pipeline.data.rwku import TargetFiles
from atu_pipeline.io.models import ModelCache, load_llm, save_llm
from atu_pipeline.io.results import ResultFolder


class _PathDataset(AbstractDataset):
    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def _describe(self) -> dict:
        return {"path": str(self._path)}


class HFModelDataset(_PathDataset):
    """A causal LM + tokenizer as a plain Hugging Face directory (safetensors)."""

    def load(self) -> CausalLM:
        return load_llm(str(self._path))

    def save(self, llm: CausalLM) -> None:
        save_llm(llm, self._path)

    def _exists(self) -> bool:
        return (self._path / "config.json").is_file()


class HeadDataset(_PathDataset):
    """The embedding prediction head: weights + architecture json in one directory."""

    def load(self) -> EmbeddingHead:
        return load_head(self._path)

    def save(self, head: EmbeddingHead) -> None:
        save_head(head, self._path)

    def _exists(self) -> bool:
        return (self._path / "head.json").is_file()


class TensorsDataset(_PathDataset):
    """A dict of tensors in one safetensors file."""

    def load(self) -> dict[str, torch.Tensor]:
        return load_file(self._path)

    def save(self, tensors: dict[str, torch.Tensor]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in tensors.items()}, self._path)

    def _exists(self) -> bool:
        return self._path.is_file()


class CacheDataset(_PathDataset):
    """Hands nodes a `ModelCache` rooted at `path`: results keyed by the recipe that made them,
    so expensive steps (GGUF conversion, knowledge injection, window embeddings, round
    checkpoints) are reused across runs and never recomputed for the same inputs."""

    def load(self) -> ModelCache:
        return ModelCache(self._path)

    def save(self, data) -> None:
        raise NotImplementedError("a cache is written through its methods, not saved")


class ResultFolderDataset(_PathDataset):
    """Hands nodes a `ResultFolder` rooted at `path` (one sub-folder per sweep point)."""

    def load(self) -> ResultFolder:
        return ResultFolder(self._path)

    def save(self, data) -> None:
        raise NotImplementedError("a result folder is written through its methods, not saved")


class TargetFilesDataset(_PathDataset):
    """The ingest's `TargetFiles` as one JSON file (a frozen dataclass, not JSON-able as is)."""

    def load(self) -> TargetFiles:
        return TargetFiles.from_dict(json.loads(self._path.read_text(encoding="utf-8")))

    def save(self, target: TargetFiles) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(target.to_dict(), indent=2, ensure_ascii=False)
        self._path.write_text(text, encoding="utf-8")

    def _exists(self) -> bool:
        return self._path.is_file()
