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
from atu_pipeline.data.rwku import UTILITY_STEMS, first_probes
from atu_pipeline.params import EvalParams

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
        scored = score_probes(
            llm, records, eval_params.batch_size, eval_params.max_new_tokens, _advance(bar)
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
        scores = score_mia(llm, forget, retain, eval_params.mia_ratios, eval_params.batch_size)
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
    with tqdm(total=len(tasks), desc="eval utility", unit="set", dynamic_ncols=True) as bar:
        for name, rows in tasks.items():
            started = time.perf_counter()
            bar.set_postfix_str(name)

            def on_batch(done: int, total: int, name: str = name) -> None:
                bar.set_postfix_str(f"{name} {done}/{total}")

            scores |= score_utility(
                llm,
                {UTILITY_STEMS[name]: rows},
                batch_size=eval_params.batch_size,
                max_new_tokens=eval_params.max_new_tokens,
                max_new_tokens_long=eval_params.max_new_tokens_long,
                on_batch=on_batch,
            )
            log.info(
                "utility %s: %d items in %.1f s", name, len(rows), time.perf_counter() - started
            )
            bar.update()
    return scores
