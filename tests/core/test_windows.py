from atu_pipeline.core.windows import build_windows, window_spans


def test_window_starts_after_the_llm_tokens_character_end():
    """LLM tokens end at chars 3 and 7; encoder tokens end at 2, 5, 7, 9, 11.
    For the first LLM token the window is the encoder tokens ending after 3: (3,5),(5,7) for k=2.
    For the second, those ending after 7: (7,9),(9,11). Nothing is full after a third at 11."""
    llm = [(0, 3), (3, 7), (7, 11)]
    enc = [(0, 2), (3, 5), (5, 7), (7, 9), (9, 11)]
    assert window_spans(llm, enc, k=2) == [(3, 7), (7, 11), None]


def test_build_windows_marks_positions_without_a_full_window(tiny_llm, tiny_encoder):
    texts = ["The quick brown fox jumps over the lazy dog.", "Short."]
    corpus, index, windows = build_windows(
        texts, tiny_llm.tokenizer, tiny_encoder.tokenizer, 32, k=3
    )
    assert index.shape == corpus.input_ids.shape
    assert (index[corpus.attention_mask == 0] == -1).all()
    assert index[0, 0] >= 0 and index[0, -1] == -1  # the last token has no future
    assert len(set(windows)) == len(windows) == int(index.max()) + 1
    first = windows[int(index[0, 0])]
    assert first in texts[0]
