"""The engine on Dask: the same results as in-process, a dead worker loses nothing, a bad
address fails fast, a failing point names itself. Workers are real processes (LocalCluster)."""

import os
import sys
import time
from functools import partial

import cloudpickle
import pandas as pd
import pytest
from kedro_run import run

from atu_pipeline.core.windows import WindowSet
from atu_pipeline.params import EngineParams
from atu_pipeline.recipes import sweep as sweep_recipe
from atu_pipeline.recipes.engine import PointFailed, run_points
from atu_pipeline.recipes.points import SharedWork, TargetData

# Workers cannot import this test module: its functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SEQUENTIAL = EngineParams(mode="sequential", threads_per_worker=1)
TWO_WORKERS = EngineParams(mode="local", workers=2, threads_per_worker=1, dashboard=False)


def _square(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


def test_points_come_back_in_order_and_each_is_recorded_here():
    done = []
    results = run_points(
        [1, 2, 3, 4], _square, engine=TWO_WORKERS, on_done=lambda p, r: done.append(p)
    )
    assert [value for value, _ in results] == [1, 4, 9, 16]
    assert sorted(done) == [1, 2, 3, 4]
    assert os.getpid() not in {pid for _, pid in results}  # they ran in worker processes


def _fails_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("a bad parameter")
    time.sleep(0.2)
    return x


@pytest.mark.parametrize("engine", [SEQUENTIAL, TWO_WORKERS], ids=["sequential", "local"])
def test_a_failing_point_fails_the_run_with_its_coordinates(engine):
    done = []
    with pytest.raises(PointFailed, match=r"point 3 failed: ValueError: a bad parameter"):
        run_points([1, 2, 3], _fails_on_three, engine=engine, on_done=lambda p, r: done.append(p))
    assert 3 not in done


def test_an_unreachable_scheduler_fails_within_seconds_naming_its_address():
    engine = EngineParams(mode="address", address="tcp://127.0.0.1:9", connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="tcp://127.0.0.1:9"):
        run_points([1], _square, engine=engine)
    assert time.monotonic() - started < 30


def test_a_sweep_gives_the_same_tables_on_two_workers_as_in_process(tmp_path):
    sweep_params = {"sweep": {"tau_floors": [0.3], "layers": [2], "ga_lrs": [1e-4], "npo_lrs": []}}
    for name, engine in (("sequential", SEQUENTIAL), ("local", TWO_WORKERS)):
        run("sweep", tmp_path / name, engine=engine.model_dump(), **sweep_params)
    for point in ("atu_tau0p3_layer2", "ga_lr0p0001"):
        tables = [
            pd.read_csv(tmp_path / name / f"data/08_reporting/sweep/{point}/round_scores.csv")
            for name in ("sequential", "local")
        ]
        pd.testing.assert_frame_equal(*tables)


def _dies_once_in_round_two(job, *, marker: str, **point):
    """A sweep point whose worker process ends itself in round 2, the first time only."""
    import atu_pipeline.recipes.atu as atu_recipe

    if not os.path.exists(marker):
        real, calls = atu_recipe.unlearn_steps, []

        def dying(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                open(marker, "w").close()
                os._exit(1)  # the worker dies mid-point, after round 1's checkpoint
            return real(*args, **kwargs)

        atu_recipe.unlearn_steps = dying
    return sweep_recipe.sweep_point(job, **point)


def test_a_killed_worker_resumes_its_point_from_the_last_checkpoint(
    tiny_llm, alignment_windows, target_embedding, demo_tables, model_cache, test_params, tmp_path
):
    names = ("probes", "retain_probes", "forget_corpus", "retain_corpus", "mia_texts")
    tables = {k: demo_tables[k] for k in names}
    target = TargetData(
        demo_tables["target_info"],
        **tables,
        concept=target_embedding["embedding"],
        memorised_probes=[],
    )
    windows = WindowSet.from_tensors(alignment_windows)
    shared = SharedWork.persisted(
        tiny_llm, windows, demo_tables["utility_items"], model_cache, test_params["eval"]
    )
    atu = test_params["atu"].model_copy(update={"taus": [0.5, 0.4, 0.3]})
    grid = sweep_recipe.sweep_points(test_params["sweep"])[:1]
    jobs = [
        (
            point,
            sweep_recipe.point_settings(
                point, atu=atu, ga=test_params["ga"], npo=test_params["npo"]
            ),
        )
        for point in grid
    ]
    point = {"target": target, "shared": shared, "sweep": test_params["sweep"]}
    straight = run_points(jobs, partial(sweep_recipe.sweep_point, **point), engine=SEQUENTIAL)

    fresh = SharedWork.persisted(
        tiny_llm,
        windows,
        demo_tables["utility_items"],
        type(model_cache)(tmp_path / "other_cache"),
        test_params["eval"],
    )
    marker = str(tmp_path / "died")
    dying = partial(
        _dies_once_in_round_two,
        marker=marker,
        target=target,
        shared=fresh,
        sweep=test_params["sweep"],
    )
    resumed = run_points(jobs, dying, engine=TWO_WORKERS)
    assert os.path.exists(marker)  # the worker did die
    pd.testing.assert_frame_equal(straight[0][1], resumed[0][1])
    assert straight[0][0]["history"] == resumed[0][0]["history"]
