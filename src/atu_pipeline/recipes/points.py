"""What a sweep's or a benchmark's points share: one target's data, the work every point reads
(the subject model, the alignment windows, the cache), and one whole unlearning run."""

import functools
import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM, fingerprint
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.data import rwku as tables
from atu_pipeline.data.rwku.sources import GENERATED
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import (
    AtuParams,
    BaselineParams,
    EmbedParams,
    EngineParams,
    EvalParams,
    ModelSpec,
    RwkuParams,
    WorldParams,
)
from atu_pipeline.recipes.atu import choose_layer, first_alignment, unlearn_atu
from atu_pipeline.recipes.baselines import unlearn_baseline
from atu_pipeline.recipes.corpus import generated_corpus
from atu_pipeline.recipes.embed import embed_concept
from atu_pipeline.recipes.rounds import UnlearningResult


@dataclass(frozen=True)
class TargetData:
    """One target, as the ingest pipeline tables it, plus the concept to forget."""

    info: dict  # id, name, intro, source
    probes: pd.DataFrame  # forget and neighbor probes, split into val / test
    retain_probes: pd.DataFrame  # the other targets' probes ("other targets" utility)
    forget_corpus: pd.DataFrame
    retain_corpus: pd.DataFrame  # other targets' texts (retain regularisers)
    mia_texts: pd.DataFrame
    concept: torch.Tensor  # e_target
    memorised_probes: list[str]  # probe files the injection taught verbatim (labels reports)

    def fingerprint(self) -> str:
        """What the target's results depend on (probes, corpus, concept), as a short hash."""
        digest = hashlib.sha256()
        tables = (self.probes, self.retain_probes, self.forget_corpus, self.retain_corpus)
        for table in (*tables, self.mia_texts):
            digest.update(table.to_json().encode())
        digest.update(repr(self.concept[:8].tolist()).encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class SharedWork:
    """What every point reads and none changes: computed once, before the first point.

    It travels to a Dask worker by reference: the subject model and the windows are saved in
    the cache once (`persisted`), and a worker process loads them from there once.
    """

    subject_llm: CausalLM
    windows: WindowSet | None  # the alignment corpus's future windows (None: no ATU point)
    utility_items: dict[str, list[dict]]
    cache: ModelCache
    eval_params: EvalParams
    subject_key: str | None = None  # where `persisted` saved them in the cache
    windows_key: str | None = None

    @classmethod
    def persisted(
        cls,
        subject_llm: CausalLM,
        windows: WindowSet | None,
        utility_items: dict[str, list[dict]],
        cache: ModelCache,
        eval_params: EvalParams,
    ) -> "SharedWork":
        """The same work, its model and windows saved in the cache (once) for other processes."""
        subject_key = "subject-" + fingerprint(subject_llm.model.state_dict())[:16]
        if not (cache.path(subject_key) / "config.json").is_file():
            cache.put(subject_key, subject_llm, {"kind": "subject model of sweeps and benchmarks"})
        windows_key = None
        if windows is not None:
            windows_key = "windows-" + fingerprint(windows.to_tensors())[:16]
            if cache.get_tensors(windows_key) is None:
                cache.put_tensors(windows_key, windows.to_tensors())
        return cls(
            subject_llm, windows, utility_items, cache, eval_params, subject_key, windows_key
        )

    def __reduce__(self) -> tuple:
        if self.subject_key is None:
            return super().__reduce__()
        references = (str(self.cache.root), self.subject_key, self.windows_key)
        return (_shared_from_cache, (*references, self.utility_items, self.eval_params))


def _shared_from_cache(
    root: str, subject_key: str, windows_key: str | None, utility_items: dict, eval_params
) -> SharedWork:
    cache = ModelCache(root)
    subject = _load_subject(root, subject_key)
    windows = None if windows_key is None else _load_windows(root, windows_key)
    return SharedWork(subject, windows, utility_items, cache, eval_params, subject_key, windows_key)


@functools.lru_cache(maxsize=2)
def _load_subject(root: str, key: str) -> CausalLM:
    """Once per worker process: every point of a study reads the same subject model."""
    return ModelCache(root).get(key)


@functools.lru_cache(maxsize=2)
def _load_windows(root: str, key: str) -> WindowSet:
    return WindowSet.from_tensors(ModelCache(root).get_tensors(key))


def load_target(
    name: str,
    text_encoder,
    memorised_probes: list[str],
    *,
    rwku: RwkuParams,
    world: WorldParams,
    embed: EmbedParams,
    llm: ModelSpec | None = None,
    cache: ModelCache | None = None,
) -> TargetData:
    """One target's tables, as the ingest pipeline builds them, and its concept's embedding
    (`llm` and `cache` write the corpora when `rwku.forget_corpus` is `generate`)."""
    files = tables.find_target(
        name,
        source=rwku.source,
        root=rwku.root,
        hub_id=rwku.hub_id,
        forget_corpus=rwku.forget_corpus,
        other_targets=rwku.other_targets,
        retain_targets=rwku.retain_targets,
        world=world.model_dump(),
    )
    split = {"test_share": rwku.test_share, "seed": rwku.split_seed}
    info = tables.target_info(files)
    return TargetData(
        info=info,
        probes=tables.probe_table(files, **split),
        retain_probes=tables.retain_probe_table(files, **split),
        forget_corpus=_corpus(files, [files.id], rwku, llm, cache),
        retain_corpus=_corpus(files, list(files.retain), rwku, llm, cache),
        mia_texts=tables.mia_table(files),
        concept=embed_concept(text_encoder, info["name"], info["intro"], embed),
        memorised_probes=memorised_probes,
    )


def group_target(members: list[TargetData]) -> TargetData:
    """Several targets unlearned at once (RWKU's batch setting), as one target: the union of
    their forget corpora, probes and forget MIA texts, their concepts stacked (K, D) for ATU's
    hinge on the largest similarity. What belongs to a member leaves the retain side: a member is
    no neighbor, no retain target and no retain MIA text of another member."""
    names = [member.info["name"] for member in members]

    def union(tables: list[pd.DataFrame]) -> pd.DataFrame:
        return pd.concat(tables, ignore_index=True).drop_duplicates(ignore_index=True)

    probes = union([member.probes for member in members])
    mia = union([member.mia_texts for member in members])
    names_member = mia["text"].apply(lambda text: any(name in text for name in names))
    retain_probes = union([member.retain_probes for member in members])
    retain_corpus = union([member.retain_corpus for member in members])
    return TargetData(
        info={
            "id": "+".join(member.info["id"] for member in members),
            "name": " + ".join(names),
            "intro": " ".join(member.info["intro"] for member in members),
            "source": members[0].info["source"],
            "members": {member.info["id"]: member.info["name"] for member in members},
        },
        probes=probes[~probes["neighbor"].isin(names)].reset_index(drop=True),
        retain_probes=retain_probes[~retain_probes["subject"].isin(names)].reset_index(drop=True),
        forget_corpus=union([member.forget_corpus for member in members]),
        retain_corpus=retain_corpus[~retain_corpus["subject"].isin(names)].reset_index(drop=True),
        mia_texts=mia[(mia["split"] == "forget") | ~names_member].reset_index(drop=True),
        concept=torch.stack([member.concept for member in members]),
        memorised_probes=sorted({p for member in members for p in member.memorised_probes}),
    )


def with_hook_layer(
    settings: AtuParams | BaselineParams, target: TargetData, shared: SharedWork
) -> AtuParams | BaselineParams:
    """ATU settings with `layer: auto` settled for this target (recipes.atu.choose_layer, cached);
    any other settings as they are."""
    if not isinstance(settings, AtuParams) or settings.layer != "auto":
        return settings
    subject, windows, corpus = shared.subject_llm, shared.windows, target.forget_corpus
    chosen, _ = choose_layer(
        subject,
        windows,
        corpus,
        target.retain_corpus,
        target.concept,
        cache=shared.cache,
        atu=settings,
    )
    return chosen


def align_heads(settings: list[AtuParams | BaselineParams], shared: SharedWork) -> None:
    """The first alignment of every head the ATU settings need, in this process, before any
    point is submitted: workers then load each head from the cache instead of aligning it twice."""
    for atu in settings:
        if isinstance(atu, AtuParams):
            first_alignment(shared.subject_llm, shared.windows, cache=shared.cache, atu=atu)


def _corpus(files, ids: list[str], rwku: RwkuParams, llm, cache) -> pd.DataFrame:
    if files.corpus == GENERATED:
        return generated_corpus(ids, llm=llm, cache=cache, generation=rwku.generation)
    if ids == [files.id]:
        return tables.forget_corpus_table(files)
    return tables.retain_corpus_table(files)


def run_unlearning(
    method: str, settings: AtuParams | BaselineParams, target: TargetData, shared: SharedWork
) -> UnlearningResult:
    """One whole unlearning run from the subject model (ATU: with its head aligned first; the
    alignment is cached by recipe, so points at one hook layer and seed share one head)."""
    subject, cache, eval_params = shared.subject_llm, shared.cache, shared.eval_params
    if method != "atu":
        return unlearn_baseline(
            subject,
            target.forget_corpus,
            target.probes,
            cache=cache,
            baseline=settings,
            eval_params=eval_params,
            retain_corpus=target.retain_corpus,
        )
    settings = with_hook_layer(settings, target, shared)
    head, _ = first_alignment(subject, shared.windows, cache=cache, atu=settings)
    result, _ = unlearn_atu(
        subject,
        head,
        shared.windows,
        target.forget_corpus,
        target.concept,
        target.probes,
        cache=cache,
        atu=settings,
        eval_params=eval_params,
        retain_corpus=target.retain_corpus,
    )
    return result


def table_rows(table: pd.DataFrame) -> list[dict]:
    """A table as JSON-able rows (NaN as None)."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def discard_checkpoints(results: list[dict], engine: EngineParams) -> None:
    """Delete recorded points' round checkpoints (unless `engine.keep_checkpoints`): a point's
    result in the study's folder is what a resumed study reads, and a GA point's checkpoints
    alone take ~4 GB, so a study of dozens of points would otherwise fill a disk."""
    if engine.keep_checkpoints:
        return
    for result in results:
        if result and result.get("checkpoints"):
            shutil.rmtree(Path(result["checkpoints"]), ignore_errors=True)
