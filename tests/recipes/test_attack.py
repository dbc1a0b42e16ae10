"""The attack nodes' data rules on the demo world, the missing-model message, and the report's
recovered share on hand-made scores (model-free: the end-to-end run is tests/test_attack_run.py)."""

import math
import re

import pandas as pd
import pytest

from atu_pipeline.core.attacks import mentions, sentences
from atu_pipeline.params import AttackParams, RwkuParams, WorldParams
from atu_pipeline.pipelines.ingest import nodes as ingest
from atu_pipeline.recipes.attack import check_unlearned_model, relearning_split
from atu_pipeline.reporting import attack_report as attack_reporting


def _attack(**changes) -> AttackParams:
    base = {"unlearned": "data/06_models/unlearned_llm", "relearn": {"train": {"lr": 1e-5}}}
    return AttackParams(**(base | changes))


@pytest.fixture(scope="module")
def demo_target(tmp_path_factory):
    world = WorldParams(root=str(tmp_path_factory.mktemp("world")), n_people=3)
    files = ingest.find_target_files("1", RwkuParams(), world)
    return (
        ingest.build_probes(files, RwkuParams()),
        ingest.build_forget_corpus(files, RwkuParams(), None, None),
        ingest.build_target_info(files),
    )


def test_relearning_text_states_no_scored_answer_and_scored_probes_are_held_out(demo_target):
    probes, corpus, info = demo_target
    texts, scored, data = relearning_split(probes, corpus, info, _attack())
    assert not any(mentions(text, scored["answer"]) for text in texts)  # disjoint, any case
    forget = scored[scored["set"] == "forget"]
    assert set(forget["answer"]) == set(data["held_out"]) and len(forget) > 5
    assert len(scored[scored["set"] == "neighbor"]) == (probes["set"] == "neighbor").sum()
    assert not any(info["name"] in answer for answer in data["held_out"])
    assert data["naming_the_target"] == [info["name"]]
    kept = sum(len(sentences(t)) for t in texts)
    assert 0.1 < kept / sum(len(sentences(t)) for t in corpus["text"]) < 0.9


def test_relearning_split_depends_on_the_seed(demo_target):
    probes, corpus, info = demo_target
    first = relearning_split(probes, corpus, info, _attack(seed=0))[2]["held_out"]
    assert first == relearning_split(probes, corpus, info, _attack(seed=0))[2]["held_out"]
    assert first != relearning_split(probes, corpus, info, _attack(seed=1))[2]["held_out"]


@pytest.mark.parametrize(
    "path, producer",
    [
        ("data/06_models/unlearned_llm", "unlearn"),
        ("data/06_models/ga/unlearned_llm", "baseline_ga"),
        ("data/06_models/npo/unlearned_llm", "baseline_npo"),
    ],
)
def test_missing_model_names_its_path_and_the_run_that_writes_it(tmp_path, path, producer):
    spec = str(tmp_path / path)
    with pytest.raises(
        FileNotFoundError, match=rf"{re.escape(spec)}.*kedro run --pipeline {producer}`"
    ):
        check_unlearned_model(_attack(unlearned=spec))
    assert check_unlearned_model(_attack(unlearned="org/some-model")) == "org/some-model"
    assert check_unlearned_model(_attack(unlearned="tiny:llm")) == "tiny:llm"


def test_group_size_and_formats_are_validated():
    with pytest.raises(ValueError, match="power of two"):
        _attack(group_size=48)
    with pytest.raises(ValueError):
        _attack(quantize=["int16"])
    with pytest.raises(ValueError, match="twice"):
        _attack(quantize=["int4", "int4"])
    with pytest.raises(ValueError, match="eval_every"):
        AttackParams(unlearned="x", relearn={"steps": 2, "eval_every": 5, "train": {"lr": 1e-5}})


def _scores(forget: float, neighbor: float = 50.0) -> dict:
    return {
        "forget/all": {"value": forget, "n": 10},
        "neighbor/all": {"value": neighbor, "n": 8},
        "forget/aa/role_play": {"value": forget, "n": 2},
    }


def test_recovered_share_is_the_returned_part_of_what_unlearning_removed():
    """Original 80, unlearned 20: int4 at 50 recovers (50 - 20) / (80 - 20) = 0.5."""
    quantization = {
        "original": {"fp": _scores(80), "int4": _scores(78)},
        "unlearned": {"fp": _scores(20), "int4": _scores(50)},
    }
    relearning = {
        "curves": {
            "original": [{"step": 0, "scores": _scores(80)}],
            "unlearned": [{"step": 0, "scores": _scores(20)}],
        }
    }
    lens = pd.DataFrame(
        {
            "model": ["original", "unlearned"],
            "probe": 0,
            "layer": 1,
            "rank": [0, 30],
            "prob": [0.5, 0.01],
        }
    )
    table = attack_reporting.attack_table(quantization, relearning, lens)
    share = table[(table["metric"] == "recovered_share") & (table["attack"] == "quantization")]
    assert share.set_index("setting")["value"].to_dict() == {"fp": 0.0, "int4": 0.5}
    assert "| int4 | 78.0 | 50.0 | 50.0 | 50.0 | 50 % |" in attack_reporting.quantization_markdown(
        quantization
    )
    assert math.isnan(attack_reporting.recovered_share(20, 20, 30))  # nothing was forgotten
    metrics = attack_reporting.mlflow_metrics(table, relearning)
    assert metrics["attack/quantization/unlearned/int4/recovered_share"] == [
        {"value": 0.5, "step": 0}
    ]
    assert metrics["attack/logit_lens/unlearned/median_rank"] == [{"value": 30.0, "step": 1}]
