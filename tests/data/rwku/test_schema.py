"""RWKU record schemas: every format error names the file, the record and the field."""

from pathlib import Path

import pytest
from rwku_folders import find, probe, read_everything, valid_contents, write_target

from atu_pipeline.data.rwku import RwkuFormatError, read_records


def _bad_level1() -> list[dict]:
    records = [probe("Stephen King", 1, i) for i in range(3)]
    records[2]["level"] = 1
    return records


def _without(stem: str, index: int, field: str) -> list[dict]:
    records = valid_contents("Stephen King")[stem]
    del records[index][field]
    return records


def _with(stem: str, index: int, field: str, value) -> list[dict]:
    records = valid_contents("Stephen King")[stem]
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
def test_bad_file_names_file_record_and_field(tmp_path: Path, stem, content, message):
    folder = write_target(tmp_path, "1_Stephen_King", **{stem: content})
    with pytest.raises(RwkuFormatError, match=f"{stem}.json") as err:
        read_everything(find(tmp_path))
    assert str(err.value).startswith(f"{folder / stem}.json: ")
    assert err.match(message)


def test_read_records_returns_the_records_unchanged(tmp_path: Path):
    folder = write_target(tmp_path, "1_Stephen_King")
    records = read_records(folder / "forget_mia.json", "forget_mia")
    assert records == valid_contents("Stephen King")["forget_mia"]
    assert read_records(folder / "intro.json", "intro")[0]["target"] == "Stephen King"


def test_format_error_is_a_value_error():
    assert issubclass(RwkuFormatError, ValueError)
