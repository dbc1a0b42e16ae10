from atu_pipeline.core.lm_data import lm_examples


def test_labels_cover_the_completion_and_eos_only(tiny_llm):
    tok = tiny_llm.tokenizer
    ids, mask, labels = lm_examples(tok, ["Question: who?\nAnswer:"], [" Ann"], max_length=64)
    n_prompt = len(tok("Question: who?\nAnswer:", add_special_tokens=False)["input_ids"])
    supervised = labels[0][labels[0] != -100].tolist()
    assert supervised == tok(" Ann", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    assert (labels[0, :n_prompt] == -100).all()
    assert mask[0].sum() == len(supervised) + n_prompt


def test_too_long_prompt_is_cut_from_the_left_and_keeps_its_completion(tiny_llm):
    tok = tiny_llm.tokenizer
    ids, mask, labels = lm_examples(tok, ["word " * 100 + "Answer:"], [" Ann"], max_length=16)
    assert ids.shape[1] == 16
    assert (labels[0] != -100).sum() == len(tok(" Ann", add_special_tokens=False)["input_ids"]) + 1
    assert tok.decode(ids[0]).rstrip().endswith(tok.eos_token)
