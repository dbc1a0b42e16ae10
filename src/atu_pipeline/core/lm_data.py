"""Causal-LM training examples: (prompt, completion) pairs -> ids, mask and labels."""

import torch


def lm_examples(
    tokenizer, prompts: list[str], completions: list[str], max_length: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded (N, T) ids, mask and labels; labels are -100 on the prompt and padding, so
    the loss teaches the completion only. An empty prompt trains on the whole text.

    Too long an example loses the start of its prompt, never its completion: a row without a
    single supervised token would make the batch loss 0/0.
    """
    rows = []
    for prompt, completion in zip(prompts, completions, strict=True):
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"] if prompt else []
        completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        completion_ids = (completion_ids + [tokenizer.eos_token_id])[:max_length]
        prompt_ids = (
            prompt_ids[len(prompt_ids) - (max_length - len(completion_ids)) :] if prompt_ids else []
        )
        rows.append((prompt_ids + completion_ids, [-100] * len(prompt_ids) + completion_ids))
    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, (ids, gold) in enumerate(rows):
        input_ids[i, : len(ids)] = torch.tensor(ids)
        labels[i, : len(gold)] = torch.tensor(gold)
        mask[i, : len(ids)] = 1
    return input_ids, mask, labels
