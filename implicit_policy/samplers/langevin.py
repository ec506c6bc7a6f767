"""Langevin MCMC over actions, with IBC's update rule (eq. 6) and the correct one (eq. 8)."""

from __future__ import annotations

import math

import torch

from ..config import LangevinConfig, StepSchedule
from .base import EnergyFn, lowest_energy, uniform_actions

ACTION_RANGE = 2.0
"""Width of the normalised demonstration action range [-1, 1], the unit of ``delta_clip``."""


def ibc_langevin_update(y: torch.Tensor, grad: torch.Tensor, step: float, noise: torch.Tensor,
                        sigma: float) -> torch.Tensor:
    """IBC's rule, seed paper eq. (6): ``y - lam/2 * dE/dy + lam * sigma * w``, ``w ~ N(0, I)``."""
    return y - 0.5 * step * grad + step * sigma * noise


def correct_langevin_update(y: torch.Tensor, grad: torch.Tensor, step: float, noise: torch.Tensor) -> torch.Tensor:
    """Euler-Maruyama Langevin, seed paper eq. (8): ``y - tau * dE/dy + sqrt(2 tau) * w``, ``w ~ N(0, I)``."""
    return y - step * grad + math.sqrt(2.0 * step) * noise


def polynomial_step_size(iteration: int, iterations: int, schedule: StepSchedule) -> float:
    """Step size at ``iteration`` of ``iterations``: ``(start - end) * (1 - k / (K - 1))^power + end``,
    so the first step is ``start`` and the last ``end`` (appendix D: 1 -> 0.001, power 2)."""
    if iterations <= 1:
        return schedule.start
    progress = iteration / (iterations - 1)
    return (schedule.start - schedule.end) * (1.0 - progress) ** schedule.power + schedule.end


def energy_gradient(energy: EnergyFn, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``dE/dy`` for ``actions (B, M, A)``; the network's parameters get no gradient."""
    with torch.enable_grad():
        y = actions.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(energy(obs, y).sum(), y)
    return grad


class LangevinSampler:
    """Langevin chains in the normalised box; see :class:`~implicit_policy.config.LangevinConfig`.

    Each iteration moves by the configured rule, clips the move to ``delta_clip`` of the action range
    and the result to the box.
    """

    def __init__(self, config: LangevinConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound
        self.max_delta = config.delta_clip * ACTION_RANGE

    def langevin_step(self, energy: EnergyFn, obs: torch.Tensor, y: torch.Tensor, step: float,
                      generator: torch.Generator) -> torch.Tensor:
        """One clipped Langevin move of all chains ``y (B, M, A)``."""
        grad = energy_gradient(energy, obs, y)
        noise = torch.randn(y.shape, generator=generator, device=y.device)
        if self.config.rule == "ibc":
            moved = ibc_langevin_update(y, grad, step, noise, self.config.noise_scale)
        else:
            moved = correct_langevin_update(y, grad, step, noise)
        delta = (moved - y).clamp(-self.max_delta, self.max_delta)
        return (y + delta).clamp(-self.bound, self.bound)

    def short_chains(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator,
                     count: int) -> torch.Tensor:
        """``count`` independent chains per observation from uniform starts; their last samples ``(B, count, A)``."""
        y = uniform_actions(len(obs), count, self.action_size, self.bound, generator, obs.device)
        for k in range(self.config.iterations):
            y = self.langevin_step(energy, obs, y, polynomial_step_size(k, self.config.iterations, self.config.step), generator)
        return y.detach()

    def long_chain(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One chain per observation: ``burn_in`` iterations on the decaying schedule, then ``num_samples``
        samples every ``thinning`` iterations at the schedule's end step: ``(B, num_samples, A)``."""
        cfg = self.config
        y = uniform_actions(len(obs), 1, self.action_size, self.bound, generator, obs.device)
        for k in range(cfg.burn_in):
            y = self.langevin_step(energy, obs, y, polynomial_step_size(k, cfg.burn_in, cfg.step), generator)
        kept = []
        for k in range(cfg.num_samples * cfg.thinning):
            y = self.langevin_step(energy, obs, y, cfg.step.end, generator)
            if (k + 1) % cfg.thinning == 0:
                kept.append(y)
        return torch.cat(kept, dim=1).detach()

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.config.chains == "long":
            return self.long_chain(energy, obs, generator)
        return self.short_chains(energy, obs, generator, self.config.num_samples)

    def infer(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        candidates = self.short_chains(energy, obs, generator, self.config.num_samples)
        with torch.no_grad():
            return lowest_energy(candidates, energy(obs, candidates))
