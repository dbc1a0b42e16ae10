"""GA, NPO, the sweep and the comparison, end to end in the `test` environment."""

import json
from pathlib import Path

import pandas as pd
import pytest
from kedro_run import mlflow_runs, run


@pytest.mark.parametrize("method", ["ga", "npo"])
def test_baseline_runs_and_writes_under_its_namespace(tmp_path, method):
    run(f"baseline_{method}", tmp_path)
    out = tmp_path / "data/08_reporting" / method
    scores = pd.read_csv(out / "round_scores.csv")
    assert scores["round"].tolist() == [0, 1, 2]
    assert {"forget/all", "neighbor/all", "unlearn_loss", "forget_nll"} <= set(scores.columns)
    assert (out / "unlearn_summary.txt").read_text().startswith("summary: forget ")
    assert (tmp_path / f"data/06_models/{method}/unlearned_llm/model.safetensors").is_file()
    logged = mlflow_runs(tmp_path).iloc[0]
    assert logged[f"params.{method}.method"] == method
    assert f"metrics.{method}.round_1/unlearn.unlearn_loss" in logged.index
    checkpoints = list((tmp_path / "data/06_models/cache").glob(f"{method}-*/round_*"))
    assert sorted(p.name for p in checkpoints) == ["round_01", "round_02"]


def test_changing_the_keep_rule_reuses_the_checkpoints(tmp_path):
    run("baseline_ga", tmp_path)
    checkpoints = tmp_path / "data/06_models/cache"
    trained = {p: p.stat().st_mtime_ns for p in checkpoints.glob("ga-*/round_*/*")}
    run("baseline_ga", tmp_path, ga={"keep": "best_tradeoff", "neighbor_floor": 1.0})
    assert {p: p.stat().st_mtime_ns for p in checkpoints.glob("ga-*/round_*/*")} == trained
    scores = pd.read_csv(tmp_path / "data/08_reporting/ga/round_scores.csv")
    # the model before unlearning (round 0) competes with the rounds and wins ties
    eligible = scores[scores["val/neighbor/all"] >= scores.loc[0, "val/neighbor/all"]]
    ranked = eligible.sort_values(
        ["val/forget/all", "val/neighbor/all", "round"], ascending=[True, False, True]
    )
    assert scores.loc[scores["kept"], "round"].item() == ranked["round"].iloc[0]


def test_sweep_logs_one_child_run_per_point_and_compares_them(tmp_path):
    run("sweep", tmp_path)
    runs = mlflow_runs(tmp_path)
    parent = runs[runs["tags.mlflow.parentRunId"].isna()]
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(parent) == 1
    assert set(children["tags.mlflow.parentRunId"]) == set(parent["run_id"])
    names = {"atu_tau0p3_layer2", "atu_tau0p1_layer2", "ga_lr0p0001", "npo_lr0p0001"}
    assert set(children["tags.mlflow.runName"]) == names
    atu = children[children["tags.mlflow.runName"] == "atu_tau0p1_layer2"].iloc[0]
    assert (atu["params.method"], atu["params.tau"], atu["params.layer"]) == ("atu", "0.1", "2")
    assert atu["params.settings.taus"] == "[0.5, 0.1]"  # from atu.taus[0] down to the floor
    assert "metrics.kept/test/forget/all" in atu.index and "metrics.kept/utility/mmlu" in atu.index
    # each child run lasts as long as its point ran, not the instant it was logged
    for _, child in children.iterrows():
        folder = tmp_path / "data/08_reporting/sweep" / child["tags.mlflow.runName"]
        point = json.loads((folder / "result.json").read_text())
        ran = point["ended"] - point["started"]
        logged = (child["end_time"] - child["start_time"]).total_seconds()
        assert logged == pytest.approx(ran, abs=0.01)
        assert not Path(point["checkpoints"]).exists()  # deleted once the point was recorded
    import mlflow

    experiment = mlflow.get_experiment(parent["experiment_id"].iloc[0])
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    artifacts = mlflow.MlflowClient().list_artifacts(parent["run_id"].iloc[0], "sweep")
    assert {"ranking.csv", "ranking.md", "forget_vs_neighbor.png"} <= {
        a.path.split("/")[-1] for a in artifacts
    }

    out = tmp_path / "data/08_reporting/sweep"
    assert not list(out.parent.glob("sweep.*")), "a point's report landed outside sweep/"
    for name in names:
        assert (out / name / "unlearn_summary.txt").read_text().startswith("summary: forget ")
    ranking = pd.read_csv(out / "ranking.csv")
    assert set(ranking["point"]) == names | {"original"}
    assert ranking["rank"].tolist() == list(range(1, 6))
    assert ranking["pareto"].any()
    rounds = pd.read_csv(out / "rounds.csv")
    assert set(rounds["point"]) == names
    for plot in ("forget_vs_neighbor", "forget_vs_utility", "forget_by_round"):
        assert (out / f"{plot}.png").is_file()
    assert "| rank |" in (out / "ranking.md").read_text()

    # the sweep again: finished points are reused, a point whose result is gone runs again
    result = out / "ga_lr0p0001/result.json"
    before = json.loads(result.read_text())["mlflow_run_id"]
    other = (out / "npo_lr0p0001/result.json").read_text()
    result.unlink()
    run("sweep", tmp_path)
    assert json.loads(result.read_text())["mlflow_run_id"] != before
    assert (out / "npo_lr0p0001/result.json").read_text() == other
    assert len(mlflow_runs(tmp_path)) == len(runs) + 2  # one more session run, one more child
