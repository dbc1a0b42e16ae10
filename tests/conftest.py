"""Shared fixtures: tiny random models (built once per session) and MLflow hygiene."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def tiny_llm_dir(tmp_path_factory):
    from atu_pipeline.io.tiny import build_tiny_llm

    return build_tiny_llm(tmp_path_factory.mktemp("tiny_llm"))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    from atu_pipeline.io.tiny import build_tiny_encoder

    return build_tiny_encoder(tmp_path_factory.mktemp("tiny_encoder"))


@pytest.fixture
def tiny_llm(tiny_llm_dir):
    """A fresh copy for every test: training tests change weights in place. On the device
    `ATU_TEST_DEVICE` names (benchmarks/device_check.py runs tests/core with cuda), else the CPU."""
    from atu_pipeline.io.models import load_llm

    llm = load_llm(str(tiny_llm_dir))
    llm.model.to(os.environ.get("ATU_TEST_DEVICE", "cpu"))
    return llm


@pytest.fixture
def lively_llm(tiny_llm):
    """The tiny model with larger random weights: its greedy answers differ from prompt to
    prompt (at its initial scale every answer repeats one token, so any two decoders agree)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in tiny_llm.model.parameters():
            if weight.dim() > 1:
                noise = torch.randn(weight.shape, generator=generator) * 0.2
                weight.copy_(noise.to(weight.device))
    return tiny_llm


@pytest.fixture
def tiny_encoder(tiny_encoder_dir):
    from atu_pipeline.io.models import load_encoder

    return load_encoder(str(tiny_encoder_dir))


@pytest.fixture(autouse=True)
def _end_leftover_mlflow_runs():
    yield
    import sys

    if "mlflow" in sys.modules:
        mlflow = sys.modules["mlflow"]
        while mlflow.active_run() is not None:
            mlflow.end_run()


@pytest.fixture(scope="session")
def demo_tables(tmp_path_factory):
    """Target 1 of the test environment's demo world, as the ingest pipeline tables it."""
    from atu_pipeline.data import rwku
    from atu_pipeline.params import WorldParams

    root = tmp_path_factory.mktemp("world")
    world = WorldParams(n_people=3, corpus_texts_per_person=4, utility_items=2, root=str(root))
    files = rwku.find_target(
        "1",
        source="demo",
        root="",
        hub_id="",
        forget_corpus="positive_phi",
        other_targets=1,
        retain_targets=2,
        world=world.model_dump(),
    )
    return {
        "target_info": rwku.target_info(files),
        "probes": rwku.probe_table(files, test_share=0.5, seed=0),
        "retain_probes": rwku.retain_probe_table(files, test_share=0.5, seed=0),
        "mia_texts": rwku.mia_table(files),
        "utility_items": rwku.utility_items(files),
        "forget_corpus": rwku.forget_corpus_table(files),
        "retain_corpus": rwku.retain_corpus_table(files),
        "injection_corpus": rwku.injection_table(files),
    }


@pytest.fixture(scope="session")
def test_params():
    """The `test` environment's typed parameter groups (as a run would validate them)."""
    from kedro.config import OmegaConfigLoader

    from atu_pipeline import params as p
    from atu_pipeline.settings import CONFIG_LOADER_ARGS

    conf = str(Path(__file__).resolve().parents[1] / "conf")
    args = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    raw = OmegaConfigLoader(conf, default_run_env="test", **args)["parameters"]
    kinds = {
        "atu": p.AtuParams,
        "ga": p.BaselineParams,
        "npo": p.BaselineParams,
        "embed": p.EmbedParams,
        "eval": p.EvalParams,
        "sweep": p.SweepParams,
        "inject": p.InjectParams,
        "llm": p.ModelSpec,
        "encoder": p.ModelSpec,
        "engine": p.EngineParams,
    }
    return {name: kind(**raw[name]) for name, kind in kinds.items()}


# Inputs of the unlearning nodes on the tiny models: window embeddings and an aligned head.


@pytest.fixture
def model_cache(tmp_path):
    from atu_pipeline.io.models import ModelCache

    return ModelCache(tmp_path / "cache")


@pytest.fixture
def alignment_windows(tiny_llm, tiny_encoder, demo_tables, test_params, model_cache):
    from atu_pipeline.pipelines.embed.nodes import embed_alignment_windows

    corpora = (demo_tables["forget_corpus"], demo_tables["retain_corpus"])
    settings = (test_params["encoder"], test_params["embed"])
    return embed_alignment_windows(*corpora, tiny_llm, tiny_encoder, model_cache, *settings)


@pytest.fixture
def target_embedding(tiny_encoder, demo_tables, test_params):
    from atu_pipeline.pipelines.embed.nodes import embed_target

    return embed_target(tiny_encoder, demo_tables["target_info"], test_params["embed"])


@pytest.fixture
def aligned_head(tiny_llm, alignment_windows, model_cache, test_params):
    from atu_pipeline.pipelines.align.nodes import align_head

    return align_head(tiny_llm, alignment_windows, model_cache, test_params["atu"])[0]
