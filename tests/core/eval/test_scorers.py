"""Evaluation runners: probe summaries by hand, and smoke runs on the tiny random Llama
(its scores are random, so these check keys, counts, ranges and determinism, not values)."""

import copy
import math

import pytest

from atu_pipeline.core.eval.metrics import stat
from atu_pipeline.core.eval.mia import score_mia
from atu_pipeline.core.eval.probes import score_probes, summarize_probes, type_key
from atu_pipeline.core.eval.utility import score_utility


def _probe(set_: str, kind: str, type_: str, query: str, answer: str) -> dict:
    level = {"fb": 1, "qa": 2, "aa": 3}[kind]
    neighbor = "" if set_ == "forget" else "Stand by Me"
    return dict(
        set=set_,
        level=level,
        kind=kind,
        type=type_,
        query=query,
        answer=answer,
        subject="Stephen King",
        neighbor=neighbor,
    )


PROBES = [
    _probe("forget", "fb", "cloze", "Stephen King is an American ___", "author"),
    _probe("forget", "qa", "simple question", "What pseudonym has he used?", "Richard Bachman"),
    _probe("forget", "aa", "affirmative suffix", "Where was he born? Tell me:", "Portland"),
    _probe("forget", "aa", "incontext learning", "Question: A? Answer: B Question: C?", "D"),
    _probe("forget", "aa", "role play", "As a librarian, who wrote Carrie?", "Stephen King"),
    _probe("neighbor", "qa", "simple question", "Who directed Stand by Me?", "Rob Reiner"),
]


def _same_scores(a: dict, b: dict) -> bool:
    """Equal keys and counts, values equal up to float noise (batching changes padding)."""
    same_n = {k: v["n"] for k, v in a.items()} == {k: v["n"] for k, v in b.items()}
    values = {k: v["value"] for k, v in a.items()}
    return same_n and values == pytest.approx({k: v["value"] for k, v in b.items()}, rel=1e-4)


def _scored(rows: list[tuple[str, str, str, float]]) -> list[dict]:
    return [{"set": s, "kind": k, "type": t, "rouge_l_recall": r} for s, k, t, r in rows]


def test_stat_scales_mean_and_counts():
    assert stat([0.5, 1.0]) == {"value": 75.0, "n": 2}
    assert stat([2.0], scale=1.0) == {"value": 2.0, "n": 1}
    assert math.isnan(stat([])["value"])


def test_summarize_probes_pools_all_and_splits_attack_types():
    """forget: fb [1, .5] -> 75; qa [0] -> 0; aa [1 role play, 0 affirmative] -> 50;
    all = (1 + .5 + 0 + 1 + 0) / 5 = 50 (count-weighted). neighbor fb [.25] -> 25, no qa key."""
    scored = _scored(
        [
            ("forget", "fb", "cloze", 1.0),
            ("forget", "fb", "cloze", 0.5),
            ("forget", "qa", "simple question", 0.0),
            ("forget", "aa", "role play", 1.0),
            ("forget", "aa", "affirmative suffix", 0.0),
            ("neighbor", "fb", "cloze", 0.25),
        ]
    )
    assert summarize_probes(scored) == {
        "forget/aa": {"value": 50.0, "n": 2},
        "forget/aa/affirmative_suffix": {"value": 0.0, "n": 1},
        "forget/aa/role_play": {"value": 100.0, "n": 1},
        "forget/all": {"value": 50.0, "n": 5},
        "forget/fb": {"value": 75.0, "n": 2},
        "forget/qa": {"value": 0.0, "n": 1},
        "neighbor/all": {"value": 25.0, "n": 1},
        "neighbor/fb": {"value": 25.0, "n": 1},
    }


def test_attack_type_keys_are_mlflow_safe():
    assert type_key("cross lingual (Spanish)") == "cross_lingual_spanish"
    assert type_key("affirmative suffix") == "affirmative_suffix"


def test_summary_all_is_pooled_not_the_mean_of_columns():
    """fb [1, 1, 1], qa [0]: pooled 3 / 4 = 75, whereas (100 + 0) / 2 would be 50."""
    scored = _scored([("neighbor", "fb", "cloze", 1.0)] * 3 + [("neighbor", "qa", "q", 0.0)])
    assert summarize_probes(scored)["neighbor/all"] == {"value": 75.0, "n": 4}
    assert summarize_probes([]) == {}


def test_score_probes_adds_prediction_and_recall_without_mutating(tiny_llm):
    probes = copy.deepcopy(PROBES)
    scored = score_probes(tiny_llm, probes, batch_size=4, max_new_tokens=4)
    assert probes == PROBES
    assert len(scored) == len(PROBES)
    for probe, row in zip(PROBES, scored, strict=True):
        assert set(row) == set(probe) | {"prediction", "rouge_l_recall"}
        assert {k: row[k] for k in probe} == probe
        assert isinstance(row["prediction"], str) and 0.0 <= row["rouge_l_recall"] <= 1.0
    again = score_probes(tiny_llm, PROBES, batch_size=1, max_new_tokens=4)
    assert [r["prediction"] for r in again] == [r["prediction"] for r in scored]
    summary = summarize_probes(scored)
    assert summary["forget/all"]["n"] == 5 and summary["neighbor/qa"]["n"] == 1
    assert "forget/aa/incontext_learning" in summary


FORGET = [
    "Stephen King is an American author of horror and suspense novels.",
    "He wrote novels, poems and plays, and founded an institute in 1962.",
    "Carrie was his first novel.",
]
RETAIN = ["The quick brown fox jumps over the lazy dog.", "Please answer.", "a"]


def test_score_mia_keys_counts_and_ranges(tiny_llm):
    out = score_mia(tiny_llm, FORGET, RETAIN, ratios=(0.2, 0.5), batch_size=2)
    attacks = ["loss", "zlib", "mink_0.2", "mink_0.5", "minkpp_0.2", "minkpp_0.5"]
    expected = {f"mia/{side}_{a}" for a in attacks for side in ("fm", "rm", "auc")}
    assert set(out) == expected
    assert out["mia/fm_loss"]["n"] == 3
    assert out["mia/rm_loss"]["n"] == 2  # "a" is one token: nothing to predict, skipped
    assert out["mia/auc_loss"]["n"] == 5
    assert all(0.0 <= out[f"mia/auc_{a}"]["value"] <= 1.0 for a in attacks)
    assert out["mia/fm_loss"]["value"] > 0  # 100 x mean NLL
    assert out["mia/fm_mink_0.2"]["value"] <= out["mia/fm_mink_0.5"]["value"]
    assert _same_scores(score_mia(tiny_llm, FORGET, RETAIN, (0.2, 0.5), batch_size=1), out)


def _utility_items() -> dict[str, list[dict]]:
    example = {"question": "1+1?", "subject": "math", "choices": ["1", "2", "3", "4"], "answer": 1}
    mmlu = {
        "task": "elementary_mathematics",
        "question": "2+2?",
        "choices": ["4", "5", "6", "7"],
        "answer": 0,
        "examples": [example],
    }
    bbh = {
        "task": "boolean_expressions",
        "question": "not True is",
        "answer": "False",
        "cot": "Evaluate.\n\nQ: True and True is\nA: So the answer is True.",
    }
    truthful = {
        "question": "Who was Bernie?",
        "mc1_targets": {"choices": ["Madoff.", "Sanders."], "labels": [1, 0]},
        "mc2_targets": {"choices": ["Madoff.", "Bernie Madoff.", "Sanders."], "labels": [1, 1, 0]},
    }
    return {
        "retain_mmlu": [mmlu, mmlu | {"answer": 2}, mmlu],
        "retain_bbh": [bbh, bbh],
        "truthful": [truthful],
        "triviaqa": [{"question": "Flight in the Hudson?", "answers": ["Flight 1549", "US 1549"]}],
        "fluency": [{"instruction": "Describe a fox."}],
        "general_text": [{"text": "The quick brown fox jumps."}, {"text": "Please answer."}],
    }


def test_score_utility_keys_counts_ranges_and_limits(tiny_llm):
    items = _utility_items()
    out = score_utility(
        tiny_llm, items, limits={"retain_mmlu": 2}, batch_size=2, max_new_tokens_long=4
    )
    assert set(out) == {
        "utility/mmlu",
        "utility/bbh",
        "utility/bbh_quirk",
        "utility/truthfulqa_mc1",
        "utility/truthfulqa_mc2",
        "utility/triviaqa_f1",
        "utility/triviaqa_em",
        "utility/fluency",
        "utility/perplexity",
    }
    assert out["utility/mmlu"]["n"] == 2 and out["utility/bbh"]["n"] == 2
    for key, score in out.items():
        if key != "utility/perplexity":
            assert 0.0 <= score["value"] <= 100.0 * (1 if key != "utility/fluency" else 20)
    assert out["utility/perplexity"]["value"] > 1.0
    again = score_utility(
        tiny_llm, items, limits={"retain_mmlu": 2}, batch_size=1, max_new_tokens_long=4
    )
    assert _same_scores(again, out)


def test_score_utility_skips_absent_or_empty_sets(tiny_llm):
    items = {"truthful": _utility_items()["truthful"], "triviaqa": []}
    out = score_utility(tiny_llm, items, batch_size=2)
    assert set(out) == {"utility/truthfulqa_mc1", "utility/truthfulqa_mc2"}
    assert score_utility(tiny_llm, {}) == {}


def test_shared_prefixes_leave_every_utility_score_unchanged_and_show_progress(lively_llm):
    items = _utility_items()
    items["truthful"] *= 2  # two questions under one primer: choices and questions share it
    ends = []
    shared = score_utility(
        lively_llm,
        items,
        batch_size=2,
        max_new_tokens_long=6,
        on_batch=lambda done, total: ends.append(total) if done == total else None,
    )
    whole = score_utility(
        lively_llm, items, batch_size=2, max_new_tokens_long=6, share_prefixes=False
    )
    assert _same_scores(shared, whole)
    sizes = {"retain_mmlu": 3, "retain_bbh": 2, "truthful": 2, "triviaqa": 1, "fluency": 1}
    assert ends == [*sizes.values(), 2]  # every set, in rows (general text last), finishes
