"""`kedro run --pipeline benchmark --env test`: tuning on validation, report on test, resumable."""

import json
from pathlib import Path

import pandas as pd
from kedro_run import mlflow_runs, run


def test_benchmark_tunes_on_validation_reports_on_test_and_resumes(tmp_path):
    run("benchmark", tmp_path)
    out = tmp_path / "data/08_reporting/benchmark"
    results = json.loads((out / "results.json").read_text())
    # equal tuning: two configurations per method, each tried on the tuning target
    tuned = pd.DataFrame(results["tuning"])
    assert tuned.groupby("method")["config"].nunique().to_dict() == {"atu": 2, "ga": 2, "npo": 2}
    assert set(tuned["target"]) == {"1"}
    assert set(results["chosen"]) == {"atu", "ga", "npo"}
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 2 * 3 and set(points["target"].astype(str)) == {"2", "3"}
    for method, config in results["chosen"].items():
        assert (points.loc[points["method"] == method, "config"] == config).all()
    assert {"test/forget/all", "mia/fm_loss", "utility/other_targets", "ratio:forget"} <= set(
        points
    )
    report = (out / "report.md").read_text()
    assert "| before |" in report and "| atu |" in report and "bootstrap" in report
    assert (out / "tradeoff.png").is_file()
    # every recorded point's round checkpoints are gone (engine.keep_checkpoints: false)
    checkpoints = {r["checkpoints"] for r in results["tuning"] + results["points"]}
    assert len(checkpoints) == len(tuned) + len(points)
    for path in map(Path, checkpoints):
        assert path.parent == tmp_path / "data/06_models/cache" and not path.exists()
    runs = mlflow_runs(tmp_path)
    children = runs[runs["tags.mlflow.parentRunId"].notna()]
    assert len(children) == len(tuned) + len(points)

    # a second run reuses every finished point: no new child run, the same numbers
    run("benchmark", tmp_path)
    again = json.loads((out / "results.json").read_text())
    assert again["points"] == results["points"]
    assert len(mlflow_runs(tmp_path)) == len(runs) + 1  # its own session run only


def test_batch_points_unlearn_a_group_and_score_each_member(tmp_path):
    run("benchmark", tmp_path, benchmark={"batch": 2, "methods": ["atu", "ga"]})
    out = tmp_path / "data/08_reporting/benchmark"
    results = json.loads((out / "results.json").read_text())
    assert {r["target"] for r in results["tuning"]} == {"1"}  # tuning stays one target at a time
    assert [(r["method"], r["target"]) for r in results["points"]] == [
        ("atu", "2+3"),
        ("ga", "2+3"),
    ]
    for result in results["points"]:
        members = result["members"]
        assert len(members) == 2 and all(0 <= m["kept"] <= 100 for m in members.values())
    report = (out / "report.md").read_text()
    assert "2+3 unlearned 2 at a time" in report and "Each target of a batch point alone" in report
