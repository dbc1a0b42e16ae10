"""One target's files shaped into typed tables: probes, MIA texts, corpora, utility sets."""

import hashlib
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
    "fact": "str",
}
MIA_COLUMNS = {"split": "str", "text": "str", "subject": "str"}
CORPUS_COLUMNS = {"subject": "str", "text": "str"}
INJECTION_COLUMNS = {
    "kind": "str",
    "query": "str",
    "answer": "str",
    "text": "str",
    "subject": "str",
    "origin": "str",  # the probe file a row repeats verbatim ("" for texts and paraphrases)
}
# The level-3 probes are attacks: they test forgetting, they teach nothing new.
_TEACHING_STEMS = ("forget_level1", "forget_level2", "neighbor_level1", "neighbor_level2")


def _frame(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns)).astype(columns)


def target_info(target: TargetFiles) -> dict:
    """Returns `{id, name, intro, source}`."""
    return {"id": target.id, "name": target.name, "intro": target.intro, "source": target.source}


def _probe_rows(path: str, stem: str, probe_set: str | None = None) -> list[dict]:
    """One file's probes as table rows (`probe_set` overrides the set the stem implies)."""
    default_set, level = PROBE_STEMS[stem]
    return [
        {
            "set": probe_set or default_set,
            "level": level,
            "kind": KIND_OF_LEVEL[level],
            "type": record["type"],
            "query": record["query"],
            "answer": record["answer"],
            "subject": record["subject"],
            "neighbor": record.get("neighbor", ""),
            "fact": record.get("fact", ""),  # the demo world's; RWKU has none
        }
        for record in read_records(path, stem)
    ]


def _probes(target: TargetFiles, stems: Iterable[str]) -> list[dict]:
    return [row for stem in stems for row in _probe_rows(target.files[stem], stem)]


def probe_table(target: TargetFiles, *, test_share: float, seed: int) -> pd.DataFrame:
    """Forget levels 1-3 and neighbor levels 1-2 in one table (level as int, kind fb/qa/aa),
    each probe assigned to the validation or the test split (`split_probes`)."""
    return split_probes(_frame(_probes(target, PROBE_STEMS), PROBE_COLUMNS), test_share, seed)


def split_probes(probes: pd.DataFrame, test_share: float, seed: int) -> pd.DataFrame:
    """`split` = "val" or "test", disjoint by fact: every probe of one fact (its cloze, its
    questions, its adversarial probes) lands on one side; a probe without a fact key (RWKU) is
    its own group. In each (subject, set), the `test_share` of groups with the lowest seeded
    hash go to test, so the split is stable whatever else the table holds."""
    groups = probes["subject"] + "\x00" + probes["set"] + "\x00"
    groups += probes["fact"].where(probes["fact"] != "", "query:" + probes["query"])
    split = pd.Series("val", index=probes.index, dtype="str")
    for _, members in groups.groupby([probes["subject"], probes["set"]], sort=False):
        names = sorted(set(members), key=lambda group: _stable_hash(seed, group))
        test = set(names[: round(test_share * len(names))])
        split[members.index[members.isin(test)]] = "test"
    return probes.assign(split=split)


def first_probes(probes: pd.DataFrame, max_probes: int | None) -> pd.DataFrame:
    """The first `max_probes` probes of each (split, set, kind); all of them for None."""
    if max_probes is None:
        return probes
    keys = [column for column in ("split", "set", "kind") if column in probes]
    return probes.groupby(keys, sort=False).head(max_probes)


def _stable_hash(seed: int, text: str) -> str:
    return hashlib.sha256(f"{seed}\x00{text}".encode()).hexdigest()


def retain_probe_table(target: TargetFiles, *, test_share: float, seed: int) -> pd.DataFrame:
    """The other targets' level-1/2 forget probes (set "retain"), split as `probe_table` splits:
    what unlearning this target must leave alone ("other targets" utility)."""
    rows = [
        row
        for key, path in target.retain_probes.items()
        for row in _probe_rows(path, key.rsplit("/", 1)[1], probe_set="retain")
    ]
    return split_probes(_frame(rows, PROBE_COLUMNS), test_share, seed)


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
        {**record, "subject": record.get("subject") or name_from_id(person), "origin": ""}
        for person, path in target.injection.items()
        for record in read_records(path, "injection")
    ]


def _injection_from_probes(target: TargetFiles) -> list[dict]:
    """RWKU ships no paraphrases: teaching a target means teaching its probes verbatim."""
    rows = []
    for stem in _TEACHING_STEMS:
        for probe in _probe_rows(target.files[stem], stem):
            query, answer, kind = probe["query"], probe["answer"], probe["kind"]
            text = fill_blank(query, answer) if kind == "fb" else f"{query} {answer}"
            # `subject` names the target an item belongs to (RWKU's labelling, neighbors
            # included), so `inject.scope=target` keeps the neighbors' facts.
            rows.append(
                {
                    "kind": kind,
                    "query": query,
                    "answer": answer,
                    "text": text,
                    "subject": probe["subject"],
                    "origin": target.files[stem],
                }
            )
    if "passage" in target.files:
        for row in _corpus_rows(target.files["passage"], "passage", target.name):
            rows.append({"kind": "text", "query": "", "answer": "", "origin": "", **row})
    return rows


def injection_table(target: TargetFiles) -> pd.DataFrame:
    """What the LLM is taught before unlearning, so that it knows the people involved.

    A world that ships `injection` files (the demo) gives every person's file. For RWKU the
    items come from the target's own forget and neighbor level-1/2 probes and its passages.
    """
    rows = _shipped_injection(target) if target.injection else _injection_from_probes(target)
    return _frame(rows, INJECTION_COLUMNS)
