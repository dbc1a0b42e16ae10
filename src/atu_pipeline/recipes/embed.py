"""The encoder's side of ATU: the concept's embedding and the future-window embeddings of the
alignment corpus, computed once and cached (the reference recomputes them at every step)."""

import hashlib
import json

import torch

from atu_pipeline.core.windows import WindowSet, build_windows
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import EmbedParams, batch_for


def embed_concept(text_encoder, name: str, intro: str, embed: EmbedParams) -> torch.Tensor:
    """e_target: the unit-norm embedding of the concept to forget (its name, or name + intro)."""
    text = f"{name}. {intro}" if embed.concept == "name_and_intro" and intro else name
    embedding = text_encoder.encode([text], convert_to_tensor=True, normalize_embeddings=True)
    return embedding[0].float().cpu()


def embed_windows(texts: list[str], tokenizer, text_encoder, embed: EmbedParams) -> WindowSet:
    """Tokenize the corpus and embed every distinct future window once."""
    corpus, window_index, windows = build_windows(
        texts, tokenizer, text_encoder.tokenizer, embed.max_length, embed.window
    )
    embeddings = text_encoder.encode(
        windows,
        batch_size=batch_for(embed.batch_size, "encoder", text_encoder.device.type),
        convert_to_tensor=True,
        normalize_embeddings=True,
        show_progress_bar=True,
    )
    return WindowSet(corpus, window_index, embeddings.float().cpu())


def cached_window_embeddings(
    texts: list[str],
    tokenizer,
    text_encoder,
    *,
    cache: ModelCache,
    encoder_spec: str,
    embed: EmbedParams,
) -> dict[str, torch.Tensor]:
    """Window embeddings of `texts`, keyed by the texts and both tokenizers: they never depend
    on LLM weights, so one computation serves every run on the same corpus."""
    vocab = json.dumps(tokenizer.get_vocab(), sort_keys=True)
    key = cache.key(
        kind="windows",
        texts=hashlib.sha256("\x00".join(texts).encode()).hexdigest(),
        tokenizer=hashlib.sha256(vocab.encode()).hexdigest(),
        encoder=encoder_spec,
        window=embed.window,
        max_length=embed.max_length,
    )
    cached = cache.get_tensors(key)
    if cached is not None:
        return cached
    tensors = embed_windows(texts, tokenizer, text_encoder, embed).to_tensors()
    cache.put_tensors(key, tensors, {"encoder": encoder_spec, "texts": len(texts)})
    return tensors
