"""RWKU tables: one typed table per job, built from a `TargetFiles`."""

import logging
from pathlib import Path

import pandas as pd
import pytest
from rwku_folders import find, valid_contents, write_target

from atu_pipeline.data import rwku


def test_probe_table_has_one_row_per_probe_with_typed_columns(official):
    probes = rwku.probe_table(find(official), test_share=0.5, seed=0)
    assert list(probes.columns) == [*rwku.PROBE_COLUMNS, "split"]
    assert len(probes) == 10
    assert set(probes["split"]) == {"val", "test"}
    assert probes["level"].dtype == "int64"
    assert all(pd.api.types.is_string_dtype(probes[c]) for c in probes.columns if c != "level")
    forget = probes[probes["set"] == "forget"]
    assert sorted(set(zip(forget["level"], forget["kind"], strict=True))) == [
        (1, "fb"),
        (2, "qa"),
        (3, "aa"),
    ]
    assert (forget["neighbor"] == "").all()
    assert (probes.loc[probes["set"] == "neighbor", "neighbor"] == "Some Film").all()


def test_target_info_mia_and_forget_corpus(official):
    target = find(official, "2")
    assert rwku.target_info(target) == {
        "id": "2_Confucius",
        "name": "Confucius",
        "intro": "Please forget Confucius. Confucius is famous.",
        "source": "local",
    }
    mia = rwku.mia_table(target)
    assert list(mia.columns) == ["split", "text", "subject"]
    assert mia["split"].tolist() == ["forget", "forget", "retain", "retain"]
    corpus = rwku.forget_corpus_table(target)
    assert list(corpus.columns) == ["subject", "text"]
    assert corpus["text"].tolist() == ["Confucius bio 0", "Confucius bio 1", "Confucius bio 2"]


def test_retain_corpus_takes_the_next_ids_and_wraps_around(official):
    retain = rwku.retain_corpus_table(find(official, "2_Confucius", other_targets=2))
    assert retain["subject"].unique().tolist() == ["Bruce Lee", "Stephen King"]
    assert len(retain) == 6


def test_retain_corpus_reads_only_the_other_targets_corpus(official):
    (official / "Target" / "2_Confucius" / "forget_level1.json").write_text("{broken")
    retain = rwku.retain_corpus_table(find(official, "1", other_targets=1))
    assert set(retain["subject"]) == {"Confucius"}


def test_injection_corpus_from_probes_and_passages(official):
    injection = rwku.injection_table(find(official))
    assert list(injection.columns) == list(rwku.INJECTION_COLUMNS)
    assert injection["kind"].value_counts().to_dict() == {"fb": 4, "qa": 4, "text": 1}
    fb = injection[injection["kind"] == "fb"].iloc[0]
    assert fb["text"] == "Stephen King fact 0 is a0"
    # neighbor facts belong to the forget target, as RWKU labels them
    assert set(injection["subject"]) == {"Stephen King"}


def test_injection_files_of_every_person_are_used_when_present(tmp_path: Path):
    for target_id in ("1_Ann_Lee", "2_Bo_Ray"):
        name = rwku.name_from_id(target_id)
        items = [
            {"kind": "qa", "query": f"Who is {name}?", "answer": "a cook", "text": "x"},
            {"kind": "text", "query": "", "answer": "", "text": f"{name} cooks.", "subject": name},
        ]
        write_target(tmp_path, target_id, injection=items)
    injection = rwku.injection_table(find(tmp_path, "Ann Lee"))
    assert len(injection) == 4
    assert injection["subject"].tolist() == ["Ann Lee", "Ann Lee", "Bo Ray", "Bo Ray"]


@pytest.mark.parametrize("with_subject", [True, False])
def test_utility_files_with_and_without_subject(tmp_path: Path, with_subject):
    files = valid_contents("Stephen King", with_subject=with_subject)
    write_target(
        tmp_path,
        "1_Stephen_King",
        **{k: files[k] for k in rwku.UTILITY_STEMS.values() if k in files},
    )
    items = rwku.utility_items(find(tmp_path))
    assert {k: len(v) for k, v in items.items()} == {
        "mmlu": 1,
        "bbh": 1,
        "truthfulqa": 1,
        "triviaqa": 1,
        "fluency": 1,
        "general_text": 0,
    }
    assert ("subject" in items["mmlu"][0]) is with_subject
    assert items["truthfulqa"][0]["mc1_targets"]["labels"] == [1, 0]


def test_optional_files_may_be_absent(tmp_path: Path, caplog):
    absent = dict.fromkeys(
        ["retain_mmlu", "retain_bbh", "truthful", "triviaqa", "fluency", "passage"]
    )
    write_target(tmp_path, "1_Stephen_King", **absent)
    with caplog.at_level(logging.WARNING):
        target = find(tmp_path)
    assert "retain_bbh.json is absent" in caplog.text
    assert all(items == [] for items in rwku.utility_items(target).values())
    assert set(rwku.injection_table(target)["kind"]) == {"fb", "qa"}


def test_intro_may_be_a_list_of_rows(tmp_path: Path):
    write_target(tmp_path, "1_Stephen_King", intro=[{"target": "Stephen King", "intro": "Hi."}])
    assert rwku.target_info(find(tmp_path))["intro"] == "Hi."


def test_fill_blank_puts_the_answer_in_the_gap_or_after_the_query():
    assert rwku.fill_blank("King was born in ___ Maine.", "Portland,") == (
        "King was born in Portland, Maine."
    )
    assert rwku.fill_blank("King was born in", "Portland") == "King was born in Portland"


def _facts(subject: str, facts: dict[str, int], probe_set: str = "forget") -> pd.DataFrame:
    rows = [
        {"set": probe_set, "subject": subject, "fact": fact, "query": f"{fact} {i}?"}
        for fact, count in facts.items()
        for i in range(count)
    ]
    return pd.DataFrame(rows)


def test_split_keeps_every_probe_of_a_fact_on_one_side_and_halves_the_facts():
    probes = _facts("A", {f"fact{i}": 3 for i in range(10)})
    split = rwku.split_probes(probes, test_share=0.5, seed=0)
    assert split.groupby("fact")["split"].nunique().eq(1).all()
    assert split.groupby("split")["fact"].nunique().to_dict() == {"test": 5, "val": 5}


def test_split_is_stable_when_other_subjects_or_sets_join_and_changes_with_the_seed():
    alone = rwku.split_probes(_facts("A", {f"f{i}": 2 for i in range(8)}), 0.5, seed=0)
    others = pd.concat(
        [
            _facts("A", {f"f{i}": 2 for i in range(8)}),
            _facts("B", {"x": 1, "y": 1}),
            _facts("A", {"n1": 1, "n2": 1}, "neighbor"),
        ],
        ignore_index=True,
    )
    together = rwku.split_probes(others, 0.5, seed=0)
    assert together["split"].iloc[: len(alone)].tolist() == alone["split"].tolist()
    assert set(together.loc[together["set"] == "neighbor", "split"]) == {"val", "test"}
    reseeded = rwku.split_probes(_facts("A", {f"f{i}": 2 for i in range(8)}), 0.5, seed=1)
    assert reseeded["split"].tolist() != alone["split"].tolist()


def test_probes_without_a_fact_key_are_split_one_by_one():
    probes = _facts("A", {"": 6})
    probes["query"] = [f"question {i}?" for i in range(6)]
    split = rwku.split_probes(probes, test_share=0.5, seed=0)
    assert split["split"].value_counts().to_dict() == {"val": 3, "test": 3}


def test_retain_probes_are_the_other_targets_forget_probes(official):
    target = find(official, "2")
    retain = rwku.retain_probe_table(target, test_share=0.5, seed=0)
    assert set(retain["set"]) == {"retain"} and set(retain["kind"]) == {"fb", "qa"}
    others = {rwku.name_from_id(other) for other in target.retain}
    assert set(retain["subject"]) <= others | {"Stephen King", "Bruce Lee"}
    assert "Confucius" not in set(retain["subject"])


def test_injection_from_rwku_probes_names_the_probe_file_each_row_repeats(official):
    injection = rwku.injection_table(find(official))
    taught = injection[injection["kind"] != "text"]
    assert taught["origin"].str.endswith(("_level1.json", "_level2.json")).all()
    assert (injection.loc[injection["kind"] == "text", "origin"] == "").all()
