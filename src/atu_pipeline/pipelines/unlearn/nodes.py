"""Unlearning rounds: the LLM moves away from the concept, the head re-aligns, probes are scored.

Rounds are checkpointed under the model cache (atu_pipeline/unlearning.py), so the same command
resumes a killed run from its last finished round.
"""

import copy
import time

import pandas as pd
import psutil
import torch

from atu_pipeline.core.atu import atu_round_trainer, concept_similarities
from atu_pipeline.core.head import EmbeddingHead
from atu_pipeline.core.llm import CausalLM, check_layer, fingerprint, pick_device
from atu_pipeline.core.schedule import build_rounds
from atu_pipeline.core.windows import WindowSet, tokenize_corpus
from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import AtuParams, EvalParams
from atu_pipeline.pipelines.align.nodes import optim_spec
from atu_pipeline.unlearning import (
    checkpoint_dir,
    probe_evaluator,
    run_checkpointed,
    trainable_copy,
)


def unlearn_rounds(
    subject_llm: CausalLM,
    aligned_head: EmbeddingHead,
    alignment_windows: dict[str, torch.Tensor],
    forget_corpus: pd.DataFrame,
    target_embedding: dict[str, torch.Tensor],
    probes: pd.DataFrame,
    model_cache: ModelCache,
    atu: AtuParams,
    eval_params: EvalParams,
) -> tuple[CausalLM, pd.DataFrame, dict, dict]:
    """All τ rounds, resumable: the kept model, per-round scores, step metrics, similarities."""
    check_layer(subject_llm.model, atu.layer)
    rounds = build_rounds(atu.taus, atu.steps_per_round, atu.realign_steps)
    model = trainable_copy(subject_llm.model, atu, atu.layer).to(pick_device(atu.device))
    llm = CausalLM(model, subject_llm.tokenizer)
    head = copy.deepcopy(aligned_head).to(llm.device).requires_grad_(False)
    corpus, _ = tokenize_corpus(llm.tokenizer, list(forget_corpus["text"]), atu.unlearn.max_length)
    concept = target_embedding["embedding"]
    checkpoints = checkpoint_dir(
        model_cache, "atu", subject_llm, forget_corpus, probes, eval_params,
        head=fingerprint(aligned_head.state_dict()), concept=concept[:8].tolist(),
        atu=atu.training_recipe(),
    )  # fmt: skip

    def similarity() -> list[float]:
        values = concept_similarities(
            model, head, corpus, concept, atu.layer, atu.unlearn.batch_size
        )
        return values.tolist()

    torch.manual_seed(atu.seed + 1)
    generator = torch.Generator().manual_seed(atu.seed + 1)
    optimizer = optim_spec(atu.unlearn).build(model.parameters())

    def trainer(_started: dict, on_step):
        windows = WindowSet.from_tensors(alignment_windows)
        return atu_round_trainer(
            model, head, windows, corpus, concept, atu.layer, optimizer,
            optim_spec(atu.align), optim_spec(atu.unlearn), generator, on_step,
        )  # fmt: skip

    outcome = run_checkpointed(
        checkpoints, llm, subject_llm, head, optimizer, generator, rounds, trainer,
        probe_evaluator(llm, probes, eval_params), lambda: {"similarity_before": similarity()},
        atu, "ATU rounds",
    )  # fmt: skip
    similarities = {
        "before": outcome.started["similarity_before"],
        "after": similarity(),
        "kept_round": outcome.kept,
    }
    return outcome.llm, outcome.scores, outcome.metrics, similarities


def summarize_unlearning(round_scores: pd.DataFrame) -> str:
    """The one-line verdict: pooled forget and neighbor before vs the kept round, and wall time."""
    before = round_scores.iloc[0]
    kept = round_scores[round_scores["kept"]].iloc[0]
    minutes = (time.time() - psutil.Process().create_time()) / 60

    def change(key: str) -> str:
        ratio = kept[key] / before[key] if before[key] else float("nan")
        return f"{before[key]:.1f} -> {kept[key]:.1f} (x{ratio:.2f})"

    forget, neighbor = change("forget/all"), change("neighbor/all")
    line = f"summary: forget {forget}, neighbor {neighbor}, minutes {minutes:.1f}"
    print(line, flush=True)  # the run's verdict belongs on stdout, not only in the log
    return line


def plot_rounds(round_scores: pd.DataFrame):
    """Forget and neighbor per round, the kept round marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4))
    for key, style in (("forget/all", "o-"), ("neighbor/all", "s--")):
        ax.plot(round_scores["round"], round_scores[key], style, label=key)
    kept = round_scores[round_scores["kept"]]["round"].iloc[0]
    ax.axvline(kept, color="grey", lw=0.8, ls=":", label=f"kept round {kept}")
    ax.set(xlabel="round (0 = before unlearning)", ylabel="ROUGE-L recall x100", ylim=(0, 100))
    ax.legend()
    return figure


def plot_similarities(similarities: dict):
    """The concept-similarity histogram before and after ATU's rounds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6, 4))
    ax.hist(similarities["before"], bins=50, alpha=0.6, label="before unlearning", density=True)
    ax.hist(
        similarities["after"],
        bins=50,
        alpha=0.6,
        label="after the last round (re-aligned head)",
        density=True,
    )
    ax.set(xlabel="cos(predicted future, target embedding)", ylabel="density")
    ax.legend()
    return figure
