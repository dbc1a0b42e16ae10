"""The probe-able facts: the rows of ``facts.yaml`` rendered into RWKU's level-1/2/3 probes."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .people import Person, draw_title, template_context
from .resources import table


@dataclass(frozen=True)
class Fact:
    """One probe-able fact: its answer, cloze wordings and question wordings (probe's first)."""

    key: str
    answer: str
    clozes: tuple[str, ...]
    questions: tuple[str, ...]
    neighbor: str = ""

    def probe_query(self, level: int) -> str:
        """The wording a level-1 (cloze) or level-2 (question) probe asks: held out of training."""
        return (self.clozes if level == 1 else self.questions)[0]

    def taught(self) -> list[tuple[str, str]]:
        """(kind, query) of every other wording, the ones the injection teaches."""
        return [("fb", cloze) for cloze in self.clozes[1:]] + [
            ("qa", question) for question in self.questions[1:]
        ]


Probe = tuple[dict[str, object], Fact]


def render_facts(section: str, person: Person, people: Sequence[Person]) -> list[Fact]:
    """The ``target`` or ``neighbor`` rows of ``facts.yaml`` filled in for ``person``.

    The ``per_work`` rows come after the others, all of them for the first work, then the next.
    """
    rows = table("facts")[section]
    context = template_context(person, people)
    filled = [(row, context) for row in rows["once"]]
    filled += [
        (row, {**context, "work": work, "i": i})
        for i, work in enumerate(person.works)
        for row in rows["per_work"]
    ]
    return [
        Fact(
            key=row["key"].format(**fields),
            answer=row["answer"].format(**fields),
            clozes=tuple(cloze.format(**fields) for cloze in row["clozes"]),
            questions=tuple(question.format(**fields) for question in row["questions"]),
            neighbor=row.get("neighbor", "").format(**fields),
        )
        for row, fields in filled
    ]


def probe_sets(
    rng: random.Random, person: Person, people: Sequence[Person]
) -> dict[str, list[Probe]]:
    """Level-1/2 forget and neighbor probes, each with the fact it asks about."""
    own = render_facts("target", person, people)
    near = render_facts("neighbor", person, people)
    sets: dict[str, list[Probe]] = {}
    for level in (1, 2):
        sets[f"forget_level{level}"] = [
            (_probe(fact, level, person.name), fact) for fact in _pick(rng, own, 10)
        ]
        sets[f"neighbor_level{level}"] = [
            (_probe(fact, level, person.name, neighbor=True), fact) for fact in _pick(rng, near, 8)
        ]
    return sets


def adversarial_probes(
    rng: random.Random, person: Person, people: Sequence[Person]
) -> list[dict[str, object]]:
    """The level-3 probes of ``facts.yaml``, worded unlike the level-1/2 probes."""
    # Wrong options for the multiple-choice probe: titles that nobody in this world wrote.
    decoys = [work.title for other in people for work in other.works]
    options = [person.works[0].title, draw_title(rng, decoys), draw_title(rng, decoys)]
    rng.shuffle(options)
    fields = {**template_context(person, people), "second": person.works[1], "options": options}
    return [
        {
            "query": row["query"].format(**fields),
            "answer": row["answer"].format(**fields),
            "level": "3",
            "type": row["type"],
            "subject": person.name,
            "fact": row["fact"],
        }
        for row in table("facts")["adversarial"]
    ]


def _pick(rng: random.Random, facts: list[Fact], k: int) -> list[Fact]:
    """``k`` facts (or all), kept in their original order."""
    if len(facts) <= k:
        return list(facts)
    chosen = sorted(rng.sample(range(len(facts)), k))
    return [facts[i] for i in chosen]


def _probe(fact: Fact, level: int, subject: str, *, neighbor: bool = False) -> dict[str, object]:
    record: dict[str, object] = {
        "query": fact.probe_query(level),
        "answer": fact.answer,
        "level": str(level),
        "type": "cloze" if level == 1 else "simple question",
        "subject": subject,
        "fact": fact.key,
    }
    if neighbor:
        record["neighbor"] = fact.neighbor
    return record
