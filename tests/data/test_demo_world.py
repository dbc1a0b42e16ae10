"""The fictitious world generator: determinism, RWKU-shaped files, injection coverage, writing."""

import json
import random
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from atu_pipeline.data.demo_world import MAX_PEOPLE, generate_world, write_world
from atu_pipeline.data.demo_world.facts import render_facts
from atu_pipeline.data.demo_world.people import draw_people
from atu_pipeline.data.demo_world.resources import table

PROBE_KEYS = {"query", "answer", "level", "type", "subject"}
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
STEMS = {
    "intro",
    "forget_level1",
    "forget_level2",
    "forget_level3",
    "neighbor_level1",
    "neighbor_level2",
    "forget_mia",
    "retain_mia",
    "positive_phi",
    "passage",
    "retain_mmlu",
    "retain_bbh",
    "truthful",
    "triviaqa",
    "fluency",
    "general_text",
    "injection",
}


@pytest.fixture(scope="module")
def world() -> dict[str, dict[str, object]]:
    return generate_world()


def _name(target_id: str) -> str:
    return " ".join(target_id.split("_")[1:])


def _types_ok(record: dict, types: dict[str, type]) -> bool:
    return set(record) == set(types) and all(isinstance(record[k], t) for k, t in types.items())


def test_deterministic_and_seed_sensitive(world: dict) -> None:
    again = generate_world()
    assert again == world
    assert json.dumps(again, ensure_ascii=False) == json.dumps(world, ensure_ascii=False)
    assert generate_world(seed=1) != world


def test_target_ids_and_distinct_people(world: dict) -> None:
    assert len(world) == 4
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
        assert len(phi) == 24
        for i, r in enumerate(phi):
            assert _types_ok(r, {"id": str, "text": str, "subject": str, "intro": str})
            assert r["id"] == f"{name} {i}" and r["subject"] == name
            assert r["intro"] == files["intro"]["intro"]
            assert 80 <= len(r["text"].split()) <= 150
        assert len({r["text"] for r in phi}) == len(phi)
        assert len({r["text"].split(".")[0] for r in phi}) > 1
        for r in files["passage"]:
            assert _types_ok(r, {"text": str, "subject": str}) and r["subject"] == name


def test_utility_files(world: dict) -> None:
    for files in world.values():
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
        for stem in ("retain_mmlu", "retain_bbh", "truthful", "triviaqa", "fluency"):
            assert len(files[stem]) == 8
        assert len(files["general_text"]) >= 4
        assert all(_types_ok(r, {"text": str}) for r in files["general_text"])


def test_boolean_answers_are_correct(world: dict) -> None:
    for files in world.values():
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
        pairs = {(r["kind"], r["query"], r["answer"]) for r in injection}
        for stem in ("forget_level1", "neighbor_level1", "forget_level2", "neighbor_level2"):
            kind = "fb" if stem.endswith("1") else "qa"
            for r in files[stem]:
                assert (kind, r["query"], r["answer"]) in pairs
                paraphrases = [
                    p for p in pairs if p[0] == "qa" and p[2] == r["answer"] and p[1] != r["query"]
                ]
                assert len(paraphrases) >= 2
        queries = {r["query"] for r in injection}
        assert not queries & {r["query"] for r in files["forget_level3"]}


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
    assert len(paths) == 2 * len(STEMS)
    for tid, files in tiny.items():
        folder = tmp_path / "Target" / tid
        assert {p.stem for p in folder.glob("*.json")} == STEMS
        for stem, records in files.items():
            path = folder / f"{stem}.json"
            text = path.read_text(encoding="utf-8")
            assert json.loads(text) == records
            assert text.startswith("{\n    " if stem == "intro" else "[\n    ")
    again = tmp_path / "again"
    write_world(tiny, again)
    for path in paths:
        assert (again / path.relative_to(tmp_path)).read_bytes() == path.read_bytes()


# Pinned before the world moved from code into data files (issue 14): the same arguments must
# keep writing the same bytes, or every cached injection and published number silently changes.
WORLD_HASHES = {
    (0, 4, 24, 8): "f81cf1f37d504054de0fcb8fe5ebeaba089e24a1b307bc8bb6a9d6454ed195ab",
    (0, 3, 4, 2): "a5975c1b6810d89d9310edffaeca5cb62237d38b850a3b0b50c15f965538f66f",
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
    assert birth.cloze.startswith(people[0].name) and birth.cloze.endswith("___")


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
