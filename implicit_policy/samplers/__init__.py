"""Optimisers over actions: one protocol (``sample`` for training negatives, ``infer`` for acting)."""

from __future__ import annotations

from ..config import DFOConfig, LangevinConfig, UniformSamplerConfig
from .base import ActionOptimizer, EnergyFn, lowest_energy, uniform_actions
from .dfo import DFOOptimizer
from .langevin import LangevinSampler
from .uniform import UniformSampler


def build_sampler(config: UniformSamplerConfig | DFOConfig | LangevinConfig, action_size: int,
                  bound: float) -> ActionOptimizer:
    """The optimiser a config describes, over actions of ``action_size`` in ``[-bound, bound]``."""
    kinds = {"uniform": UniformSampler, "dfo": DFOOptimizer, "langevin": LangevinSampler}
    return kinds[config.kind](config, action_size, bound)


__all__ = ["ActionOptimizer", "EnergyFn", "build_sampler", "lowest_energy", "uniform_actions",
           "UniformSampler", "DFOOptimizer", "LangevinSampler"]
