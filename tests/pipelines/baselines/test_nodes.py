"""The baseline node on the tiny model: GA and NPO rounds, scored and kept by the keep rule."""

import pytest

from atu_pipeline.pipelines.baselines.nodes import baseline_rounds


@pytest.mark.parametrize("method", ["ga", "npo"])
def test_every_round_is_scored_and_the_keep_rule_applies(
    tiny_llm, demo_tables, model_cache, test_params, method
):
    settings = test_params[method]
    data = (demo_tables["forget_corpus"], demo_tables["probes"])
    llm, scores, metrics = baseline_rounds(
        tiny_llm, *data, model_cache, settings, test_params["eval"]
    )
    assert scores["round"].tolist() == list(range(settings.rounds + 1))
    assert scores["tau"].isna().all()
    assert {"unlearn_loss", "forget_nll", "forget/all", "neighbor/all"} <= set(scores)
    assert len(metrics["round_1/unlearn.unlearn_loss"]) == settings.steps_per_round
    strict = settings.model_copy(update={"keep": "best_tradeoff", "neighbor_floor": 1.0})
    kept_llm, kept_scores, _ = baseline_rounds(
        tiny_llm, *data, model_cache, strict, test_params["eval"]
    )
    kept = kept_scores.loc[kept_scores["kept"], "round"].item()
    floor = kept_scores.loc[0, "neighbor/all"]
    assert kept == 0 and kept_llm is tiny_llm or kept_scores.loc[kept, "neighbor/all"] >= floor
