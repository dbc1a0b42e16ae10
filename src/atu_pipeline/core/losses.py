"""The losses: Align-then-Unlearn's (arXiv 2506.13181, §3) and the token-level baselines', one
function each."""

import torch
import torch.nn.functional as F


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of values (B, T) over mask (B, T); 0 when the mask is empty (no NaN, no gradient)."""
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum().clamp(min=1.0)


def alignment_loss(
    predicted: torch.Tensor, target: torch.Tensor, valid: torch.Tensor
) -> torch.Tensor:
    """Cosine distance between predicted and true future-window embeddings (alignment phase).

    L_align = mean over full-window positions of (1 - cos(ê_t, e_t)).
    predicted, target: (B, T, D); valid: (B, T).
    """
    cosine = F.cosine_similarity(predicted, target.to(predicted.dtype), dim=-1)  # (B, T)
    return masked_mean(1.0 - cosine, valid)


def concept_similarity(predicted: torch.Tensor, concept: torch.Tensor) -> torch.Tensor:
    """cos(ê_t, e_target) at every position: predicted (B, T, D), concept (D,) -> (B, T).

    Several concepts (K, D), as when several targets are unlearned at once, give the largest of
    the K similarities: the hinge then acts wherever a prediction comes near any of them.
    """
    if concept.dim() == 2:
        per_concept = [concept_similarity(predicted, one) for one in concept]
        return torch.stack(per_concept, dim=-1).amax(dim=-1)
    return F.cosine_similarity(predicted, concept.to(predicted.dtype).expand_as(predicted), dim=-1)


def unlearning_hinge_loss(
    predicted: torch.Tensor, concept: torch.Tensor, mask: torch.Tensor, tau: float
) -> torch.Tensor:
    """L_unlearn(τ) = mean over real positions of max(0, cos(ê_t, e_target) − τ).

    Positions already below τ contribute neither loss nor gradient. The reference averages over
    padding positions too, which only rescales the loss by the batch's padding share; we mask it.
    """
    return masked_mean(F.relu(concept_similarity(predicted, concept) - tau), mask)


def ga_loss(nll: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """Gradient ascent: the negated token-mean NLL of the batch, from each row's summed NLL and
    token count (B,)."""
    return -nll.sum() / tokens.sum().clamp(min=1.0)


def npo_loss(nll: torch.Tensor, reference_nll: torch.Tensor, beta: float) -> torch.Tensor:
    """NPO (Zhang et al. 2024) on per-sequence summed NLLs (B,), as RWKU defines it:
    L = −(2/β) · mean log σ(β · (NLL_θ − NLL_ref)); (2/β)·log 2 while the model equals the
    reference."""
    return -(2.0 / beta) * F.logsigmoid(beta * (nll - reference_nll)).mean()


def kl_to_reference(log_probs: torch.Tensor, reference_log_probs: torch.Tensor) -> torch.Tensor:
    """KL(p_ref ‖ p_θ), averaged over positions: (K, V) log-probabilities of the model and of the
    frozen reference at the same K positions. 0 while the model still equals the reference."""
    reference = reference_log_probs.exp()
    return (reference * (reference_log_probs - log_probs)).sum(dim=-1).mean()
