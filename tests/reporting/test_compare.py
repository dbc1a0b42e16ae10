import pandas as pd

from atu_pipeline.params import CompareParams
from atu_pipeline.reporting.compare import (
    collect_sweep,
    pareto_front,
    plot_comparison,
    ranking_report,
)


def _result(namespace, method, rounds, kept, utility, val=None, **labels):
    """Test scores `rounds`; validation scores `val` (the same as test unless given)."""
    rows = [
        {"round": r, "tau": None, "test/forget/all": f, "test/neighbor/all": n, "kept": r == kept}
        | dict(zip(("val/forget/all", "val/neighbor/all"), (val or rounds)[r], strict=True))
        for r, (f, n) in enumerate(rounds)
    ]
    base = {"point": namespace, "method": method, "tau": None, "layer": None, "lr": None}
    return {**base, "updates": 4 * (len(rows) - 1), **labels, "history": rows, "utility": utility}


BEFORE = (80.0, 90.0)
RESULTS = [
    _result("atu_a", "atu", [BEFORE, (40.0, 88.0)], 1, {"utility/perplexity": 12.0}, layer=5),
    _result("ga_a", "ga", [BEFORE, (10.0, 30.0)], 1, {"utility/perplexity": 90.0}, lr=1e-5),
    _result("npo_a", "npo", [BEFORE, (60.0, 80.0)], 1, {"utility/perplexity": 15.0}, lr=1e-5),
]


def test_pareto_front_keeps_the_undominated_points():
    assert pareto_front(pd.Series([1, 2, 3, 2]), pd.Series([3, 2, 1, 3])) == [
        True,
        True,
        True,
        False,
    ]


def test_collect_ranks_kept_rounds_against_the_model_before_unlearning():
    rounds, ranking = collect_sweep({"utility/perplexity": 10.0}, RESULTS)
    assert len(rounds) == 6 and set(rounds["point"]) == {"atu_a", "ga_a", "npo_a"}
    assert ranking["point"].tolist() == ["atu_a", "ga_a", "npo_a", "original"]
    atu = ranking.iloc[0]
    assert (atu["forget_ratio"], atu["neighbor_ratio"]) == (0.5, 88.0 / 90.0)
    assert ranking.set_index("point")["pareto"].to_dict() == {
        "atu_a": True,
        "ga_a": True,
        "npo_a": False,  # atu_a forgets more and keeps more neighbors
        "original": True,
    }
    assert ranking.set_index("point").loc["original", "utility/perplexity"] == 10.0


def test_report_and_plots_render():
    rounds, ranking = collect_sweep({"utility/perplexity": 10.0}, RESULTS)
    report = ranking_report(ranking, CompareParams())
    assert report.count("\n| ") == 5 and "utility/perplexity" in report
    figures = plot_comparison(ranking, rounds, CompareParams())
    assert len(figures) == 3


def test_runs_on_the_same_spot_share_one_label():
    twin = _result("atu_b", "atu", [BEFORE, (40.0, 88.0)], 1, {"utility/perplexity": 12.0})
    rounds, ranking = collect_sweep({"utility/perplexity": 10.0}, [*RESULTS, twin])
    trade_off = plot_comparison(ranking, rounds, CompareParams())[0]
    labels = [text.get_text() for text in trade_off.axes[0].texts]
    assert len(labels) == 4 and {"atu_a\natu_b", "atu_b\natu_a"} & set(labels)


def test_the_rank_reads_validation_only_and_the_table_shows_test():
    # best on test, worst on validation: ranked last among the runs
    lucky = _result("ga_b", "ga", [BEFORE, (0.0, 90.0)], 1, {}, val=[BEFORE, (80.0, 10.0)])
    _, ranking = collect_sweep({"utility/perplexity": 10.0}, [*RESULTS, lucky])
    ranked = ranking.set_index("point")
    assert ranked.loc["ga_b", "rank"] == len(ranking)
    assert ranked.loc["ga_b", "forget"] == 0.0 and ranked.loc["ga_b", "val_forget"] == 80.0
