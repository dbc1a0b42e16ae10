"""The ingest pipeline end to end: SequentialRunner over an in-memory catalog, params injected."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import AbstractDataset, DataCatalog
from kedro.runner import SequentialRunner

from atu_pipeline.data.rwku import TargetFiles
from atu_pipeline.params import RwkuParams, WorldParams
from atu_pipeline.pipelines.ingest import create_pipeline
from atu_pipeline.pipelines.ingest.nodes import find_target_files

CATALOG = Path(__file__).resolve().parents[3] / "conf" / "base" / "catalog_ingest.yml"

PROBES = {
    "set": "str",
    "level": "int",
    "kind": "str",
    "type": "str",
    "query": "str",
    "answer": "str",
    "subject": "str",
    "neighbor": "str",
    "fact": "str",
    "split": "str",
}
TABLES = {
    "probes": PROBES,
    "retain_probes": PROBES,
    "mia_texts": {"split": "str", "text": "str", "subject": "str"},
    "forget_corpus": {"subject": "str", "text": "str"},
    "retain_corpus": {"subject": "str", "text": "str"},
    "injection_corpus": {
        "kind": "str",
        "query": "str",
        "answer": "str",
        "text": "str",
        "subject": "str",
        "origin": "str",
    },
}
UTILITY_KEYS = {"mmlu", "bbh", "truthfulqa", "triviaqa", "fluency", "general_text"}


def run_ingest(target: str, rwku: RwkuParams, world: WorldParams) -> dict:
    catalog = DataCatalog()
    catalog["params:target"] = target
    catalog["params:rwku"] = rwku
    catalog["params:world"] = world
    catalog["params:llm"] = None  # read only when the model writes the forget corpora
    catalog["model_cache"] = None
    outputs = SequentialRunner().run(create_pipeline(), catalog)
    return {name: dataset.load() for name, dataset in outputs.items()}


def assert_typed_tables(out: dict) -> None:
    for name, columns in TABLES.items():
        table = out[name]
        assert isinstance(table, pd.DataFrame), name
        assert list(table.columns) == list(columns), name
        for column, kind in columns.items():
            check = pd.api.types.is_integer_dtype if kind == "int" else pd.api.types.is_string_dtype
            assert check(table[column]), f"{name}.{column}: {table[column].dtype}"
    assert set(out["probes"]["kind"]) <= {"fb", "qa", "aa"}
    assert set(out["probes"]["split"]) <= {"val", "test"}
    assert set(out["injection_corpus"]["kind"]) <= {"text", "fb", "qa"}
    assert set(out["utility_items"]) == UTILITY_KEYS
    assert set(out["target_info"]) == {"id", "name", "intro", "source"}


def write_local_target(base: Path, target_id: str, name: str) -> None:
    folder = base / target_id
    folder.mkdir(parents=True)

    def probes(level: int, neighbor: bool) -> list[dict]:
        kind = "cloze" if level == 1 else "simple question"
        extra = {"neighbor": "Some Film"} if neighbor else {}
        return [
            {"query": f"{name} q{level}", "answer": "a", "level": str(level), "type": kind}
            | {"subject": name}
            | extra
        ]

    files = {
        "intro": {"target": name, "intro": f"Please forget {name}."},
        "forget_level1": probes(1, False),
        "forget_level2": probes(2, False),
        "forget_level3": probes(3, False),
        "neighbor_level1": probes(1, True),
        "neighbor_level2": probes(2, True),
        "forget_mia": [{"text": f"{name} wiki", "ngram": 2, "subject": name}],
        "retain_mia": [{"text": "other wiki", "ngram": 2, "subject": name}],
        "positive_phi": [{"id": f"{name} 0", "text": f"{name} bio", "subject": name}],
        "passage": [{"text": f"{name} passage", "subject": name}],
        "fluency": [{"instruction": "Write a poem."}],
    }
    for stem, content in files.items():
        (folder / f"{stem}.json").write_text(json.dumps(content), encoding="utf-8")


def test_pipeline_nodes():
    names = {node.name for node in create_pipeline().nodes}
    assert names == {
        "find_target_files",
        "build_target_info",
        "build_probes",
        "build_mia_texts",
        "collect_utility_items",
        "build_forget_corpus",
        "build_retain_corpus",
        "build_retain_probes",
        "build_injection_corpus",
    }


def test_ingest_local_folder(tmp_path):
    for target_id, name in (("1_Ann_Lee", "Ann Lee"), ("2_Bo_Ray", "Bo Ray")):
        write_local_target(tmp_path / "Target", target_id, name)
    rwku = RwkuParams(source="local", root=str(tmp_path), other_targets=1)
    out = run_ingest("Bo Ray", rwku, WorldParams(root=str(tmp_path / "unused")))

    assert_typed_tables(out)
    assert out["target_info"]["id"] == "2_Bo_Ray"
    assert out["target_info"]["source"] == "local"
    assert len(out["probes"]) == 5
    assert out["retain_corpus"]["subject"].tolist() == ["Ann Lee"]
    assert out["utility_items"]["fluency"] == [{"instruction": "Write a poem."}]
    assert out["utility_items"]["mmlu"] == []
    assert not (tmp_path / "unused").exists()


def test_target_files_persist_through_the_catalog_dataset(tmp_path):
    write_local_target(tmp_path / "Target", "1_Ann_Lee", "Ann Lee")
    rwku = RwkuParams(source="local", root=str(tmp_path), other_targets=0)
    target = find_target_files("1", rwku, WorldParams(root=str(tmp_path / "unused")))
    assert isinstance(target, TargetFiles)

    config = yaml.safe_load(CATALOG.read_text())["target_files"]
    path = tmp_path / "02_intermediate" / "target_files.json"
    dataset = AbstractDataset.from_config("target_files", {**config, "path": str(path)})
    assert not dataset.exists()
    dataset.save(target)
    assert dataset.exists()
    assert json.loads(path.read_text())["name"] == "Ann Lee"
    assert dataset.load() == target


@pytest.fixture
def demo_world(tmp_path) -> WorldParams:
    return WorldParams(
        seed=0, n_people=2, corpus_texts_per_person=3, utility_items=2, root=str(tmp_path / "w")
    )


def test_ingest_demo_world(demo_world):
    # A folder left over from an older, bigger world must not join in.
    write_local_target(Path(demo_world.root) / "Target", "3_Stale_Person", "Stale Person")
    out = run_ingest("1", RwkuParams(source="demo", other_targets=5), demo_world)

    assert_typed_tables(out)
    info = out["target_info"]
    assert info["source"] == "demo"
    assert info["id"].startswith("1_")
    assert (Path(demo_world.root) / "Target" / info["id"] / "intro.json").is_file()
    assert len(out["forget_corpus"]) == 3
    assert set(out["forget_corpus"]["subject"]) == {info["name"]}
    assert len(out["retain_corpus"]) == 3
    assert info["name"] not in set(out["retain_corpus"]["subject"])
    # The injection corpus covers every person of the world, not only the target.
    people = set(out["injection_corpus"]["subject"])
    assert len(people) == 2 and info["name"] in people and "Stale Person" not in people
    sizes = {key: len(items) for key, items in out["utility_items"].items()}
    assert all(sizes[key] == 2 for key in UTILITY_KEYS - {"general_text"})  # utility_items=2
    assert sizes["general_text"] > 0
    assert set(out["probes"]["set"]) == {"forget", "neighbor"}


def test_demo_world_is_deterministic(demo_world):
    first = run_ingest("1", RwkuParams(source="demo", other_targets=1), demo_world)
    second = run_ingest("1", RwkuParams(source="demo", other_targets=1), demo_world)
    pd.testing.assert_frame_equal(first["probes"], second["probes"])
    assert first["utility_items"] == second["utility_items"]
