"""The attack pipeline end to end in the `test` environment: unlearn, then attack the result.

Everything a run writes (data, model cache, MLflow db and artifacts) stays under tmp_path.
"""

import pandas as pd
import pytest
import torch
from kedro.config import OmegaConfigLoader
from kedro_run import PROJECT, mlflow_runs
from kedro_run import run as kedro_run

from atu_pipeline.params import AttackParams
from atu_pipeline.settings import CONFIG_LOADER_ARGS


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models gain nothing from threads; on a busy 2-core machine they cost 5x."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def run(pipeline: str, root, **params) -> None:
    kedro_run(pipeline, root, **params)
    import mlflow

    while mlflow.active_run() is not None:  # one MLflow run per kedro run, as on the CLI
        mlflow.end_run()


@pytest.mark.parametrize("env", ["local", "test", "paper"])
def test_attack_parameters_validate_in_every_environment(env):
    args = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    loader = OmegaConfigLoader(str(PROJECT / "conf"), default_run_env=env, **args)
    attack = AttackParams(**loader["parameters"]["attack"])
    assert attack.unlearned.endswith("06_models/unlearned_llm")


def test_attack_after_unlearn_reports_every_attack(tmp_path):
    run("unlearn", tmp_path)
    run("attack", tmp_path)
    out = tmp_path / "data/08_reporting/attack"
    table = pd.read_parquet(out / "attack_table.parquet")
    pd.testing.assert_frame_equal(table, pd.read_csv(out / "attack_table.csv"), check_dtype=False)
    assert set(table["attack"]) == {"quantization", "relearning", "logit_lens", "attack_type"}
    assert set(table["model"]) == {"original", "unlearned"}
    quantized = table[table["attack"] == "quantization"]
    assert set(quantized["setting"]) == {"fp", "int8", "int4", "nf4"}
    assert {"forget/all", "neighbor/all", "recovered_share"} <= set(quantized["metric"])
    relearned = table[(table["attack"] == "relearning") & (table["metric"] == "forget/all")]
    assert sorted(relearned["step"].unique()) == [0, 2, 4]
    lens = table[table["attack"] == "logit_lens"]
    assert sorted(lens["step"].unique()) == [1, 2, 3, 4]
    assert table[table["attack"] == "attack_type"]["metric"].str.startswith("forget/aa").all()

    report = (out / "attack_report.md").read_text()
    for section in ("## Quantization", "## Relearning", "## Adversarial probes by attack type",
                    "## Logit lens", "| nf4 |", "2 (hook)"):  # fmt: skip
        assert section in report
    for plot in ("quantization", "relearning_curves", "logit_lens", "attack_types"):
        assert (out / f"{plot}.png").is_file()

    runs = mlflow_runs(tmp_path)
    assert len(runs) == 2
    logged = runs.iloc[0]  # the latest: attack
    assert "metrics.forget/all" not in logged.index or pd.isna(logged["metrics.forget/all"])
    assert "metrics.attack/quantization/unlearned/int4/forget/all" in logged.index
    assert "metrics.attack/relearning/unlearned/forget/all" in logged.index
    assert "metrics.attack/logit_lens/original/median_rank" in logged.index
    assert logged["params.attack.group_size"] == "16"


def test_attack_without_an_unlearned_model_stops_before_loading_any_model(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"unlearned_llm.*kedro run --pipeline unlearn"):
        run("attack", tmp_path)
    assert not (tmp_path / "data/06_models").exists()  # nothing was loaded, cached or injected
