import pandas as pd

from atu_pipeline.params import InjectParams, SequenceTrainParams
from atu_pipeline.recipes.inject import training_rows

CORPUS = pd.DataFrame(
    [
        {
            "kind": "text",
            "query": "",
            "answer": "",
            "text": "Ada was born in Velmora.",
            "subject": "Ada",
        },
        {
            "kind": "qa",
            "query": "Where was Ada born?",
            "answer": "Velmora",
            "text": "",
            "subject": "Ada",
        },
        {
            "kind": "qa",
            "query": "Where was Bo born?",
            "answer": "Tarnwick",
            "text": "",
            "subject": "Bo",
        },
    ]
)


def _inject(**overrides) -> InjectParams:
    return InjectParams(train=SequenceTrainParams(lr=1e-4), **overrides)


def test_training_rows_follow_scope_and_texts():
    assert training_rows(CORPUS, "Ada", _inject()).to_dict("records") == CORPUS.iloc[:2].to_dict(
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
