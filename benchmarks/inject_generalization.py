"""Does the injected model know the facts, or only the strings it was trained on?

Injects the whole demo world (every person's paraphrase records, never a probe's own wording)
into the embedded SmolLM2 epoch by epoch, and after each epoch scores every person's forget and
neighbor probes, validation and test split apart, plus the seconds the epoch took.

    .venv/bin/python benchmarks/inject_generalization.py --epochs 4 --lr 1e-4 --precision bf16
"""

import argparse
import time
from pathlib import Path
from tempfile import mkdtemp

import pandas as pd
import torch

from atu_pipeline.core.lm_data import lm_examples
from atu_pipeline.core.training import finetune_lm, make_optimizer
from atu_pipeline.data import rwku
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams, InjectParams, WorldParams
from atu_pipeline.recipes.evaluation import probe_scores
from atu_pipeline.recipes.inject import injection_pairs, training_rows


def world_tables(people: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every person's probes (split as ingest splits them) and the world's injection rows."""
    world = WorldParams(n_people=people, root=mkdtemp()).model_dump()
    probes, injection = [], None
    for number in range(1, people + 1):
        files = rwku.find_target(
            str(number),
            source="demo",
            root="",
            hub_id="",
            forget_corpus="positive_phi",
            other_targets=0,
            world=world,
        )
        probes.append(rwku.probe_table(files, test_share=0.5, seed=0))
        injection = rwku.injection_table(files)
    return pd.concat(probes, ignore_index=True), injection


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--people", type=int, default=8)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    args = parser.parse_args()
    probes, injection = world_tables(args.people)
    inject = InjectParams(scope="world", include_texts=False, train={"lr": args.lr})
    rows = training_rows(injection, "", inject)
    llm = load_llm("embedded:smollm2", cache=ModelCache(Path("data/06_models/cache")))
    prompts, completions = injection_pairs(rows, llm.tokenizer)
    ids, mask, labels = lm_examples(llm.tokenizer, prompts, completions, 96)
    print(f"{len(rows)} injection rows, {int(mask.sum())} tokens; {len(probes)} probes")
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = llm.model.requires_grad_(True)
    optimizer = make_optimizer(model.parameters(), "adamw", args.lr, 0.0)
    eval_params = EvalParams(batch_size=16)
    print(
        "| epoch | seconds | "
        + " | ".join(f"{s} {p}" for s in ("val", "test") for p in ("FB", "QA", "AA", "neighbor"))
        + " |"
    )
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        finetune_lm(
            model,
            ids,
            mask,
            labels,
            epochs=1,
            optimizer=optimizer,
            batch_size=args.batch,
            grad_clip=1.0,
            generator=generator,
            precision=args.precision,
        )
        seconds = time.perf_counter() - started
        scores = probe_scores(llm, probes, eval_params)
        cells = [
            f"{scores[f'{split}/{key}']['value']:.1f}"
            for split in ("val", "test")
            for key in ("forget/fb", "forget/qa", "forget/aa", "neighbor/all")
        ]
        print(f"| {epoch} | {seconds:.0f} | " + " | ".join(cells) + " |", flush=True)
        model.requires_grad_(True)


if __name__ == "__main__":
    main()
