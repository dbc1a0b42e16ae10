"""RWKU tables: one typed table per job, built from a `TargetFiles`."""

import logging
from pathlib import Path

import pandas as pd
import pytest
from rwku_folders import find, valid_contents, write_target

from atu_pipeline.data import rwku


def test_probe_table_has_one_row_per_probe_with_typed_columns(official):
    probes = rwku.probe_table(find(official))
    assert list(probes.columns) == list(rwku.PROBE_COLUMNS)
    assert len(probes) == 10
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
