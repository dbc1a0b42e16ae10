"""Every environment's parameters validate, and a knob nothing reads is refused."""

from pathlib import Path

import pytest
from kedro.config import OmegaConfigLoader
from pydantic import ValidationError

from atu_pipeline.params import (
    AttackParams,
    AtuParams,
    BaselineParams,
    BenchmarkParams,
    CompareParams,
    EmbedParams,
    EngineParams,
    EvalParams,
    InjectParams,
    ModelSpec,
    RwkuParams,
    SweepParams,
    TrackingParams,
    WorldParams,
)
from atu_pipeline.recipes.benchmark import method_settings
from atu_pipeline.recipes.sweep import point_settings, sweep_points
from atu_pipeline.settings import CONFIG_LOADER_ARGS

CONF = Path(__file__).resolve().parents[1] / "conf"
# Every top-level parameter group and its type: a group in conf/ that is missing here fails.
GROUPS = {
    "target": str,
    "llm": ModelSpec,
    "encoder": ModelSpec,
    "rwku": RwkuParams,
    "world": WorldParams,
    "inject": InjectParams,
    "embed": EmbedParams,
    "atu": AtuParams,
    "ga": BaselineParams,
    "npo": BaselineParams,
    "sweep": SweepParams,
    "compare": CompareParams,
    "eval": EvalParams,
    "attack": AttackParams,
    "benchmark": BenchmarkParams,
    "engine": EngineParams,
    "tracking": TrackingParams,
}


def parameters(env: str) -> dict:
    return OmegaConfigLoader(
        str(CONF),
        default_run_env=env,
        **{k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"},
    )["parameters"]


@pytest.mark.parametrize(
    "env",
    ["local", "test", "paper", "levers", "levers-atu"]
    + ["atu-layer8", "atu-short-rounds", "atu-batch2", "equal-tuning-ga", "equal-tuning-atu"],
)
def test_every_group_of_every_environment_validates(env):
    params = parameters(env)
    assert set(params) == set(GROUPS)
    typed = {}
    for name, kind in GROUPS.items():
        typed[name] = params[name] if kind is str else kind(**params[name])
    assert isinstance(typed["target"], str)
    grid = sweep_points(typed["sweep"])
    assert grid
    methods = {"atu": typed["atu"], "ga": typed["ga"], "npo": typed["npo"]}
    for point in grid:  # each point's own settings validate too
        point_settings(point, **methods)
    method_settings(typed["benchmark"], **methods)  # every configuration, at equal budgets


def test_trainable_blocks_must_lie_below_the_hook_layer():
    atu = {"align": {"lr": 1e-3}, "unlearn": {"lr": 1e-5}, "taus": [0.5], "layer": 5}
    AtuParams(**atu, trainable={"first_layer": 4})
    AtuParams(**atu, trainable={"mode": "all", "first_layer": 9})  # all blocks: no range
    for trainable in ({"first_layer": 5}, {"first_layer": 0, "last_layer": 5}):
        with pytest.raises(ValidationError, match=r"below the hook layer \(atu.layer=5\).*0\.\.4"):
            AtuParams(**atu, trainable=trainable)
    AtuParams(**atu, trainable={"first_layer": -5})  # blocks 0-4: the five below the hook
    with pytest.raises(ValidationError, match=r"blocks -1\.\.4 must lie below"):
        AtuParams(**atu, trainable={"first_layer": -6})
    auto = atu | {"layer": "auto", "layer_candidates": [8, 3]}  # every candidate must do
    with pytest.raises(ValidationError, match=r"lowest of atu.layer_candidates=3\).*0\.\.2"):
        AtuParams(**auto, trainable={"first_layer": 4})


def test_a_point_key_ignores_the_layer_search_once_the_layer_is_set():
    atu = {"align": {"lr": 1e-3}, "unlearn": {"lr": 1e-5}, "taus": [0.5]}
    fixed = [AtuParams(**atu, layer=5, layer_candidates=c) for c in ([5], [3, 5])]
    assert fixed[0].run_identity() == fixed[1].run_identity()  # the search never runs
    assert AtuParams(**atu, layer=6).run_identity() != fixed[0].run_identity()
    auto = [AtuParams(**atu, layer="auto", layer_candidates=c) for c in ([5], [3, 5])]
    assert auto[0].run_identity() != auto[1].run_identity()


def test_sweep_namespaces_name_their_coordinates_without_dots():
    grid = SweepParams(tau_floors=[0.05, -0.1], layers=[5], ga_lrs=[1e-5], npo_lrs=[2e-6])
    names = [p.name for p in sweep_points(grid)]
    assert names == ["atu_tau0p05_layer5", "atu_taum0p1_layer5", "ga_lr1em05", "npo_lr2em06"]


def test_sweep_points_train_equally_long_in_each_methods_rounds():
    atu = AtuParams(align={"lr": 1e-3}, unlearn={"lr": 1e-5}, taus=[0.5], steps_per_round=10)
    ga = BaselineParams(method="ga", train={"lr": 1e-5}, steps_per_round=20)
    methods = {"atu": atu, "ga": ga, "npo": ga.model_copy(update={"method": "npo"})}
    grid = sweep_points(SweepParams(updates=60, tau_floors=[0.0], layers=[5], ga_lrs=[1e-5]))
    atu_point, ga_point = (point_settings(point, **methods) for point in grid)
    assert (len(atu_point.taus), ga_point.rounds) == (6, 3)
    assert atu_point.taus[0] == 0.5 and atu_point.taus[-1] == 0.0
    uneven = sweep_points(SweepParams(updates=50, ga_lrs=[1e-5]))
    with pytest.raises(ValueError, match=r"sweep.updates=50 .* ga.steps_per_round=20"):
        point_settings(uneven[0], **methods)


def test_a_half_defined_atu_grid_is_refused():
    with pytest.raises(ValidationError, match="both be set or both empty"):
        SweepParams(tau_floors=[0.0])


def test_alignment_has_no_sequence_length_knob():
    """Alignment sequences are the window corpus (embed.max_length); a max_length here would be
    silently ignored, so it is refused."""
    atu = {"align": {"lr": 1e-3, "max_length": 64}, "unlearn": {"lr": 1e-5}, "taus": [0.5]}
    with pytest.raises(ValidationError, match="max_length"):
        AtuParams(**atu)


def test_benchmark_methods_get_equal_tuning():
    configs = {"atu": [{}, {}], "ga": [{}]}
    with pytest.raises(ValidationError, match="same number of configurations"):
        BenchmarkParams(targets=["2"], tuning_targets=["1"], configurations=configs)
    with pytest.raises(ValidationError, match="need targets to choose on"):
        BenchmarkParams(targets=["1"], configurations={m: [{}, {}] for m in ("atu", "ga", "npo")})


def test_benchmark_refuses_a_configuration_that_trains_longer():
    atu = AtuParams(align={"lr": 1e-3}, unlearn={"lr": 1e-5}, taus=[0.5, 0.3], steps_per_round=4)
    ga = BaselineParams(method="ga", train={"lr": 1e-5}, rounds=2, steps_per_round=4)
    npo = BaselineParams(method="npo", train={"lr": 1e-5}, rounds=2, steps_per_round=4)
    bench = BenchmarkParams(
        targets=["1"], methods=["atu", "ga"], configurations={"ga": [{"rounds": 3}]}
    )
    with pytest.raises(ValueError, match=r"configurations.ga\[0\] makes 12 LLM updates.*makes 8"):
        method_settings(bench, atu=atu, ga=ga, npo=npo)


def test_benchmark_variants_add_a_retain_term_and_unknown_ones_are_refused():
    atu = AtuParams(align={"lr": 1e-3}, unlearn={"lr": 1e-5}, taus=[0.5, 0.3], steps_per_round=4)
    ga = BaselineParams(method="ga", train={"lr": 1e-5}, rounds=2, steps_per_round=4)
    npo = BaselineParams(method="npo", train={"lr": 1e-5}, rounds=2, steps_per_round=4)
    bench = BenchmarkParams(targets=["1"], methods=["atu", "ga+gd", "npo+kl"], retain_weight=0.5)
    settings = method_settings(bench, atu=atu, ga=ga, npo=npo)
    assert settings["atu"][0].retain.kind == "none"
    assert (settings["ga+gd"][0].retain.kind, settings["ga+gd"][0].retain.weight) == ("gd", 0.5)
    assert settings["npo+kl"][0].retain.kind == "kl" and settings["npo+kl"][0].method == "npo"
    with pytest.raises(ValidationError, match="pattern"):
        BenchmarkParams(targets=["1"], methods=["ga+xx"])


def test_benchmark_batch_groups_report_targets_and_knows_which_groups_were_tuned_on():
    bench = BenchmarkParams(targets=["1", "2", "3", "4"], tuning_targets=["1"], batch=2)
    assert bench.report_targets == ["1+2", "3+4"]
    assert bench.tuned_on("1+2") and not bench.tuned_on("3+4") and not bench.tuned_on(3)
    with pytest.raises(ValueError, match="batch=3: the 4 report targets"):
        BenchmarkParams(targets=["1", "2", "3", "4"], batch=3)
