"""Optimisers over actions: one protocol (``sample`` for training negatives, ``infer`` for acting), plus the
Marginal Action Sampler, which only samples (and learns).

Each module here holds one method: its config class (with ``kind``, and ``noise_inputs`` if it acts) and
its optimiser, registered together by :func:`~implicit_policy.samplers.base.register_method`. Every module
of this package is imported below, so a new method is a new module: the run config's unions, the policies,
the exported graph and ``OnnxPolicy`` pick it up from the registry.
"""

from __future__ import annotations

import importlib
import pkgutil

from ..energy import EnergyFn, GradientFn
from ..frozen_config import FrozenConfig
from .base import METHODS, ActionMethod, ActionOptimizer, LearnedSampler, NegativeSampler, lowest_energy, uniform_actions

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .dfo import DFOOptimizer  # noqa: E402  (re-exported names; the loop above has imported them)
from .langevin import LangevinSampler  # noqa: E402
from .marginal import MarginalActionSampler  # noqa: E402
from .uniform import UniformSampler  # noqa: E402


def negative_sampler_configs() -> tuple[type[FrozenConfig], ...]:
    """Config classes of the methods that make training negatives, by ``kind``."""
    return tuple(METHODS[kind].config for kind in sorted(METHODS) if METHODS[kind].negatives)


def action_optimizer_configs() -> tuple[type[FrozenConfig], ...]:
    """Config classes of the methods a policy can act with, by ``kind``."""
    return tuple(METHODS[kind].config for kind in sorted(METHODS) if METHODS[kind].acts)


def build_sampler(config: FrozenConfig, action_size: int, bound: float) -> ActionOptimizer | LearnedSampler:
    """The optimiser a config describes, over actions of ``action_size`` in ``[-bound, bound]``."""
    return METHODS[config.kind].build(config, action_size, bound)


__all__ = ["ActionMethod", "ActionOptimizer", "EnergyFn", "GradientFn", "LearnedSampler", "METHODS", "NegativeSampler",
           "action_optimizer_configs", "build_sampler", "lowest_energy", "negative_sampler_configs", "uniform_actions",
           "UniformSampler", "DFOOptimizer", "LangevinSampler", "MarginalActionSampler"]
