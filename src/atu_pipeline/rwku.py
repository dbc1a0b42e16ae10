"""RWKU per-target files: find one target, read and validate its JSON files, shape them into tables.

Three sources, one reader. `local` reads per-target folders (`<root>/<id>/`, or the official
`<root>/Target/<id>/`); `hub` downloads the same files from the HF dataset into the HF cache;
`demo` writes the fictitious world (atu_pipeline.world) to disk, then reads it like `local`.

Every file is checked against the schema RWKU publishes (shared/reference/rwku.md §3) while it is
read. A bad file raises `RwkuFormatError`, and the message names the file, the record and the field.
No kedro here: the ingest nodes are thin adapters over `find_target` and the `*_table` functions.
"""

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

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
KIND_OF_LEVEL = {1: "fb", 2: "qa", 3: "aa"}
# An empty probe or MIA set would silently turn a score into NaN downstream.
NON_EMPTY = {*PROBE_STEMS, "intro", "forget_mia", "retain_mia"}

PROBE_COLUMNS = {
    "set": "str",
    "level": "int64",
    "kind": "str",
    "type": "str",
    "query": "str",
    "answer": "str",
    "subject": "str",
    "neighbor": "str",
}
MIA_COLUMNS = {"split": "str", "text": "str", "subject": "str"}
CORPUS_COLUMNS = {"subject": "str", "text": "str"}
INJECTION_COLUMNS = {
    "kind": "str",
    "query": "str",
    "answer": "str",
    "text": "str",
    "subject": "str",
}


class RwkuFormatError(ValueError):
    """An RWKU file is missing or does not match the published schema."""


class RwkuTargetError(LookupError):
    """The requested target is not among those the source holds."""


class RwkuHubError(ConnectionError):
    """The Hugging Face hub could not be reached or refused a request."""


# ---------------------------------------------------------------------------------------------
# Record schemas


@dataclass(frozen=True)
class Rule:
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


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = json.dumps(value, ensure_ascii=False)
    text = text if len(text) <= 60 else text[:57] + "..."
    return f"{_JSON_TYPES.get(type(value), type(value).__name__)} {text}"


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


def read_records(path: str | Path, stem: str) -> list[dict]:
    """Read one per-target file and check every record against the schema of `stem`.

    Args:
        path: the JSON file.
        stem: which RWKU file it is (`forget_level1`, ...); unknown stems are read as a corpus.

    Returns:
        The records, unchanged. `intro.json` may be one object; it comes back as a one-item list.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
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
    if stem == "intro" and isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise RwkuFormatError(
            f"{path}: expected a JSON array of records at the top level, "
            f"found {_JSON_TYPES.get(type(data), type(data).__name__)}"
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


# ---------------------------------------------------------------------------------------------
# Sources and target resolution


def _number(target_id: str) -> int | None:
    match = re.match(r"(\d+)_", target_id)
    return int(match.group(1)) if match else None


def name_from_id(target_id: str) -> str:
    """`10_Prince_Harry,_Duke_of_Sussex` -> `Prince Harry, Duke of Sussex`."""
    return re.sub(r"^\d+_", "", target_id).replace("_", " ")


def _norm(text: str) -> str:
    # NFC: a folder name written on macOS may spell "é" as e + combining accent.
    text = unicodedata.normalize("NFC", text).replace("_", " ")
    return " ".join(text.split()).casefold()


def _id_order(target_id: str) -> tuple[int, str]:
    number = _number(target_id)
    return (number if number is not None else 10**9, target_id)


class _Folder:
    """Per-target folders on disk: `<root>/Target/<id>/` (official layout) or `<root>/<id>/`."""

    def __init__(self, root: str | Path, only: Iterable[str] | None = None):
        root = Path(root)
        self.base = root / "Target" if (root / "Target").is_dir() else root
        self.where = str(self.base)
        self._only = None if only is None else set(only)

    def ids(self) -> list[str]:
        if not self.base.is_dir():
            return []
        found = [
            p.name
            for p in self.base.iterdir()
            if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in ("All", "Batch")
        ]
        if self._only is not None:
            found = [i for i in found if i in self._only]
        return sorted(found, key=_id_order)

    def location(self, target_id: str, stem: str) -> str:
        return str(self.base / target_id / f"{stem}.json")

    def fetch(self, target_id: str, stem: str) -> Path | None:
        path = Path(self.location(target_id, stem))
        return path if path.is_file() else None

    def intro_name(self, target_id: str) -> str | None:
        try:
            return read_records(self.location(target_id, "intro"), "intro")[0]["target"]
        except RwkuFormatError:
            return None


def _hub_hint(hub_id: str, err: Exception) -> str:
    return (
        f"Could not reach the Hugging Face dataset '{hub_id}' ({type(err).__name__}: {err}). "
        "Without network access, download the per-target folders elsewhere and run with "
        "rwku.source=local and rwku.root=<folder holding Target/<id>/>."
    )


class _Hub:
    """The HF dataset's `Target/<id>/<stem>.json` files, downloaded on demand into the HF cache."""

    def __init__(self, hub_id: str):
        from huggingface_hub import HfApi  # imported late: the CLI starts faster without it

        self.hub_id = hub_id
        self.where = f"hf://datasets/{hub_id}/Target"
        try:
            files = HfApi().list_repo_files(hub_id, repo_type="dataset")
        except Exception as err:  # offline mode, DNS, HTTP, unknown repo: all end the same way
            raise RwkuHubError(_hub_hint(hub_id, err)) from err
        self._stems: dict[str, set[str]] = {}
        for name in files:
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "Target" and parts[2].endswith(".json"):
                self._stems.setdefault(parts[1], set()).add(parts[2].removesuffix(".json"))

    def ids(self) -> list[str]:
        return sorted(self._stems, key=_id_order)

    def location(self, target_id: str, stem: str) -> str:
        return f"{self.where}/{target_id}/{stem}.json"

    def fetch(self, target_id: str, stem: str) -> Path | None:
        if stem not in self._stems.get(target_id, ()):
            return None
        from huggingface_hub import hf_hub_download

        try:
            local = hf_hub_download(
                self.hub_id, f"Target/{target_id}/{stem}.json", repo_type="dataset"
            )
        except Exception as err:
            raise RwkuHubError(_hub_hint(self.hub_id, err)) from err
        return Path(local)

    def intro_name(self, target_id: str) -> str | None:
        return None  # one download per target just to match a name: ids and numbers suffice


def _resolve(wanted: str, ids: list[str], source: "_Folder | _Hub") -> str:
    if wanted in ids:
        return wanted
    key = _norm(wanted)
    if wanted.strip().isdigit():
        hits = [i for i in ids if _number(i) == int(wanted)]
    else:
        hits = [i for i in ids if _norm(i) == key or _norm(name_from_id(i)) == key]
        if not hits:
            hits = [i for i in ids if _norm(source.intro_name(i) or "") == key]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise RwkuTargetError(f"Target {wanted!r} is ambiguous in {source.where}: {hits}")
    if not ids:
        raise RwkuTargetError(
            f"No RWKU target folders found in {source.where} (expected <root>/<id>/ or "
            "<root>/Target/<id>/ holding intro.json, forget_level1.json, ...)"
        )
    examples = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    raise RwkuTargetError(
        f"Unknown RWKU target {wanted!r}: not an id, number or name among the {len(ids)} "
        f"targets in {source.where} (e.g. {examples})"
    )


def _write_demo(world: dict) -> _Folder:
    from atu_pipeline.world import generate_world, write_world

    people = generate_world(
        seed=world["seed"],
        n_people=world["n_people"],
        corpus_texts_per_person=world["corpus_texts_per_person"],
        utility_items=world["utility_items"],
    )
    written = write_world(people, Path(world["root"]))
    # Read only the people just written: a stale folder from an older world must not join in.
    return _Folder(world["root"], only={Path(p).parent.name for p in written})


def _other_corpora(
    source: "_Folder | _Hub", ids: list[str], target_id: str, stem: str, count: int
) -> dict[str, str]:
    """The next `count` ids after the target (wrapping around) that have a `stem` file."""
    start = ids.index(target_id)
    picked: dict[str, str] = {}
    for other in ids[start + 1 :] + ids[:start]:
        if len(picked) == count:
            break
        path = source.fetch(other, stem)
        if path is None:
            log.warning(
                "%s is absent; target %s does not join the retain corpus",
                source.location(other, stem),
                other,
            )
        else:
            picked[other] = str(path)
    if len(picked) < count:
        log.warning(
            "rwku.other_targets=%d, but only %d other targets in %s have %s.json",
            count,
            len(picked),
            source.where,
            stem,
        )
    return picked


def find_target(
    target: str | int,
    *,
    source: str,
    root: str,
    hub_id: str,
    forget_corpus: str,
    other_targets: int,
    world: dict | None = None,
) -> dict:
    """Locate one target's files (writing the demo world or downloading first when needed).

    Args:
        target: an id (`1_Stephen_King`), its number (`1`) or the person's name (`Stephen King`).
        source: `local`, `hub` or `demo`.
        root: the folder for `local`; hub_id: the HF dataset for `hub`;
        world: the `world` parameters for `demo` (its `root` is where the world is written).
        forget_corpus: the stem of the corpus file to unlearn (`positive_phi`).
        other_targets: how many other targets' corpora form the retain corpus.

    Returns:
        A JSON-able manifest: `id`, `name`, `intro`, `source`, `where`, `corpus` (stem),
        `files` ({stem: local path} of the target), `retain` ({id: corpus path}) and
        `injection` ({id: injection path} of every person when the source ships them, else {}).
    """
    if source == "local":
        store = _Folder(root)
    elif source == "hub":
        store = _Hub(hub_id)
    elif source == "demo":
        store = _write_demo(world or {})
    else:
        raise ValueError(f"rwku.source must be local, hub or demo; got {source!r}")
    ids = store.ids()
    target_id = _resolve(str(target), ids, store)
    files: dict[str, str] = {}
    for stem in (*REQUIRED_STEMS, forget_corpus):
        path = store.fetch(target_id, stem)
        if path is None:
            raise RwkuFormatError(
                f"{store.location(target_id, stem)}: required file is missing "
                f"(target {target_id}, source={source})"
            )
        files[stem] = str(path)
    for stem in OPTIONAL_STEMS:
        path = None if stem in files else store.fetch(target_id, stem)
        if path is not None:
            files[stem] = str(path)
        elif stem not in files:
            note = " (only the demo world ships it)" if stem in OUR_STEMS else ""
            log.warning("%s is absent%s; skipping it", store.location(target_id, stem), note)
    intro = read_records(files["intro"], "intro")[0]
    injection = {}
    if "injection" in files:  # worlds that ship injection files: take every person's
        injection = {i: str(p) for i in ids if (p := store.fetch(i, "injection")) is not None}
    return {
        "id": target_id,
        "name": intro["target"],
        "intro": intro.get("intro", ""),
        "source": source,
        "where": store.where,
        "corpus": forget_corpus,
        "files": files,
        "retain": _other_corpora(store, ids, target_id, forget_corpus, other_targets),
        "injection": injection,
    }


# ---------------------------------------------------------------------------------------------
# Tables


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def target_info(manifest: dict) -> dict:
    return {key: manifest[key] for key in ("id", "name", "intro", "source")}


def _probes(manifest: dict, stems: Iterable[str]) -> list[dict]:
    rows = []
    for stem in stems:
        probe_set, level = PROBE_STEMS[stem]
        for record in read_records(manifest["files"][stem], stem):
            rows.append(
                {
                    "set": probe_set,
                    "level": level,
                    "kind": KIND_OF_LEVEL[level],
                    "type": record["type"],
                    "query": record["query"],
                    "answer": record["answer"],
                    "subject": record["subject"],
                    "neighbor": record.get("neighbor", ""),
                }
            )
    return rows


def probe_table(manifest: dict) -> pd.DataFrame:
    """Forget levels 1-3 and neighbor levels 1-2 in one table (level as int, kind fb/qa/aa)."""
    return _frame(_probes(manifest, PROBE_STEMS), PROBE_COLUMNS)


def mia_table(manifest: dict) -> pd.DataFrame:
    rows = [
        {"split": split, "text": record["text"], "subject": record["subject"]}
        for split in ("forget", "retain")
        for record in read_records(manifest["files"][f"{split}_mia"], f"{split}_mia")
    ]
    return _frame(rows, MIA_COLUMNS)


def utility_items(manifest: dict) -> dict[str, list[dict]]:
    """Utility sets as in the files; a set whose file is absent is an empty list."""
    files = manifest["files"]
    return {
        key: read_records(files[stem], stem) if stem in files else []
        for key, stem in UTILITY_STEMS.items()
    }


def _corpus_rows(path: str, stem: str, subject: str) -> list[dict]:
    return [
        {"subject": record.get("subject", subject), "text": record["text"]}
        for record in read_records(path, stem)
    ]


def forget_corpus_table(manifest: dict) -> pd.DataFrame:
    stem = manifest["corpus"]
    rows = _corpus_rows(manifest["files"][stem], stem, manifest["name"])
    if not rows:
        raise RwkuFormatError(
            f"{manifest['files'][stem]}: expected at least one record, found an empty array"
        )
    return _frame(rows, CORPUS_COLUMNS)


def retain_corpus_table(manifest: dict) -> pd.DataFrame:
    rows = []
    for other, path in manifest["retain"].items():
        rows += _corpus_rows(path, manifest["corpus"], name_from_id(other))
    return _frame(rows, CORPUS_COLUMNS)


def fill_blank(query: str, answer: str) -> str:
    """A cloze probe as a plain statement: the answer goes where the `___` was."""
    return query.replace("___", answer, 1) if "___" in query else f"{query} {answer}"


def injection_table(manifest: dict) -> pd.DataFrame:
    """What the LLM is taught before unlearning, so that it knows the people involved.

    A world that ships `injection` files (the demo) gives every person's file. For RWKU the
    items come from the target's own forget and neighbor level-1/2 probes and its passages.
    """
    if manifest["injection"]:
        rows = [
            {**record, "subject": record.get("subject") or name_from_id(person)}
            for person, path in manifest["injection"].items()
            for record in read_records(path, "injection")
        ]
        return _frame(rows, INJECTION_COLUMNS)
    rows = []
    stems = ("forget_level1", "forget_level2", "neighbor_level1", "neighbor_level2")
    for probe in _probes(manifest, stems):
        query, answer = probe["query"], probe["answer"]
        text = fill_blank(query, answer) if probe["kind"] == "fb" else f"{query} {answer}"
        # `subject` names the target an item belongs to (RWKU's labelling, neighbors included),
        # so `inject.scope=target` keeps the neighbors' facts.
        rows.append(
            dict(
                kind=probe["kind"], query=query, answer=answer, text=text, subject=probe["subject"]
            )
        )
    if "passage" in manifest["files"]:
        for row in _corpus_rows(manifest["files"]["passage"], "passage", manifest["name"]):
            rows.append({"kind": "text", "query": "", "answer": "", **row})
    return _frame(rows, INJECTION_COLUMNS)
