"""The same sweep points on the engine with 1 and with 2 Dask workers: wall time, CPU use, and
whether the per-point results are identical. Every run starts from an empty checkpoint cache
(the injected subject model comes from the project's cache, as a kedro run leaves it).

    .venv/bin/python benchmarks/engine_scaling.py --workers 1 2
    .venv/bin/python benchmarks/engine_scaling.py --steps-per-round 5   # shorter points
    .venv/bin/python benchmarks/engine_scaling.py --threads 1           # 1 thread on every run
"""

import argparse
import os
import resource
import time
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory

import pandas as pd
from kedro.config import OmegaConfigLoader

from atu_pipeline import params as p
from atu_pipeline.core.windows import WindowSet
from atu_pipeline.data import rwku
from atu_pipeline.io.models import ModelCache, load_encoder, load_llm
from atu_pipeline.recipes import sweep
from atu_pipeline.recipes.embed import cached_window_embeddings
from atu_pipeline.recipes.engine import run_points
from atu_pipeline.recipes.inject import inject_knowledge
from atu_pipeline.recipes.points import SharedWork, align_heads, load_target
from atu_pipeline.settings import CONFIG_LOADER_ARGS

CACHE = ModelCache(Path("data/06_models/cache"))


def settings() -> dict:
    args = {k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"}
    raw = OmegaConfigLoader("conf", default_run_env="base", **args)["parameters"]
    kinds = {
        "llm": p.ModelSpec,
        "encoder": p.ModelSpec,
        "rwku": p.RwkuParams,
        "world": p.WorldParams,
        "inject": p.InjectParams,
        "embed": p.EmbedParams,
        "atu": p.AtuParams,
        "ga": p.BaselineParams,
        "npo": p.BaselineParams,
        "eval": p.EvalParams,
    }
    return {name: kind(**raw[name]) for name, kind in kinds.items()}


def cpu_seconds() -> float:
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps-per-round", type=int, help="unlearning steps (default: conf)")
    # the same thread count on every run isolates the worker count (float sums split over
    # threads add in another order); default: the cores shared among the workers
    parser.add_argument("--threads", type=int, help="torch threads per worker")
    args = parser.parse_args()
    s = settings()
    if args.steps_per_round:
        shorter = {"steps_per_round": args.steps_per_round}
        s |= {name: s[name].model_copy(update=shorter) for name in ("atu", "ga", "npo")}
    base = load_llm(s["llm"].spec, cache=CACHE)
    encoder = load_encoder(s["encoder"].spec)
    world = s["world"]
    target = load_target("1", encoder, [], rwku=s["rwku"], world=world, embed=s["embed"])
    files = rwku.find_target(
        "1",
        source="demo",
        root="",
        hub_id="",
        forget_corpus="positive_phi",
        other_targets=s["rwku"].other_targets,
        world=world.model_dump(),
    )
    subject, _, _ = inject_knowledge(
        base,
        rwku.injection_table(files),
        target.info["name"],
        cache=CACHE,
        llm=s["llm"],
        inject=s["inject"],
    )
    # the unlearn pipeline's alignment corpus: the target's texts and 3 other targets'
    texts = list(target.forget_corpus["text"]) + list(rwku.retain_corpus_table(files)["text"])
    windows = WindowSet.from_tensors(
        cached_window_embeddings(
            texts,
            subject.tokenizer,
            encoder,
            cache=CACHE,
            encoder_spec=s["encoder"].spec,
            embed=s["embed"],
        )
    )
    grid = p.SweepParams(
        rounds=len(s["atu"].taus),
        tau_floors=[0.0, -0.05],
        layers=[10],
        ga_lrs=[1e-5],
        npo_lrs=[1e-5],
    )
    jobs = [
        (point, sweep.point_settings(point, atu=s["atu"], ga=s["ga"], npo=s["npo"]))
        for point in sweep.sweep_points(grid)
    ]
    tables = {}
    print(f"{len(jobs)} points: {[point.name for point, _ in jobs]}; {os.cpu_count()} cores")
    print("| workers | torch threads each | wall (min) | CPU (min) | CPU use (of all cores) |")
    print("|---:|---:|---:|---:|---:|")
    for workers in args.workers:
        # GA and NPO keep ~1 GB of checkpoints per round: each run's cache is deleted after it
        folder = TemporaryDirectory(prefix=f"scaling_{workers}_")
        cache = ModelCache(folder.name)
        shared = SharedWork.persisted(subject, windows, {}, cache, s["eval"])
        threads = args.threads or max(1, (os.cpu_count() or 1) // workers)
        engine = p.EngineParams(
            mode="local", workers=workers, threads_per_worker=threads, dashboard=False
        )
        started, cpu = time.perf_counter(), cpu_seconds()
        align_heads([settings for _, settings in jobs], shared)
        run_one = partial(sweep.sweep_point, target=target, shared=shared, sweep=grid)
        results = run_points(jobs, run_one, engine=engine)
        wall, used = time.perf_counter() - started, cpu_seconds() - cpu
        tables[workers] = [scores for _, scores in results]
        folder.cleanup()
        share = used / (wall * (os.cpu_count() or 1))
        print(
            f"| {workers} | {threads} | {wall / 60:.1f} | {used / 60:.1f} | {share:.0%} |",
            flush=True,
        )
    first, *others = tables.values()
    for workers, other in zip(args.workers[1:], others, strict=True):
        same = all(a.equals(b) for a, b in zip(first, other, strict=True))
        print(
            f"per-point round tables, {args.workers[0]} vs {workers} workers: "
            f"{'identical' if same else 'DIFFERENT'}"
        )
        if not same:
            for (point, _), a, b in zip(jobs, first, other, strict=True):
                columns = ["round", "val/forget/all", "test/forget/all", "test/neighbor/all"]
                print(point.name, pd.concat([a[columns], b[columns]], axis=1).to_string())


if __name__ == "__main__":
    main()
