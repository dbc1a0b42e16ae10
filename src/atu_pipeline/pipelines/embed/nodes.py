"""Target embedding and future-window embeddings: the encoder's side of ATU, computed once."""

import hashlib
import json

import pandas as pd
import torch

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.core.windows import WindowSet, build_windows
from atu_pipeline.io.models import ModelCache, load_encoder
from atu_pipeline.params import EmbedParams, ModelSpec


def load_text_encoder(encoder: ModelSpec):
    """The frozen sentence encoder named by `encoder.spec`."""
    return load_encoder(encoder.spec, encoder.trust_remote_code)


def embed_concept(text_encoder, target_info: dict, embed: EmbedParams) -> dict[str, torch.Tensor]:
    """e_target: the encoder's embedding of the concept to forget (its name, or name + intro)."""
    text = target_info["name"]
    if embed.concept == "name_and_intro" and target_info.get("intro"):
        text = f"{text}. {target_info['intro']}"
    embedding = text_encoder.encode([text], convert_to_tensor=True, normalize_embeddings=True)
    return {"embedding": embedding[0].float().cpu()}


def alignment_texts(forget_corpus: pd.DataFrame, retain_corpus: pd.DataFrame) -> list[str]:
    """The target's corpus plus other targets' (so the head learns to predict text in general)."""
    texts = list(forget_corpus["text"]) + list(retain_corpus["text"])
    if not texts:
        raise ValueError("the alignment corpus is empty: no forget or retain texts were ingested")
    return texts


def embed_windows(
    texts: list[str], tokenizer, text_encoder, embed: EmbedParams
) -> dict[str, torch.Tensor]:
    """Tokenize the corpus and embed every distinct future window once (Tensors for the catalog)."""
    corpus, window_index, windows = build_windows(
        texts, tokenizer, text_encoder.tokenizer, embed.max_length, embed.window
    )
    embeddings = text_encoder.encode(
        windows,
        batch_size=embed.batch_size,
        convert_to_tensor=True,
        normalize_embeddings=True,
        show_progress_bar=True,
    )
    return WindowSet(corpus, window_index, embeddings.float().cpu()).to_tensors()


def embed_alignment_windows(
    forget_corpus: pd.DataFrame,
    retain_corpus: pd.DataFrame,
    base_llm: CausalLM,
    text_encoder,
    model_cache: ModelCache,
    encoder: ModelSpec,
    embed: EmbedParams,
) -> dict[str, torch.Tensor]:
    """Window embeddings of the alignment corpus, cached: they depend on the texts and both
    tokenizers, never on LLM weights (the reference recomputes them at every step)."""
    texts = alignment_texts(forget_corpus, retain_corpus)
    vocab = json.dumps(base_llm.tokenizer.get_vocab(), sort_keys=True)
    key = model_cache.key(
        kind="windows",
        texts=hashlib.sha256("\x00".join(texts).encode()).hexdigest(),
        tokenizer=hashlib.sha256(vocab.encode()).hexdigest(),
        encoder=encoder.spec,
        window=embed.window,
        max_length=embed.max_length,
    )
    cached = model_cache.get_tensors(key)
    if cached is not None:
        return cached
    tensors = embed_windows(texts, base_llm.tokenizer, text_encoder, embed)
    model_cache.put_tensors(key, tensors, {"encoder": encoder.spec, "texts": len(texts)})
    return tensors
