"""attack nodes: loading the attacked model and the report (the attacks: recipes.attack)."""

import pandas as pd
from matplotlib.figure import Figure

from atu_pipeline.core.llm import CausalLM
from atu_pipeline.io.models import ModelCache, load_llm
from atu_pipeline.params import AttackParams, ModelSpec
from atu_pipeline.reporting import attack_report as report


def load_unlearned_llm(unlearned_spec: str, model_cache: ModelCache, llm: ModelSpec) -> CausalLM:
    """The attacked model, with `llm.dtype` and `llm.trust_remote_code`."""
    return load_llm(unlearned_spec, None, llm.dtype, llm.trust_remote_code, cache=model_cache)


def report_attacks(
    quantization_scores: dict,
    relearning_scores: dict,
    logit_lens_ranks: pd.DataFrame,
    target_info: dict,
    attack: AttackParams,
) -> tuple[pd.DataFrame, str, dict, Figure, Figure, Figure, Figure]:
    """Tidy table, markdown report, MLflow metrics and four plots (quantization, relearning
    curves, logit lens by layer, adversarial probes by attack type)."""
    scores = (quantization_scores, relearning_scores, logit_lens_ranks)
    table = report.attack_table(*scores)
    title = f"Attacks on forgetting: {target_info.get('name', target_info.get('id', 'target'))}"
    markdown = report.report_markdown(
        *scores, title=title, attacked=attack.unlearned, hook_layer=attack.hook_layer
    )
    return (
        table,
        markdown,
        report.mlflow_metrics(table, relearning_scores),
        report.plot_quantization(quantization_scores),
        report.plot_relearning(relearning_scores),
        report.plot_logit_lens(logit_lens_ranks, attack.hook_layer),
        report.plot_attack_types(quantization_scores),
    )


def attack_table_as_csv(attack_table: pd.DataFrame) -> pd.DataFrame:
    """The same tidy table again, for its CSV copy next to the parquet file."""
    return attack_table
