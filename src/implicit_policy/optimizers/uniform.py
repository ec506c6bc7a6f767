"""Uniform negatives, as DFO-style training uses: the proposal for which InfoNCE's sum is unbiased."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from implicit_policy.models.energy import EnergyFn, GradientFn
from implicit_policy.optimizers.base import (
    MethodConfig,
    box_from_uniform,
    lowest_energy,
    register_method,
    uniform_actions,
)


class UniformSamplerConfig(MethodConfig):
    """Independent uniform samples in the widened action box (DFO-style negatives)."""

    kind: Literal["uniform"] = "uniform"
    num_samples: int = Field(256, ge=1)


@register_method(UniformSamplerConfig, negatives=True, acts=False)
class UniformSampler:
    def __init__(self, config: UniformSamplerConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return uniform_actions(len(obs), self.config.num_samples, self.action_size, self.bound, generator, obs.device)

    @torch.no_grad()
    def infer(
        self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor], gradient: GradientFn | None = None
    ) -> torch.Tensor:
        candidates = box_from_uniform(noise["initial_uniform"], self.bound)
        return lowest_energy(candidates, energy(obs, candidates))
