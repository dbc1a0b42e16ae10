"""Rounds, τ schedules, early stop and the keep rule."""

import pytest

from atu_pipeline.core.schedule import (
    build_rounds,
    build_stages,
    choose_round,
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


def test_keep_rule_picks_lowest_forget_that_keeps_neighbors():
    history = [
        {"round": 1, "forget/all": 60.0, "neighbor/all": 78.0},
        {"round": 2, "forget/all": 30.0, "neighbor/all": 74.0},
        {"round": 3, "forget/all": 10.0, "neighbor/all": 50.0},
    ]
    baseline = {"forget/all": 90.0, "neighbor/all": 80.0}
    assert choose_round(history, baseline, "best_tradeoff", 0.9) == 2
    assert choose_round(history, baseline, "last", 0.9) == 3
    assert choose_round(history, baseline, "best_tradeoff", 0.99) == 0


def test_early_stop_reads_the_pooled_forget_score_and_is_off_without_a_threshold():
    assert reached_early_stop({"forget/all": 8.0}, 10.0)
    assert reached_early_stop({"forget/all": 10.0}, 10.0)
    assert not reached_early_stop({"forget/all": 12.0}, 10.0)
    assert not reached_early_stop({"forget/all": 0.0}, None)
