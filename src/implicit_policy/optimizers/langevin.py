"""Langevin MCMC over actions, with IBC's update rule (eq. 6) and the correct one (eq. 8).

The chain is a pure function of its start and its noise (:func:`run_langevin`), with the gradient
passed in: autograd in torch, the energy net's explicit backward pass in the exported ONNX graph.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from pydantic import Field

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.energy import EnergyFn, GradientFn
from implicit_policy.optimizers.base import (
    MethodConfig,
    box_from_uniform,
    lowest_energy,
    register_method,
    uniform_actions,
)
from implicit_policy.runtime.control_loop import NoiseInputs


class StepSchedule(FrozenConfig):
    """Polynomial decay of the Langevin step size from ``start`` to ``end`` over the chain's iterations."""

    start: float = Field(1.0, gt=0)
    end: float = Field(0.001, gt=0)
    power: float = Field(2.0, gt=0)


class LangevinConfig(MethodConfig):
    """Langevin MCMC over actions.

    ``rule="ibc"``: ``y - lam/2 dE/dy + lam * noise_scale * w`` (IBC's code, Ta et al. eq. 6);
    ``rule="correct"``: ``y - tau dE/dy + sqrt(2 tau) w`` (eq. 8). ``chains="short"`` runs
    ``num_samples`` independent chains of ``iterations`` and keeps each one's last sample (IBC's way);
    ``chains="long"`` runs one chain per observation, drops ``burn_in`` iterations, then keeps every
    ``thinning``-th of the next samples until it has ``num_samples``. ``uniform_samples`` adds that many
    uniform negatives per example to the chains' samples in training: chains end near the demonstrated
    action, so without far negatives nothing ranks one mode (say, the other goal) against another.
    """

    kind: Literal["langevin"] = "langevin"
    rule: Literal["ibc", "correct"] = "ibc"
    num_samples: int = Field(8, ge=1)
    iterations: int = Field(10, ge=1)
    noise_scale: float = Field(0.1, ge=0, description="sigma of the ibc rule; unused by the correct rule")
    step: StepSchedule = StepSchedule()
    delta_clip: float = Field(0.25, gt=0, description="per-iteration move limit, fraction of the action range")
    chains: Literal["short", "long"] = "short"
    burn_in: int = Field(100, ge=0)
    thinning: int = Field(1, ge=1)
    warm_start_fraction: float = Field(
        0.0, ge=0, le=1, description="inference: share of chains started near the last action"
    )
    warm_start_spread: float = Field(
        0.05, ge=0, description="inference: std of the warm-start chains, normalised units"
    )
    uniform_samples: int = Field(
        0, ge=0, description="training: extra uniform negatives per example beside the chains' samples"
    )

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """``initial_uniform (B, N, A)`` starts the chains in the box, ``step_normal (K, B, N, A)`` moves them."""
        n, k = self.num_samples, self.iterations
        return {
            "initial_uniform": ((batch, n, action_size), 0, "uniform"),
            "step_normal": ((k, batch, n, action_size), 1, "normal"),
        }


ACTION_RANGE = 2.0
"""Width of the normalised demonstration action range [-1, 1], the unit of ``delta_clip``."""


def ibc_langevin_update(
    y: torch.Tensor, grad: torch.Tensor, step: float, noise: torch.Tensor, sigma: float
) -> torch.Tensor:
    """IBC's rule, Ta et al. eq. (6): ``y - lam/2 * dE/dy + lam * sigma * w``, ``w ~ N(0, I)``."""
    return y - 0.5 * step * grad + step * sigma * noise


def correct_langevin_update(y: torch.Tensor, grad: torch.Tensor, step: float, noise: torch.Tensor) -> torch.Tensor:
    """Euler-Maruyama Langevin, Ta et al. eq. (8): ``y - tau * dE/dy + sqrt(2 tau) * w``, ``w ~ N(0, I)``."""
    return y - step * grad + math.sqrt(2.0 * step) * noise


def polynomial_step_size(iteration: int, iterations: int, schedule: StepSchedule) -> float:
    """Step size at ``iteration`` of ``iterations``: ``(start - end) * (1 - k / (K - 1))^power + end``,
    so the first step is ``start`` and the last ``end`` (appendix D: 1 -> 0.001, power 2)."""
    if iterations <= 1:
        return schedule.start
    progress = iteration / (iterations - 1)
    return (schedule.start - schedule.end) * (1.0 - progress) ** schedule.power + schedule.end


def chain_step_sizes(config: LangevinConfig) -> list[float]:
    """The step size of each of a short chain's ``iterations``."""
    return [polynomial_step_size(k, config.iterations, config.step) for k in range(config.iterations)]


def autograd_gradient(energy: EnergyFn) -> GradientFn:
    """``dE/dy`` by autograd; the network's parameters get no gradient."""

    def gradient(obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            y = actions.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(energy(obs, y).sum(), y)
        return grad

    return gradient


def langevin_move(
    y: torch.Tensor, grad: torch.Tensor, step: float, noise: torch.Tensor, config: LangevinConfig, bound: float
) -> torch.Tensor:
    """One move of chains ``y (B, M, A)`` by the configured rule, the move clipped to ``delta_clip`` of the
    action range and the result to the box ``[-bound, bound]``."""
    if config.rule == "ibc":
        moved = ibc_langevin_update(y, grad, step, noise, config.noise_scale)
    else:
        moved = correct_langevin_update(y, grad, step, noise)
    max_delta = config.delta_clip * ACTION_RANGE
    return (y + (moved - y).clamp(-max_delta, max_delta)).clamp(-bound, bound)


def run_langevin(
    gradient: GradientFn,
    obs: torch.Tensor,
    y: torch.Tensor,
    noise: torch.Tensor,
    steps: Sequence[float],
    config: LangevinConfig,
    bound: float,
) -> torch.Tensor:
    """Move chains ``y (B, M, A)`` once per step size in ``steps``, with standard normal ``noise (K, B, M, A)``."""
    for k, step in enumerate(steps):
        y = langevin_move(y, gradient(obs, y), step, noise[k], config, bound)
    return y


def langevin_samples(
    gradient: GradientFn,
    obs: torch.Tensor,
    y: torch.Tensor,
    noise: torch.Tensor,
    steps: Sequence[float],
    config: LangevinConfig,
    bound: float,
    every: int = 1,
) -> torch.Tensor:
    """As :func:`run_langevin`, but keep the chains' state after every ``every``-th move:
    ``(len(steps) // every, B, M, A)``. For sampling a distribution from one long chain."""
    kept = []
    for k, step in enumerate(steps):
        y = langevin_move(y, gradient(obs, y), step, noise[k], config, bound)
        if (k + 1) % every == 0:
            kept.append(y)
    return torch.stack(kept)


@register_method(LangevinConfig, negatives=True, acts=True)
class LangevinSampler:
    """Langevin chains in the normalised box; see :class:`~implicit_policy.config.LangevinConfig`."""

    def __init__(self, config: LangevinConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound

    def _start_and_noise(
        self, batch: int, chains: int, iterations: int, generator: torch.Generator, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor]:
        start = uniform_actions(batch, chains, self.action_size, self.bound, generator, device)
        noise = torch.randn(iterations, batch, chains, self.action_size, generator=generator, device=device)
        return start, noise

    def short_chains(self, gradient: GradientFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """``num_samples`` independent chains per observation from uniform starts; their last samples ``(B, M, A)``."""
        cfg = self.config
        start, noise = self._start_and_noise(len(obs), cfg.num_samples, cfg.iterations, generator, obs.device)
        return run_langevin(gradient, obs, start, noise, chain_step_sizes(cfg), cfg, self.bound).detach()

    def long_chain(self, gradient: GradientFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One chain per observation: ``burn_in`` iterations on the decaying schedule, then ``num_samples``
        samples every ``thinning`` iterations at the schedule's end step: ``(B, num_samples, A)``."""
        cfg = self.config
        total = cfg.burn_in + cfg.num_samples * cfg.thinning
        y, noise = self._start_and_noise(len(obs), 1, total, generator, obs.device)
        burn = [polynomial_step_size(k, cfg.burn_in, cfg.step) for k in range(cfg.burn_in)]
        y = run_langevin(gradient, obs, y, noise[: cfg.burn_in], burn, cfg, self.bound)
        kept = langevin_samples(
            gradient,
            obs,
            y,
            noise[cfg.burn_in :],
            [cfg.step.end] * (total - cfg.burn_in),
            cfg,
            self.bound,
            every=cfg.thinning,
        )  # (num_samples, B, 1, A)
        return torch.cat(list(kept), dim=1).detach()

    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The chains' samples ``(B, num_samples, A)``, then ``uniform_samples`` uniform ones per example."""
        chains = self.long_chain if self.config.chains == "long" else self.short_chains
        samples = chains(autograd_gradient(energy), obs, generator)
        if not self.config.uniform_samples:
            return samples
        uniform = uniform_actions(
            len(obs), self.config.uniform_samples, self.action_size, self.bound, generator, obs.device
        )
        return torch.cat([samples, uniform], dim=1)

    def infer(
        self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor], gradient: GradientFn | None = None
    ) -> torch.Tensor:
        """Short chains from ``initial_uniform``, moved with ``step_normal``, then the lowest-energy end point.
        ``gradient`` defaults to autograd; a policy passes the energy net's explicit one (it exports to ONNX)."""
        start = box_from_uniform(noise["initial_uniform"], self.bound)
        chains = run_langevin(
            gradient or autograd_gradient(energy),
            obs,
            start,
            noise["step_normal"],
            chain_step_sizes(self.config),
            self.config,
            self.bound,
        )
        with torch.no_grad():
            return lowest_energy(chains, energy(obs, chains))
