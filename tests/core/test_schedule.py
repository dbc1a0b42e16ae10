"""Rounds, τ schedules, early stop and the keep rule."""

import pytest
import torch

from atu_pipeline.core.schedule import (
    build_rounds,
    build_stages,
    choose_round,
    quantile_tau,
    reached_early_stop,
    tau_schedule,
)


def test_tau_schedule_falls_evenly_to_the_floor_and_stages_have_no_tau():
    assert tau_schedule(0.1, -0.1, 3) == [0.1, 0.0, -0.1]
    assert tau_schedule(0.5, 0.2, 1) == [0.2]
    stages = build_stages(2, 40)
    assert [(s.index, s.tau, s.unlearn_steps, s.realign_steps) for s in stages] == [
        (1, None, 40, 0),
        (2, None, 40, 0),
    ]


def test_rounds_follow_the_taus_and_refuse_a_tau_outside_minus_one_one():
    rounds = build_rounds([0.5, 0.2], 40, 10)
    assert [(r.index, r.tau, r.unlearn_steps, r.realign_steps) for r in rounds] == [
        (1, 0.5, 40, 10),
        (2, 0.2, 40, 10),
    ]
    with pytest.raises(ValueError, match=r"\(-1, 1\)"):
        build_rounds([0.5, 1.0], 1, 1)


def _row(index: int, forget: float, neighbor: float, test_forget: float, test_neighbor: float):
    return {
        "round": index,
        "val/forget/all": forget,
        "val/neighbor/all": neighbor,
        "test/forget/all": test_forget,
        "test/neighbor/all": test_neighbor,
    }


BASELINE = _row(0, 90.0, 80.0, 85.0, 75.0)


def test_keep_rule_picks_lowest_validation_forget_that_keeps_validation_neighbors():
    history = [
        _row(1, 60.0, 78.0, 0.0, 99.0),
        _row(2, 30.0, 74.0, 50, 50),
        _row(3, 10.0, 50.0, 0, 99),
    ]
    assert choose_round(history, BASELINE, "best_tradeoff", 0.9) == 2
    assert choose_round(history, BASELINE, "last", 0.9) == 3
    assert choose_round(history, BASELINE, "best_tradeoff", 0.99) == 0


def test_keep_rule_never_keeps_a_round_that_forgets_less_than_the_model_before():
    worse = [_row(1, 95.0, 80.0, 10.0, 80.0), _row(2, 92.0, 80.0, 10.0, 80.0)]
    assert choose_round(worse, BASELINE, "best_tradeoff", 0.9) == 0
    equal = [_row(1, 90.0, 80.0, 10.0, 80.0)]  # no gain on validation: nothing to keep
    assert choose_round(equal, BASELINE, "best_tradeoff", 0.9) == 0
    better = worse + [_row(3, 89.0, 72.0, 95.0, 80.0)]
    assert choose_round(better, BASELINE, "best_tradeoff", 0.9) == 3


@pytest.mark.parametrize("test_scores", [(0.0, 100.0), (100.0, 0.0), (55.5, 12.0)])
def test_test_scores_cannot_change_the_kept_round_or_early_stop(test_scores):
    """Whatever the test probes say, decisions follow the validation probes alone."""
    history = [_row(1, 60.0, 78.0, 1, 1), _row(2, 30.0, 74.0, 2, 2), _row(3, 10.0, 50.0, 3, 3)]
    changed = [
        row | dict(zip(("test/forget/all", "test/neighbor/all"), test_scores, strict=True))
        for row in history
    ]
    baseline = BASELINE | {"test/forget/all": test_scores[0], "test/neighbor/all": test_scores[1]}
    for rule in ("best_tradeoff", "last"):
        assert choose_round(changed, baseline, rule, 0.9) == choose_round(
            history, BASELINE, rule, 0.9
        )
    for row, other in zip(history, changed, strict=True):
        for thresholds in (
            {"forget_at": 31.0, "neighbor_share_at": None},
            {"forget_at": None, "neighbor_share_at": 0.7},
        ):
            assert reached_early_stop(row, BASELINE, **thresholds) == reached_early_stop(
                other, baseline, **thresholds
            )


def _stops(row: dict, forget_at=None, neighbor_share_at=None) -> bool:
    baseline = {"val/forget/all": 80.0, "val/neighbor/all": 80.0}
    return reached_early_stop(
        row, baseline, forget_at=forget_at, neighbor_share_at=neighbor_share_at
    )


def test_early_stop_reads_the_validation_forget_score_and_is_off_without_a_threshold():
    assert _stops({"val/forget/all": 8.0}, forget_at=10.0)
    assert _stops({"val/forget/all": 10.0}, forget_at=10.0)
    assert not _stops({"val/forget/all": 12.0, "test/forget/all": 0.0}, forget_at=10.0)
    assert not _stops({"val/forget/all": 0.0, "val/neighbor/all": 0.0})


def test_a_collapsed_model_stops_the_run_at_its_share_of_the_neighbor_score_before():
    """Before: neighbor 80. At a share of 0.5 the run stops at 40 or below, not at 41; the test
    neighbor score never counts."""
    row = {"val/forget/all": 50.0}
    assert _stops(row | {"val/neighbor/all": 40.0}, neighbor_share_at=0.5)
    assert _stops(row | {"val/neighbor/all": 0.0}, neighbor_share_at=0.5)
    assert not _stops(
        row | {"val/neighbor/all": 41.0, "test/neighbor/all": 0.0}, neighbor_share_at=0.5
    )
    assert not _stops(row | {"val/neighbor/all": 0.0}, neighbor_share_at=None)
    nothing_known = {"val/forget/all": 80.0, "val/neighbor/all": 0.0}
    assert not reached_early_stop(
        row | {"val/neighbor/all": 0.0}, nothing_known, forget_at=None, neighbor_share_at=0.5
    )


def test_a_quantile_tau_leaves_the_top_share_of_positions_above_it():
    """Similarities 0.0, 0.1, ..., 0.9: the 0.8 quantile is 0.72 (linear interpolation between
    0.7 and 0.8), so 2 of the 10 positions lie above it."""
    values = torch.arange(10) / 10
    tau = quantile_tau(values, 0.8)
    assert tau == pytest.approx(0.72)
    assert int((values > tau).sum()) == 2
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        quantile_tau(values, 1.0)
