"""Tiny random models built from configs, for the `test` environment and the test suite.

Specs `tiny:llm` and `tiny:encoder` build (once per directory) a 2-4 layer Llama with a chat
template and a 2-layer BERT sentence encoder, each with a byte-level tokenizer trained in-process,
so every code path that a real model takes (offsets, chat template, padding) runs in seconds.
"""

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Please complete the blank in the following question.",
    "Please briefly answer the following question.",
    "Question: Where was she born? Answer: In a small town by the river.",
    "He wrote novels, poems and plays, and founded an institute in 1962.",
]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _byte_level_tokenizer(vocab_size: int, specials: list[str]) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS, trainer)
    return tok


def build_tiny_llm(path: str | Path, layers: int = 4, hidden: int = 32, seed: int = 0) -> Path:
    """Save a random tiny Llama + tokenizer (with chat template) as an HF directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    if (path / "config.json").is_file():
        return path
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_byte_level_tokenizer(400, specials),
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        bos_token="<|im_start|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def build_tiny_encoder(path: str | Path, hidden: int = 32, seed: int = 0) -> Path:
    """Save a random 2-layer BERT as a sentence-transformers model (mean pooling, normalised)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers import models as st_models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    path = Path(path)
    if (path / "modules.json").is_file():
        return path
    raw = _byte_level_tokenizer(300, ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    raw.normalizer = normalizers.NFKC()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=2 * hidden,
        max_position_embeddings=512,
    )
    torch.manual_seed(seed)
    transformer_dir = path / "transformer"
    BertModel(config).save_pretrained(transformer_dir)
    tokenizer.save_pretrained(transformer_dir)
    modules = [
        st_models.Transformer(str(transformer_dir), max_seq_length=256),
        st_models.Pooling(hidden, "mean"),
        st_models.Normalize(),
    ]
    SentenceTransformer(modules=modules, device="cpu").save(str(path))
    return path
