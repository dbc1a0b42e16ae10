"""The RWKU record schemas (shared/reference/rwku.md §3) and the one reader that checks them.

A bad file raises `RwkuFormatError`, and the message names the file, the record and the field.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REQUIRED_STEMS = (
    "intro",
    "forget_level1",
    "forget_level2",
    "forget_level3",
    "neighbor_level1",
    "neighbor_level2",
    "forget_mia",
    "retain_mia",
)
OPTIONAL_STEMS = (
    "retain_mmlu",
    "retain_bbh",
    "truthful",
    "triviaqa",
    "fluency",
    "passage",
    "general_text",
    "injection",
)
OUR_STEMS = ("general_text", "injection")  # not RWKU files: the demo world adds them
UTILITY_STEMS = {
    "mmlu": "retain_mmlu",
    "bbh": "retain_bbh",
    "truthfulqa": "truthful",
    "triviaqa": "triviaqa",
    "fluency": "fluency",
    "general_text": "general_text",
}
PROBE_STEMS = {  # file -> (probe set, level)
    "forget_level1": ("forget", 1),
    "forget_level2": ("forget", 2),
    "forget_level3": ("forget", 3),
    "neighbor_level1": ("neighbor", 1),
    "neighbor_level2": ("neighbor", 2),
}
# An empty probe or MIA set would silently turn a score into NaN downstream.
NON_EMPTY = {*PROBE_STEMS, "intro", "forget_mia", "retain_mia"}


class RwkuFormatError(ValueError):
    """An RWKU file is missing or does not match the published schema."""


class RwkuTargetError(LookupError):
    """The requested target is not among those the source holds."""


class RwkuHubError(ConnectionError):
    """The Hugging Face hub could not be reached or refused a request."""


@dataclass(frozen=True)
class Rule:
    """What one field must hold."""

    expected: str  # in words, for the error message
    ok: Callable[[Any], bool]
    required: bool = True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not an int


def _is_str_list(value: Any, length: int | None = None) -> bool:
    return (
        isinstance(value, list)
        and all(isinstance(item, str) for item in value)
        and (length is None or len(value) == length)
    )


def _level(n: int) -> Rule:
    # RWKU stores the level as a string and the evaluation compares it as one.
    return Rule(f'the string "{n}" (the level of this file)', lambda v: v == str(n))


def _optional(rule: Rule) -> Rule:
    return replace(rule, required=False)


STR = Rule("a string", lambda v: isinstance(v, str))
INT = Rule("an integer", _is_int)
LIST = Rule("an array", lambda v: isinstance(v, list))
STR_LIST = Rule("an array of strings", _is_str_list)
_MC_TARGETS = {
    "choices": STR_LIST,
    "labels": Rule(
        "an array of 0/1 integers",
        lambda v: isinstance(v, list) and all(_is_int(x) and x in (0, 1) for x in v),
    ),
}
_PROBE = {"query": STR, "answer": STR, "type": STR, "subject": STR}
_UTILITY_SUBJECT = {"subject": _optional(STR)}  # the official rows have it, older copies do not

# A nested dict is an object field with its own schema.
Schema = dict[str, "Rule | Schema"]
SCHEMAS: dict[str, Schema] = {
    "intro": {"target": STR, "intro": _optional(STR)},  # early hub revisions held only `target`
    **{f"forget_level{n}": {**_PROBE, "level": _level(n)} for n in (1, 2, 3)},
    **{f"neighbor_level{n}": {**_PROBE, "level": _level(n), "neighbor": STR} for n in (1, 2)},
    "forget_mia": {"text": STR, "ngram": INT, "subject": STR},
    "retain_mia": {"text": STR, "ngram": INT, "subject": STR},
    "retain_mmlu": {
        "question": STR,
        "choices": Rule("an array of 4 strings", lambda v: _is_str_list(v, 4)),
        "answer": Rule("an integer 0-3", lambda v: _is_int(v) and 0 <= v <= 3),
        "task": _optional(STR),
        "examples": _optional(LIST),
        **_UTILITY_SUBJECT,
    },
    "retain_bbh": {
        "question": STR,
        "answer": STR,
        "task": _optional(STR),
        "cot": _optional(STR),
        **_UTILITY_SUBJECT,
    },
    "truthful": {
        "question": STR,
        "mc1_targets": _MC_TARGETS,
        "mc2_targets": _MC_TARGETS,
        **_UTILITY_SUBJECT,
    },
    "triviaqa": {"question": STR, "answers": STR_LIST, **_UTILITY_SUBJECT},
    "fluency": {"instruction": STR, **_UTILITY_SUBJECT},
    "general_text": {"text": STR},
    "injection": {
        "kind": Rule('one of "text", "fb", "qa"', lambda v: v in ("text", "fb", "qa")),
        "query": STR,
        "answer": STR,
        "text": STR,
        "subject": _optional(STR),
    },
}
# passage, positive(_phi), negative(_phi): any file whose records carry a text is a corpus.
CORPUS_SCHEMA: Schema = {"text": STR, "subject": _optional(STR)}

_JSON_TYPES = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
    type(None): "null",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{_json_type(value)} {text}"


def _check_record(record: dict, schema: Schema, where: str, prefix: str = "") -> None:
    for name, rule in schema.items():
        field = prefix + name
        expected = "an object" if isinstance(rule, dict) else rule.expected
        if name not in record:
            if isinstance(rule, dict) or rule.required:
                raise RwkuFormatError(
                    f"{where}, field '{field}': expected {expected}, found no such field"
                )
            continue
        value = record[name]
        if isinstance(rule, dict) and isinstance(value, dict):
            _check_record(value, rule, where, prefix=f"{field}.")
        elif isinstance(rule, dict) or not rule.ok(value):
            raise RwkuFormatError(
                f"{where}, field '{field}': expected {expected}, found {_show(value)}"
            )


def _load_json(path: Path) -> Any:
    """The parsed file; a missing, non-UTF-8 or malformed file becomes an `RwkuFormatError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RwkuFormatError(f"{path}: required file is missing") from None
    except UnicodeDecodeError as err:
        raise RwkuFormatError(
            f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
        ) from None
    except json.JSONDecodeError as err:
        raise RwkuFormatError(
            f"{path}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None


def read_records(path: str | Path, stem: str) -> list[dict]:
    """Read one per-target file and check every record against the schema of `stem`.

    Args:
        path: the JSON file.
        stem: which RWKU file it is (`forget_level1`, ...); unknown stems are read as a corpus.

    Returns:
        The records, unchanged. `intro.json` may be one object; it comes back as a one-item list.
    """
    path = Path(path)
    data = _load_json(path)
    if stem == "intro" and isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise RwkuFormatError(
            f"{path}: expected a JSON array of records at the top level, found {_json_type(data)}"
        )
    if not data and stem in NON_EMPTY:
        raise RwkuFormatError(f"{path}: expected at least one record, found an empty array")
    schema = SCHEMAS.get(stem, CORPUS_SCHEMA)
    for index, record in enumerate(data):
        where = f"{path}: record {index}"
        if not isinstance(record, dict):
            raise RwkuFormatError(f"{where}: expected a JSON object, found {_show(record)}")
        _check_record(record, schema, where)
    return data
