"""Marginal Action Sampler (Ta et al., section V and appendix D).

A second, unconditional EBM ``E_gamma(y)`` over actions learns the demonstrations' action marginal p(y)
by Langevin MCMC, concurrently with the conditional EBM. The samples its chains draw each step serve twice:
as the marginal EBM's own MCMC negatives, and as the conditional EBM's InfoNCE negatives, which InfoNCE's
mutual-information bound wants independent of the observation and drawn from p(y).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.energy import EnergyFn, EnergyNetConfig, build_energy_net
from implicit_policy.models.losses import LossConfig, total_loss
from implicit_policy.models.optimizer_state import (
    load_optimizer_state_tensors,
    optimizer_state_tensors,
    under_prefix,
    with_prefix,
)
from implicit_policy.optimizers.base import MethodConfig, register_method
from implicit_policy.optimizers.langevin import LangevinConfig, LangevinSampler


class MarginalLossConfig(FrozenConfig):
    """How the marginal EBM of the Marginal Action Sampler learns: the MCMC loss (eq. 4) plus optional
    regularisers (appendix A's max-entropy term, an L2 pull of the data's energies to zero)."""

    max_entropy_weight: float = Field(0.0, ge=0, description="times half the variance of the samples' energies")
    positive_l2_weight: float = Field(0.0, ge=0, description="times the mean squared energy of the data's actions")


class MarginalSamplerConfig(MethodConfig):
    """Marginal Action Sampler (Ta et al., section V): a second, unconditional EBM ``E_gamma(y)`` over actions,
    trained alongside the conditional one by ``langevin`` MCMC; the samples it draws each step are the
    conditional EBM's InfoNCE negatives, independent of the observation as InfoNCE's bound asks."""

    kind: Literal["marginal"] = "marginal"
    energy: EnergyNetConfig = EnergyNetConfig(hidden_size=64)
    langevin: LangevinConfig = LangevinConfig(rule="correct", num_samples=8, iterations=10)
    loss: MarginalLossConfig = MarginalLossConfig()
    learning_rate: float = Field(1e-3, gt=0)

    @property
    def num_samples(self) -> int:
        return self.langevin.num_samples


@register_method(MarginalSamplerConfig, negatives=True, acts=False)
class MarginalActionSampler:
    """Negatives ``(B, M, A)`` from Langevin chains on ``E_gamma``; :meth:`update` trains ``E_gamma``."""

    def __init__(self, config: MarginalSamplerConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound
        self.energy = build_energy_net(0, action_size, config.energy)  # no observation: E_gamma(y)
        self.optimizer = torch.optim.Adam(self.energy.parameters(), lr=config.learning_rate)
        self.chains = LangevinSampler(config.langevin, action_size, bound)
        self.loss = LossConfig(
            kind="mcmc",
            max_entropy_weight=config.loss.max_entropy_weight,
            positive_l2_weight=config.loss.positive_l2_weight,
        )
        self._samples: torch.Tensor | None = None

    def to(self, device: torch.device) -> MarginalActionSampler:
        """Move the marginal EBM (and so its Adam state, which follows its parameters) to ``device``."""
        self.energy.to(device)
        return self

    def marginal_energy(self, actions: torch.Tensor) -> torch.Tensor:
        """``E_gamma(actions (B, M, A)) -> (B, M)``."""
        return self.energy(actions.new_zeros(len(actions), 0), actions)

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Samples of the marginal EBM, ``num_samples`` per observation; ``energy`` (conditional) is unused."""
        self._samples = self.chains.sample(lambda _, y: self.marginal_energy(y), obs.new_zeros(len(obs), 0), generator)
        return self._samples

    def update(self, positives: torch.Tensor) -> dict[str, float]:
        """One Adam step of the MCMC loss (eq. 4) on demonstrated actions ``(B, A)`` against the last samples,
        plus the configured max-entropy and positive-L2 terms."""
        if self._samples is None:
            raise RuntimeError("MarginalActionSampler.update needs a sample() first")
        self.energy.train()
        positive = self.marginal_energy(positives.unsqueeze(1)).squeeze(1)
        negative = self.marginal_energy(self._samples)
        no_obs = positives.new_zeros(len(positives), 0)
        loss = total_loss(self.loss, self.energy, no_obs, positive, negative, self._samples)["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {
            "marginal_loss": loss.item(),
            "marginal_positive_energy": positive.mean().item(),
            "marginal_negative_energy": negative.mean().item(),
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return with_prefix(self.energy.state_dict(), "net.") | optimizer_state_tensors(self.optimizer)

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        self.energy.load_state_dict(under_prefix(tensors, "net."))
        load_optimizer_state_tensors(self.optimizer, tensors)
