import pandas as pd

from atu_pipeline.io.models import ModelCache
from atu_pipeline.params import InjectParams, ModelSpec, SequenceTrainParams
from atu_pipeline.recipes.inject import inject_knowledge, training_rows

CORPUS = pd.DataFrame(
    [
        {
            "kind": "text",
            "query": "",
            "answer": "",
            "text": "Ada was born in Velmora.",
            "subject": "Ada",
            "origin": "",
        },
        {
            "kind": "qa",
            "query": "Where was Ada born?",
            "answer": "Velmora",
            "text": "",
            "subject": "Ada",
            "origin": "",
        },
        {
            "kind": "qa",
            "query": "Where was Bo born?",
            "answer": "Tarnwick",
            "text": "",
            "subject": "Bo",
            "origin": "",
        },
    ]
)


def _inject(**overrides) -> InjectParams:
    return InjectParams(**{"train": SequenceTrainParams(lr=1e-4)} | overrides)


def test_training_rows_follow_scope_and_texts():
    target = _inject(scope="target")
    assert training_rows(CORPUS, "Ada", target).to_dict("records") == CORPUS.iloc[:2].to_dict(
        "records"
    )
    assert list(training_rows(CORPUS, "Ada", _inject(scope="world"))["subject"]) == [
        "Ada",
        "Ada",
        "Bo",
    ]
    only_qa = training_rows(CORPUS, "Ada", _inject(include_texts=False))
    assert list(only_qa["kind"]) == ["qa"] and list(only_qa.index) == [0]


def test_texts_not_trained_on_do_not_change_the_rows_hashed_into_the_cache_key():
    edited = CORPUS.copy()
    edited.loc[0, "text"] = "Ada grew up by a river."
    without_texts = _inject(include_texts=False)
    assert (
        training_rows(edited, "Ada", without_texts).to_json()
        == training_rows(CORPUS, "Ada", without_texts).to_json()
    )
    with_texts = _inject(include_texts=True)
    assert (
        training_rows(edited, "Ada", with_texts).to_json()
        != training_rows(CORPUS, "Ada", with_texts).to_json()
    )


def test_injecting_rwku_probes_verbatim_warns_and_names_the_files(tiny_llm, tmp_path, caplog):
    probes_file = "/data/rwku/Target/1_Ada/forget_level2.json"
    corpus = CORPUS.assign(origin=["", probes_file, ""])
    inject = _inject(epochs=1, train=SequenceTrainParams(lr=1e-4, batch_size=2, max_length=32))
    with caplog.at_level("WARNING"):
        _, _, memorised = inject_knowledge(
            tiny_llm,
            corpus,
            "Ada",
            cache=ModelCache(tmp_path),
            llm=ModelSpec(spec="x"),
            inject=inject,
        )
    assert memorised == [probes_file]
    assert probes_file in caplog.text and "memorised probes" in caplog.text


def test_the_demo_world_trains_on_no_probe_wording(demo_tables):
    taught = {" ".join(q.casefold().split()) for q in demo_tables["injection_corpus"]["query"]}
    probes = pd.concat([demo_tables["probes"], demo_tables["retain_probes"]])
    asked = {" ".join(q.casefold().split()) for q in probes["query"]}
    assert not taught & asked
    assert (demo_tables["injection_corpus"]["origin"] == "").all()
