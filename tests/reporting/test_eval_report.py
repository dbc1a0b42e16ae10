"""Reports from hand-made metric dicts: tidy table, MLflow histories, Table 2 markdown, plots."""

import math

import pandas as pd
import pytest
from kedro_datasets.matplotlib import MatplotlibDataset

from atu_pipeline.reporting import eval_report as reporting


def s(value: float, n: int = 10) -> dict:
    return {"value": value, "n": n}


# "All" is pooled: fb 80 (n 10), qa 60 (n 10), aa 40 (n 30) -> (800 + 600 + 1200) / 50 = 52,
# not the column mean 60.
BEFORE = {
    "forget/fb": s(80.0),
    "forget/qa": s(60.0),
    "forget/aa": s(40.0, 30),
    "forget/all": s(52.0, 50),
    "forget/aa/prefix_injection": s(30.0, 15),
    "forget/aa/role_play": s(50.0, 15),
    "neighbor/fb": s(90.0),
    "neighbor/qa": s(70.0),
    "neighbor/all": s(80.0, 20),
    "mia/fm_loss": s(226.7, 4),
    "mia/rm_loss": s(230.4, 4),
    "mia/auc_loss": s(0.5, 8),
    "utility/mmlu": s(65.7, 5),
    "utility/bbh": s(30.0, 5),
    "utility/bbh_quirk": s(42.3, 5),
    "utility/truthfulqa_mc1": s(36.8, 5),
    "utility/truthfulqa_mc2": s(50.0, 5),
    "utility/triviaqa_f1": s(53.5, 5),
    "utility/triviaqa_em": s(40.0, 5),
    "utility/fluency": s(705.8, 2),
    "utility/perplexity": s(12.5, 3),
}
AFTER = {k: {"value": v["value"] / 2, "n": v["n"]} for k, v in BEFORE.items()}
ROUND = {"forget/all": 40.0, "neighbor/all": 75.0}  # bare numbers, as unlearn rounds log them
STAGES = {"before": BEFORE, "round_1": ROUND, "after": AFTER}


def test_tidy_table_has_one_row_per_stage_and_metric():
    table = reporting.tidy_table(STAGES)
    assert list(table.columns) == ["stage", "step", "metric", "value", "n", "of"]
    assert len(table) == 2 * len(BEFORE) + len(ROUND)
    assert not table.duplicated(["stage", "metric"]).any()
    assert table.groupby("stage", sort=False)["step"].first().to_dict() == {
        "before": 0,
        "round_1": 1,
        "after": 2,
    }
    row = table[(table.stage == "before") & (table.metric == "forget/all")].iloc[0]
    assert (row.value, row.n) == (52.0, 50)
    assert table[table.stage == "round_1"]["n"].isna().all()
    first = table[table.stage == "before"]["metric"].tolist()
    assert first.index("forget/fb") < first.index("neighbor/fb") < first.index("mia/fm_loss")
    assert first.index("mia/fm_loss") < first.index("utility/mmlu")


def test_tidy_table_skips_entries_that_are_not_scores():
    table = reporting.tidy_table({"x": {"forget/all": s(1.0), "notes": "text", "sub": [1]}})
    assert table["metric"].tolist() == ["forget/all"]
    assert reporting.tidy_table({}).empty


def test_mlflow_metrics_are_histories_keyed_by_metric_name_with_stage_steps():
    stages = {
        "before": {"forget/fb": s(80.0), "utility/mmlu": s(math.nan, 0)},
        "after": {"forget/fb": s(20.0)},
    }
    metrics = reporting.mlflow_metrics(reporting.tidy_table(stages))
    assert metrics == {"forget/fb": [{"value": 80.0, "step": 0}, {"value": 20.0, "step": 1}]}


def test_markdown_follows_rwku_table_2_with_pooled_all_and_a_delta_row():
    md = reporting.report_markdown(reporting.tidy_table(STAGES), "RWKU evaluation: Stephen King")
    lines = md.splitlines()
    assert lines[0] == "# RWKU evaluation: Stephen King"
    header = next(line for line in lines if line.startswith("| Stage |"))
    names = [c.strip().split(" ")[0] for c in header.strip("|").split("|")]
    assert names == [
        "Stage",
        "FB",
        "QA",
        "AA",
        "All",
        "N-FB",
        "N-QA",
        "N-All",
        "FM",
        "RM",
        "MMLU",
        "BBH",
        "TruthfulQA",
        "TriviaQA",
        "Fluency",
    ]
    before = next(line for line in lines if line.startswith("| before |"))
    cells = [c.strip() for c in before.strip("|").split("|")]
    assert cells[1:5] == ["80.0", "60.0", "40.0", "52.0"]  # All = pooled 52, not 60
    assert cells[8:10] == ["226.7", "230.4"] and cells[-1] == "705.8"
    assert cells[11] == "30.0"  # BBH column = correct EM, not the quirk 42.3
    round_1 = next(line for line in lines if line.startswith("| round_1 |"))
    assert [c.strip() for c in round_1.strip("|").split("|")][1:5] == ["–", "–", "–", "40.0"]
    delta = next(line for line in lines if line.startswith("| Δ after − before |"))
    assert delta.split("|")[5].strip() == "-26.0"
    assert "| `utility/bbh_quirk` | 42.3 (5) | – | 21.1 (5) |" in md
    assert "| `mia/auc_loss` | 0.500 (8) | – | 0.250 (8) |" in md


def test_markdown_of_one_stage_has_no_delta_row():
    md = reporting.report_markdown(reporting.tidy_table({"before": BEFORE}), "t")
    assert "| before |" in md and "Δ" not in md


@pytest.mark.parametrize("stages", [STAGES, {"before": {"forget/all": s(1.0)}}])
def test_plots_save_as_png(tmp_path, stages):
    table = reporting.tidy_table(stages)
    figures = {
        "rounds": reporting.plot_forget_neighbor(table),
        "attacks": reporting.plot_attack_types(table),
        "utility": reporting.plot_utility(table),
    }
    for name, figure in figures.items():
        MatplotlibDataset(filepath=str(tmp_path / f"{name}.png")).save(figure)
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_attack_plot_has_one_bar_per_stage_and_type():
    table = reporting.tidy_table({"before": BEFORE, "after": AFTER})
    ax = reporting.plot_attack_types(table).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["prefix injection", "role play"]
    assert len(ax.patches) == 2 * 2
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == [15.0, 25.0, 30.0, 50.0]


def test_forget_plot_skips_stages_without_scores():
    table = reporting.tidy_table({"before": BEFORE, "mia_only": {"mia/fm_loss": s(1.0)}})
    ax = reporting.plot_forget_neighbor(table).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["before"]
    assert all(list(line.get_xdata()) == [0] for line in ax.get_lines())


def test_forget_plot_joins_a_metric_across_stages_that_lack_it():
    ax = reporting.plot_forget_neighbor(reporting.tidy_table(STAGES)).axes[0]
    lines = {line.get_label(): list(line.get_xdata()) for line in ax.get_lines()}
    assert lines["forget/fb"] == [0, 2] and lines["forget/all"] == [0, 1, 2]


def test_wide_table_keeps_stage_order():
    wide = reporting.wide_table(reporting.tidy_table({"z": BEFORE, "a": AFTER}))
    assert list(wide.columns) == ["z", "a"]
    assert isinstance(wide, pd.DataFrame) and wide.at["forget/all", "a"] == 26.0


def test_a_capped_set_is_labelled_capped_in_the_report():
    stages = {"before": BEFORE | {"utility/bbh": {"value": 20.0, "n": 10, "of": 81}}}
    table = reporting.tidy_table(stages)
    assert table.set_index("metric").at["utility/bbh", "of"] == 81
    md = reporting.report_markdown(table, "t")
    assert "20.0 (10 of 81, capped)" in md and "`utility/bbh` 10 of 81" in md
    assert "Capped sets" not in reporting.report_markdown(reporting.tidy_table({"b": BEFORE}), "t")
