"""Optimisers over actions: one protocol (``sample`` for training negatives, ``infer`` for acting), plus the
Marginal Action Sampler, which only samples (and learns).

Each module here holds one method: its config class (with ``kind``, and ``noise_inputs`` if it acts) and
its optimiser, registered together by :func:`~implicit_policy.optimizers.base.register_method`. Every module
of this package is imported below; a method of the user's own registers the same way from any module, and
the run config, the policies, the exported graph and ``OnnxPolicy`` pick it up from the registry.
"""

from __future__ import annotations

import importlib
import pkgutil

from implicit_policy.models.energy import EnergyFn, GradientFn
from implicit_policy.optimizers.base import (
    METHODS,
    ActionMethod,
    ActionOptimizer,
    DensitySampler,
    LearnedSampler,
    MethodConfig,
    NegativeSampler,
    lowest_energy,
    method,
    register_method,
    uniform_actions,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from implicit_policy.optimizers.dfo import DFOOptimizer  # noqa: E402  (re-exported names; the loop above has imported them)
from implicit_policy.optimizers.langevin import LangevinSampler  # noqa: E402
from implicit_policy.optimizers.marginal import MarginalActionSampler  # noqa: E402
from implicit_policy.optimizers.uniform import UniformSampler  # noqa: E402


def build_sampler(config: MethodConfig, action_size: int, bound: float) -> ActionOptimizer | LearnedSampler:
    """The optimiser a config describes, over actions of ``action_size`` in ``[-bound, bound]``."""
    built: ActionOptimizer | LearnedSampler = method(config.kind).build(config, action_size, bound)
    return built


__all__ = [
    "ActionMethod",
    "ActionOptimizer",
    "DensitySampler",
    "EnergyFn",
    "GradientFn",
    "LearnedSampler",
    "METHODS",
    "MethodConfig",
    "NegativeSampler",
    "build_sampler",
    "lowest_energy",
    "method",
    "register_method",
    "uniform_actions",
    "UniformSampler",
    "DFOOptimizer",
    "LangevinSampler",
    "MarginalActionSampler",
]
