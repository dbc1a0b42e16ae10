"""inject: base LLM -> LLM that knows the world (cached by recipe)."""

from kedro.pipeline import Node, Pipeline

from .nodes import inject_knowledge, load_base_llm, score_injection


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(load_base_llm, ["params:llm", "model_cache"], "base_llm", name="load_base_llm"),
            Node(
                inject_knowledge,
                [
                    "base_llm",
                    "injection_corpus",
                    "target_info",
                    "model_cache",
                    "params:llm",
                    "params:inject",
                ],
                ["subject_llm", "inject_metrics", "memorised_probes"],
                name="inject_knowledge",
            ),
            Node(
                score_injection,
                ["base_llm", "subject_llm", "probes", "params:eval"],
                ["injection_report", "injection_scores"],
                name="score_injection",
            ),
        ]
    )
