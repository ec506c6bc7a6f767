"""Optimisers over actions: one protocol (``sample`` for training negatives, ``infer`` for acting), plus the
Marginal Action Sampler, which only samples (and learns)."""

from __future__ import annotations

from ..config import DFOConfig, LangevinConfig, MarginalSamplerConfig, UniformSamplerConfig
from ..energy import EnergyFn, GradientFn
from .base import ActionOptimizer, LearnedSampler, NegativeSampler, lowest_energy, uniform_actions
from .dfo import DFOOptimizer
from .langevin import LangevinSampler
from .marginal import MarginalActionSampler
from .uniform import UniformSampler


def build_sampler(config: UniformSamplerConfig | DFOConfig | LangevinConfig | MarginalSamplerConfig,
                  action_size: int, bound: float) -> ActionOptimizer | MarginalActionSampler:
    """The sampler a config describes, over actions of ``action_size`` in ``[-bound, bound]``."""
    kinds = {"uniform": UniformSampler, "dfo": DFOOptimizer, "langevin": LangevinSampler,
             "marginal": MarginalActionSampler}
    return kinds[config.kind](config, action_size, bound)


__all__ = ["ActionOptimizer", "EnergyFn", "GradientFn", "LearnedSampler", "NegativeSampler", "build_sampler", "lowest_energy",
           "uniform_actions", "UniformSampler", "DFOOptimizer", "LangevinSampler", "MarginalActionSampler"]
