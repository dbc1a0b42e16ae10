"""evaluate nodes: one model on one RWKU target -> metrics, a Table-2-style report and plots.

Scores come from `recipes.evaluation` as `{metric: {"value", "n"}}`; the report from
`reporting.eval_report`.
"""

import pandas as pd
from matplotlib.figure import Figure

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import EvalParams, ModelSpec
from atu_pipeline.recipes import evaluation
from atu_pipeline.reporting import eval_report

Scores = dict[str, dict[str, float | int]]


def load_evaluated_llm(
    model_cache: ModelCache, llm: ModelSpec, eval_params: EvalParams
) -> CausalLM:
    """The model named by `eval.model` (any spec `llm.spec` accepts), else the `llm` model.

    `llm.dtype` and `llm.trust_remote_code` apply to both; `llm.gguf_file` only to `llm.spec`.
    """
    spec, gguf_file = (
        (llm.spec, llm.gguf_file) if eval_params.model is None else (eval_params.model, None)
    )
    return load_llm(spec, gguf_file, llm.dtype, llm.trust_remote_code, cache=model_cache)


def evaluate_model(
    evaluated_llm: CausalLM,
    probes: pd.DataFrame,
    retain_probes: pd.DataFrame,
    mia_texts: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    eval_params: EvalParams,
) -> Scores:
    """Forget / neighbor probes (AA per attack type), MIA and utility of one model."""
    return evaluation.evaluate_model(
        evaluated_llm, probes, retain_probes, mia_texts, utility_items, eval_params
    )


def name_stage(
    evaluation_scores: Scores, llm: ModelSpec, eval_params: EvalParams
) -> dict[str, Scores]:
    """`{stage: evaluation}`, the stage being `eval.stage`, else the evaluated model's spec."""
    return {eval_params.stage or eval_params.model or llm.spec: evaluation_scores}


def report_evaluation(
    stage_metrics: dict[str, dict], target_info: dict
) -> tuple[pd.DataFrame, str, dict, Figure, Figure, Figure]:
    """Tidy table (stage, step, metric, value, n), markdown report (RWKU Table 2 layout),
    MLflow metrics and three plots, from `{stage: {metric: score}}` (stages in order)."""
    table = eval_report.tidy_table(stage_metrics)
    title = f"RWKU evaluation: {target_info.get('name', target_info.get('id', 'target'))}"
    return (
        table,
        eval_report.report_markdown(table, title),
        eval_report.mlflow_metrics(table),
        eval_report.plot_forget_neighbor(table),
        eval_report.plot_attack_types(table),
        eval_report.plot_utility(table),
    )


def table_as_csv(evaluation_table: pd.DataFrame) -> pd.DataFrame:
    """The same tidy table again, for its CSV copy next to the parquet file."""
    return evaluation_table


def evaluate_run(
    subject_llm: CausalLM,
    unlearned_llm: CausalLM,
    probes: pd.DataFrame,
    retain_probes: pd.DataFrame,
    mia_texts: pd.DataFrame,
    utility_items: dict[str, list[dict]],
    eval_params: EvalParams,
    *,
    label: str,
) -> tuple[dict, pd.DataFrame]:
    """An unlearning run's table: the model before unlearning and the kept one (`label`), fully
    evaluated, and every probe's answers."""
    data = {"probes": probes, "retain_probes": retain_probes, "mia_texts": mia_texts}
    data["utility_items"] = utility_items
    return evaluation.before_after(subject_llm, unlearned_llm, data, eval_params, label=label)
