"""RWKU sources: target resolution, both folder layouts, the hub path and `TargetFiles`."""

import copy
import dataclasses
import json
import logging
import pickle
from pathlib import Path

import pytest
from rwku_folders import find, read_everything, write_target

from atu_pipeline.data import rwku
from atu_pipeline.data.rwku import RwkuFormatError, RwkuHubError, RwkuTargetError, TargetFiles

# --- TargetFiles ------------------------------------------------------------------------------


def test_target_files_are_frozen(official):
    target = find(official)
    with pytest.raises(dataclasses.FrozenInstanceError):
        target.name = "Someone Else"
    with pytest.raises(TypeError):
        target.files["intro"] = "elsewhere.json"
    with pytest.raises(TypeError):
        target.retain["9_Nobody"] = "elsewhere.json"


def test_target_files_round_trip_through_json(official):
    target = find(official, "2")
    data = json.loads(json.dumps(target.to_dict()))
    assert data["files"]["intro"] == target.files["intro"]
    assert list(data["retain"]) == ["3_Bruce_Lee", "1_Stephen_King"]
    assert sorted(data["retain_probes"]) == [
        f"{other}/forget_level{level}"
        for other in ("1_Stephen_King", "3_Bruce_Lee")
        for level in (1, 2)
    ]
    assert TargetFiles.from_dict(data) == target
    # kedro's MemoryDataset deep-copies what passes between nodes; ParallelRunner pickles it
    assert copy.deepcopy(target) == target
    assert pickle.loads(pickle.dumps(target)) == target


def test_target_files_copy_the_mappings_they_are_given():
    files = {"intro": "intro.json"}
    target = TargetFiles(
        id="1_A",
        name="A",
        intro="",
        source="local",
        where=".",
        corpus="positive_phi",
        files=files,
        retain={},
        injection={},
        retain_probes={},
    )
    files["intro"] = "changed.json"
    assert target.files["intro"] == "intro.json"


def test_retain_corpus_warns_when_too_few_targets(official, caplog):
    with caplog.at_level(logging.WARNING):
        target = find(official, "3", other_targets=5)
    assert list(target.retain) == ["1_Stephen_King", "2_Confucius"]
    assert "only 2 other targets" in caplog.text


# --- target resolution ----------------------------------------------------------------------


ODD_IDS = ["10_Prince_Harry,_Duke_of_Sussex", "24_Beyoncé", "87_Robert_Downey_Jr."]


@pytest.mark.parametrize("layout", ["official", "flat"])
@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ("10_Prince_Harry,_Duke_of_Sussex", ODD_IDS[0]),
        ("10", ODD_IDS[0]),
        ("Prince Harry, Duke of Sussex", ODD_IDS[0]),
        ("24", ODD_IDS[1]),
        ("beyoncé", ODD_IDS[1]),
        ("87_Robert_Downey_Jr.", ODD_IDS[2]),
        ("Robert Downey Jr.", ODD_IDS[2]),
        ("Bobby D", ODD_IDS[2]),  # only the intro's `target` says so
    ],
)
def test_target_resolves_by_id_number_or_name(tmp_path: Path, layout, wanted, expected):
    base = tmp_path / "Target" if layout == "official" else tmp_path
    for target_id in ODD_IDS:
        name = "Bobby D" if target_id.startswith("87") else None
        write_target(base, target_id, name=name)
    assert find(tmp_path, wanted).id == expected


def test_unknown_target_lists_ids_and_where_it_looked(official):
    with pytest.raises(RwkuTargetError, match="Unknown RWKU target 'Nobody'") as err:
        find(official, "Nobody")
    assert "1_Stephen_King, 2_Confucius, 3_Bruce_Lee" in str(err.value)
    assert str(official / "Target") in str(err.value)


def test_empty_root_says_what_layout_it_expected(tmp_path: Path):
    with pytest.raises(RwkuTargetError, match="No RWKU target folders found"):
        find(tmp_path / "missing")


@pytest.mark.parametrize("stem", [*rwku.REQUIRED_STEMS, "positive_phi"])
def test_missing_required_file(tmp_path: Path, stem):
    folder = write_target(tmp_path, "1_Stephen_King", **{stem: None})
    with pytest.raises(RwkuFormatError, match=f"{stem}.json: required file is missing"):
        find(tmp_path)
    assert not (folder / f"{stem}.json").exists()


# --- hub ---------------------------------------------------------------------------------------


class FakeHub:
    """Stands in for huggingface_hub: lists and 'downloads' files from a local mirror."""

    def __init__(self, mirror: Path):
        self.mirror = mirror
        self.downloads: list[str] = []

    def list_repo_files(self, repo_id, repo_type=None):
        assert (repo_id, repo_type) == ("jinzhuoran/RWKU", "dataset")
        return ["README.md", "All/intro.json"] + [
            p.relative_to(self.mirror).as_posix() for p in self.mirror.rglob("*.json")
        ]

    def hf_hub_download(self, repo_id, filename, repo_type=None):
        assert (repo_id, repo_type) == ("jinzhuoran/RWKU", "dataset")
        self.downloads.append(filename)
        return str(self.mirror / filename)


@pytest.fixture
def fake_hub(official, monkeypatch) -> FakeHub:
    import huggingface_hub

    hub = FakeHub(official)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: hub)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", hub.hf_hub_download)
    return hub


def test_hub_downloads_only_the_files_it_reads(fake_hub):
    target = find(Path("unused"), "Bruce Lee", source="hub", other_targets=1)
    read_everything(target)
    assert target.id == "3_Bruce_Lee"
    assert "Target/3_Bruce_Lee/forget_level3.json" in fake_hub.downloads
    assert "Target/1_Stephen_King/positive_phi.json" in fake_hub.downloads  # the retain corpus
    assert "Target/1_Stephen_King/intro.json" not in fake_hub.downloads
    assert not any("negative" in name for name in fake_hub.downloads)


def test_hub_missing_file_names_its_hub_path(fake_hub, official):
    (official / "Target" / "1_Stephen_King" / "retain_mia.json").unlink()
    with pytest.raises(
        RwkuFormatError, match="hf://datasets/jinzhuoran/RWKU/Target/1_Stephen_King/retain_mia.json"
    ):
        find(Path("unused"), "1", source="hub")


def test_unreachable_hub_suggests_a_local_source(monkeypatch):
    import huggingface_hub

    class Offline:
        def list_repo_files(self, repo_id, repo_type=None):
            raise ConnectionError("no network")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    with pytest.raises(RwkuHubError, match="rwku.source=local"):
        find(Path("unused"), "1", source="hub")
