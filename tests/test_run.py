"""End-to-end runs of the registered pipelines in the `test` environment (tiny random models).

Everything a run writes (data, model cache, MLflow db and artifacts) stays under tmp_path.
"""

import pandas as pd
import pytest
import torch
from kedro_run import mlflow_runs, run
from safetensors.torch import load_file


def test_unlearn_runs_end_to_end_and_logs_to_mlflow(tmp_path):
    run("unlearn", tmp_path)
    data = tmp_path / "data"
    scores = pd.read_csv(data / "08_reporting/round_scores.csv")
    assert scores["round"].tolist() == [0, 1, 2]
    assert {"forget/all", "neighbor/all", "unlearn_loss", "align_cos"} <= set(scores.columns)
    assert scores["kept"].sum() == 1
    assert (data / "06_models/unlearned_llm/model.safetensors").is_file()
    assert (data / "08_reporting/forget_neighbor_by_round.png").is_file()
    assert (data / "08_reporting/unlearn_summary.txt").read_text().startswith("summary: forget ")
    report = (data / "08_reporting/run_report.md").read_text()
    assert "| Before |" in report and "| ATU |" in report
    answers = pd.read_csv(data / "08_reporting/run_answers.csv")
    assert {"answer_before", "answer_after", "recall_before", "recall_after"} <= set(answers)
    logged = mlflow_runs(tmp_path).iloc[0]
    assert logged["params.atu.layer"] == "2"
    assert logged["params.atu.taus"] == "[0.5, 0.3]"
    assert "metrics.forget/all" in logged.index
    assert "metrics.round_1/unlearn.unlearn_loss" in logged.index
    assert logged["tags.unlearned_llm_path"] == str((data / "06_models/unlearned_llm").resolve())


def test_hook_layer_comes_from_the_command_line(tmp_path):
    run("align", tmp_path, atu={"layer": 3})
    assert mlflow_runs(tmp_path).iloc[0]["params.atu.layer"] == "3"


def test_layer_outside_the_model_stops_before_any_training(tmp_path):
    with pytest.raises(ValueError, match="hook layer 9 is outside the model"):
        run("align", tmp_path, atu={"layer": 9})


def test_tau_outside_minus_one_one_is_refused_up_front(tmp_path):
    with pytest.raises(Exception, match=r"atu.taus must lie in \(-1, 1\)"):
        run("unlearn", tmp_path, atu={"taus": [0.5, 1.2]})


def test_killed_run_resumes_from_its_last_round_and_matches_an_uninterrupted_one(
    tmp_path, monkeypatch
):
    three_rounds = {"atu": {"taus": [0.5, 0.4, 0.3]}}
    run("unlearn", tmp_path / "straight", **three_rounds)

    import atu_pipeline.recipes.atu as atu_recipe

    real_unlearn_steps, calls = atu_recipe.unlearn_steps, []

    def dies_in_round_two(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_unlearn_steps(*args, **kwargs)

    monkeypatch.setattr(atu_recipe, "unlearn_steps", dies_in_round_two)
    with pytest.raises(KeyboardInterrupt):
        run("unlearn", tmp_path / "resumed", **three_rounds)
    monkeypatch.setattr(atu_recipe, "unlearn_steps", real_unlearn_steps)
    checkpoints = list((tmp_path / "resumed/data/06_models/cache").glob("atu-*/round_*"))
    assert [p.name for p in checkpoints] == ["round_01"]

    run("unlearn", tmp_path / "resumed", **three_rounds)
    straight = pd.read_csv(tmp_path / "straight/data/08_reporting/round_scores.csv")
    resumed = pd.read_csv(tmp_path / "resumed/data/08_reporting/round_scores.csv")
    pd.testing.assert_frame_equal(straight, resumed)
    weights = [
        load_file(tmp_path / f"{name}/data/06_models/unlearned_llm/model.safetensors")
        for name in ("straight", "resumed")
    ]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_inject_caches_the_injected_model(tmp_path):
    run("inject", tmp_path)
    report = pd.read_json(tmp_path / "data/08_reporting/injection_report.json")
    assert {"base", "injected"} <= set(report.columns)
    cached = list((tmp_path / "data/06_models/cache").glob("*/recipe.json"))
    assert any("inject" in p.read_text() for p in cached)


def test_layer_auto_writes_the_candidates_table(tmp_path):
    run("align", tmp_path, atu={"layer": "auto"})
    choice = pd.read_csv(tmp_path / "data/08_reporting/layer_choice.csv")
    assert choice["layer"].tolist() == [1, 2] and choice["auc"].between(0, 1).all()
    assert mlflow_runs(tmp_path).iloc[0]["params.atu.layer"] == "auto"
