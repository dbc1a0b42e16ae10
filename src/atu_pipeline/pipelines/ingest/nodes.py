"""Thin adapters over atu_pipeline.data.rwku: parameters in, tables out."""

import pandas as pd

from atu_pipeline.data import rwku as rwku_files
from atu_pipeline.data.rwku import TargetFiles
from atu_pipeline.data.rwku.sources import GENERATED
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import ModelSpec, RwkuParams, WorldParams
from atu_pipeline.recipes.corpus import generated_corpus


def find_target_files(target: str, rwku: RwkuParams, world: WorldParams) -> TargetFiles:
    """Locate the target's files (writing the demo world or downloading first when needed).

    Args:
        target: an id (`1_Stephen_King`), its number or the person's name.
        rwku: where RWKU comes from and which corpus is unlearned.
        world: the demo world, used when `rwku.source == "demo"`.

    Returns:
        The target's id, name, intro and the local path of every file to read.
    """
    return rwku_files.find_target(
        target,
        source=rwku.source,
        root=rwku.root,
        hub_id=rwku.hub_id,
        forget_corpus=rwku.forget_corpus,
        other_targets=rwku.other_targets,
        retain_targets=rwku.retain_targets,
        world=world.model_dump(),
    )


def build_target_info(target_files: TargetFiles) -> dict:
    """Returns `{id, name, intro, source}`."""
    return rwku_files.target_info(target_files)


def build_probes(target_files: TargetFiles, rwku: RwkuParams) -> pd.DataFrame:
    """Returns forget (levels 1-3) and neighbor (levels 1-2) probes, one row each, split into
    validation and test by fact (`rwku.test_share`, `rwku.split_seed`)."""
    return rwku_files.probe_table(target_files, test_share=rwku.test_share, seed=rwku.split_seed)


def build_retain_probes(target_files: TargetFiles, rwku: RwkuParams) -> pd.DataFrame:
    """Returns the other targets' level-1/2 forget probes (set "retain"), split like `probes`."""
    return rwku_files.retain_probe_table(
        target_files, test_share=rwku.test_share, seed=rwku.split_seed
    )


def build_mia_texts(target_files: TargetFiles) -> pd.DataFrame:
    """Returns the forget and retain MIA texts (`split`, `text`, `subject`)."""
    return rwku_files.mia_table(target_files)


def collect_utility_items(target_files: TargetFiles) -> dict[str, list[dict]]:
    """Returns `{mmlu, bbh, truthfulqa, triviaqa, fluency, general_text}` record lists."""
    return rwku_files.utility_items(target_files)


def build_forget_corpus(
    target_files: TargetFiles, rwku: RwkuParams, llm: ModelSpec, model_cache: ModelCache
) -> pd.DataFrame:
    """Returns the target's forget corpus (`subject`, `text`): its file, or, with
    `rwku.forget_corpus=generate`, the one the model `llm` writes (cached)."""
    if target_files.corpus != GENERATED:
        return rwku_files.forget_corpus_table(target_files)
    generation = rwku.generation
    return generated_corpus([target_files.id], llm=llm, cache=model_cache, generation=generation)


def build_retain_corpus(
    target_files: TargetFiles, rwku: RwkuParams, llm: ModelSpec, model_cache: ModelCache
) -> pd.DataFrame:
    """Returns the forget corpora of the other targets picked by `rwku.other_targets`."""
    if target_files.corpus != GENERATED:
        return rwku_files.retain_corpus_table(target_files)
    others = list(target_files.retain)
    return generated_corpus(others, llm=llm, cache=model_cache, generation=rwku.generation)


def build_injection_corpus(target_files: TargetFiles) -> pd.DataFrame:
    """Returns the texts and QA items that teach the LLM the people involved."""
    return rwku_files.injection_table(target_files)
