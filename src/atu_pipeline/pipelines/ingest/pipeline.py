"""ingest: one RWKU target (local folder, HF hub or the demo world) -> typed tables."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_forget_corpus,
    build_injection_corpus,
    build_mia_texts,
    build_probes,
    build_retain_corpus,
    build_retain_probes,
    build_target_info,
    collect_utility_items,
    find_target_files,
)


def create_pipeline(**kwargs) -> Pipeline:
    tables = {
        build_target_info: "target_info",
        build_mia_texts: "mia_texts",
        collect_utility_items: "utility_items",
        build_injection_corpus: "injection_corpus",
    }
    return Pipeline(
        [
            Node(
                find_target_files,
                ["params:target", "params:rwku", "params:world"],
                "target_files",
                name="find_target_files",
            ),
            Node(build_probes, ["target_files", "params:rwku"], "probes", name="build_probes"),
            *(
                Node(
                    func,
                    ["target_files", "params:rwku", "params:llm", "model_cache"],
                    output,
                    name=func.__name__,
                )
                for func, output in (
                    (build_forget_corpus, "forget_corpus"),
                    (build_retain_corpus, "retain_corpus"),
                )
            ),
            Node(
                build_retain_probes,
                ["target_files", "params:rwku"],
                "retain_probes",
                name="build_retain_probes",
            ),
            *(
                Node(func, "target_files", output, name=func.__name__)
                for func, output in tables.items()
            ),
        ]
    )
