"""RWKU evaluation of one model with the `eval` settings: forget and neighbor probes, membership
inference, utility sets, each with a progress bar. Used by every run that scores a model (the
unlearning rounds, injection, the sweep, attacks and the evaluate pipeline)."""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from tqdm.auto import tqdm

from atu_pipeline.core.eval.mia import score_mia
from atu_pipeline.core.eval.probes import score_probes, summarize_probes
from atu_pipeline.core.eval.utility import score_utility
from atu_pipeline.core.llm import CausalLM, pick_device
from atu_pipeline.core.training import autocast, resolve_precision
from atu_pipeline.data.rwku import UTILITY_STEMS, first_probes
from atu_pipeline.params import EvalParams, batch_for

log = logging.getLogger(__name__)

Scores = dict[str, dict[str, float | int]]


@contextmanager
def on_device(llm: CausalLM, device) -> Iterator[None]:
    """Run on `device`, then put the model back where it was (the caller's model is shared)."""
    home = llm.device
    llm.model.to(device)
    try:
        yield
    finally:
        llm.model.to(home)


def batch(eval_params: EvalParams, llm: CausalLM) -> int:
    """`eval.batch_size`, or its device rule for `auto` (params.batch_for)."""
    return batch_for(eval_params.batch_size, "eval", llm.device.type)


def scoring(llm: CausalLM, eval_params: EvalParams):
    """The autocast every scorer runs under (log-probabilities are taken in fp32 inside)."""
    return autocast(llm.device, resolve_precision(eval_params.precision, llm.device))


def evaluate_model(
    llm: CausalLM,
    probes: pd.DataFrame,
    retain_probes: pd.DataFrame,
    mia_texts: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    eval_params: EvalParams,
) -> Scores:
    """Forget / neighbor probes (with AA per attack type), MIA and utility (the other targets'
    probes among it) of one model.

    Returns:
        `{metric: {"value", "n"}}`: `forget/*`, `neighbor/*` (and per split `val/*`, `test/*`),
        `mia/*`, `utility/*`; a metric whose items are all absent is absent.
    """
    with on_device(llm, pick_device(eval_params.device)):
        scores = probe_scores(llm, probes, eval_params)
        scores |= mia_scores(llm, mia_texts, eval_params)
        scores |= other_target_scores(llm, retain_probes, eval_params)
        scores |= utility_scores(llm, utility_items, eval_params)
    return scores


def other_target_scores(
    llm: CausalLM, retain_probes: pd.DataFrame, eval_params: EvalParams
) -> Scores:
    """Knowledge unlearning must leave alone: the other targets' probes, pooled ROUGE-L recall
    on the test split (`utility/other_targets`) and the validation one (`..._val`)."""
    limit = eval_params.utility_limits.get("other_targets")
    if retain_probes.empty or limit == 0:
        return {}
    chosen = retain_probes if limit is None else retain_probes.groupby("split").head(limit)
    scores = probe_scores(llm, chosen, eval_params.model_copy(update={"max_probes": None}))
    names = {
        "test/retain/all": "utility/other_targets",
        "val/retain/all": "utility/other_targets_val",
    }
    return {name: scores[key] for key, name in names.items() if key in scores}


def probe_records(probes: pd.DataFrame, max_probes: int | None) -> list[dict]:
    """Probe rows as dicts, the first `max_probes` of each (split, set, kind) when set."""
    return first_probes(probes, max_probes).to_dict("records")


def _advance(bar: tqdm):
    return lambda done, total: bar.update(done - bar.n)


def probe_scores(llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams) -> Scores:
    records = probe_records(probes, eval_params.max_probes)
    started = time.perf_counter()
    with tqdm(total=len(records), desc="eval probes", unit="prompt", dynamic_ncols=True) as bar:
        with scoring(llm, eval_params):
            scored = score_probes(
                llm, records, batch(eval_params, llm), eval_params.max_new_tokens, _advance(bar)
            )
    log.info("probes: %d prompts in %.1f s", len(records), time.perf_counter() - started)
    return summarize_probes(scored)


def probe_values(llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams) -> dict[str, float]:
    """Probe scores as plain numbers (a round's row)."""
    return {key: score["value"] for key, score in probe_scores(llm, probes, eval_params).items()}


def mia_scores(llm: CausalLM, mia_texts: pd.DataFrame, eval_params: EvalParams) -> Scores:
    cap = eval_params.max_mia_texts
    forget, retain = (
        mia_texts.loc[mia_texts["split"] == split, "text"].tolist()[:cap]
        for split in ("forget", "retain")
    )
    # score_mia has no progress callback: the bar fills when both splits are scored
    total = len(forget) + len(retain)
    with tqdm(total=total, desc="eval mia", unit="text", dynamic_ncols=True) as bar:
        with scoring(llm, eval_params):
            scores = score_mia(llm, forget, retain, eval_params.mia_ratios, batch(eval_params, llm))
        bar.update(total)
    return scores


def utility_scores(
    llm: CausalLM, utility_items: dict[str, list[dict]], eval_params: EvalParams
) -> Scores:
    """The utility sets in `utility_items` (names as `UTILITY_STEMS`), cut to `utility_limits`."""
    unknown = set(utility_items) - set(UTILITY_STEMS)
    if unknown:
        raise ValueError(f"unknown utility sets {sorted(unknown)}; known: {sorted(UTILITY_STEMS)}")
    limits = eval_params.utility_limits
    tasks = {n: rows[: limits.get(n)] for n, rows in utility_items.items() if rows[: limits.get(n)]}
    scores: Scores = {}
    for name, rows in tasks.items():
        # one bar per set, in items: a long set always shows where it is and how fast it goes
        with tqdm(total=len(rows), desc=f"eval {name}", unit="item", dynamic_ncols=True) as bar:
            started = time.perf_counter()
            with scoring(llm, eval_params):
                found = score_utility(
                    llm,
                    {UTILITY_STEMS[name]: rows},
                    batch_size=batch(eval_params, llm),
                    max_new_tokens=eval_params.max_new_tokens,
                    max_new_tokens_long=eval_params.max_new_tokens_long,
                    share_prefixes=eval_params.share_prefixes,
                    on_batch=_advance(bar),
                )
            bar.update(len(rows) - bar.n)
        if len(rows) < len(utility_items[name]):  # capped by utility_limits: say so in reports
            found = {key: score | {"of": len(utility_items[name])} for key, score in found.items()}
        scores |= found
        seconds = time.perf_counter() - started
        log.info(
            "utility %s: %d items in %.1f s (%.2f items/s)",
            name,
            len(rows),
            seconds,
            len(rows) / seconds,
        )
    return scores


def before_after(
    subject_llm: CausalLM,
    kept_llm: CausalLM,
    data: dict[str, pd.DataFrame | dict],
    eval_params: EvalParams,
    *,
    label: str,
) -> tuple[dict[str, Scores], pd.DataFrame]:
    """A run's table: the full evaluation of the model before unlearning ("Before") and of the
    kept model (`label`), and every probe's answer from both.

    `data` holds `probes`, `retain_probes`, `mia_texts`, `utility_items`. Returns `{stage: scores}`
    and the answers table (one row per scored probe: before and after, with their recalls).
    """
    stages, answers = {}, {}
    models = {"Before": subject_llm} | ({} if kept_llm is subject_llm else {label: kept_llm})
    for stage, llm in models.items():
        with on_device(llm, pick_device(eval_params.device)):
            answers[stage], scores = _answered(llm, data["probes"], eval_params)
            scores |= mia_scores(llm, data["mia_texts"], eval_params)
            scores |= other_target_scores(llm, data["retain_probes"], eval_params)
            stages[stage] = scores | utility_scores(llm, data["utility_items"], eval_params)
    if label not in stages:  # no round kept: the kept model is the model before unlearning
        stages[label], answers[label] = stages["Before"], answers["Before"]
    return stages, answers_table(answers["Before"], answers[label])


def _answered(llm: CausalLM, probes: pd.DataFrame, eval_params: EvalParams) -> tuple[list, Scores]:
    records = probe_records(probes, eval_params.max_probes)
    with tqdm(total=len(records), desc="eval probes", unit="prompt", dynamic_ncols=True) as bar:
        with scoring(llm, eval_params):
            scored = score_probes(
                llm, records, batch(eval_params, llm), eval_params.max_new_tokens, _advance(bar)
            )
    return scored, summarize_probes(scored)


ANSWER_COLUMNS = ["set", "split", "kind", "type", "query", "answer"]


def answers_table(before: list[dict], after: list[dict]) -> pd.DataFrame:
    """One row per probe: the reference answer, both models' answers and ROUGE-L recalls (x100)."""
    rows = [
        {column: b.get(column, "") for column in ANSWER_COLUMNS}
        | {"answer_before": b["prediction"], "answer_after": a["prediction"]}
        | {"recall_before": 100 * b["rouge_l_recall"], "recall_after": 100 * a["rouge_l_recall"]}
        for b, a in zip(before, after, strict=True)
    ]
    table = pd.DataFrame(rows)
    table["change"] = table["recall_after"] - table["recall_before"]
    return table
