"""The sweep node on the tiny models: one result per grid point, written to its folder and
reused when nothing it depends on changed."""

import json

from atu_pipeline.io.results import ResultFolder
from atu_pipeline.pipelines.sweep.nodes import original_utility, run_sweep
from atu_pipeline.recipes.sweep import sweep_points


def _sweep(tiny_llm, alignment_windows, target_embedding, demo_tables, model_cache, folder, params):
    return run_sweep(
        tiny_llm,
        alignment_windows,
        demo_tables["forget_corpus"],
        target_embedding,
        demo_tables["probes"],
        demo_tables["utility_items"],
        model_cache,
        folder,
        params["sweep"],
        params["atu"],
        params["ga"],
        params["npo"],
        params["eval"],
    )


def test_each_point_runs_once_and_is_reused(
    tiny_llm, alignment_windows, target_embedding, demo_tables, model_cache, test_params, tmp_path
):
    folder = ResultFolder(tmp_path / "sweep")
    args = (tiny_llm, alignment_windows, target_embedding, demo_tables, model_cache, folder)
    results = _sweep(*args, test_params)
    names = [p.name for p in sweep_points(test_params["sweep"])]
    assert [r["point"] for r in results] == names
    for result in results:
        saved = tmp_path / "sweep" / result["point"]
        assert json.loads((saved / "result.json").read_text())["key"] == result["key"]
        assert (saved / "unlearn_summary.txt").read_text().startswith("summary: forget ")
        assert set(result["utility"]) == {"utility/mmlu", "utility/perplexity"}
    stamps = {n: (tmp_path / "sweep" / n / "result.json").stat().st_mtime_ns for n in names}
    again = _sweep(*args, test_params)
    assert again == results
    assert {n: (tmp_path / "sweep" / n / "result.json").stat().st_mtime_ns for n in names} == stamps


def test_the_original_model_is_scored_on_the_sweeps_utility_sets(
    tiny_llm, demo_tables, test_params
):
    scores = original_utility(
        tiny_llm, demo_tables["utility_items"], test_params["sweep"], test_params["eval"]
    )
    assert set(scores) == {"utility/mmlu", "utility/perplexity"}
