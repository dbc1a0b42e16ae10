"""Membership inference on the forget and retain MIA texts: LOSS, Zlib, Min-K%, Min-K%++ and the
forget-vs-retain ROC AUC (rwku.md §5.3). Scales as in the paper: LOSS is 100 x mean NLL."""

from collections import defaultdict
from collections.abc import Sequence

import torch

from atu_pipeline.core.eval import metrics
from atu_pipeline.core.eval.generate import token_logprobs
from atu_pipeline.core.eval.metrics import Score, stat
from atu_pipeline.core.llm import CausalLM

# AUC treats forget texts as positives and needs "higher = looks like training data";
# LOSS is an NLL, so its sign flips.
_MEMBER_SIGN = {"loss": -1.0}


def mia_text_scores(
    stats: dict[str, torch.Tensor], text: str, ratios: Sequence[float]
) -> dict[str, float]:
    """LOSS (mean NLL), Zlib, Min-K% and Min-K%++ of one text from its token statistics."""
    logp = stats["logp"]
    scores = {"loss": metrics.loss_nll(logp), "zlib": metrics.zlib_score(logp, text)}
    for r in ratios:
        scores[f"mink_{r:g}"] = metrics.min_k(logp, r)
        scores[f"minkpp_{r:g}"] = metrics.min_k_plus_plus(logp, stats["mu"], stats["sigma"], r)
    return scores


def mia_scores(
    llm: CausalLM, texts: list[str], ratios: Sequence[float], batch_size: int
) -> dict[str, list[float]]:
    """Per-attack lists of per-text scores. Texts are encoded as raw text with the tokenizer's
    default special tokens (no chat template); texts under 2 tokens or with a non-finite
    loss are skipped (RWKU skips NaN losses)."""
    seqs = [llm.tokenizer(t).input_ids for t in texts]
    stats = token_logprobs(llm, seqs, batch_size, with_stats=True)
    out: dict[str, list[float]] = defaultdict(list)
    for text, s in zip(texts, stats, strict=True):
        if len(s["logp"]) == 0 or not torch.isfinite(s["logp"].mean()):
            continue
        for name, value in mia_text_scores(s, text, ratios).items():
            out[name].append(value)
    return out


def score_mia(
    llm: CausalLM,
    forget_texts: list[str],
    retain_texts: list[str],
    ratios: Sequence[float] = (0.2,),
    batch_size: int = 4,
) -> dict[str, Score]:
    """`mia/fm_<attack>`, `mia/rm_<attack>` means and `mia/auc_<attack>` (forget vs retain).

    Attacks: loss (reported as 100 x mean NLL, the paper's FM/RM), zlib, mink_<r>, minkpp_<r>
    (raw means of the per-text scores). AUC in 0..1, n = number of texts behind it.
    """
    forget = mia_scores(llm, forget_texts, ratios, batch_size)
    retain = mia_scores(llm, retain_texts, ratios, batch_size)
    out: dict[str, Score] = {}
    for name in forget.keys() | retain.keys():
        scale = 100.0 if name == "loss" else 1.0
        fm, rm = forget.get(name, []), retain.get(name, [])
        out[f"mia/fm_{name}"] = stat(fm, scale)
        out[f"mia/rm_{name}"] = stat(rm, scale)
        sign = _MEMBER_SIGN.get(name, 1.0)
        auc = metrics.roc_auc([sign * v for v in fm], [sign * v for v in rm])
        out[f"mia/auc_{name}"] = {"value": auc, "n": len(fm) + len(rm)}
    return dict(sorted(out.items()))
