"""embed nodes: the concept's embedding and the alignment corpus's window embeddings."""

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.io.models import ModelCache, load_encoder
from atu_pipeline.params import EmbedParams, ModelSpec
from atu_pipeline.recipes.embed import cached_window_embeddings, embed_concept


def load_text_encoder(encoder: ModelSpec):
    """The frozen sentence encoder named by `encoder.spec`."""
    return load_encoder(encoder.spec, encoder.trust_remote_code)


def embed_target(text_encoder, target_info: dict, embed: EmbedParams) -> dict[str, torch.Tensor]:
    """e_target, as a tensor dict for the catalog."""
    embedding = embed_concept(
        text_encoder, target_info["name"], target_info.get("intro", ""), embed
    )
    return {"embedding": embedding}


def embed_alignment_windows(
    forget_corpus: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    base_llm: CausalLM,
    text_encoder,
    model_cache: ModelCache,
    encoder: ModelSpec,
    embed: EmbedParams,
) -> dict[str, torch.Tensor]:
    """Window embeddings of the target's corpus plus other targets' (so that the head learns
    to predict text in general), cached."""
    texts = list(forget_corpus["text"]) + list(retain_corpus["text"])
    if not texts:
        raise ValueError("the alignment corpus is empty: no forget or retain texts were ingested")
    return cached_window_embeddings(
        texts,
        base_llm.tokenizer,
        text_encoder,
        cache=model_cache,
        encoder_spec=encoder.spec,
        embed=embed,
    )
