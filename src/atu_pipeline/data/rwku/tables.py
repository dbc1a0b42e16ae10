"""One target's files shaped into typed tables: probes, MIA texts, corpora, utility sets."""

from collections.abc import Iterable

import pandas as pd

from .schema import PROBE_STEMS, UTILITY_STEMS, RwkuFormatError, read_records
from .sources import TargetFiles, name_from_id

KIND_OF_LEVEL = {1: "fb", 2: "qa", 3: "aa"}
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
# The level-3 probes are attacks: they test forgetting, they teach nothing new.
_TEACHING_STEMS = ("forget_level1", "forget_level2", "neighbor_level1", "neighbor_level2")


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def target_info(target: TargetFiles) -> dict:
    """Returns `{id, name, intro, source}`."""
    return {"id": target.id, "name": target.name, "intro": target.intro, "source": target.source}


def _probes(target: TargetFiles, stems: Iterable[str]) -> list[dict]:
    rows = []
    for stem in stems:
        probe_set, level = PROBE_STEMS[stem]
        for record in read_records(target.files[stem], stem):
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


def probe_table(target: TargetFiles) -> pd.DataFrame:
    """Forget levels 1-3 and neighbor levels 1-2 in one table (level as int, kind fb/qa/aa)."""
    return _frame(_probes(target, PROBE_STEMS), PROBE_COLUMNS)


def mia_table(target: TargetFiles) -> pd.DataFrame:
    """The forget and retain MIA texts (`split`, `text`, `subject`)."""
    rows = [
        {"split": split, "text": record["text"], "subject": record["subject"]}
        for split in ("forget", "retain")
        for record in read_records(target.files[f"{split}_mia"], f"{split}_mia")
    ]
    return _frame(rows, MIA_COLUMNS)


def utility_items(target: TargetFiles) -> dict[str, list[dict]]:
    """Utility sets as in the files; a set whose file is absent is an empty list."""
    files = target.files
    return {
        key: read_records(files[stem], stem) if stem in files else []
        for key, stem in UTILITY_STEMS.items()
    }


def _corpus_rows(path: str, stem: str, subject: str) -> list[dict]:
    return [
        {"subject": record.get("subject", subject), "text": record["text"]}
        for record in read_records(path, stem)
    ]


def forget_corpus_table(target: TargetFiles) -> pd.DataFrame:
    """The target's corpus to unlearn (`subject`, `text`); an empty one is an error."""
    path = target.files[target.corpus]
    rows = _corpus_rows(path, target.corpus, target.name)
    if not rows:
        raise RwkuFormatError(f"{path}: expected at least one record, found an empty array")
    return _frame(rows, CORPUS_COLUMNS)


def retain_corpus_table(target: TargetFiles) -> pd.DataFrame:
    """The same corpus file of the other targets in `target.retain`."""
    rows = []
    for other, path in target.retain.items():
        rows += _corpus_rows(path, target.corpus, name_from_id(other))
    return _frame(rows, CORPUS_COLUMNS)


def fill_blank(query: str, answer: str) -> str:
    """A cloze probe as a plain statement: the answer goes where the `___` was."""
    return query.replace("___", answer, 1) if "___" in query else f"{query} {answer}"


def _shipped_injection(target: TargetFiles) -> list[dict]:
    return [
        {**record, "subject": record.get("subject") or name_from_id(person)}
        for person, path in target.injection.items()
        for record in read_records(path, "injection")
    ]


def _injection_from_probes(target: TargetFiles) -> list[dict]:
    rows = []
    for probe in _probes(target, _TEACHING_STEMS):
        query, answer, kind = probe["query"], probe["answer"], probe["kind"]
        text = fill_blank(query, answer) if kind == "fb" else f"{query} {answer}"
        # `subject` names the target an item belongs to (RWKU's labelling, neighbors included),
        # so `inject.scope=target` keeps the neighbors' facts.
        rows.append(
            {
                "kind": kind,
                "query": query,
                "answer": answer,
                "text": text,
                "subject": probe["subject"],
            }
        )
    if "passage" in target.files:
        for row in _corpus_rows(target.files["passage"], "passage", target.name):
            rows.append({"kind": "text", "query": "", "answer": "", **row})
    return rows


def injection_table(target: TargetFiles) -> pd.DataFrame:
    """What the LLM is taught before unlearning, so that it knows the people involved.

    A world that ships `injection` files (the demo) gives every person's file. For RWKU the
    items come from the target's own forget and neighbor level-1/2 probes and its passages.
    """
    rows = _shipped_injection(target) if target.injection else _injection_from_probes(target)
    return _frame(rows, INJECTION_COLUMNS)
