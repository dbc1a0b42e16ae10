"""RWKU evaluation in plain PyTorch: prompts, batched generation, metric formulas, and the
probe, membership-inference and utility scorers."""
