"""Training losses for the energy net; each averages over the batch (the paper's sums over N, / N).

Shapes: ``positive (B,)`` energies of the demonstrated actions, ``negative (B, M)`` of the negatives.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.energy import EnergyFn


class LossConfig(FrozenConfig):
    """The energy model's main loss plus weighted regularisers (weights of 0 switch them off).

    ``proposal_correction`` turns InfoNCE into ranking NCE: every candidate's logit, the positive's included,
    is ``-E(x, y) - log q(y | x)`` for the density ``q`` the negatives were drawn from (samplers that know
    it: ``proposal``). ``proposal_nll_weight`` weighs the learned proposal's negative log-likelihood, when the
    energy model has one; ``proposal_mean_weight`` adds its components' mean error
    (:func:`~implicit_policy.models.proposal.component_mean_error`)."""

    kind: Literal["info_nce", "mcmc"] = "info_nce"
    proposal_correction: bool = False
    proposal_nll_weight: float = Field(1.0, ge=0)
    proposal_mean_weight: float = Field(
        0.0, ge=0, description="times the squared error of the proposal's component means (energy.proposal)"
    )
    max_entropy_weight: float = Field(0.0, ge=0, description="times half the variance of the negatives' energies")
    positive_l2_weight: float = Field(0.0, ge=0, description="times the mean squared positive energy")
    gradient_penalty_weight: float = Field(0.0, ge=0)
    gradient_penalty_margin: float = Field(1.0, ge=0)
    gradient_penalty_actions: Literal["negatives", "all"] = Field(
        "negatives", description="where dE/dy is penalised: the negatives, or the positive and the negatives (IBC)"
    )


def info_nce_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Eq. (3): ``-log( e^-E+ / (e^-E+ + sum_m e^-E-_m) )``: cross-entropy of picking the positive."""
    logits = -torch.cat([positive.unsqueeze(1), negative], dim=1)
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def ranking_nce_loss(
    positive: torch.Tensor, negative: torch.Tensor, log_q_positive: torch.Tensor, log_q_negative: torch.Tensor
) -> torch.Tensor:
    """Ranking NCE (Singh, Tu and Sindhwani 2023): InfoNCE over the positive ``(B,)`` and the negatives
    ``(B, M)`` with each logit ``-E - log q``, consistent for any proposal ``q`` whose log-density at each
    candidate is given (``log_q_positive (B,)``, ``log_q_negative (B, M)``)."""
    logits = -torch.cat([positive.unsqueeze(1), negative], dim=1) - torch.cat(
        [log_q_positive.unsqueeze(1), log_q_negative], dim=1
    )
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def negative_log_likelihood(log_density: torch.Tensor) -> torch.Tensor:
    """Maximum likelihood's loss: the mean of ``-log q(y | x)`` over the demonstrated actions ``(B,)``."""
    return -log_density.mean()


def mcmc_loss(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """Eq. (4), contrastive divergence: ``E+ - mean_m E-_m``."""
    return (positive - negative.mean(dim=1)).mean()


def max_entropy_regularizer(negative: torch.Tensor) -> torch.Tensor:
    """Appendix A's extra terms: ``1/2 mean_m (E-)^2 - 1/2 (mean_m E-)^2``, half the negatives' energy variance."""
    return 0.5 * negative.var(dim=1, unbiased=False).mean()


def positive_energy_l2(positive: torch.Tensor) -> torch.Tensor:
    """Mean squared positive energy: anchors the energies of demonstrated actions at zero."""
    return positive.pow(2).mean()


def gradient_penalty(energy: EnergyFn, obs: torch.Tensor, negatives: torch.Tensor, margin: float) -> torch.Tensor:
    """IBC's penalty: ``mean( max(0, ||dE/dy||_inf - margin)^2 )`` at the negatives ``(B, M, A)``,
    differentiable in the network's parameters."""
    y = negatives.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(energy(obs, y).sum(), y, create_graph=True)
    return torch.relu(grad.abs().amax(dim=-1) - margin).pow(2).mean()


def mse_loss(predicted: torch.Tensor, demonstrated: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
    """The explicit baseline's regression loss: mean squared error over actions ``(B, D)``; with ``keep (B, D)``
    the mean over the kept values only."""
    if keep is None:
        return (predicted - demonstrated).pow(2).mean()
    return ((predicted - demonstrated).pow(2) * keep).sum() / keep.sum().clamp(min=1)


def proposal_mean_term(weight: float, mean_error: torch.Tensor) -> dict[str, torch.Tensor]:
    """``proposal_mean_mse``: ``weight`` times the mean of a mixture's component-mean error ``(B,)`` (for an
    energy model's proposal and for the ``mdn`` kind alike); nothing at weight 0."""
    if not weight:
        return {}
    return {"proposal_mean_mse": weight * mean_error.mean()}


def total_loss(
    config: LossConfig,
    energy: EnergyFn,
    obs: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    negatives: torch.Tensor,
    positives: torch.Tensor | None = None,
    log_q: tuple[torch.Tensor, torch.Tensor] | None = None,
    proposal_log_density: torch.Tensor | None = None,
    proposal_mean_error: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """The configured loss and its parts (``loss`` is their weighted sum). ``positives (B, A)``, the
    demonstrated actions, join the negatives ``(B, M, A)`` in the gradient penalty when
    ``gradient_penalty_actions`` is ``"all"``. ``log_q`` (positive ``(B,)``, negatives ``(B, M)``) is the
    sampler's log-density, for ranking NCE; ``proposal_log_density (B,)`` the learned proposal's at the
    demonstrated actions, for its likelihood, and ``proposal_mean_error (B,)`` its components' mean error."""
    parts: dict[str, torch.Tensor] = {}
    if config.proposal_correction:
        if log_q is None:
            raise ValueError(
                "loss.proposal_correction needs a sampler that knows its density (sampler.kind 'proposal')"
            )
        parts["ranking_nce"] = ranking_nce_loss(positive, negative, *log_q)
    else:
        main = info_nce_loss if config.kind == "info_nce" else mcmc_loss
        parts[config.kind] = main(positive, negative)
    if proposal_log_density is not None and config.proposal_nll_weight:
        parts["proposal_nll"] = config.proposal_nll_weight * negative_log_likelihood(proposal_log_density)
    if proposal_mean_error is not None:
        parts |= proposal_mean_term(config.proposal_mean_weight, proposal_mean_error)
    if config.max_entropy_weight:
        parts["max_entropy"] = config.max_entropy_weight * max_entropy_regularizer(negative)
    if config.positive_l2_weight:
        parts["positive_l2"] = config.positive_l2_weight * positive_energy_l2(positive)
    if config.gradient_penalty_weight:
        penalised = negatives
        if config.gradient_penalty_actions == "all" and positives is not None:
            penalised = torch.cat([positives.unsqueeze(1), negatives], dim=1)
        parts["gradient_penalty"] = config.gradient_penalty_weight * gradient_penalty(
            energy, obs, penalised, config.gradient_penalty_margin
        )
    parts["loss"] = torch.stack(list(parts.values())).sum()
    return parts
