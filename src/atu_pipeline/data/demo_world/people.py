"""The invented people: fact sheets drawn from the word lists in ``words.yaml``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .resources import table

# Person field <- the word list it is drawn from, one distinct word per person (in draw order).
_DISTINCT = (
    ("town", "towns"),
    ("river", "rivers"),
    ("org_city", "cities"),
    ("award", "awards"),
    ("org_stem", "org_stems"),
)


@dataclass(frozen=True)
class Work:
    """One famous work of a person, plus facts that belong to the work itself (neighbours)."""

    title: str
    year: int
    publisher: str
    adapter: str


@dataclass(frozen=True)
class Person:
    """Fact sheet of one invented person; every answer-bearing field is 1-4 words, no '.'."""

    first: str
    last: str
    birth_year: int
    town: str
    river: str
    profession: str
    work_noun: str
    instrument: str
    works: tuple[Work, ...]
    award: str
    org: str
    org_year: int
    org_city: str
    collaborator: int = -1

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def river_name(self) -> str:
        return f"{self.river} River"


def draw_people(rng: random.Random, n_people: int) -> list[Person]:
    """Fact sheets with distinct names, towns, rivers, awards, organisations and work titles."""
    words = table("words")
    firsts = rng.sample(words["first_names"], 2 * n_people)
    lasts = rng.sample(words["surnames"], 2 * n_people)
    professions = words["professions"]
    pools = {field: rng.sample(words[source], n_people) for field, source in _DISTINCT}
    # Two shuffled rounds: there are more people than professions, and none is used thrice.
    jobs = [*rng.sample(professions, len(professions)), *rng.sample(professions, len(professions))]
    used_titles: list[str] = []
    people = []
    for i in range(n_people):
        distinct = {"first": firsts[i], "last": lasts[i]}
        distinct |= {field: pool[i] for field, pool in pools.items()}
        # Names beyond the first n_people go to film directors, so no director is a target.
        adapter = f"{firsts[n_people + i]} {lasts[n_people + i]}"
        people.append(
            _person(rng, distinct=distinct, job=jobs[i], adapter=adapter, used_titles=used_titles)
        )
    # An offset of 1..n-1 so that nobody is their own collaborator.
    return [
        replace(p, collaborator=(i + rng.randrange(1, n_people)) % n_people)
        for i, p in enumerate(people)
    ]


def draw_title(rng: random.Random, used: list[str]) -> str:
    """A fresh work title not in ``used`` (appended to it)."""
    words = table("words")
    while True:
        adjective, noun = rng.choice(words["title_adjectives"]), rng.choice(words["title_nouns"])
        pattern = words["title_patterns"][rng.randrange(len(words["title_patterns"]))]
        other = ""
        if "{other}" in pattern:  # drawn only when used: the draw order is pinned
            other = rng.choice([x for x in words["title_nouns"] if x != noun])
        title = pattern.format(adjective=adjective, noun=noun, other=other)
        if title not in used:
            used.append(title)
            return title


def template_context(person: Person, people: Sequence[Person]) -> dict[str, object]:
    """What the YAML templates read: the person ``p``, ``mate`` and their ``first`` work."""
    return {"p": person, "mate": people[person.collaborator], "first": person.works[0]}


def _person(
    rng: random.Random,
    *,
    distinct: dict[str, str],
    job: tuple[str, str],
    adapter: str,
    used_titles: list[str],
) -> Person:
    """One fact sheet; ``distinct`` holds the fields no two people share."""
    words = table("words")
    fields = dict(distinct)
    stem = fields.pop("org_stem")
    birth = rng.randrange(1921, 1972)
    org_year = birth + rng.randrange(28, 55)
    instrument = rng.choice(words["instruments"])
    works = _works(rng, birth=birth, org_year=org_year, used=used_titles, adapter=adapter)
    org = f"{stem} {rng.choice(words['org_kinds'])}"
    return Person(
        **fields,
        birth_year=birth,
        profession=job[0],
        work_noun=job[1],
        instrument=instrument,
        works=works,
        org=org,
        org_year=org_year,
    )


def _works(
    rng: random.Random, *, birth: int, org_year: int, used: list[str], adapter: str
) -> tuple[Work, ...]:
    """Two or three works, in distinct years that differ from the organisation's founding."""
    count = rng.choice((2, 3))
    span = [year for year in range(birth + 22, birth + 60) if year != org_year]
    years = sorted(rng.sample(span, count))
    publishers = table("words")["publishers"]
    return tuple(
        Work(draw_title(rng, used), year, rng.choice(publishers), adapter) for year in years
    )
