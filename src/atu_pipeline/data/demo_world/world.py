"""Assembly: one RWKU-shaped folder of files per invented person, and writing them to disk."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from .facts import Fact, adversarial_probes, probe_sets
from .people import Person, draw_people
from .prose import biography, intro, mia_records, neighbor_pages, passages
from .utility_sets import utility_files

# Everyone needs a collaborator, and the word lists hold distinct names, towns, ... for this many.
MAX_PEOPLE = 10


def generate_world(
    seed: int = 0, n_people: int = 8, corpus_texts_per_person: int = 12, utility_items: int = 0
) -> dict[str, dict[str, object]]:
    """{target_id: {file_stem: records}}; target_id = "<k>_<First>_<Last>", k = 1..n_people.

    ``n_people`` must be 2..MAX_PEOPLE. Each target folder holds RWKU's stems plus
    ``general_text`` and ``injection`` (the records to teach the model); the utility stand-ins
    (``retain_mmlu``, ``retain_bbh``, ``truthful``, ``triviaqa``, ``fluency``) only when
    ``utility_items`` > 0.
    """
    if not 2 <= n_people <= MAX_PEOPLE:
        raise ValueError(f"n_people must be between 2 and {MAX_PEOPLE}, got {n_people}")
    if corpus_texts_per_person < 0 or utility_items < 0:
        raise ValueError("corpus_texts_per_person and utility_items must be >= 0")
    rng = random.Random(seed)
    people = draw_people(rng, n_people)
    return {
        target_id(i, person): _person_files(
            rng, i, people, texts_per_person=corpus_texts_per_person, utility_items=utility_items
        )
        for i, person in enumerate(people)
    }


def write_world(world: dict[str, dict[str, object]], root: str | Path) -> list[Path]:
    """Write <root>/Target/<target_id>/<stem>.json (json, indent=4, ensure_ascii=False)."""
    written = []
    for tid, files in world.items():
        folder = Path(root) / "Target" / tid
        folder.mkdir(parents=True, exist_ok=True)
        for stem, records in files.items():
            path = folder / f"{stem}.json"
            text = json.dumps(records, indent=4, ensure_ascii=False) + "\n"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def target_id(index: int, person: Person) -> str:
    """RWKU-style folder name, ``<k>_<First>_<Last>`` with k starting at 1."""
    return f"{index + 1}_{person.first}_{person.last}"


def _person_files(
    rng: random.Random,
    index: int,
    people: Sequence[Person],
    *,
    texts_per_person: int,
    utility_items: int,
) -> dict[str, object]:
    """Every file of one target folder; the calls draw from ``rng`` in a pinned order."""
    person = people[index]
    probes = probe_sets(rng, person, people)
    passage_texts = passages(rng, person, people)
    phi = [biography(rng, person, people, lo=80, hi=150) for _ in range(texts_per_person)]
    request = intro(person, people)
    return {
        "intro": {"target": person.name, "intro": request},
        **{stem: [record for record, _ in pairs] for stem, pairs in probes.items()},
        "forget_level3": adversarial_probes(rng, person, people),
        **mia_records(rng, index, people),
        "positive_phi": [
            {"id": f"{person.name} {i}", "text": text, "subject": person.name, "intro": request}
            for i, text in enumerate(phi)
        ],
        "passage": [{"text": text, "subject": person.name} for text in passage_texts],
        **_utility(rng, n=utility_items, subject=person.name),
        "injection": _injection(
            [*passage_texts, *phi, *neighbor_pages(person, people)],
            [fact for pairs in probes.values() for _, fact in pairs],
        ),
    }


def _utility(rng: random.Random, *, n: int, subject: str) -> dict[str, object]:
    """The utility stand-ins when asked for (``n`` > 0), and the general text always."""
    files = utility_files(rng, n=n, subject=subject)
    # An empty file would read as a set measured on nothing; an absent one as a set not measured.
    return files if n else {"general_text": files["general_text"]}


def _injection(texts: Sequence[str], facts: Iterable[Fact]) -> list[dict[str, str]]:
    """Training records: every text, then each probed fact once (in first-use order) in every
    wording but the probes' own, so that a probe asks in words the model never saw."""
    out = [{"kind": "text", "query": "", "answer": "", "text": text} for text in texts]
    for fact in dict.fromkeys(facts):
        out += [_qa(kind, query, fact) for kind, query in fact.taught()]
    return out


def _qa(kind: str, query: str, fact: Fact) -> dict[str, str]:
    return {"kind": kind, "query": query, "answer": fact.answer, "text": ""}
