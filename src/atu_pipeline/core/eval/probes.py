"""Forget and neighbor probes: greedy answers scored by ROUGE-L recall (rwku.md §5.2).

Every score leaves as `{"value": float, "n": int}` under a "set/kind" key, ready for MLflow.
"""

import re
from collections import defaultdict

from atu_pipeline.core.eval import metrics
from atu_pipeline.core.eval.generate import OnBatch, generate
from atu_pipeline.core.eval.metrics import Score, stat
from atu_pipeline.core.eval.prompts import probe_prompt, render
from atu_pipeline.core.llm import CausalLM


def score_probes(
    llm: CausalLM,
    probes: list[dict],
    batch_size: int = 16,
    max_new_tokens: int = 30,
    on_batch: OnBatch | None = None,
) -> list[dict]:
    """Answer every probe greedily and score it; copies of the probes with "prediction" and
    "rouge_l_recall" (0..1) added.

    Probe keys used: kind ("fb" | "qa" | "aa"), type (RWKU type: picks the AA special
    formats), query, answer. Prompts are rendered in full (chat template + assistant prefix)
    before batching, so probes of different formats share batches safely.
    """
    tok = llm.tokenizer
    prompts = [render(tok, *probe_prompt(p["kind"], p["type"], p["query"])) for p in probes]
    predictions = generate(llm, prompts, max_new_tokens, batch_size, on_batch)
    return [
        {**p, "prediction": pred, "rouge_l_recall": metrics.rouge_l_recall(pred, p["answer"])}
        for p, pred in zip(probes, predictions, strict=True)
    ]


def type_key(type_: str) -> str:
    """MLflow-safe slug of an attack type: "cross lingual (Spanish)" -> "cross_lingual_spanish"
    (MLflow metric names may not contain parentheses)."""
    return re.sub(r"[^a-z0-9]+", "_", type_.lower()).strip("_")


def summarize_probes(scored: list[dict]) -> dict[str, Score]:
    """Mean ROUGE-L recall x100 per "set/kind", "set/all" and "set/aa/<type_key(type)>", over
    every probe and, for probes with a `split`, also per split ("val/set/...", "test/set/...").

    "all" pools every probe of the set (count-weighted, RWKU Table 1/2 "All"), not the mean of
    the FB/QA/AA columns. Keys without probes are absent.
    """
    groups: dict[str, list[float]] = defaultdict(list)
    for probe in scored:
        heads = [probe["set"]] + (
            [f"{probe['split']}/{probe['set']}"] if probe.get("split") else []
        )
        for head in heads:
            groups[f"{head}/{probe['kind']}"].append(probe["rouge_l_recall"])
            groups[f"{head}/all"].append(probe["rouge_l_recall"])
            if probe["kind"] == "aa":
                groups[f"{head}/aa/{type_key(probe['type'])}"].append(probe["rouge_l_recall"])
    return {key: stat(groups[key]) for key in sorted(groups)}
