"""RWKU evaluation of one model (or two: before / after) and its report (rwku.md §5).

Scores come from `core.evaluation` as `{metric: {"value", "n"}}`; the report functions live in
`atu_pipeline.reporting`. `evaluate_before_after` and `report_evaluation` are the pieces the
unlearn run reuses, with stages "before", "round_1", ..., "after".
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from atu_pipeline import reporting
from atu_pipeline.core.evaluation import score_mia, score_probes, score_utility, summarize_probes
from atu_pipeline.core.llm import CausalLM, pick_device
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams, ModelSpec
from atu_pipeline.rwku import UTILITY_STEMS

log = logging.getLogger(__name__)

Scores = dict[str, dict[str, float | int]]


def load_evaluated_llm(
    model_cache: ModelCache, llm: ModelSpec, eval_params: EvalParams
) -> CausalLM:
    """The model named by `eval.model` (any spec `llm.spec` accepts), else the `llm` model.

    `llm.dtype` and `llm.trust_remote_code` apply to both; `llm.gguf_file` only to `llm.spec`.
    """
    if eval_params.model is None:
        spec, gguf_file = llm.spec, llm.gguf_file
    else:
        spec, gguf_file = eval_params.model, None
    return load_llm(spec, gguf_file, llm.dtype, llm.trust_remote_code, cache=model_cache)


def evaluate_model(
    evaluated_llm: CausalLM,
    probes: pd.DataFrame,
    mia_texts: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    eval_params: EvalParams,
) -> Scores:
    """Forget / neighbor probes (with AA per attack type), MIA and utility of one model.

    Returns:
        `{metric: {"value", "n"}}`: `forget/*`, `neighbor/*`, `mia/*`, `utility/*`; a metric
        whose items are all absent is absent.
    """
    with on_device(evaluated_llm, pick_device(eval_params.device)):
        scores = probe_scores(evaluated_llm, probes, eval_params)
        scores |= mia_scores(evaluated_llm, mia_texts, eval_params)
        scores |= utility_scores(evaluated_llm, utility_items, eval_params)
    return scores


def evaluate_before_after(
    subject_llm: CausalLM,
    unlearned_llm: CausalLM,
    probes: pd.DataFrame,
    mia_texts: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    eval_params: EvalParams,
) -> dict[str, Scores]:
    """`{"before": scores of subject_llm, "after": scores of unlearned_llm}`."""
    data = (probes, mia_texts, utility_items, eval_params)
    before = evaluate_model(subject_llm, *data)
    after = before if unlearned_llm is subject_llm else evaluate_model(unlearned_llm, *data)
    return {"before": before, "after": after}


def name_stage(evaluation: Scores, llm: ModelSpec, eval_params: EvalParams) -> dict[str, Scores]:
    """`{stage: evaluation}`, the stage being `eval.stage`, else the evaluated model's spec."""
    return {eval_params.stage or eval_params.model or llm.spec: evaluation}


def report_evaluation(
    stage_metrics: dict[str, dict], target_info: dict
) -> tuple[pd.DataFrame, str, dict, Figure, Figure, Figure]:
    """Tidy table, markdown report (RWKU Table 2 layout), MLflow metrics and three plots.

    Args:
        stage_metrics: `{stage: {metric: {"value", "n"} or number}}`, stages in order
            (the MLflow step of a stage is its position).
        target_info: `{id, name, ...}` of the evaluated target, for the title.

    Returns:
        table (stage, step, metric, value, n), markdown, `{metric: [{"value", "step"}]}`,
        forget/neighbor-by-stage figure, attack-type figure, utility figure.
    """
    table = reporting.tidy_table(stage_metrics)
    title = f"RWKU evaluation: {target_info.get('name', target_info.get('id', 'target'))}"
    return (
        table,
        reporting.report_markdown(table, title),
        reporting.mlflow_metrics(table),
        reporting.plot_forget_neighbor(table),
        reporting.plot_attack_types(table),
        reporting.plot_utility(table),
    )


def table_as_csv(evaluation_table: pd.DataFrame) -> pd.DataFrame:
    """The same tidy table again, for its CSV copy next to the parquet file."""
    return evaluation_table


# ---------------------------------------------------------------- helpers


@contextmanager
def on_device(llm: CausalLM, device) -> Iterator[None]:
    """Run on `device`, then put the model back where it was (the caller's model is shared)."""
    home = llm.device
    llm.model.to(device)
    try:
        yield
    finally:
        llm.model.to(home)


def probe_records(probes: pd.DataFrame, max_probes: int | None) -> list[dict]:
    """Probe rows as dicts, the first `max_probes` of each (set, kind) when set."""
    if max_probes is not None:
        probes = probes.groupby(["set", "kind"], sort=False).head(max_probes)
    return probes.to_dict("records")


def _advance(bar: tqdm):
    return lambda done, total: bar.update(done - bar.n)


def probe_scores(llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams) -> Scores:
    records = probe_records(probes, eval_params.max_probes)
    started = time.perf_counter()
    with tqdm(total=len(records), desc="eval probes", unit="prompt", dynamic_ncols=True) as bar:
        scored = score_probes(
            llm, records, eval_params.batch_size, eval_params.max_new_tokens, _advance(bar)
        )
    log.info("probes: %d prompts in %.1f s", len(records), time.perf_counter() - started)
    return summarize_probes(scored)


def mia_scores(llm: CausalLM, mia_texts: pd.DataFrame, eval_params: EvalParams) -> Scores:
    cap = eval_params.max_mia_texts
    forget, retain = (
        mia_texts.loc[mia_texts["split"] == split, "text"].tolist()[:cap]
        for split in ("forget", "retain")
    )
    # score_mia has no progress callback: the bar fills when both splits are scored
    total = len(forget) + len(retain)
    with tqdm(total=total, desc="eval mia", unit="text", dynamic_ncols=True) as bar:
        scores = score_mia(llm, forget, retain, eval_params.mia_ratios, eval_params.batch_size)
        bar.update(total)
    return scores


def utility_scores(
    llm: CausalLM, utility_items: dict[str, list[dict]], eval_params: EvalParams
) -> Scores:
    unknown = set(utility_items) - set(UTILITY_STEMS)
    if unknown:
        raise ValueError(f"unknown utility sets {sorted(unknown)}; known: {sorted(UTILITY_STEMS)}")
    limits = eval_params.utility_limits
    tasks = {n: rows[: limits.get(n)] for n, rows in utility_items.items() if rows[: limits.get(n)]}
    scores: Scores = {}
    with tqdm(total=len(tasks), desc="eval utility", unit="set", dynamic_ncols=True) as bar:
        for name, rows in tasks.items():
            started = time.perf_counter()
            bar.set_postfix_str(name)

            def on_batch(done: int, total: int, name: str = name) -> None:
                bar.set_postfix_str(f"{name} {done}/{total}")

            scores |= score_utility(
                llm, {UTILITY_STEMS[name]: rows}, None, eval_params.batch_size,
                eval_params.max_new_tokens_long, on_batch,
            )  # fmt: skip
            seconds = time.perf_counter() - started
            log.info("utility %s: %d items in %.1f s", name, len(rows), seconds)
            bar.update()
    return scores
