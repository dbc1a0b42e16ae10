"""conf/paper as far as a CPU allows: its head and schedule build at the paper's sizes, and its
settings (SGD, every block trainable, gradient checkpointing, keep last) run one round on the
tiny models."""

from pathlib import Path

from kedro.config import OmegaConfigLoader

from atu_pipeline.core.head import EmbeddingHead, HeadConfig
from atu_pipeline.core.schedule import build_rounds
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.params import AtuParams, EvalParams
from atu_pipeline.recipes.atu import first_alignment, unlearn_atu
from atu_pipeline.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[2] / "conf"


def paper_atu() -> AtuParams:
    args = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    return AtuParams(
        **OmegaConfigLoader(str(CONF), default_run_env="paper", **args)["parameters"]["atu"]
    )


def test_the_paper_head_and_schedule_build_at_their_sizes():
    atu = paper_atu()
    head = EmbeddingHead(HeadConfig(in_dim=3072, out_dim=768, **atu.head.model_dump()))
    assert sum(p.numel() for p in head.parameters()) > 40_000_000  # 6 x 768 blocks, as the paper's
    rounds = build_rounds(atu.taus, atu.steps_per_round, atu.realign_steps)
    steps = atu.first_align_steps + sum(r.unlearn_steps + r.realign_steps for r in rounds)
    assert (atu.layer, len(rounds), steps) == (
        29,
        10,
        15_000 + 10 * 2_000,
    )  # 34,000 + 1,000 realign
    assert (atu.unlearn.optimizer, atu.keep, atu.gradient_checkpointing) == ("sgd", "last", True)


def test_one_paper_round_runs_on_the_tiny_models(
    tiny_llm, alignment_windows, target_embedding, demo_tables, model_cache
):
    tiny = {
        "layer": 2,
        "head": {"width": 16, "depth": 1, "heads": 2, "max_positions": 64},
        "first_align_steps": 1,
        "realign_steps": 1,
        "steps_per_round": 1,
        "taus": [0.9],
        "unlearn": {"batch_size": 2, "max_length": 32},
        "align": {"batch_size": 2},
    }
    atu = paper_atu().model_dump()
    for key, value in tiny.items():
        atu[key] = atu[key] | value if isinstance(value, dict) else value
    atu = AtuParams(**atu)
    windows = WindowSet.from_tensors(alignment_windows)
    head, _ = first_alignment(tiny_llm, windows, cache=model_cache, atu=atu)
    result, _ = unlearn_atu(
        tiny_llm,
        head,
        windows,
        demo_tables["forget_corpus"],
        target_embedding["embedding"],
        demo_tables["probes"],
        cache=model_cache,
        atu=atu,
        eval_params=EvalParams(max_new_tokens=2),
    )
    assert result.kept_round == 1 and result.round_scores["round"].tolist() == [0, 1]
