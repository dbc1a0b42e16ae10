"""Future-window targets: for each LLM token, the encoder embedding of the next k encoder tokens.

The window of LLM position t is the first k encoder tokens whose character span ends after the
character end of token t (so k counts encoder word-pieces, as in the reference). Windows depend
on the text and both tokenizers, never on LLM weights: they are embedded once per corpus.
"""

from dataclasses import dataclass

import torch


@dataclass
class TokenizedCorpus:
    input_ids: torch.Tensor  # (N, T) right-padded
    attention_mask: torch.Tensor  # (N, T) 1 = real token


@dataclass
class WindowSet:
    """A tokenized corpus plus, per position, an index into a table of unique window embeddings."""

    corpus: TokenizedCorpus
    window_index: torch.Tensor  # (N, T) long, -1 where no full window of k tokens exists
    embeddings: torch.Tensor  # (U, D) unit-norm window embeddings

    def targets(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Window embeddings (B, T, D) and full-window mask (B, T) for the given rows."""
        index = self.window_index[rows]
        valid = index >= 0
        return self.embeddings[index.clamp(min=0)], valid

    def to_tensors(self) -> dict[str, torch.Tensor]:
        return {
            "input_ids": self.corpus.input_ids,
            "attention_mask": self.corpus.attention_mask,
            "window_index": self.window_index,
            "embeddings": self.embeddings,
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "WindowSet":
        corpus = TokenizedCorpus(tensors["input_ids"], tensors["attention_mask"])
        return cls(corpus, tensors["window_index"], tensors["embeddings"])


def tokenize_corpus(tokenizer, texts: list[str], max_length: int) -> tuple[TokenizedCorpus, list]:
    """Right-padded LLM tokens of each text, and each token's (start, end) character offsets."""
    if not texts:
        raise ValueError("cannot tokenize an empty corpus")
    encoded = tokenizer(
        texts,
        max_length=max_length,
        truncation=True,
        padding="longest",
        return_offsets_mapping=True,
        return_tensors="pt",
    )
    if tokenizer.padding_side != "right":
        raise ValueError("the corpus tokenizer must pad on the right")
    corpus = TokenizedCorpus(encoded["input_ids"], encoded["attention_mask"])
    return corpus, encoded["offset_mapping"].tolist()


def window_spans(
    llm_offsets: list[tuple[int, int]], encoder_offsets: list[tuple[int, int]], k: int
) -> list[tuple[int, int] | None]:
    """Character span of each LLM position's future window, or None without k tokens ahead."""
    encoder_ends = [end for _, end in encoder_offsets]
    spans, first = [], 0
    for _, llm_end in llm_offsets:
        while first < len(encoder_ends) and encoder_ends[first] <= llm_end:
            first += 1  # offsets are monotone, so the scan never moves back
        last = first + k - 1
        full = last < len(encoder_offsets)
        spans.append((encoder_offsets[first][0], encoder_offsets[last][1]) if full else None)
    return spans


def build_windows(
    texts: list[str], llm_tokenizer, encoder_tokenizer, max_length: int, k: int
) -> tuple[TokenizedCorpus, torch.Tensor, list[str]]:
    """Tokenize the corpus and list the unique window strings to embed.

    Returns the corpus, window_index (N, T) into the returned unique window texts, and those texts.
    """
    corpus, llm_offsets = tokenize_corpus(llm_tokenizer, texts, max_length)
    window_index = torch.full(corpus.input_ids.shape, -1, dtype=torch.long)
    unique: dict[str, int] = {}
    for row, text in enumerate(texts):
        encoder_offsets = encoder_tokenizer(
            text, add_special_tokens=False, return_offsets_mapping=True
        )["offset_mapping"]
        for col, span in enumerate(window_spans(llm_offsets[row], encoder_offsets, k)):
            if span is None or not corpus.attention_mask[row, col]:
                continue
            window = text[span[0] : span[1]]
            window_index[row, col] = unique.setdefault(window, len(unique))
    return corpus, window_index, list(unique)
