"""RWKU metric formulas (rwku.md §5): one function per formula, no model calls.

Probes: ROUGE-L recall. MIA: LOSS, Zlib, Min-K%, Min-K%++ and a rank-statistic ROC AUC.
Utility: SQuAD EM/F1, BBH answer extraction and EM (correct and quirk), TruthfulQA MC1/MC2,
n-gram entropy fluency, perplexity.
"""

import math
import re
import string
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch
from rouge import Rouge

NOANSWER = "NOANSWER"
_ROUGE_L = Rouge(metrics=["rouge-l"], stats=["r"])  # same ROUGE-L as Rouge(), less work

Score = dict[str, float | int]


def stat(values: Sequence[float], scale: float = 100.0) -> Score:
    """{"value": scale x mean, "n": count}; NaN value when there is nothing to average."""
    mean = sum(values) / len(values) if values else float("nan")
    return {"value": scale * mean, "n": len(values)}


# ---------------------------------------------------------------- forget / neighbor probes


def rouge_l_recall(prediction: str, reference: str) -> float:
    """ROUGE-L recall exactly as `Rouge().get_scores(hyp, ref)[0]["rouge-l"]["r"]` (rouge 1.0.1).

    Case- and punctuation-sensitive, words split on spaces, both strings split into sentences
    on "." (so "John D. Rockefeller" is two sentences), distinct-word counts, union LCS over
    sentences. As in RWKU the prediction is stripped and an empty one becomes "NOANSWER".
    A prediction with no non-empty "."-fragment (e.g. "...") makes the package raise
    ValueError ("Collections must contain at least 1 sentence"); it is scored as "NOANSWER"
    too, where RWKU would crash.
    """
    prediction = prediction.strip()
    if not any(prediction.split(".")):
        prediction = NOANSWER
    return float(_ROUGE_L.get_scores(prediction, reference)[0]["rouge-l"]["r"])


# ---------------------------------------------------------------- MIA (rwku.md §5.3)


def target_logprobs(log_probs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(x_t) of the observed tokens: (T, V) log-softmax and (T,) ids -> (T,)."""
    return log_probs.gather(-1, targets[:, None]).squeeze(-1)


def vocab_moments(log_probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std of log p under p, per position (Min-K%++): (T, V) -> (T,), (T,).

    mu_t = sum_v p_v log p_v;  sigma_t^2 = sum_v p_v (log p_v)^2 - mu_t^2.
    Tokens with p_v = 0 (log p = -inf, e.g. masked vocabulary slots) contribute 0, not NaN.
    """
    p = log_probs.exp()
    safe = torch.where(p > 0, log_probs, torch.zeros_like(log_probs))
    mu = (p * safe).sum(-1)
    var = (p * safe.square()).sum(-1) - mu.square()
    return mu, var.clamp_min(0).sqrt()


def min_k_count(n_tokens: int, ratio: float) -> int:
    """k = floor(ratio * n_tokens), at least 1.

    RWKU's k is 0 for short texts and small ratios (e.g. 4 tokens at 0.2), which gives a NaN
    mean; k = max(1, .) scores such a text by its single least likely token instead.
    """
    return max(1, int(ratio * n_tokens))


def loss_nll(logp: torch.Tensor) -> float:
    """LOSS attack: mean negative log-likelihood of the text's tokens (paper reports x100)."""
    return -logp.mean().item()


def zlib_score(logp: torch.Tensor, text: str) -> float:
    """Zlib attack: mean log-likelihood / zlib-compressed length of the UTF-8 text in bytes."""
    return logp.mean().item() / len(zlib.compress(text.encode("utf-8")))


def min_k(logp: torch.Tensor, ratio: float) -> float:
    """Min-K%: mean of the k smallest token log-probs, k = min_k_count(T-1, ratio)."""
    k = min_k_count(len(logp), ratio)
    return logp.topk(k, largest=False).values.mean().item()


def min_k_plus_plus(
    logp: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, ratio: float
) -> float:
    """Min-K%++: mean of the k smallest z_t = (log p(x_t) - mu_t) / sigma_t; all (T,)."""
    z = (logp - mu) / sigma.clamp_min(1e-12)  # sigma = 0 only for one-hot p, where z = 0
    return min_k(z, ratio)


def average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of x, ties sharing the mean of the ranks they span."""
    order = np.argsort(x, kind="mergesort")
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(first + (counts + 1) / 2, counts)
    return ranks


def roc_auc(positive: list[float], negative: list[float]) -> float:
    """P(score_pos > score_neg) + P(tie) / 2 (Mann-Whitney U / (n_pos n_neg)).

    With forget texts as positives and a membership score (higher = more likely seen),
    0.5 = indistinguishable from retain texts; NaN when either side is empty.
    """
    if not positive or not negative:
        return float("nan")
    ranks = average_ranks(np.asarray([*positive, *negative], dtype=float))
    n_pos, n_neg = len(positive), len(negative)
    u = ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


# ---------------------------------------------------------------- SQuAD-style answers


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation, articles -> space, collapse spaces."""
    text = "".join(c for c in text.lower() if c not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 of the normalised strings (0 when nothing is shared)."""
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------- BBH


def extract_bbh_answer(output: str) -> str:
    """First `[t|T]he answer is (.*?)\\.` match, else the stripped output; empty -> NOANSWER."""
    found = re.search(r"[t|T]he answer is (.*?)\.", output)
    answer = found.group(1) if found else output.strip()
    return answer if answer.strip() else NOANSWER


def bbh_em(prediction: str, answer: str) -> float:
    """Correct BBH exact match against the whole gold answer."""
    return exact_match(prediction, answer)


def bbh_em_quirk(prediction: str, answer: str) -> float:
    """RWKU's BBH EM: max of EM over the CHARACTERS of the gold answer string.

    The benchmark passes the gold string where a list of golds is expected, so multi-character
    answers ("False", "11") never score and a prediction that normalises to "" (such as "(A)")
    matches any punctuation or space character. Reported next to `bbh_em`, never instead.
    """
    return max((exact_match(prediction, char) for char in answer), default=0.0)


# ---------------------------------------------------------------- TruthfulQA


def truthful_mc1(best_true: float, false_scores: list[float]) -> float:
    """1 when the (first) true choice outscores every false one (ties lose)."""
    return float(best_true > max(false_scores))


def truthful_mc2(true_scores: list[float], false_scores: list[float]) -> float:
    """Probability mass on true choices: sum_true e^s / (sum_true e^s + sum_false e^s)."""
    t = torch.tensor(true_scores, dtype=torch.float64)
    a = torch.tensor([*true_scores, *false_scores], dtype=torch.float64)
    return (t.logsumexp(0) - a.logsumexp(0)).exp().item()


# ---------------------------------------------------------------- fluency and perplexity

_WORD = re.compile(r"\d+(?:[.,]\d+)+|\w+(?=n't\b)|n't\b|'\w+|\w+(?:-\w+)*|\.\.\.|[^\w\s]")


def word_tokenize(text: str) -> list[str]:
    """Download-free stand-in for nltk.word_tokenize (which needs punkt, not available here).

    Words (hyphenated words and decimals kept whole), clitics split as nltk does
    ("don't" -> "do", "n't"; "it's" -> "it", "'s") and each punctuation mark alone.
    Differences from nltk: no sentence splitting (so abbreviations like "Dr." lose their
    period: "Dr", "."), quotes stay '"' instead of `` / '', "..." is one token as in nltk but
    "--" is two, and "'tis"-style leading apostrophes stay attached.
    """
    return _WORD.findall(text)


def ngram_entropy(tokens: list[str], n: int) -> float:
    """Shannon entropy in bits of the n-gram frequency distribution (0 for no n-grams)."""
    counts = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    total = sum(counts.values())
    return float(-sum(c / total * math.log2(c / total) for c in counts.values()))


def fluency_entropy(text: str) -> float:
    """RWKU fluency: mean of 2/3 H2 and 4/3 H3, i.e. H2/3 + 2 H3/3 (bits; paper x100)."""
    tokens = word_tokenize(text)
    return ngram_entropy(tokens, 2) / 3 + 2 * ngram_entropy(tokens, 3) / 3


def perplexity(nll_sum: float, n_tokens: int) -> float:
    """exp(total NLL / total predicted tokens): token-weighted over all texts."""
    return math.exp(nll_sum / n_tokens) if n_tokens else float("nan")
