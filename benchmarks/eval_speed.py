"""How long a target's full RWKU evaluation takes at the official per-target sizes, set by set,
and what sharing MMLU's few-shot prefixes and BBH's chain-of-thought prompts saves (one
process, the same items both ways).

The items are the demo world's stand-ins shaped like RWKU's files: MMLU rows grouped into
few-shot blocks as RWKU's are (`--rows-per-block`), BBH rows sharing their task's CoT prompt.

    .venv/bin/python benchmarks/eval_speed.py                     # official sizes
    .venv/bin/python benchmarks/eval_speed.py --only mmlu --mmlu 500 --rows-per-block 9 \
        --rwku-utility ../shared/rwku/samples/Target/1_Stephen_King
"""

import argparse
import json
import random
import time
from pathlib import Path

import pandas as pd
import torch

from atu_pipeline.core.eval.generate import generate, generate_in_batches
from atu_pipeline.core.eval.prompts import render_bbh
from atu_pipeline.core.eval.utility import mmlu_letter_logits
from atu_pipeline.data import rwku
from atu_pipeline.data.demo_world.utility_sets import utility_files
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams
from atu_pipeline.recipes.evaluation import mia_scores, probe_scores, utility_scores

# RWKU's per-target sizes (paper, Table 5): probes and MIA texts on average, utility sets exactly
OFFICIAL = {
    "probes": 122,
    "mia": 68,
    "mmlu": 171,
    "bbh": 81,
    "truthfulqa": 50,
    "triviaqa": 100,
    "fluency": 50,
}


def utility_items(args) -> dict[str, list[dict]]:
    """Stand-ins at the asked sizes. MMLU rows share their block's few-shot examples, BBH rows
    their prompt's chain of thought: the stand-ins' own (~290 and ~230 tokens a prompt), or,
    with `--rwku-utility`, RWKU's (~550 and ~650), cycled, each block or prompt its own task."""
    rng = random.Random(0)
    items = utility_files(rng, n=max(args.mmlu, args.bbh, 100), subject="demo")
    folder = Path(args.rwku_utility) if args.rwku_utility else None
    real = {
        name: json.loads((folder / f"{name}.json").read_text()) if folder else []
        for name in ("retain_mmlu", "retain_bbh")
    }
    mmlu = items["retain_mmlu"][: args.mmlu]
    for index, block in enumerate(_blocks(mmlu, args.rows_per_block)):
        source = real["retain_mmlu"][index % len(real["retain_mmlu"])] if folder else block[0]
        shared = {"examples": source["examples"], "task": f"{source['task']}_{index}"}
        for row in block:  # one few-shot block (examples and task) per group of rows, as in RWKU
            row.update(shared)
    bbh = items["retain_bbh"][: args.bbh]
    for index, block in enumerate(_blocks(bbh, args.bbh_rows_per_prompt)):
        source = real["retain_bbh"][index % len(real["retain_bbh"])] if folder else block[0]
        for row in block:  # one chain-of-thought prompt per group of rows (RWKU: one per task)
            row["cot"] = f"Task {index}.\n{source['cot']}"
    names = {
        "mmlu": "retain_mmlu",
        "bbh": "retain_bbh",
        "truthfulqa": "truthful",
        "triviaqa": "triviaqa",
        "fluency": "fluency",
    }
    sizes = {"truthfulqa": 50, "triviaqa": 100, "fluency": 50}
    out = {name: items[names[name]][:size] for name, size in sizes.items()}
    return out | {"mmlu": mmlu, "bbh": bbh}


def _blocks(rows: list[dict], size: int) -> list[list[dict]]:
    return [rows[start : start + size] for start in range(0, len(rows), size)]


def demo_tables(size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A demo target's probes and MIA texts, repeated up to RWKU's average counts."""
    files = rwku.find_target(
        "1",
        source="demo",
        root="",
        hub_id="",
        forget_corpus="positive_phi",
        other_targets=0,
        world={
            "root": "data/01_raw/demo_world",
            "seed": 0,
            "n_people": 8,
            "corpus_texts_per_person": 12,
            "utility_items": 0,
        },
    )
    probes = rwku.probe_table(files, test_share=0.5, seed=0)
    mia = rwku.mia_table(files)
    return _repeated(probes, size, "query"), _repeated(mia, OFFICIAL["mia"], "text")


def _repeated(table: pd.DataFrame, size: int, column: str) -> pd.DataFrame:
    """The table repeated up to `size` rows, each copy's `column` numbered at its start: a copy
    must not share its whole prompt with the original, or prefix sharing would run it free."""
    copies = [
        table.assign(**{column: f"({copy}) " + table[column]}) if copy else table
        for copy in range(size // len(table) + 1)
    ]
    return pd.concat(copies).head(size)


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def compare_mmlu(llm, rows: list[dict], args) -> float:
    """MMLU's letter logits, every row's full prompt against shared prefixes; returns the
    shared run's seconds."""
    plain, plain_s = timed(lambda: mmlu_letter_logits(llm, rows, args.batch, min_prefix=None))
    shared, shared_s = timed(lambda: mmlu_letter_logits(llm, rows, args.batch))
    for label, seconds in (
        ("MMLU, every row's full prompt", plain_s),
        ("MMLU, shared prefixes", shared_s),
    ):
        print(f"| {label} | {len(rows)} | {seconds:.1f} | {len(rows) / seconds:.2f} |")
    same = int((plain.argmax(-1) == shared.argmax(-1)).sum())
    print(
        f"MMLU speed-up {plain_s / shared_s:.1f}x ({len(rows)} rows, {args.rows_per_block} per "
        f"few-shot block); predictions identical on {same} of {len(rows)} rows; largest letter-"
        f"logit difference {(plain - shared).abs().max().item():.2e}",
        flush=True,
    )
    return shared_s


def compare_bbh(llm, rows: list[dict], args, max_new_tokens: int) -> float:
    """BBH's greedy chains of thought: transformers' `generate` on left-padded batches (every
    row's whole prompt, a batch held until its longest answer ends) against `generate` (shared
    prompts once, rows leaving at their stop id); returns the latter's seconds."""
    prompts = [render_bbh(llm.tokenizer, row) for row in rows]
    greedy = {"do_sample": False, "max_new_tokens": max_new_tokens}
    plain, plain_s = timed(lambda: generate_in_batches(llm, prompts, greedy, args.batch, None))
    shared, shared_s = timed(lambda: generate(llm, prompts, max_new_tokens, args.batch))
    for label, seconds in (
        ("BBH, transformers' generate", plain_s),
        ("BBH, shared prompts, early leave", shared_s),
    ):
        print(f"| {label} | {len(rows)} | {seconds:.1f} | {len(rows) / seconds:.2f} |")
    same = sum(a.strip() == b for a, b in zip(plain, shared, strict=True))
    print(
        f"BBH speed-up {plain_s / shared_s:.1f}x ({len(rows)} rows, {args.bbh_rows_per_prompt} "
        f"per prompt, up to {max_new_tokens} new tokens); answers identical on {same} of "
        f"{len(rows)} rows",
        flush=True,
    )
    return shared_s


def compare_set(llm, name: str, rows: list[dict], eval_params: EvalParams) -> float:
    """A utility set scored with every row's whole prompt and with shared prefixes; returns
    the latter's seconds."""
    runs = {}
    for share in (False, True):
        params = eval_params.model_copy(update={"share_prefixes": share})
        runs[share] = timed(lambda params=params: utility_scores(llm, {name: rows}, params))
    for share, label in ((False, "every row's whole prompt"), (True, "shared prefixes")):
        seconds = runs[share][1]
        print(f"| {name}, {label} | {len(rows)} | {seconds:.1f} | {len(rows) / seconds:.2f} |")
    (plain, plain_s), (shared, shared_s) = runs[False], runs[True]
    print(
        f"{name} speed-up {plain_s / shared_s:.1f}x; scores {plain} vs {shared}",
        flush=True,
    )
    return shared_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mmlu", type=int, default=OFFICIAL["mmlu"])
    parser.add_argument("--rows-per-block", type=int, default=3)  # 171 rows of 57 subjects
    # an RWKU target folder (or the sample's): few-shot blocks and CoT prompts of RWKU's length
    parser.add_argument("--rwku-utility", help="take MMLU's examples and BBH's CoT from here")
    parser.add_argument("--bbh-rows-per-prompt", type=int, default=4)  # 81 rows of 23 tasks
    parser.add_argument("--bbh", type=int, default=OFFICIAL["bbh"])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--only", choices=["mmlu", "bbh", "other", "all"], default="all")
    args = parser.parse_args()
    llm = load_llm("embedded:smollm2", cache=ModelCache(Path("data/06_models/cache")))
    eval_params = EvalParams(batch_size=args.batch)
    items = utility_items(args)
    print(f"torch threads {torch.get_num_threads()}; batch {args.batch}")
    print("| set | items | seconds | items/s |\n|---|---:|---:|---:|")
    total = 0.0
    if args.only in ("mmlu", "all"):  # "other": the sets without a before / after pair
        total += compare_mmlu(llm, items["mmlu"], args)
    if args.only in ("bbh", "all"):
        total += compare_bbh(llm, items["bbh"], args, eval_params.max_new_tokens_long)
    if args.only not in ("all", "other"):
        return
    for name in ("truthfulqa", "triviaqa") if args.only == "all" else ():
        total += compare_set(llm, name, items[name], eval_params)
    probes, mia = demo_tables(OFFICIAL["probes"])
    for name, action, count in (
        ("forget + neighbor probes", lambda: probe_scores(llm, probes, eval_params), len(probes)),
        ("MIA (FM + RM texts)", lambda: mia_scores(llm, mia, eval_params), len(mia)),
        (
            "fluency",
            lambda: utility_scores(llm, {"fluency": items["fluency"]}, eval_params),
            len(items["fluency"]),
        ),
    ):
        _, seconds = timed(action)
        total += seconds
        print(f"| {name} | {count} | {seconds:.1f} | {count / seconds:.2f} |", flush=True)
    if args.only == "all":
        print(f"| **whole evaluation (with shared prefixes)** | | **{total:.0f}** | |")


if __name__ == "__main__":
    main()
