"""The unlearn node on the tiny models: every round scored, the kept model, the similarities;
the subject model and the aligned head are left as they were."""

import pytest
import torch

from atu_pipeline.pipelines.unlearn.nodes import unlearn_rounds


def _run(llm, head, windows, concept, tables, cache, atu, eval_params):
    forget, probes, retain = tables["forget_corpus"], tables["probes"], tables["retain_corpus"]
    return unlearn_rounds(
        llm, head, windows, forget, concept, probes, retain, cache, atu, eval_params
    )


def test_every_round_is_scored_and_the_inputs_are_untouched(
    tiny_llm,
    aligned_head,
    alignment_windows,
    target_embedding,
    demo_tables,
    model_cache,
    test_params,
):
    subject = {k: v.clone() for k, v in tiny_llm.model.state_dict().items()}
    head = {k: v.clone() for k, v in aligned_head.state_dict().items()}
    atu, eval_params = test_params["atu"], test_params["eval"]
    args = (tiny_llm, aligned_head, alignment_windows, target_embedding, demo_tables, model_cache)
    llm, scores, metrics, similarities = _run(*args, atu, eval_params)
    assert scores["round"].tolist() == list(range(len(atu.taus) + 1))
    assert scores["tau"].tolist()[1:] == atu.taus
    assert scores["kept"].sum() == 1 and scores.loc[scores["kept"], "round"].item() == len(atu.taus)
    assert {"forget/all", "neighbor/all", "unlearn_loss", "above_tau_share", "align_cos"} <= set(
        scores
    )
    assert len(metrics["round_1/unlearn.unlearn_loss"]) == atu.steps_per_round
    assert metrics["forget/all"][0]["step"] == 0
    assert similarities["kept_round"] == len(atu.taus) and similarities["before"]
    assert llm is not tiny_llm
    assert all(torch.equal(subject[k], v) for k, v in tiny_llm.model.state_dict().items())
    assert all(torch.equal(head[k], v) for k, v in aligned_head.state_dict().items())


def test_the_same_call_again_resumes_from_the_checkpoints_and_trains_nothing(
    tiny_llm,
    aligned_head,
    alignment_windows,
    target_embedding,
    demo_tables,
    model_cache,
    test_params,
    monkeypatch,
):
    import atu_pipeline.recipes.atu as recipe

    args = (tiny_llm, aligned_head, alignment_windows, target_embedding, demo_tables, model_cache)
    _, first, _, _ = _run(*args, test_params["atu"], test_params["eval"])

    def no_training(*_args, **_kwargs):
        raise AssertionError("a finished run must not train again")

    monkeypatch.setattr(recipe, "unlearn_steps", no_training)
    _, again, _, _ = _run(*args, test_params["atu"], test_params["eval"])
    assert first.equals(again)


def test_early_stop_ends_the_rounds_once_forget_falls_to_the_threshold(
    tiny_llm,
    aligned_head,
    alignment_windows,
    target_embedding,
    demo_tables,
    model_cache,
    test_params,
):
    atu = test_params["atu"].model_copy(
        update={"taus": [0.5, 0.4, 0.3], "early_stop_forget": 100.0}
    )
    args = (tiny_llm, aligned_head, alignment_windows, target_embedding, demo_tables, model_cache)
    _, scores, _, _ = _run(*args, atu, test_params["eval"])
    assert scores["round"].tolist() == [0, 1]  # any score is <= 100: stop after round 1


def test_quantile_taus_follow_the_similarities_and_a_kl_term_is_recorded(
    tiny_llm,
    aligned_head,
    alignment_windows,
    target_embedding,
    demo_tables,
    model_cache,
    test_params,
):
    atu = test_params["atu"].model_dump() | {"tau_mode": "quantile", "taus": [0.9, 0.5]}
    atu = type(test_params["atu"]).model_validate(atu | {"retain": {"kind": "kl"}})
    args = (tiny_llm, aligned_head, alignment_windows, target_embedding, demo_tables, model_cache)
    _, scores, _, similarities = _run(*args, atu, test_params["eval"])
    rounds = scores.iloc[1:]
    assert rounds["tau_quantile"].tolist() == [0.9, 0.5]
    first = torch.quantile(torch.tensor(similarities["before"]), 0.9).item()
    assert rounds["tau"].iloc[0] == pytest.approx(first, abs=1e-6)  # round 1: the model before
    assert rounds["retain_loss"].notna().all()
