"""A run's table on the tiny models: both models scored, one answer row per probe."""

import copy

import pytest
import torch

from atu_pipeline.recipes.evaluation import before_after, probe_records
from atu_pipeline.reporting.eval_report import on_test_probes, run_report


@pytest.fixture
def data(demo_tables):
    names = ("probes", "retain_probes", "mia_texts", "utility_items")
    return {name: demo_tables[name] for name in names}


def test_answers_have_one_row_per_probe_and_average_to_the_reported_scores(
    tiny_llm, data, test_params
):
    changed = copy.deepcopy(tiny_llm)
    with torch.no_grad():
        changed.model.model.layers[0].mlp.up_proj.weight.mul_(-1.0)
    eval_params = test_params["eval"]
    stages, answers = before_after(tiny_llm, changed, data, eval_params, label="ATU")
    assert list(stages) == ["Before", "ATU"]
    assert len(answers) == len(probe_records(data["probes"], eval_params.max_probes))
    both = {"answer_before", "answer_after", "recall_before", "recall_after"}
    assert both <= set(answers.columns) and answers[list(both)].notna().all().all()
    for stage, column in (("Before", "recall_before"), ("ATU", "recall_after")):
        for (split, probe_set), rows in answers.groupby(["split", "set"]):
            reported = stages[stage][f"{split}/{probe_set}/all"]
            assert rows[column].mean() == pytest.approx(reported["value"])
            assert len(rows) == reported["n"]
    assert {"mia/fm_loss", "utility/other_targets", "utility/perplexity"} <= set(stages["ATU"])


def test_a_run_that_kept_no_round_reports_the_model_before_twice(tiny_llm, data, test_params):
    stages, answers = before_after(tiny_llm, tiny_llm, data, test_params["eval"], label="GA")
    assert stages["GA"] is stages["Before"]
    assert (answers["change"] == 0).all()


def test_the_run_table_reads_test_probes_with_validation_beside_them():
    scores = {
        "forget/all": {"value": 50.0, "n": 8},
        "test/forget/all": {"value": 40.0, "n": 4},
        "val/forget/all": {"value": 60.0, "n": 4},
        "mia/fm_loss": {"value": 300.0, "n": 6},
    }
    view = on_test_probes({"Before": scores})["Before"]
    assert view["forget/all"]["value"] == 40.0 and view["val/forget/all"]["value"] == 60.0
    assert view["mia/fm_loss"]["value"] == 300.0 and "test/forget/all" not in view


def test_the_run_report_has_table_2_rows_before_and_the_method(tiny_llm, data, test_params):
    stages, answers = before_after(tiny_llm, tiny_llm, data, test_params["eval"], label="ATU")
    table, markdown, metrics, _, excerpt = run_report(stages, answers, {"name": "Ann Lee"})
    assert "| Before |" in markdown and "| ATU |" in markdown and "test probes" in markdown
    assert set(table["stage"]) == {"Before", "ATU"} and "run/forget/all" in metrics
    assert excerpt.startswith("# Answers that changed most")


def test_a_utility_set_cut_by_its_limit_carries_its_full_size(tiny_llm, data, test_params):
    from atu_pipeline.recipes.evaluation import utility_scores

    items = {"truthfulqa": data["utility_items"]["truthfulqa"][:2]}
    eval_params = test_params["eval"].model_copy(update={"utility_limits": {"truthfulqa": 1}})
    capped = utility_scores(tiny_llm, items, eval_params)
    assert {score["of"] for score in capped.values()} == {2}
    assert {score["n"] for score in capped.values()} == {1}
    whole = eval_params.model_copy(update={"utility_limits": {"truthfulqa": None}})
    assert not any("of" in score for score in utility_scores(tiny_llm, items, whole).values())
