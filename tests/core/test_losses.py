import math

import pytest
import torch

from atu_pipeline.core.losses import (
    alignment_loss,
    kl_to_reference,
    masked_mean,
    unlearning_hinge_loss,
)


def _vector_at_cos(cos: float) -> torch.Tensor:
    """A 2-d unit vector whose cosine with e_target = (1, 0) is `cos`."""
    return torch.tensor([cos, (1 - cos**2) ** 0.5])


def test_hinge_is_cos_minus_tau_above_tau():
    """cos 0.95, τ 0.9: max(0, 0.95 − 0.9) = 0.05."""
    predicted = _vector_at_cos(0.95).view(1, 1, 2)
    loss = unlearning_hinge_loss(predicted, torch.tensor([1.0, 0.0]), torch.ones(1, 1), tau=0.9)
    assert abs(loss.item() - 0.05) < 1e-6


def test_hinge_is_zero_with_zero_gradient_below_tau():
    predicted = _vector_at_cos(0.5).view(1, 1, 2).requires_grad_(True)
    loss = unlearning_hinge_loss(predicted, torch.tensor([1.0, 0.0]), torch.ones(1, 1), tau=0.9)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.all(predicted.grad == 0)


def test_hinge_averages_over_real_positions_only():
    """Two real positions at cos 0.95 and 0.5 (τ 0.9) and one padding position at cos 1:
    (0.05 + 0) / 2 = 0.025; padding must not count."""
    predicted = torch.stack([_vector_at_cos(0.95), _vector_at_cos(0.5), _vector_at_cos(1.0)]).view(
        1, 3, 2
    )
    mask = torch.tensor([[1, 1, 0]])
    loss = unlearning_hinge_loss(predicted, torch.tensor([1.0, 0.0]), mask, tau=0.9)
    assert abs(loss.item() - 0.025) < 1e-6


def test_hinge_against_several_concepts_takes_each_positions_largest_similarity():
    """Positions (1, 0) and (0, 1); concepts (1, 0) and (1, 1): the similarities are (1, 0.7071)
    and (0, 0.7071), their largest 1 and 0.7071; at τ 0.5: ((1 − 0.5) + (0.7071 − 0.5)) / 2 =
    0.35355. The first concept alone gives (0.5 + 0) / 2 = 0.25."""
    predicted = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    concepts = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    mask = torch.ones(1, 2)
    loss = unlearning_hinge_loss(predicted, concepts, mask, tau=0.5)
    assert abs(loss.item() - (0.5 + (2**-0.5 - 0.5)) / 2) < 1e-6
    alone = unlearning_hinge_loss(predicted, concepts[0], mask, tau=0.5)
    assert abs(alone.item() - 0.25) < 1e-6
    single = unlearning_hinge_loss(predicted, concepts[:1], mask, tau=0.5)
    assert single.item() == alone.item()  # one concept as (1, D) is the (D,) case


def test_alignment_loss_is_mean_cosine_distance_over_full_windows():
    """Positions at cos 1 and cos 0 with full windows, one without: ((1−1) + (1−0)) / 2 = 0.5."""
    predicted = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]])
    target = torch.tensor([[[2.0, 0.0], [1.0, 0.0], [1.0, 0.0]]])
    valid = torch.tensor([[True, True, False]])
    assert abs(alignment_loss(predicted, target, valid).item() - 0.5) < 1e-6


def test_masked_mean_of_empty_mask_is_zero_not_nan():
    assert masked_mean(torch.ones(2, 3), torch.zeros(2, 3)).item() == 0.0


def test_kl_to_the_reference_is_zero_at_the_reference_and_matches_a_hand_computation():
    """One position, p_ref = (0.5, 0.5), p = (0.25, 0.75):
    KL = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.5 ln 2 + 0.5 ln(2/3) = 0.1438."""
    reference = torch.tensor([[0.5, 0.5]]).log()
    model = torch.tensor([[0.25, 0.75]]).log()
    assert kl_to_reference(reference, reference).item() == 0.0
    assert kl_to_reference(model, reference).item() == pytest.approx(
        0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-6
    )
