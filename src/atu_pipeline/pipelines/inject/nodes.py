"""inject nodes: thin adapters over recipes.inject."""

import pandas as pd

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams, InjectParams, ModelSpec
from atu_pipeline.recipes import inject as recipe


def load_base_llm(llm: ModelSpec, model_cache: ModelCache) -> CausalLM:
    """The model named by `llm.spec` (GGUF is converted once and cached)."""
    return load_llm(llm.spec, llm.gguf_file, llm.dtype, llm.trust_remote_code, cache=model_cache)


def inject_knowledge(
    base_llm: CausalLM,
    injection_corpus: pd.DataFrame,
    target_info: dict,
    model_cache: ModelCache,
    llm: ModelSpec,
    inject: InjectParams,
) -> tuple[CausalLM, dict, list[str]]:
    """The subject model: the base model taught the injection corpus (cached by recipe), its
    step losses, and the probe files it was taught verbatim."""
    return recipe.inject_knowledge(
        base_llm, injection_corpus, target_info["name"], cache=model_cache, llm=llm, inject=inject
    )


def score_injection(
    base_llm: CausalLM, subject_llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams
) -> tuple[dict, dict]:
    """Probe scores before and after injection, as a report and as MLflow metrics."""
    return recipe.injection_report(base_llm, subject_llm, probes, eval_params)
