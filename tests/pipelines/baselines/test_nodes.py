"""The baseline node on the tiny model: GA and NPO rounds, scored and kept by the keep rule."""

import pytest

from atu_pipeline.pipelines.baselines.nodes import baseline_rounds


@pytest.mark.parametrize("method", ["ga", "npo"])
def test_every_round_is_scored_and_the_keep_rule_applies(
    tiny_llm, demo_tables, model_cache, test_params, method
):
    settings = test_params[method]
    data = (demo_tables["forget_corpus"], demo_tables["probes"], demo_tables["retain_corpus"])
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
    floor = kept_scores.loc[0, "val/neighbor/all"]  # decisions read the validation probes
    assert kept == 0 and kept_llm is tiny_llm or kept_scores.loc[kept, "val/neighbor/all"] >= floor


def test_changing_only_test_answers_changes_neither_training_nor_the_kept_round(
    tiny_llm, demo_tables, model_cache, test_params
):
    settings = test_params["ga"].model_copy(
        update={"keep": "best_tradeoff", "neighbor_floor": 0.5, "early_stop_forget": 50.0}
    )
    probes = demo_tables["probes"]
    moved = probes.assign(answer=probes["answer"].where(probes["split"] == "val", "the"))
    runs = [
        baseline_rounds(
            tiny_llm,
            demo_tables["forget_corpus"],
            p,
            demo_tables["retain_corpus"],
            model_cache,
            settings,
            test_params["eval"],
        )[1]
        for p in (probes, moved)
    ]
    decided = ["round", "kept", "unlearn_loss", "val/forget/all", "val/neighbor/all"]
    assert runs[0][decided].equals(runs[1][decided])


@pytest.mark.parametrize(("method", "kind"), [("ga", "gd"), ("npo", "kl")])
def test_a_retain_term_is_trained_on_and_recorded(
    tiny_llm, demo_tables, model_cache, test_params, method, kind
):
    settings = test_params[method].model_copy(update={"retain": {"kind": kind, "weight": 1.0}})
    settings = type(settings).model_validate(settings.model_dump())
    data = (demo_tables["forget_corpus"], demo_tables["probes"], demo_tables["retain_corpus"])
    _, scores, metrics = baseline_rounds(
        tiny_llm, *data, model_cache, settings, test_params["eval"]
    )
    assert "retain_loss" in scores and scores["retain_loss"].iloc[1:].notna().all()
    assert len(metrics["round_1/unlearn.retain_loss"]) == settings.steps_per_round


def test_a_linear_learning_rate_course_restarts_every_round(
    tiny_llm, demo_tables, model_cache, test_params
):
    settings = test_params["ga"]
    settings = settings.model_copy(
        update={"train": settings.train.model_copy(update={"lr_schedule": "linear"})}
    )
    data = (demo_tables["forget_corpus"], demo_tables["probes"], demo_tables["retain_corpus"])
    _, _, metrics = baseline_rounds(tiny_llm, *data, model_cache, settings, test_params["eval"])
    steps, lr = settings.steps_per_round, settings.train.lr
    expected = [lr * (1 - s / steps) for s in range(steps)]
    for index in (1, 2):
        rates = [point["value"] for point in metrics[f"round_{index}/unlearn.lr"]]
        assert rates == pytest.approx(expected)
