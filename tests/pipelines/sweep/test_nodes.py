"""The sweep node on the tiny models: one result per grid point, written to its folder and
reused when nothing it depends on changed."""

import json

import pytest

from atu_pipeline.io.results import ResultFolder
from atu_pipeline.pipelines.sweep.nodes import original_utility, run_sweep, target_data
from atu_pipeline.recipes.sweep import sweep_points


@pytest.fixture
def sweep_target(demo_tables, target_embedding):
    names = ("probes", "retain_probes", "forget_corpus", "retain_corpus", "mia_texts")
    tables = {k: demo_tables[k] for k in names}
    return target_data(
        demo_tables["target_info"], **tables, target_embedding=target_embedding, memorised_probes=[]
    )


def _sweep(tiny_llm, alignment_windows, sweep_target, demo_tables, model_cache, folder, params):
    return run_sweep(
        tiny_llm,
        alignment_windows,
        sweep_target,
        demo_tables["utility_items"],
        model_cache,
        folder,
        params["sweep"],
        params["atu"],
        params["ga"],
        params["npo"],
        params["eval"],
        params["engine"],
    )


def test_each_point_runs_once_and_is_reused(
    tiny_llm, alignment_windows, sweep_target, demo_tables, model_cache, test_params, tmp_path
):
    folder = ResultFolder(tmp_path / "sweep")
    args = (tiny_llm, alignment_windows, sweep_target, demo_tables, model_cache, folder)
    results = _sweep(*args, test_params)
    names = [p.name for p in sweep_points(test_params["sweep"])]
    assert [r["point"] for r in results] == names
    utility = {"utility/mmlu", "utility/perplexity", "utility/other_targets"}
    for result in results:
        saved = tmp_path / "sweep" / result["point"]
        assert json.loads((saved / "result.json").read_text())["key"] == result["key"]
        assert (saved / "unlearn_summary.txt").read_text().startswith("summary: forget ")
        assert utility <= set(result["utility"])
    stamps = {n: (tmp_path / "sweep" / n / "result.json").stat().st_mtime_ns for n in names}
    again = _sweep(*args, test_params)
    assert again == results
    assert {n: (tmp_path / "sweep" / n / "result.json").stat().st_mtime_ns for n in names} == stamps


def test_the_original_model_is_scored_on_the_sweeps_utility_sets(
    tiny_llm, sweep_target, demo_tables, test_params
):
    scores = original_utility(
        tiny_llm,
        sweep_target,
        demo_tables["utility_items"],
        test_params["sweep"],
        test_params["eval"],
    )
    assert {"utility/mmlu", "utility/perplexity", "utility/other_targets"} <= set(scores)
