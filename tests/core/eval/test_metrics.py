"""RWKU metric formulas against hand-computed values (the arithmetic is in each docstring)."""

import math
import zlib

import numpy as np
import pytest
import torch
from rouge import Rouge
from sklearn.metrics import roc_auc_score

from atu_pipeline.core.eval import metrics as m

LN2 = math.log(2)

# ---------------------------------------------------------------- ROUGE-L recall


def test_rouge_is_case_sensitive():
    """ref words {Carrie}; hyp words {carrie}; LCS = 0 -> 0 / 1 = 0."""
    assert m.rouge_l_recall("carrie", "Carrie") == 0.0


def test_rouge_keeps_punctuation_inside_words():
    """ "Carrie," != "Carrie": LCS = 0 -> 0; "It was Carrie" contains "Carrie": 1 / 1 = 1."""
    assert m.rouge_l_recall("Carrie,", "Carrie") == 0.0
    assert m.rouge_l_recall("It was Carrie", "Carrie") == 1.0


def test_rouge_splits_the_reference_on_periods():
    """ "John D. Rockefeller" -> sentences "John D" | "Rockefeller"; m = |{John, D, Rockefeller}|
    = 3. Hyp "Rockefeller": LCS with s1 = {}, with s2 = {Rockefeller} -> 1 / 3.
    Hyp "John D Rockefeller" (one sentence): s1 adds {John, D}, s2 adds {Rockefeller} -> 3 / 3."""
    assert m.rouge_l_recall("Rockefeller", "John D. Rockefeller") == pytest.approx(1 / 3)
    assert m.rouge_l_recall("John D Rockefeller", "John D. Rockefeller") == 1.0


def test_rouge_counts_distinct_words():
    """ref "New York New York": m = |{New, York}| = 2, LCS with "New York" = {New, York} -> 1.
    ref "a b a": m = |{a, b}| = 2, hyp "a" -> U = {a} -> 1 / 2.
    ref "King. King": two sentences, m = 1; s1 adds {King}, s2 adds nothing -> 1 / 1."""
    assert m.rouge_l_recall("New York", "New York New York") == 1.0
    assert m.rouge_l_recall("a", "a b a") == 0.5
    assert m.rouge_l_recall("King", "King. King") == 1.0


def test_rouge_unions_lcs_over_hypothesis_sentences():
    """ref r = "the cat sat on mats" (m = 5); hyp c1 = "the cat ate some fish",
    c2 = "the sat fish ran mats". LCS(r, c1) = the cat; LCS(r, c2) = the sat mats;
    union = {the, cat, sat, mats} -> 4 / 5 = 0.8 (each sentence alone gives 0.4 / 0.6)."""
    hyp = "the cat ate some fish. the sat fish ran mats"
    assert m.rouge_l_recall(hyp, "the cat sat on mats") == pytest.approx(0.8)


def test_rouge_empty_and_dots_only_predictions_score_as_noanswer():
    """ "", "   " and "..." become "NOANSWER": 0 against "Carrie", 1 / 1 against "NOANSWER".
    The package itself raises on "..." (no non-empty fragment)."""
    for prediction in ["", "   ", "...", " . "]:
        assert m.rouge_l_recall(prediction, "Carrie") == 0.0
        assert m.rouge_l_recall(prediction, "NOANSWER") == 1.0
    with pytest.raises(ValueError):
        Rouge().get_scores("...", "Carrie")


def test_rouge_matches_the_package_exactly():
    cases = [
        ("Portland, Maine, USA", "Portland, Maine"),
        ("He was born in Portland. Maine it is", "Portland, Maine"),
        ("  the  the  cat ", "the cat the dog"),
        ("Dr. John D. Rockefeller Jr.", "John D. Rockefeller"),
        ("Richard Bachman.", "Richard Bachman"),
    ]
    for hyp, ref in cases:
        expected = Rouge().get_scores(hyp, ref)[0]["rouge-l"]["r"]
        assert m.rouge_l_recall(hyp, ref) == expected


# ---------------------------------------------------------------- MIA


def test_min_k_count_floors_and_never_returns_zero():
    """floor(0.2 * 10) = 2; floor(0.2 * 4) = 0 -> 1 (RWKU would average 0 values: NaN)."""
    assert m.min_k_count(10, 0.2) == 2
    assert m.min_k_count(4, 0.2) == 1
    assert m.min_k_count(1, 0.1) == 1
    assert m.min_k_count(5, 1.0) == 5


def test_min_k_mean_of_smallest_logprobs():
    """logp = [-1, -4, -2, -3]: ratio 0.5 -> k = 2 -> (-4 + -3) / 2 = -3.5;
    very short [-1, -2, -3] at 0.2: k = max(1, 0) = 1 -> -3."""
    assert m.min_k(torch.tensor([-1.0, -4.0, -2.0, -3.0]), 0.5) == pytest.approx(-3.5)
    assert m.min_k(torch.tensor([-1.0, -2.0, -3.0]), 0.2) == pytest.approx(-3.0)
    assert math.isfinite(m.min_k(torch.tensor([-0.5]), 0.1))


def test_loss_and_zlib():
    """logp = [-1, -2, -3]: NLL = 2; Zlib = -2 / len(zlib(b"aaaa"))."""
    logp = torch.tensor([-1.0, -2.0, -3.0])
    assert m.loss_nll(logp) == pytest.approx(2.0)
    assert m.zlib_score(logp, "aaaa") == pytest.approx(-2.0 / len(zlib.compress(b"aaaa")))


def test_vocab_moments():
    """p = [.5, .25, .25]: log p = [-l, -2l, -2l] with l = ln 2;
    mu = -(.5 l + .25 * 2l * 2) = -1.5 l; E[(log p)^2] = .5 l^2 + .5 * 4 l^2 = 2.5 l^2;
    var = 2.5 l^2 - 2.25 l^2 = .25 l^2 -> sigma = .5 l.
    p = [.5, .5, 0]: mu = -l, sigma = 0 (the p = 0 slot adds 0, not NaN)."""
    log_probs = torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]]).log()
    mu, sigma = m.vocab_moments(log_probs)
    assert mu.tolist() == pytest.approx([-1.5 * LN2, -LN2])
    assert sigma.tolist() == pytest.approx([0.5 * LN2, 0.0], abs=1e-6)


def test_min_k_plus_plus():
    """Two positions with p = [.5, .25, .25] (mu = -1.5 l, sigma = .5 l); observed tokens
    0 and 1: z = (-l + 1.5 l) / .5 l = 1 and (-2l + 1.5 l) / .5 l = -1.
    ratio 0.5 -> k = 1 -> -1; ratio 1.0 -> mean(1, -1) = 0."""
    log_probs = torch.tensor([[0.5, 0.25, 0.25]] * 2).log()
    logp = m.target_logprobs(log_probs, torch.tensor([0, 1]))
    assert logp.tolist() == pytest.approx([-LN2, -2 * LN2])
    mu, sigma = m.vocab_moments(log_probs)
    assert m.min_k_plus_plus(logp, mu, sigma, 0.5) == pytest.approx(-1.0)
    assert m.min_k_plus_plus(logp, mu, sigma, 1.0) == pytest.approx(0.0, abs=1e-6)


def test_average_ranks_share_ties():
    """[10, 20, 10, 30]: the two 10s share ranks 1 and 2 -> 1.5."""
    assert m.average_ranks(np.array([10, 20, 10, 30])).tolist() == [1.5, 3.0, 1.5, 4.0]


def test_roc_auc_hand_cases():
    """Perfect separation 1; reversed 0; all equal 0.5.
    pos [1, 2] vs neg [1, 0]: pairs (1,1) tie .5, (1,0) 1, (2,1) 1, (2,0) 1 -> 3.5 / 4 = .875
    (ranks of [1, 2, 1, 0] = [2.5, 4, 2.5, 1]; U = 2.5 + 4 - 3 = 3.5)."""
    assert m.roc_auc([3, 2], [1, 0]) == 1.0
    assert m.roc_auc([0], [1]) == 0.0
    assert m.roc_auc([5, 5], [5]) == 0.5
    assert m.roc_auc([1, 2], [1, 0]) == 0.875
    assert math.isnan(m.roc_auc([], [1]))


def test_roc_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    pos, neg = rng.integers(0, 5, 40).tolist(), rng.integers(0, 5, 30).tolist()
    expected = roc_auc_score([1] * 40 + [0] * 30, pos + neg)
    assert m.roc_auc(pos, neg) == pytest.approx(expected)


# ---------------------------------------------------------------- SQuAD, BBH, TruthfulQA


def test_normalize_answer():
    """lowercase, punctuation out, articles -> space, whitespace collapsed."""
    assert m.normalize_answer("The  Cat, sat on a mat!") == "cat sat on mat"


def test_exact_match_and_f1():
    """F1("the cat sat", "a cat ran"): [cat, sat] vs [cat, ran], 1 shared -> P = R = 1/2, F1 = .5.
    F1("cat cat", "cat"): shared = min(2, 1) = 1, P = 1/2, R = 1 -> 2 * .5 / 1.5 = 2/3."""
    assert m.exact_match("The Beatles!", "beatles") == 1.0
    assert m.exact_match("Beatles", "Rolling Stones") == 0.0
    assert m.token_f1("the cat sat", "a cat ran") == pytest.approx(0.5)
    assert m.token_f1("cat cat", "cat") == pytest.approx(2 / 3)
    assert m.token_f1("", "cat") == 0.0


def test_extract_bbh_answer():
    assert m.extract_bbh_answer("Step. So the answer is (B). Done.") == "(B)"
    assert m.extract_bbh_answer("The answer is False.") == "False"
    assert m.extract_bbh_answer("  no marker here ") == "no marker here"
    assert m.extract_bbh_answer("   ") == "NOANSWER"


def test_bbh_em_correct_vs_quirk():
    """Quirk = max EM over the gold's characters:
    "False" vs "F","a","l","s","e": "false" never equals one letter -> 0 (correct EM: 1);
    "11" vs "1","1" -> 0 (correct: 1);
    "(A)" normalises to "" ("a" is an article) and so does "(" -> 1 (correct: "" vs "b" -> 0);
    "B" vs "(B)": the character "B" matches -> 1 (correct: "b" == "b" -> 1)."""
    assert (m.bbh_em("False", "False"), m.bbh_em_quirk("False", "False")) == (1.0, 0.0)
    assert (m.bbh_em("11", "11"), m.bbh_em_quirk("11", "11")) == (1.0, 0.0)
    assert (m.bbh_em("(A)", "(B)"), m.bbh_em_quirk("(A)", "(B)")) == (0.0, 1.0)
    assert (m.bbh_em("B", "(B)"), m.bbh_em_quirk("B", "(B)")) == (1.0, 1.0)


def test_truthful_mc1_and_mc2():
    """MC1: -1 > max(-2, -3) -> 1; -2 < -1 -> 0; a tie loses.
    MC2: e^{ln 3} / (e^{ln 3} + e^{ln 1}) = 3 / 4; (1 + 1) / (1 + 1 + 2) = 1 / 2."""
    assert m.truthful_mc1(-1.0, [-2.0, -3.0]) == 1.0
    assert m.truthful_mc1(-2.0, [-1.0]) == 0.0
    assert m.truthful_mc1(-1.0, [-1.0]) == 0.0
    assert m.truthful_mc2([math.log(3)], [0.0]) == pytest.approx(0.75)
    assert m.truthful_mc2([0.0, 0.0], [LN2]) == pytest.approx(0.5)
    assert m.truthful_mc2([-1000.0], [-1000.0]) == pytest.approx(0.5)  # no underflow


# ---------------------------------------------------------------- fluency, perplexity


def test_word_tokenize_splits_clitics_and_punctuation():
    text = "I don't know, it's 3.14 well-known."
    expected = ["I", "do", "n't", "know", ",", "it", "'s", "3.14", "well-known", "."]
    assert m.word_tokenize(text) == expected


def test_ngram_entropy_in_bits():
    """[a b a b] bigrams ab, ba, ab -> p = 2/3, 1/3 -> H = log2 3 - 2/3 = 0.9183;
    five distinct words: 4 distinct bigrams -> 2 bits; too short -> 0."""
    assert m.ngram_entropy(["a", "b", "a", "b"], 2) == pytest.approx(math.log2(3) - 2 / 3)
    assert m.ngram_entropy(list("abcde"), 2) == pytest.approx(2.0)
    assert m.ngram_entropy(["a"], 2) == 0.0


def test_fluency_entropy():
    """ "a b c d e": H2 = log2 4 = 2, H3 = log2 3 -> 2/3 + 2 log2(3)/3 = 1.7233."""
    assert m.fluency_entropy("a b c d e") == pytest.approx(2 / 3 + 2 * math.log2(3) / 3)
    assert m.fluency_entropy("") == 0.0


def test_perplexity():
    """3 tokens at p = 1/2 each: NLL sum = 3 ln 2 -> exp(ln 2) = 2."""
    assert m.perplexity(3 * LN2, 3) == pytest.approx(2.0)
    assert math.isnan(m.perplexity(0.0, 0))
