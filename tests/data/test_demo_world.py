"""The fictitious world generator: determinism, RWKU-shaped files, injection coverage, writing."""

import json
import random
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from atu_pipeline.data.demo_world import MAX_PEOPLE, generate_world, target_id, write_world
from atu_pipeline.data.demo_world.facts import Fact, render_facts
from atu_pipeline.data.demo_world.people import draw_people
from atu_pipeline.data.demo_world.resources import table

PROBE_KEYS = {"query", "answer", "level", "type", "subject", "fact"}
# The level-1/2 stems in the order the generator fills them (the injection's first-use order).
TAUGHT_STEMS = ("forget_level1", "neighbor_level1", "forget_level2", "neighbor_level2")
PROBE_STEMS = (*TAUGHT_STEMS, "forget_level3")
LEVEL3_TYPES = {
    "prefix injection",
    "affirmative suffix",
    "role play",
    "multiple choice",
    "reverse query",
    "synonym manipulation",
    "context hint",
    "incontext learning",
}
UTILITY_STEMS = {"retain_mmlu", "retain_bbh", "truthful", "triviaqa", "fluency"}
STEMS = {
    "intro",
    *PROBE_STEMS,
    "forget_mia",
    "retain_mia",
    "positive_phi",
    "passage",
    "general_text",
    "injection",
}
# (seed, n_people, corpus_texts_per_person, utility_items): the defaults and the test env's.
DEFAULT_ARGUMENTS = (0, 8, 12, 0)
TEST_ARGUMENTS = (0, 3, 4, 2)


@pytest.fixture(scope="module")
def world() -> dict[str, dict[str, object]]:
    return generate_world()


@pytest.fixture(scope="module")
def env_world() -> dict[str, dict[str, object]]:
    """The test environment's world, which has the utility stand-ins."""
    return generate_world(*TEST_ARGUMENTS)


@pytest.fixture(scope="module", params=[DEFAULT_ARGUMENTS, TEST_ARGUMENTS], ids=["default", "test"])
def world_and_facts(request) -> tuple[dict, dict[str, dict[str, Fact]]]:
    """A world, and {target_id: {fact key: Fact}} of its people (drawn first from the seed)."""
    seed, n_people, texts, items = request.param
    people = draw_people(random.Random(seed), n_people)
    facts = {
        target_id(i, person): {
            fact.key: fact
            for section in ("target", "neighbor")
            for fact in render_facts(section, person, people)
        }
        for i, person in enumerate(people)
    }
    return generate_world(seed, n_people, texts, items), facts


def _name(target_id: str) -> str:
    return " ".join(target_id.split("_")[1:])


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def _types_ok(record: dict, types: dict[str, type]) -> bool:
    return set(record) == set(types) and all(isinstance(record[k], t) for k, t in types.items())


def test_deterministic_and_seed_sensitive(world: dict) -> None:
    again = generate_world()
    assert again == world
    assert json.dumps(again, ensure_ascii=False) == json.dumps(world, ensure_ascii=False)
    assert generate_world(seed=1) != world


def test_target_ids_and_distinct_people(world: dict) -> None:
    assert len(world) == 8
    for k, tid in enumerate(world, start=1):
        assert tid.split("_")[0] == str(k)
        assert len(tid.split("_")) == 3
        assert set(world[tid]) == STEMS
    names = [_name(t) for t in world]
    assert len(set(names)) == len(names)
    towns = [world[t]["forget_level1"][0]["query"] for t in world]
    assert len(set(towns)) == len(towns)


def test_intro(world: dict) -> None:
    for tid, files in world.items():
        name = _name(tid)
        intro = files["intro"]
        assert _types_ok(intro, {"target": str, "intro": str})
        assert intro["target"] == name
        assert intro["intro"].startswith(f"Please forget {name}. {name} is a ")


@pytest.mark.parametrize("level", [1, 2, 3])
def test_forget_probes(world: dict, level: int) -> None:
    for tid, files in world.items():
        records = files[f"forget_level{level}"]
        assert len(records) >= 8
        for r in records:
            assert _types_ok(r, dict.fromkeys(PROBE_KEYS, str))
            assert r["level"] == str(level) and r["subject"] == _name(tid)
            assert r["answer"] and "." not in r["answer"] and len(r["answer"].split()) <= 4
            if level == 1:
                assert "___" in r["query"] and r["type"] == "cloze"
            elif level == 2:
                assert r["type"] == "simple question" and r["query"].endswith("?")
            else:
                assert r["type"] in LEVEL3_TYPES
            if level < 3:
                assert r["answer"] not in r["query"]


def test_level3_types_and_wording(world: dict) -> None:
    for files in world.values():
        level3 = files["forget_level3"]
        assert {r["type"] for r in level3} == LEVEL3_TYPES
        easy = {r["query"] for n in (1, 2) for r in files[f"forget_level{n}"]}
        assert not easy & {r["query"] for r in level3}
        for r in level3:
            if r["type"] == "reverse query":
                assert r["answer"] == r["subject"]
            if r["type"] == "incontext learning":
                assert r["query"].startswith("Question: ") and " Answer: " in r["query"]
                assert r["query"].count("Question: ") == 2


@pytest.mark.parametrize("level", [1, 2])
def test_neighbor_probes(world: dict, level: int) -> None:
    for tid, files in world.items():
        records = files[f"neighbor_level{level}"]
        assert len(records) >= 6
        for r in records:
            assert _types_ok(r, dict.fromkeys(PROBE_KEYS | {"neighbor"}, str))
            assert r["level"] == str(level) and r["subject"] == _name(tid)
            assert r["answer"] != _name(tid) and _name(tid) not in r["query"]
            assert r["neighbor"]
            assert ("___" in r["query"]) == (level == 1)


def test_answers_stated_verbatim_in_texts(world: dict) -> None:
    for files in world.values():
        passages = " ".join(r["text"] for r in files["passage"])
        for stem in ("forget_level1", "forget_level2"):
            for r in files[stem]:
                assert r["answer"] in passages, (stem, r)
        texts = " ".join(r["text"] for r in files["injection"] if r["kind"] == "text")
        for stem in ("neighbor_level1", "neighbor_level2"):
            for r in files[stem]:
                assert r["answer"] in texts, (stem, r)


def test_target_texts_leave_neighbor_answers_to_neighbor_pages(world: dict) -> None:
    """As in RWKU, the target's texts name its neighbors but do not state their facts."""
    for files in world.values():
        target_texts = " ".join(
            r["text"] for stem in ("positive_phi", "passage", "forget_mia") for r in files[stem]
        )
        for stem in ("neighbor_level1", "neighbor_level2"):
            for r in files[stem]:
                assert r["answer"] not in target_texts, (stem, r)
                assert r["neighbor"] in target_texts, (stem, r)


def test_mia(world: dict) -> None:
    for tid, files in world.items():
        name = _name(tid)
        for stem in ("forget_mia", "retain_mia"):
            assert len(files[stem]) >= 4
            for r in files[stem]:
                assert _types_ok(r, {"text": str, "ngram": int, "subject": str})
                assert r["ngram"] == len(r["text"].split(" ")) and r["subject"] == name
        assert all(name in r["text"] for r in files["forget_mia"])
        assert not any(name in r["text"] for r in files["retain_mia"])


def test_positive_phi_and_passage(world: dict) -> None:
    for tid, files in world.items():
        name = _name(tid)
        phi = files["positive_phi"]
        assert len(phi) == 12
        for i, r in enumerate(phi):
            assert _types_ok(r, {"id": str, "text": str, "subject": str, "intro": str})
            assert r["id"] == f"{name} {i}" and r["subject"] == name
            assert r["intro"] == files["intro"]["intro"]
            assert 80 <= len(r["text"].split()) <= 150
        assert len({r["text"] for r in phi}) == len(phi)
        assert len({r["text"].split(".")[0] for r in phi}) > 1
        for r in files["passage"]:
            assert _types_ok(r, {"text": str, "subject": str}) and r["subject"] == name


def test_utility_files_only_when_asked(world: dict, env_world: dict) -> None:
    for files in world.values():
        assert not UTILITY_STEMS & set(files) and files["general_text"]
    for files in env_world.values():
        assert set(files) == STEMS | UTILITY_STEMS
        for r in files["retain_mmlu"]:
            assert set(r) == {"task", "question", "choices", "answer", "examples", "subject"}
            assert len(r["choices"]) == 4 and isinstance(r["answer"], int)
            assert 0 <= r["answer"] < 4 and len(r["examples"]) == 5
            for ex in r["examples"]:
                assert _types_ok(
                    ex, {"question": str, "subject": str, "choices": list, "answer": int}
                )
        for r in files["retain_bbh"]:
            assert _types_ok(
                r, {"task": str, "question": str, "answer": str, "cot": str, "subject": str}
            )
            assert r["cot"].count("Q: ") == 3 and r["cot"].count("So the answer is") == 3
        for r in files["truthful"]:
            assert set(r) == {"question", "mc1_targets", "mc2_targets", "subject"}
            mc1, mc2 = r["mc1_targets"], r["mc2_targets"]
            assert mc1["labels"][0] == 1 and sum(mc1["labels"]) == 1
            assert len(mc1["choices"]) == len(mc1["labels"])
            assert len(mc2["choices"]) == len(mc2["labels"])
            assert set(mc1["choices"]) <= set(mc2["choices"])
        for r in files["triviaqa"]:
            assert _types_ok(r, {"question": str, "answers": list, "subject": str})
            assert r["answers"] and all(isinstance(a, str) for a in r["answers"])
        for r in files["fluency"]:
            assert _types_ok(r, {"instruction": str, "subject": str})
        for stem in UTILITY_STEMS:
            assert len(files[stem]) == 2
        assert len(files["general_text"]) >= 4
        assert all(_types_ok(r, {"text": str}) for r in files["general_text"])


def test_boolean_answers_are_correct(env_world: dict) -> None:
    for files in env_world.values():
        for r in files["retain_bbh"]:
            if r["task"] == "boolean_expressions":
                expression = r["question"].removesuffix(" is")
                assert set(expression.split()) <= {"True", "False", "not", "and", "or"}
                assert str(eval(expression)) == r["answer"]  # noqa: S307 - words checked above
            elif r["task"] == "word_sorting":
                words = r["question"].split("List: ")[1].split()
                assert r["answer"] == " ".join(sorted(words))


def test_injection(world: dict) -> None:
    for files in world.values():
        injection = files["injection"]
        assert all(set(r) == {"kind", "query", "answer", "text"} for r in injection)
        assert {r["kind"] for r in injection} == {"text", "fb", "qa"}
        texts = {r["text"] for r in injection if r["kind"] == "text"}
        expected = {r["text"] for stem in ("passage", "positive_phi") for r in files[stem]}
        assert expected < texts  # plus the neighbor pages
        for r in injection:
            if r["kind"] != "text":
                assert r["query"] and r["answer"] and not r["text"]
                assert r["query"].count("___") == (r["kind"] == "fb")
                assert r["answer"] not in r["query"]


def test_every_fact_has_two_clozes_and_four_questions_about_its_entity(
    world_and_facts: tuple,
) -> None:
    _, facts = world_and_facts
    for tid, person_facts in facts.items():
        for fact in person_facts.values():
            assert len(fact.clozes) == 2 and len(fact.questions) == 4, fact.key
            wordings = (*fact.clozes, *fact.questions)
            assert len({_normal(w) for w in wordings}) == len(wordings), fact.key
            assert all(cloze.count("___") == 1 for cloze in fact.clozes), fact.key
            assert all(q.endswith("?") and "___" not in q for q in fact.questions), fact.key
            entity = fact.neighbor or _name(tid)
            assert all(entity in w and fact.answer not in w for w in wordings), fact.key


def test_no_probe_wording_is_ever_trained_on(world_and_facts: tuple) -> None:
    """No probe of any level, forget or neighbor, is the query of anyone's injection record."""
    world, _ = world_and_facts
    probes = {_normal(r["query"]) for f in world.values() for s in PROBE_STEMS for r in f[s]}
    trained = {_normal(r["query"]) for f in world.values() for r in f["injection"] if r["query"]}
    assert trained and not probes & trained


def test_injection_teaches_each_probed_fact_in_its_other_wordings(world_and_facts: tuple) -> None:
    world, facts = world_and_facts
    for tid, files in world.items():
        taught = [(r["kind"], r["query"], r["answer"]) for r in files["injection"] if r["query"]]
        for stem in TAUGHT_STEMS:
            for probe in files[stem]:
                fact = facts[tid][probe["fact"]]
                other = {_normal(w) for w in (*fact.clozes, *fact.questions)}
                other -= {_normal(probe["query"])}
                teaching = [t for t in taught if t[2] == fact.answer and _normal(t[1]) in other]
                assert len(teaching) >= 3, (stem, probe)
        # Each probed fact once, in first-use order: its other clozes, then its other questions.
        used = dict.fromkeys(r["fact"] for stem in TAUGHT_STEMS for r in files[stem])
        expected = [
            (kind, query, facts[tid][key].answer)
            for key in used
            for kind, queries in (("fb", facts[tid][key].clozes), ("qa", facts[tid][key].questions))
            for query in queries[1:]
        ]
        assert taught == expected


def test_probes_name_their_fact(world_and_facts: tuple) -> None:
    """Every probe carries the key of the fact it asks about, found again by its wording."""
    world, facts = world_and_facts
    for tid, files in world.items():
        own = facts[tid]
        by_wording = {w: key for key, fact in own.items() for w in (*fact.clozes, *fact.questions)}
        for stem in PROBE_STEMS:
            for r in files[stem]:
                assert r["fact"], (stem, r)
                if r["level"] == "3":
                    right = r["subject"] if r["fact"] == "name" else own[r["fact"]].answer
                    assert r["answer"] == right, r
                else:  # so level-1 and level-2 probes of one fact share its key
                    assert by_wording[r["query"]] == r["fact"], (stem, r)
                    assert r["answer"] == own[r["fact"]].answer, (stem, r)


def test_tiny_arguments() -> None:
    tiny = generate_world(seed=3, n_people=2, corpus_texts_per_person=3, utility_items=2)
    assert len(tiny) == 2
    for files in tiny.values():
        assert len(files["positive_phi"]) == 3
        for stem in ("retain_mmlu", "retain_bbh", "truthful", "triviaqa", "fluency"):
            assert len(files[stem]) == 2


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        generate_world(n_people=1)
    with pytest.raises(ValueError):
        generate_world(utility_items=-1)


def test_write_world_round_trip(tmp_path: Path) -> None:
    tiny = generate_world(seed=5, n_people=2, corpus_texts_per_person=3, utility_items=2)
    paths = write_world(tiny, tmp_path)
    assert len(paths) == 2 * len(STEMS | UTILITY_STEMS)
    for tid, files in tiny.items():
        folder = tmp_path / "Target" / tid
        assert {p.stem for p in folder.glob("*.json")} == STEMS | UTILITY_STEMS
        for stem, records in files.items():
            path = folder / f"{stem}.json"
            text = path.read_text(encoding="utf-8")
            assert json.loads(text) == records
            assert text.startswith("{\n    " if stem == "intro" else "[\n    ")
    again = tmp_path / "again"
    write_world(tiny, again)
    for path in paths:
        assert (again / path.relative_to(tmp_path)).read_bytes() == path.read_bytes()


# Re-pinned for world 3 (probe wordings held out of the injection; eight people and no utility
# stand-ins by default), for the defaults and the test env's arguments: the same arguments must
# keep writing the same bytes, or every cached injection and published number silently changes.
WORLD_HASHES = {
    DEFAULT_ARGUMENTS: "161c1809527fce6d33824199f28a22d38500a661e3902d4d922dab4bae8c11e7",
    TEST_ARGUMENTS: "b486cc68aa35ab410da9b9f749d35ba6f40c32091f590840ef4847b7e790e89c",
}


@pytest.mark.parametrize("arguments", sorted(WORLD_HASHES))
def test_written_world_is_byte_identical_to_the_pinned_one(tmp_path: Path, arguments) -> None:
    import hashlib

    seed, people, texts, items = arguments
    written = write_world(generate_world(seed, people, texts, items), tmp_path)
    digest = hashlib.sha256()
    for path in sorted(written):
        digest.update(str(path.relative_to(tmp_path)).encode())
        digest.update(path.read_bytes())
    assert digest.hexdigest() == WORLD_HASHES[arguments]


def test_facts_are_the_rows_of_the_data_file() -> None:
    """Each rendered fact is one row of facts.yaml, `per_work` rows repeated for every work."""
    people = draw_people(random.Random(0), 4)
    for person in people:
        for section in ("target", "neighbor"):
            rows = table("facts")[section]
            expected = [row["key"] for row in rows["once"]] + [
                row["key"].format(i=i) for i in range(len(person.works)) for row in rows["per_work"]
            ]
            facts = render_facts(section, person, people)
            assert [fact.key for fact in facts] == expected
    birth = next(f for f in render_facts("target", people[0], people) if f.key == "birth_year")
    assert birth.answer == str(people[0].birth_year)
    probe = birth.clozes[0]
    assert probe.startswith(people[0].name) and probe.endswith("___")


def test_word_lists_are_long_enough_for_the_most_people() -> None:
    words = table("words")
    for key in ("towns", "rivers", "cities", "awards", "org_stems"):
        assert len(set(words[key])) == len(words[key]) >= MAX_PEOPLE, key
    for key in ("first_names", "surnames"):  # the works' adapters take names too
        assert len(set(words[key])) == len(words[key]) >= 2 * MAX_PEOPLE, key
    assert 2 * len(words["professions"]) >= MAX_PEOPLE
    generate_world(n_people=MAX_PEOPLE, corpus_texts_per_person=1, utility_items=1)


def test_tables_are_read_only() -> None:
    """Every world draws from one cached copy, so a caller must not be able to change it."""
    words = table("words")
    assert isinstance(words["first_names"], tuple)
    with pytest.raises(TypeError):
        words["first_names"] = ("Someone",)  # type: ignore[index]


def test_data_files_ship_with_the_package() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["atu_pipeline.data.demo_world"]
    data_files = [f.name for f in resources.files("atu_pipeline.data.demo_world").iterdir()]
    yaml_files = [name for name in data_files if name.endswith(".yaml")]
    assert {"words.yaml", "facts.yaml", "prose.yaml", "utility_sets.yaml"} <= set(yaml_files)
    assert all(any(fnmatch(name, p) for p in patterns) for name in yaml_files)
