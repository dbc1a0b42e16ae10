"""Where RWKU targets come from, and which of their files one run reads.

Three sources, one reader. `local` reads per-target folders (`<root>/<id>/`, or the official
`<root>/Target/<id>/`); `hub` downloads the same files from the HF dataset into the HF cache;
`demo` writes the fictitious world (atu_pipeline.data.demo_world) to disk, then reads it like
`local`. `find_target` returns a `TargetFiles`: the only thing the table builders need.
"""

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .schema import (
    OPTIONAL_STEMS,
    OUR_STEMS,
    REQUIRED_STEMS,
    RwkuFormatError,
    RwkuHubError,
    RwkuTargetError,
    read_records,
)

log = logging.getLogger(__name__)

_MAPPINGS = ("files", "retain", "injection", "retain_probes")
GENERATED = "generate"  # rwku.forget_corpus: the model under test writes the corpus


@dataclass(frozen=True, kw_only=True)
class TargetFiles:
    """One target's identity and the local path of every file a run reads (JSON-able).

    Frozen, and its mappings are read-only views: every table builder reads the same object,
    so none may change what the others see.
    """

    id: str
    """The target's folder name, e.g. `1_Stephen_King`."""
    name: str
    """The person, as `target` in the target's `intro.json` spells it."""
    intro: str
    """The intro sentence of `intro.json`; empty when the file has none."""
    source: str
    """Where RWKU came from: `local`, `hub` or `demo`."""
    where: str
    """The folder (or hub address) that holds the per-target folders."""
    corpus: str
    """The stem of the corpus to unlearn, e.g. `positive_phi`."""
    files: Mapping[str, str]
    """{stem: local path} of the target's files: the required ones, then the optional found."""
    retain: Mapping[str, str]
    """{other target id: local path of its `corpus` file}: the retain corpus."""
    injection: Mapping[str, str]
    """{target id: local path} of every person's injection file when the source ships them."""
    retain_probes: Mapping[str, str]
    """{"<other target id>/<stem>": local path} of the retain targets' level-1/2 forget probes:
    the "other targets" utility set (knowledge that unlearning one target must leave alone)."""

    def __post_init__(self) -> None:
        # `frozen` stops rebinding a field; the proxy stops editing a mapping in place.
        for name in _MAPPINGS:
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __reduce__(self) -> tuple:
        # A mappingproxy neither pickles nor deep-copies, and kedro's MemoryDataset deep-copies.
        return (type(self).from_dict, (self.to_dict(),))

    def to_dict(self) -> dict[str, Any]:
        """Plain dicts and strings, ready for `json.dump`."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        return data | {name: dict(data[name]) for name in _MAPPINGS}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TargetFiles":
        """The inverse of `to_dict`."""
        return cls(**data)


# ---------------------------------------------------------------------------------------------
# Target ids and names


def _number(target_id: str) -> int | None:
    match = re.match(r"(\d+)_", target_id)
    return int(match.group(1)) if match else None


def name_from_id(target_id: str) -> str:
    """`10_Prince_Harry,_Duke_of_Sussex` -> `Prince Harry, Duke of Sussex`."""
    return re.sub(r"^\d+_", "", target_id).replace("_", " ")


def _norm(text: str) -> str:
    # NFC: a folder name written on macOS may spell "é" as e + combining accent.
    text = unicodedata.normalize("NFC", text).replace("_", " ")
    return " ".join(text.split()).casefold()


def _id_order(target_id: str) -> tuple[int, str]:
    number = _number(target_id)
    return (number if number is not None else 10**9, target_id)


# ---------------------------------------------------------------------------------------------
# Sources


class _Folder:
    """Per-target folders on disk: `<root>/Target/<id>/` (official layout) or `<root>/<id>/`."""

    def __init__(self, root: str | Path, only: Iterable[str] | None = None):
        root = Path(root)
        self.base = root / "Target" if (root / "Target").is_dir() else root
        self.where = str(self.base)
        self._only = None if only is None else set(only)

    def ids(self) -> list[str]:
        if not self.base.is_dir():
            return []
        found = [
            p.name
            for p in self.base.iterdir()
            if p.is_dir() and not p.name.startswith((".", "_")) and p.name not in ("All", "Batch")
        ]
        if self._only is not None:
            found = [i for i in found if i in self._only]
        return sorted(found, key=_id_order)

    def location(self, target_id: str, stem: str) -> str:
        return str(self.base / target_id / f"{stem}.json")

    def fetch(self, target_id: str, stem: str) -> Path | None:
        path = Path(self.location(target_id, stem))
        return path if path.is_file() else None

    def intro_name(self, target_id: str) -> str | None:
        try:
            return read_records(self.location(target_id, "intro"), "intro")[0]["target"]
        except RwkuFormatError:
            return None


def _hub_hint(hub_id: str, err: Exception) -> str:
    return (
        f"Could not reach the Hugging Face dataset '{hub_id}' ({type(err).__name__}: {err}). "
        "Without network access, download the per-target folders elsewhere and run with "
        "rwku.source=local and rwku.root=<folder holding Target/<id>/>."
    )


def _stems_by_target(repo_files: Iterable[str]) -> dict[str, set[str]]:
    """`Target/<id>/<stem>.json` paths of the hub listing -> {id: {stem, ...}}."""
    stems: dict[str, set[str]] = {}
    for name in repo_files:
        parts = name.split("/")
        if len(parts) == 3 and parts[0] == "Target" and parts[2].endswith(".json"):
            stems.setdefault(parts[1], set()).add(parts[2].removesuffix(".json"))
    return stems


class _Hub:
    """The HF dataset's `Target/<id>/<stem>.json` files, downloaded on demand into the HF cache."""

    def __init__(self, hub_id: str):
        from huggingface_hub import HfApi  # imported late: the CLI starts faster without it

        self.hub_id = hub_id
        self.where = f"hf://datasets/{hub_id}/Target"
        try:
            repo_files = HfApi().list_repo_files(hub_id, repo_type="dataset")
        except Exception as err:  # offline mode, DNS, HTTP, unknown repo: all end the same way
            raise RwkuHubError(_hub_hint(hub_id, err)) from err
        self._stems = _stems_by_target(repo_files)

    def ids(self) -> list[str]:
        return sorted(self._stems, key=_id_order)

    def location(self, target_id: str, stem: str) -> str:
        return f"{self.where}/{target_id}/{stem}.json"

    def fetch(self, target_id: str, stem: str) -> Path | None:
        if stem not in self._stems.get(target_id, ()):
            return None
        from huggingface_hub import hf_hub_download

        try:
            local = hf_hub_download(
                self.hub_id, f"Target/{target_id}/{stem}.json", repo_type="dataset"
            )
        except Exception as err:
            raise RwkuHubError(_hub_hint(self.hub_id, err)) from err
        return Path(local)

    def intro_name(self, target_id: str) -> str | None:
        return None  # one download per target just to match a name: ids and numbers suffice


_Store = _Folder | _Hub


def _write_demo(world: dict) -> _Folder:
    # Imported late: only this source writes the world, and the world's module is large.
    from atu_pipeline.data.demo_world import generate_world, write_world

    people = generate_world(
        seed=world["seed"],
        n_people=world["n_people"],
        corpus_texts_per_person=world["corpus_texts_per_person"],
        utility_items=world["utility_items"],
    )
    written = write_world(people, Path(world["root"]))
    # Read only the people just written: a stale folder from an older world must not join in.
    return _Folder(world["root"], only={Path(p).parent.name for p in written})


def _open_source(source: str, *, root: str, hub_id: str, world: dict | None) -> _Store:
    if source == "local":
        return _Folder(root)
    if source == "hub":
        return _Hub(hub_id)
    if source == "demo":
        return _write_demo(world or {})
    raise ValueError(f"rwku.source must be local, hub or demo; got {source!r}")


# ---------------------------------------------------------------------------------------------
# Target resolution


def _matches(wanted: str, ids: list[str], store: _Store) -> list[str]:
    if wanted.strip().isdigit():
        return [i for i in ids if _number(i) == int(wanted)]
    key = _norm(wanted)
    hits = [i for i in ids if _norm(i) == key or _norm(name_from_id(i)) == key]
    # The intros are read only when ids miss: that costs one read per target.
    return hits or [i for i in ids if _norm(store.intro_name(i) or "") == key]


def _not_found(wanted: str, ids: list[str], where: str) -> RwkuTargetError:
    if not ids:
        return RwkuTargetError(
            f"No RWKU target folders found in {where} (expected <root>/<id>/ or "
            "<root>/Target/<id>/ holding intro.json, forget_level1.json, ...)"
        )
    examples = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    return RwkuTargetError(
        f"Unknown RWKU target {wanted!r}: not an id, number or name among the {len(ids)} "
        f"targets in {where} (e.g. {examples})"
    )


def _resolve(wanted: str, ids: list[str], store: _Store) -> str:
    if wanted in ids:
        return wanted
    hits = _matches(wanted, ids, store)
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise RwkuTargetError(f"Target {wanted!r} is ambiguous in {store.where}: {hits}")
    raise _not_found(wanted, ids, store.where)


# ---------------------------------------------------------------------------------------------
# The files of one target


def _target_paths(store: _Store, target_id: str, *, corpus: str, source: str) -> dict[str, str]:
    """{stem: local path}: every required file and the corpus (else an error), then the
    optional files that exist."""
    files: dict[str, str] = {}
    written = () if corpus == GENERATED else (corpus,)  # a generated corpus has no file yet
    for stem in (*REQUIRED_STEMS, *written):
        path = store.fetch(target_id, stem)
        if path is None:
            raise RwkuFormatError(
                f"{store.location(target_id, stem)}: required file is missing "
                f"(target {target_id}, source={source})"
            )
        files[stem] = str(path)
    for stem in OPTIONAL_STEMS:
        if stem in files:  # the corpus may be one of them (`passage`)
            continue
        path = store.fetch(target_id, stem)
        if path is not None:
            files[stem] = str(path)
        else:
            note = " (only the demo world ships it)" if stem in OUR_STEMS else ""
            log.warning("%s is absent%s; skipping it", store.location(target_id, stem), note)
    return files


def _other_corpora(
    store: _Store, ids: list[str], target_id: str, *, stem: str, count: int
) -> dict[str, str]:
    """The next `count` ids after the target (wrapping around) that have a `stem` file (for a
    generated corpus: the next `count` ids, mapped to "")."""
    start = ids.index(target_id)
    picked: dict[str, str] = {}
    for other in ids[start + 1 :] + ids[:start]:
        if len(picked) == count:
            break
        if stem == GENERATED:
            picked[other] = ""
            continue
        path = store.fetch(other, stem)
        if path is None:
            log.warning(
                "%s is absent; target %s does not join the retain corpus",
                store.location(other, stem),
                other,
            )
        else:
            picked[other] = str(path)
    if len(picked) < count:
        log.warning(
            "rwku.other_targets=%d, but only %d other targets in %s have %s.json",
            count,
            len(picked),
            store.where,
            stem,
        )
    return picked


def _other_probes(store: _Store, ids: list[str], target_id: str, count: int) -> dict[str, str]:
    """The level-1/2 forget probe files of the next `count` other targets (wrapping around)."""
    start = ids.index(target_id)
    found = {}
    for other in (ids[start + 1 :] + ids[:start])[:count]:
        for stem in ("forget_level1", "forget_level2"):
            path = store.fetch(other, stem)
            if path is not None:
                found[f"{other}/{stem}"] = str(path)
    return found


def _injection_paths(store: _Store, ids: list[str]) -> dict[str, str]:
    """Every person's injection file: the demo world teaches all of them, not only the target."""
    return {i: str(p) for i in ids if (p := store.fetch(i, "injection")) is not None}


def find_target(
    target: str | int,
    *,
    source: str,
    root: str,
    hub_id: str,
    forget_corpus: str,
    other_targets: int,
    retain_targets: int = 0,
    world: dict | None = None,
) -> TargetFiles:
    """Locate one target's files (writing the demo world or downloading first when needed).

    Args:
        target: an id (`1_Stephen_King`), its number (`1`) or the person's name (`Stephen King`).
        source: `local`, `hub` or `demo`.
        root: the folder for `local`; hub_id: the HF dataset for `hub`;
        world: the `world` parameters for `demo` (its `root` is where the world is written).
        forget_corpus: the stem of the corpus file to unlearn (`positive_phi`).
        other_targets: how many other targets' corpora form the retain corpus.
        retain_targets: how many other targets' level-1/2 probes form the retain probes.

    Returns:
        The target's id, name and intro and the local path of every file to read.
    """
    store = _open_source(source, root=root, hub_id=hub_id, world=world)
    ids = store.ids()
    target_id = _resolve(str(target), ids, store)
    files = _target_paths(store, target_id, corpus=forget_corpus, source=source)
    intro = read_records(files["intro"], "intro")[0]
    injection = _injection_paths(store, ids) if "injection" in files else {}
    retain = _other_corpora(store, ids, target_id, stem=forget_corpus, count=other_targets)
    return TargetFiles(
        id=target_id,
        name=intro["target"],
        intro=intro.get("intro", ""),
        source=source,
        where=store.where,
        corpus=forget_corpus,
        files=files,
        retain=retain,
        injection=injection,
        retain_probes=_other_probes(store, ids, target_id, retain_targets),
    )
