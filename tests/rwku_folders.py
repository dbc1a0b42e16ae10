"""Tiny RWKU per-target folders for the tests of atu_pipeline.data.rwku (tests/data/rwku).

Every folder is written in tmp_path, with the field names and value types of RWKU's published
files (shared/reference/rwku.md §3). It lives here, beside kedro_run.py, because the module-level
`BAD_FILES` table of test_schema.py needs it at import time, where a fixture cannot help.
"""

import json
from pathlib import Path

from atu_pipeline.data import rwku
from atu_pipeline.data.rwku import TargetFiles


def probe(name: str, level: int, i: int, neighbor: str | None = None) -> dict:
    query = f"{name} fact {i} is ___" if level == 1 else f"What is fact {i} of {name}?"
    kind = {1: "cloze", 2: "simple question", 3: "prefix injection"}[level]
    record = {"query": query, "answer": f"a{i}", "level": str(level), "type": kind, "subject": name}
    return record if neighbor is None else {**record, "neighbor": neighbor}


def _utility_contents(utility_subject: dict) -> dict[str, list[dict]]:
    return {
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


def valid_contents(name: str, with_subject: bool = True) -> dict[str, object]:
    """One valid target: every required file, the utility files and a passage file."""
    return {
        "intro": {"target": name, "intro": f"Please forget {name}. {name} is famous."},
        **{f"forget_level{n}": [probe(name, n, i) for i in range(2)] for n in (1, 2, 3)},
        **{
            f"neighbor_level{n}": [probe(name, n, i, "Some Film") for i in range(2)] for n in (1, 2)
        },
        "forget_mia": [{"text": f"{name} text {i}", "ngram": 3, "subject": name} for i in range(2)],
        "retain_mia": [{"text": f"other text {i}", "ngram": 3, "subject": name} for i in range(2)],
        "positive_phi": [
            {"id": f"{name} {i}", "text": f"{name} bio {i}", "subject": name, "intro": "x"}
            for i in range(3)
        ],
        "passage": [{"text": f"{name} passage", "subject": name}],
        **_utility_contents({"subject": name} if with_subject else {}),
    }


def write_target(base: Path, target_id: str, name: str | None = None, **changes) -> Path:
    """Write one target folder under `base`; `stem=None` leaves a file out, str/bytes are raw."""
    name = name or rwku.name_from_id(target_id)
    folder = base / target_id
    folder.mkdir(parents=True, exist_ok=True)
    for stem, content in {**valid_contents(name), **changes}.items():
        if content is None:
            continue
        if isinstance(content, bytes):
            (folder / f"{stem}.json").write_bytes(content)
            continue
        text = content if isinstance(content, str) else json.dumps(content, indent=4)
        (folder / f"{stem}.json").write_text(text, encoding="utf-8")
    return folder


def find(root: Path, target: str = "1", **overrides) -> TargetFiles:
    settings = dict(
        source="local",
        root=str(root),
        hub_id="jinzhuoran/RWKU",
        forget_corpus="positive_phi",
        other_targets=2,
        retain_targets=2,
    )
    return rwku.find_target(target, **{**settings, **overrides})


def read_everything(target: TargetFiles) -> None:
    rwku.probe_table(target, test_share=0.5, seed=0)
    rwku.mia_table(target)
    rwku.utility_items(target)
    rwku.forget_corpus_table(target)
    rwku.retain_corpus_table(target)
    rwku.injection_table(target)
