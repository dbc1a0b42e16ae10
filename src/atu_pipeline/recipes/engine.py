"""Running many independent points (a sweep's grid, a benchmark's runs): the one place that
decides where they run. `sequential` runs them in this process, one after another (for
debugging); `local` starts a Dask LocalCluster of worker processes (one per visible GPU, or
`engine.workers` on CPU); `address` joins an existing Dask scheduler (`dask scheduler` +
`dask worker`, a dask-jobqueue SLURMCluster, a Kubernetes cluster).

Every point is one task. Only this process (the driver) sees results: `on_done` writes a
point's files and its MLflow child run as it completes, so no two processes write one store.
A worker that dies mid-point loses nothing: Dask runs the task again elsewhere and the point
resumes from its last round checkpoint.
"""

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from tqdm.auto import tqdm

from atu_pipeline.params import EngineParams

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")


class PointFailed(RuntimeError):
    """A point failed for good: its coordinates and its error."""


def run_points(
    points: Sequence[P],
    run_one: Callable[[P], R],
    *,
    engine: EngineParams,
    on_done: Callable[[P, R], None] | None = None,
    describe: Callable[[P, R], str] | None = None,
    title: str = "points",
) -> list[R]:
    """`run_one(point)` for every point; `on_done(point, result)` in this process as each one
    finishes. Returns the results in the points' order. `describe` gives the progress bar's
    note on the last finished point."""
    results: dict[int, R] = {}
    with tqdm(total=len(points), desc=title, unit="point", dynamic_ncols=True) as bar:
        for index, result in _completed(points, run_one, engine):
            if on_done is not None:
                on_done(points[index], result)
            results[index] = result
            if describe is not None:
                bar.set_postfix_str(describe(points[index], result), refresh=False)
            bar.update()
    return [results[index] for index in range(len(points))]


def _completed(points: Sequence[P], run_one: Callable[[P], R], engine: EngineParams) -> Iterator:
    """(index, result) pairs as points finish."""
    if engine.mode == "sequential" or not points:
        with _torch_threads(engine.threads_per_worker):
            for index, point in enumerate(points):
                yield index, _run(run_one, point)
        return
    from distributed import as_completed

    with dask_client(engine) as client:
        resources = engine.resources or ({"GPU": 1} if engine.mode == "local" and _gpus() else None)
        futures = {
            client.submit(
                _run, run_one, point, resources=resources, pure=False, key=f"point-{i}"
            ): i
            for i, point in enumerate(points)
        }
        for future in as_completed(futures):
            index = futures[future]
            if future.status == "error":  # a point failed for good: stop the others, say which
                client.cancel([other for other in futures if other is not future])
            yield index, future.result()


def _run(run_one: Callable[[P], R], point: P) -> R:
    try:
        return run_one(point)
    except Exception as err:
        raise PointFailed(f"point {_label(point)} failed: {type(err).__name__}: {err}") from err


def _label(point) -> str:
    """A point's name (a sweep's job is a (point, settings) pair), else its repr."""
    named = point[0] if isinstance(point, tuple) and point else point
    return getattr(named, "name", None) or repr(point)


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """In-process points use as many torch threads as a worker would (same numbers)."""
    import torch

    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _gpus() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@contextmanager
def dask_client(engine: EngineParams):
    """A client of the engine's cluster: a new LocalCluster, or the scheduler at the address
    (an unreachable address fails within `engine.connect_timeout` seconds, naming it)."""
    from distributed import Client, LocalCluster

    if engine.mode == "address":
        try:
            client = Client(engine.address, timeout=f"{engine.connect_timeout}s")
        except OSError as err:
            raise ConnectionError(
                f"engine.address: no Dask scheduler answered at {engine.address} within "
                f"{engine.connect_timeout} s ({err}); start one (`dask scheduler`) or set "
                f"engine.mode=local"
            ) from err
        with client:
            # the cluster's own job scripts give each worker its device; only threads here
            client.run(_set_up_worker, engine.threads_per_worker, None)
            yield client
        return
    workers = _gpus() or engine.workers
    threads = engine.threads_per_worker or max(1, (os.cpu_count() or 1) // workers)
    resources = {"GPU": 1} if _gpus() else None
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        resources=resources,
        dashboard_address=_dashboard(engine),
    )
    with cluster, Client(cluster) as client:
        if engine.dashboard:
            print(f"Dask dashboard: {client.dashboard_link} ({workers} workers)", flush=True)
        # torch threads per worker, so that the workers do not oversubscribe the cores; and on
        # GPUs, one device per worker
        for index, address in enumerate(sorted(client.scheduler_info()["workers"])):
            gpu = index if _gpus() else None
            client.run(_set_up_worker, threads, gpu, workers=[address])
        yield client


def _dashboard(engine: EngineParams) -> str | None:
    return ":0" if engine.dashboard else None


def _set_up_worker(threads: int | None, gpu: int | None) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)
    if gpu is not None:
        torch.cuda.set_device(gpu % torch.cuda.device_count())
