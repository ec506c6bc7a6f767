"""Derivative-free optimisation over actions (IBC's DFO inference)."""

from __future__ import annotations

import torch

from ..config import DFOConfig
from .base import EnergyFn, lowest_energy, uniform_actions


def dfo_resample(actions: torch.Tensor, energies: torch.Tensor, noise: torch.Tensor, bound: float,
                 generator: torch.Generator) -> torch.Tensor:
    """One DFO iteration: draw candidates ``(B, M, A)`` in proportion to softmax(-energies ``(B, M)``),
    perturb them by ``noise (B, M, A)`` and clip to the box."""
    probs = torch.softmax(-energies, dim=1)
    picks = torch.multinomial(probs, actions.shape[1], replacement=True, generator=generator)
    chosen = torch.gather(actions, 1, picks.unsqueeze(-1).expand(-1, -1, actions.shape[2]))
    return (chosen + noise).clamp(-bound, bound)


class DFOOptimizer:
    """Uniform candidates, ``iterations`` rounds of resampling around low energies with noise shrinking
    by ``noise_shrink`` each round, then the lowest-energy candidate. Training negatives are uniform."""

    def __init__(self, config: DFOConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return uniform_actions(len(obs), self.config.num_samples, self.action_size, self.bound, generator, obs.device)

    @torch.no_grad()
    def infer(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        actions = self.sample(energy, obs, generator)
        scale = self.config.noise_scale
        for _ in range(self.config.iterations):
            noise = torch.randn(actions.shape, generator=generator, device=actions.device) * scale
            actions = dfo_resample(actions, energy(obs, actions), noise, self.bound, generator)
            scale *= self.config.noise_shrink
        return lowest_energy(actions, energy(obs, actions))
