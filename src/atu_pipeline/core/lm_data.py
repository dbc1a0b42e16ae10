"""Causal-LM training examples: (prompt, completion) pairs -> ids, mask and labels."""

import torch


def lm_examples(
    tokenizer, prompts: list[str], completions: list[str], max_length: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded (N, T) ids, mask and labels; labels are -100 on the prompt and padding, so
    the loss teaches the completion only. An empty prompt trains on the whole text."""
    rows = []
    for prompt, completion in zip(prompts, completions, strict=True):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
        completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + completion_ids + [tokenizer.eos_token_id])[:max_length]
        labels = ([-100] * len(prompt_ids) + completion_ids + [tokenizer.eos_token_id])[:max_length]
        rows.append((ids, labels))
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, gold) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(gold)] = torch.tensor(gold)
        mask[i, : len(ids)] = 1
    return input_ids, mask, labels
