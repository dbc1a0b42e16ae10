"""RWKU reading: target resolution, both folder layouts, the hub path and every format error.

Every fixture is a tiny per-target folder written here, in tmp_path, with the field names and value
types of RWKU's published files (shared/reference/rwku.md §3).
"""

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from atu_pipeline import rwku
from atu_pipeline.rwku import RwkuFormatError, RwkuHubError, RwkuTargetError


def _probe(name: str, level: int, i: int, neighbor: str | None = None) -> dict:
    query = f"{name} fact {i} is ___" if level == 1 else f"What is fact {i} of {name}?"
    kind = {1: "cloze", 2: "simple question", 3: "prefix injection"}[level]
    record = {"query": query, "answer": f"a{i}", "level": str(level), "type": kind, "subject": name}
    return record if neighbor is None else {**record, "neighbor": neighbor}


def target_files(name: str, with_subject: bool = True) -> dict[str, object]:
    """One valid target: every required file, the utility files and a passage file."""
    utility_subject = {"subject": name} if with_subject else {}
    return {
        "intro": {"target": name, "intro": f"Please forget {name}. {name} is famous."},
        **{f"forget_level{n}": [_probe(name, n, i) for i in range(2)] for n in (1, 2, 3)},
        **{
            f"neighbor_level{n}": [_probe(name, n, i, "Some Film") for i in range(2)]
            for n in (1, 2)
        },
        "forget_mia": [{"text": f"{name} text {i}", "ngram": 3, "subject": name} for i in range(2)],
        "retain_mia": [{"text": f"other text {i}", "ngram": 3, "subject": name} for i in range(2)],
        "positive_phi": [
            {"id": f"{name} {i}", "text": f"{name} bio {i}", "subject": name, "intro": "x"}
            for i in range(3)
        ],
        "passage": [{"text": f"{name} passage", "subject": name}],
        "retain_mmlu": [
            {
                "task": "high_school_mathematics",
                "question": "1+1?",
                "choices": ["1", "2", "3", "4"],
                "answer": 1,
                "examples": [],
                **utility_subject,
            }
        ],
        "retain_bbh": [
            {"task": "word_sorting", "question": "Sort: b a", "answer": "a b", "cot": "Q: ..."}
            | utility_subject
        ],
        "truthful": [
            {
                "question": "Is the sky green?",
                "mc1_targets": {"choices": ["No.", "Yes."], "labels": [1, 0]},
                "mc2_targets": {"choices": ["No.", "Yes."], "labels": [1, 0]},
                **utility_subject,
            }
        ],
        "triviaqa": [{"question": "Capital of France?", "answers": ["Paris"], **utility_subject}],
        "fluency": [{"instruction": "Write a haiku.", **utility_subject}],
    }


def write_target(base: Path, target_id: str, name: str | None = None, **changes) -> Path:
    """Write one target folder under `base`; `stem=None` leaves a file out, str/bytes are raw."""
    name = name or rwku.name_from_id(target_id)
    folder = base / target_id
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in {**target_files(name), **changes}.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (folder / f"{stem}.json").write_bytes(content)
            continue
        text = content if isinstance(content, str) else json.dumps(content, indent=4)
        (folder / f"{stem}.json").write_text(text, encoding="utf-8")
    return folder


def find(root: Path, target: str = "1", **overrides) -> dict:
    settings = dict(
        source="local",
        root=str(root),
        hub_id="jinzhuoran/RWKU",
        forget_corpus="positive_phi",
        other_targets=2,
    )
    return rwku.find_target(target, **{**settings, **overrides})


def read_everything(manifest: dict) -> None:
    rwku.probe_table(manifest)
    rwku.mia_table(manifest)
    rwku.utility_items(manifest)
    rwku.forget_corpus_table(manifest)
    rwku.retain_corpus_table(manifest)
    rwku.injection_table(manifest)


@pytest.fixture
def official(tmp_path: Path) -> Path:
    """The official layout `<root>/Target/<id>/` with three targets."""
    for target_id in ("1_Stephen_King", "2_Confucius", "3_Bruce_Lee"):
        write_target(tmp_path / "Target", target_id)
    return tmp_path


# --- tables ---------------------------------------------------------------------------------


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
    manifest = find(official, "2")
    assert rwku.target_info(manifest) == {
        "id": "2_Confucius",
        "name": "Confucius",
        "intro": "Please forget Confucius. Confucius is famous.",
        "source": "local",
    }
    mia = rwku.mia_table(manifest)
    assert list(mia.columns) == ["split", "text", "subject"]
    assert mia["split"].tolist() == ["forget", "forget", "retain", "retain"]
    corpus = rwku.forget_corpus_table(manifest)
    assert list(corpus.columns) == ["subject", "text"]
    assert corpus["text"].tolist() == ["Confucius bio 0", "Confucius bio 1", "Confucius bio 2"]


def test_retain_corpus_takes_the_next_ids_and_wraps_around(official):
    retain = rwku.retain_corpus_table(find(official, "2_Confucius", other_targets=2))
    assert retain["subject"].unique().tolist() == ["Bruce Lee", "Stephen King"]
    assert len(retain) == 6


def test_retain_corpus_warns_when_too_few_targets(official, caplog):
    with caplog.at_level(logging.WARNING):
        manifest = find(official, "3", other_targets=5)
    assert list(manifest["retain"]) == ["1_Stephen_King", "2_Confucius"]
    assert "only 2 other targets" in caplog.text


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


def test_injection_files_of_every_person_are_used_when_present(tmp_path):
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
def test_utility_files_with_and_without_subject(tmp_path, with_subject):
    files = target_files("Stephen King", with_subject=with_subject)
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


def test_optional_files_may_be_absent(tmp_path, caplog):
    absent = dict.fromkeys(
        ["retain_mmlu", "retain_bbh", "truthful", "triviaqa", "fluency", "passage"]
    )
    write_target(tmp_path, "1_Stephen_King", **absent)
    with caplog.at_level(logging.WARNING):
        manifest = find(tmp_path)
    assert "retain_bbh.json is absent" in caplog.text
    assert all(items == [] for items in rwku.utility_items(manifest).values())
    assert set(rwku.injection_table(manifest)["kind"]) == {"fb", "qa"}


def test_intro_may_be_a_list_of_rows(tmp_path):
    write_target(tmp_path, "1_Stephen_King", intro=[{"target": "Stephen King", "intro": "Hi."}])
    assert rwku.target_info(find(tmp_path))["intro"] == "Hi."


# --- target resolution ----------------------------------------------------------------------


ODD_IDS = ["10_Prince_Harry,_Duke_of_Sussex", "24_Beyoncé", "87_Robert_Downey_Jr."]


@pytest.mark.parametrize("layout", ["official", "flat"])
@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("10_Prince_Harry,_Duke_of_Sussex", ODD_IDS[0]),
        ("10", ODD_IDS[0]),
        ("Prince Harry, Duke of Sussex", ODD_IDS[0]),
        ("24", ODD_IDS[1]),
        ("beyoncé", ODD_IDS[1]),
        ("87_Robert_Downey_Jr.", ODD_IDS[2]),
        ("Robert Downey Jr.", ODD_IDS[2]),
        ("Bobby D", ODD_IDS[2]),  # only the intro's `target` says so
    ],
)
def test_target_resolves_by_id_number_or_name(tmp_path, layout, wanted, expected):
    base = tmp_path / "Target" if layout == "official" else tmp_path
    for target_id in ODD_IDS:
        name = "Bobby D" if target_id.startswith("87") else None
        write_target(base, target_id, name=name)
    assert find(tmp_path, wanted)["id"] == expected


def test_unknown_target_lists_ids_and_where_it_looked(official):
    with pytest.raises(RwkuTargetError, match="Unknown RWKU target 'Nobody'") as err:
        find(official, "Nobody")
    assert "1_Stephen_King, 2_Confucius, 3_Bruce_Lee" in str(err.value)
    assert str(official / "Target") in str(err.value)


def test_empty_root_says_what_layout_it_expected(tmp_path):
    with pytest.raises(RwkuTargetError, match="No RWKU target folders found"):
        find(tmp_path / "missing")


# --- format errors ---------------------------------------------------------------------------


def _bad_level1() -> list[dict]:
    records = [_probe("Stephen King", 1, i) for i in range(3)]
    records[2]["level"] = 1
    return records


def _without(stem: str, index: int, field: str) -> list[dict]:
    records = target_files("Stephen King")[stem]
    del records[index][field]
    return records


def _with(stem: str, index: int, field: str, value) -> list[dict]:
    records = target_files("Stephen King")[stem]
    records[index][field] = value
    return records


BAD_FILES = {
    "malformed JSON": (
        "forget_level2",
        '[\n    {"query": "q", "answer": "a",,}\n]',
        r"malformed JSON at line 2, column 34",
    ),
    "array expected": ("forget_mia", {"text": "t"}, r"expected a JSON array .* found object"),
    "record not an object": ("retain_mia", ["just text"], r"record 0: expected a JSON object"),
    "missing field": (
        "neighbor_level1",
        _without("neighbor_level1", 1, "neighbor"),
        r"record 1, field 'neighbor': expected a string, found no such field",
    ),
    "level as int": (
        "forget_level1",
        _bad_level1(),
        r"record 2, field 'level': expected the string \"1\" .* found integer 1",
    ),
    "level of another file": (
        "forget_level3",
        _with("forget_level3", 0, "level", "2"),
        r"record 0, field 'level': expected the string \"3\" .* found string \"2\"",
    ),
    "ngram as string": (
        "forget_mia",
        _with("forget_mia", 1, "ngram", "3"),
        r"record 1, field 'ngram': expected an integer, found string \"3\"",
    ),
    "ngram as bool": (
        "retain_mia",
        _with("retain_mia", 0, "ngram", True),
        r"record 0, field 'ngram': expected an integer, found boolean true",
    ),
    "answer as list": (
        "forget_level2",
        _with("forget_level2", 1, "answer", ["a", "b"]),
        r"record 1, field 'answer': expected a string, found array",
    ),
    "answer null": (
        "forget_level1",
        _with("forget_level1", 0, "answer", None),
        r"record 0, field 'answer': expected a string, found null",
    ),
    "empty probe set": (
        "neighbor_level2",
        [],
        r"expected at least one record, found an empty array",
    ),
    "mmlu answer out of range": (
        "retain_mmlu",
        _with("retain_mmlu", 0, "answer", 4),
        r"record 0, field 'answer': expected an integer 0-3, found integer 4",
    ),
    "mmlu three choices": (
        "retain_mmlu",
        _with("retain_mmlu", 0, "choices", ["1", "2", "3"]),
        r"record 0, field 'choices': expected an array of 4 strings",
    ),
    "truthful labels": (
        "truthful",
        _with("truthful", 0, "mc2_targets", {"choices": ["a", "b"], "labels": [1, 2]}),
        r"record 0, field 'mc2_targets.labels': expected an array of 0/1 integers",
    ),
    "truthful targets not an object": (
        "truthful",
        _with("truthful", 0, "mc1_targets", ["a"]),
        r"record 0, field 'mc1_targets': expected an object, found array",
    ),
    "triviaqa answers": (
        "triviaqa",
        _with("triviaqa", 0, "answers", "Paris"),
        r"record 0, field 'answers': expected an array of strings",
    ),
    "intro without target": ("intro", {"intro": "hi"}, r"record 0, field 'target'"),
    "corpus without text": (
        "positive_phi",
        [{"id": "x", "subject": "Stephen King"}],
        r"record 0, field 'text': expected a string, found no such field",
    ),
    "empty forget corpus": ("positive_phi", [], r"expected at least one record"),
    "not UTF-8": ("fluency", b'[{"instruction": "\xff"}]', r"not UTF-8"),
}


@pytest.mark.parametrize(("stem", "content", "message"), BAD_FILES.values(), ids=list(BAD_FILES))
def test_bad_file_names_file_record_and_field(tmp_path, stem, content, message):
    folder = write_target(tmp_path, "1_Stephen_King", **{stem: content})
    with pytest.raises(RwkuFormatError, match=f"{stem}.json") as err:
        read_everything(find(tmp_path))
    assert str(err.value).startswith(f"{folder / stem}.json: ")
    assert err.match(message)


@pytest.mark.parametrize("stem", [*rwku.REQUIRED_STEMS, "positive_phi"])
def test_missing_required_file(tmp_path, stem):
    folder = write_target(tmp_path, "1_Stephen_King", **{stem: None})
    with pytest.raises(RwkuFormatError, match=f"{stem}.json: required file is missing"):
        find(tmp_path)
    assert not (folder / f"{stem}.json").exists()


def test_format_error_is_a_value_error():
    assert issubclass(RwkuFormatError, ValueError)


# --- hub ---------------------------------------------------------------------------------------


class FakeHub:
    """Stands in for huggingface_hub: lists and 'downloads' files from a local mirror."""

    def __init__(self, mirror: Path):
        self.mirror = mirror
        self.downloads: list[str] = []

    def list_repo_files(self, repo_id, repo_type=None):
        assert (repo_id, repo_type) == ("jinzhuoran/RWKU", "dataset")
        return ["README.md", "All/intro.json"] + [
            p.relative_to(self.mirror).as_posix() for p in self.mirror.rglob("*.json")
        ]

    def hf_hub_download(self, repo_id, filename, repo_type=None):
        assert (repo_id, repo_type) == ("jinzhuoran/RWKU", "dataset")
        self.downloads.append(filename)
        return str(self.mirror / filename)


@pytest.fixture
def fake_hub(official, monkeypatch) -> FakeHub:
    import huggingface_hub

    hub = FakeHub(official)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: hub)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub.hf_hub_download)
    return hub


def test_hub_downloads_only_the_files_it_reads(fake_hub):
    manifest = find(Path("unused"), "Bruce Lee", source="hub", other_targets=1)
    read_everything(manifest)
    assert manifest["id"] == "3_Bruce_Lee"
    assert "Target/3_Bruce_Lee/forget_level3.json" in fake_hub.downloads
    assert "Target/1_Stephen_King/positive_phi.json" in fake_hub.downloads  # the retain corpus
    assert "Target/1_Stephen_King/intro.json" not in fake_hub.downloads
    assert not any("negative" in name for name in fake_hub.downloads)


def test_hub_missing_file_names_its_hub_path(fake_hub, official):
    (official / "Target" / "1_Stephen_King" / "retain_mia.json").unlink()
    with pytest.raises(
        RwkuFormatError, match="hf://datasets/jinzhuoran/RWKU/Target/1_Stephen_King/retain_mia.json"
    ):
        find(Path("unused"), "1", source="hub")


def test_unreachable_hub_suggests_a_local_source(monkeypatch):
    import huggingface_hub

    class Offline:
        def list_repo_files(self, repo_id, repo_type=None):
            raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    with pytest.raises(RwkuHubError, match="rwku.source=local"):
        find(Path("unused"), "1", source="hub")
