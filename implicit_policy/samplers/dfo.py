"""Derivative-free optimisation over actions (IBC's DFO inference), as a pure function of its noise.

All randomness is an explicit input (:class:`DFONoise`), so the exported ONNX graph and the torch policy
compute the same actions from the same noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import DFOConfig
from .base import EnergyFn, lowest_energy, uniform_actions


@dataclass(frozen=True)
class DFONoise:
    """``initial (B, N, A)`` and ``resample (K, B, N)`` uniform in [0, 1), ``perturb (K, B, N, A)`` standard normal."""

    initial: torch.Tensor
    resample: torch.Tensor
    perturb: torch.Tensor

    @classmethod
    def draw(cls, config: DFOConfig, batch: int, action_size: int, generator: torch.Generator,
             device: torch.device | str = "cpu") -> "DFONoise":
        k, n = config.iterations, config.num_samples
        return cls(
            initial=torch.rand(batch, n, action_size, generator=generator, device=device),
            resample=torch.rand(k, batch, n, generator=generator, device=device),
            perturb=torch.randn(k, batch, n, action_size, generator=generator, device=device),
        )


def resample_by_energy(actions: torch.Tensor, energies: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Draw ``N`` of the candidates ``actions (B, N, A)`` with probabilities softmax(-energies ``(B, N)``),
    by inverting the cumulative distribution at ``uniforms (B, N)``."""
    cdf = torch.cumsum(torch.softmax(-energies, dim=1), dim=1)
    picks = (cdf.unsqueeze(1) < uniforms.unsqueeze(2)).sum(dim=2).clamp(max=actions.shape[1] - 1)
    return torch.gather(actions, 1, picks.unsqueeze(-1).expand(-1, -1, actions.shape[2]))


def dfo_argmin(energy: EnergyFn, obs: torch.Tensor, noise: DFONoise, config: DFOConfig, bound: float) -> torch.Tensor:
    """Uniform candidates, ``iterations`` rounds of resampling by energy and Gaussian perturbation whose scale
    shrinks by ``noise_shrink`` each round, then the lowest-energy candidate: ``(B, A)``."""
    actions = (2 * noise.initial - 1) * bound
    scale = config.noise_scale
    for k in range(config.iterations):
        chosen = resample_by_energy(actions, energy(obs, actions), noise.resample[k])
        actions = (chosen + scale * noise.perturb[k]).clamp(-bound, bound)
        scale *= config.noise_shrink
    return lowest_energy(actions, energy(obs, actions))


class DFOOptimizer:
    """DFO inference; its training negatives are uniform samples."""

    def __init__(self, config: DFOConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return uniform_actions(len(obs), self.config.num_samples, self.action_size, self.bound, generator, obs.device)

    @torch.no_grad()
    def infer(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        noise = DFONoise.draw(self.config, len(obs), self.action_size, generator, obs.device)
        return dfo_argmin(energy, obs, noise, self.config, self.bound)
