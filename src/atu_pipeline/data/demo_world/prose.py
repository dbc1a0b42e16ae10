"""Texts about a person from the templates in ``prose.yaml``: biographies, passages, neighbor
pages, the intro and the membership-inference (MIA) records."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .people import Person, Work, template_context
from .resources import table

# Fact group -> (its sentence templates, the work it is about, if any).
Groups = dict[str, tuple[Sequence[str], dict[str, Work]]]


def sentence_groups(person: Person) -> Groups:
    """The sentence templates of each fact group, in table order, one group per work at the end."""
    sentences = table("prose")["sentences"]
    groups: Groups = {key: (templates, {}) for key, templates in sentences["once"].items()}
    for i, work in enumerate(person.works):
        groups[f"work{i}"] = (sentences["per_work"], {"work": work})
    return groups


def biography(
    rng: random.Random,
    person: Person,
    people: Sequence[Person],
    *,
    lo: int,
    hi: int,
    avoid: str = "",
) -> str:
    """A biography of ``lo``-``hi`` words with randomly chosen facts, order and opening.

    ``avoid`` names a person who must not be mentioned (drops the collaborator sentence).
    """
    prose, context = table("prose"), template_context(person, people)
    keys = list(sentence_groups(person))
    if avoid == people[person.collaborator].name:
        keys.remove("collaborator")
    chosen = rng.sample(keys, rng.randrange(5, min(9, len(keys)) + 1))
    with_opening = rng.random() < 0.75
    head = [rng.choice(prose["openings"]).format(**context)] if with_opening else []
    body = _sentences(rng, person, people, chosen, full_first=not with_opening)
    fillers = rng.sample(prose["fillers"], len(prose["fillers"]))
    while _words([*head, *body]) < lo and fillers:
        body.insert(rng.randrange(1, len(body) + 1), fillers.pop())
    while _words([*head, *body]) > hi and len(body) > 1:
        body.pop()
    closing = rng.choice(prose["closings"]).format(**context)
    if rng.random() < 0.4 and _words([*head, *body, closing]) <= hi:
        body.append(closing)
    return " ".join([*head, *body])


def passages(rng: random.Random, person: Person, people: Sequence[Person]) -> list[str]:
    """Four passages that together state every fact of the person verbatim."""
    keys = list(sentence_groups(person))
    openings, context = table("prose")["openings"], template_context(person, people)
    texts = []
    for group in (keys[i::4] for i in range(4)):
        opening = rng.choice(openings).format(**context)
        texts.append(" ".join([opening, *_sentences(rng, person, people, group)]))
    return texts


def neighbor_pages(person: Person, people: Sequence[Person]) -> list[str]:
    """One short page per related entity, stating that entity's facts (the neighbor answers)."""
    pages, context = table("prose")["neighbor_pages"], template_context(person, people)
    return [page.format(**context) for page in pages["once"]] + [
        page.format(**context, work=work) for work in person.works for page in pages["per_work"]
    ]


def intro(person: Person, people: Sequence[Person]) -> str:
    """RWKU's unlearning request for ``person``."""
    return table("prose")["intro"].format(**template_context(person, people))


def mia_records(
    rng: random.Random, index: int, people: Sequence[Person]
) -> dict[str, list[dict[str, object]]]:
    """Short biographies of the target (forget) and of the others (retain), six of each."""
    person = people[index]
    others = [other for i, other in enumerate(people) if i != index]
    # A retain text that named the target would be about the target: drop that sentence.
    return {
        "forget_mia": [
            _mia(biography(rng, person, people, lo=30, hi=60), person.name) for _ in range(6)
        ],
        "retain_mia": [
            _mia(
                biography(rng, others[i % len(others)], people, lo=30, hi=60, avoid=person.name),
                person.name,
            )
            for i in range(6)
        ],
    }


def _sentences(
    rng: random.Random,
    person: Person,
    people: Sequence[Person],
    keys: Sequence[str],
    *,
    full_first: bool = False,
) -> list[str]:
    """One sentence per fact group, each from a random template, naming the person by full name
    or surname; ``full_first`` forces the full name on the first sentence."""
    groups, context = sentence_groups(person), template_context(person, people)
    out: list[str] = []
    for key in keys:
        full = (full_first and not out) or rng.random() < 0.6
        templates, work = groups[key]
        ref = person.name if full else person.last
        out.append(rng.choice(templates).format(ref=ref, **context, **work))
    return out


def _words(sentences: Sequence[str]) -> int:
    return sum(len(sentence.split()) for sentence in sentences)


def _mia(text: str, subject: str) -> dict[str, object]:
    return {"text": text, "ngram": len(text.split(" ")), "subject": subject}
