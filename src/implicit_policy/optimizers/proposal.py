"""Proposal-and-refine: candidates from the energy model's learned proposal ``q(y | x)``, refined on the energy.

Training negatives come from a mixture whose density is known in closed form, so ranking NCE can correct
for it (``loss.proposal_correction``): the learned proposal's samples, Gaussians around the demonstrated
action at several scales (near misses that teach the minimum's precise place), and uniform samples (far
negatives that keep other modes ranked). Acting starts from the proposal's component means and samples,
moves them by a few normalised-gradient steps on the energy, and returns the candidate of lowest energy; or
(``choose="proposal_mode"``) lets the proposal pick the mode, its most probable component, and the energy
place the action within it.

The energy model must carry a proposal: ``energy.proposal`` set in the run config
(:class:`~implicit_policy.models.proposal.MDNConfig`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from pydantic import Field, model_validator

from implicit_policy.models.energy import EnergyFn, EnergyWithProposal, GradientFn
from implicit_policy.models.proposal import (
    MixtureDensityNet,
    gaussian_mixture_log_density,
    most_probable_mean,
    sample_gaussian_mixture,
)
from implicit_policy.optimizers.base import MethodConfig, lowest_energy, register_method, uniform_actions
from implicit_policy.optimizers.langevin import StepSchedule, autograd_gradient, polynomial_step_size
from implicit_policy.runtime.control_loop import NoiseInputs


class ProposalConfig(MethodConfig):
    """Negatives from the proposal mixture; acting by proposal-and-refine (module docstring)."""

    kind: Literal["proposal"] = "proposal"
    proposal_samples: int = Field(8, ge=0, description="training: negatives from the learned proposal")
    local_scales: list[float] = Field(
        [0.005, 0.02, 0.05, 0.2],
        description="training: standard deviations (normalised) of Gaussians around the positive",
    )
    local_samples: int = Field(2, ge=0, description="training: negatives per local scale")
    uniform_samples: int = Field(4, ge=0, description="training: uniform negatives in the box")
    mean_negatives: bool = Field(
        False,
        description="training: the proposal's component means join the negatives, so the energy learns to rank "
        "the very candidates acting chooses among (which mode); their density is the mixture's at them",
    )
    num_samples: int = Field(32, ge=0, description="inference: proposal samples beside its component means")
    refine_steps: int = Field(10, ge=0, description="inference: normalised-gradient steps of every candidate on E")
    refine_step: StepSchedule = Field(
        StepSchedule(start=0.05, end=0.001), description="inference: length of each step (normalised units)"
    )
    choose: Literal["energy", "proposal_mode"] = Field(
        "energy",
        description="inference: which candidate acting returns: the lowest energy among all the refined ones, or "
        "the proposal's most probable component's mean, refined on the energy (the proposal picks the mode, the "
        "energy places the action within it); with proposal_mode, num_samples must be 0",
    )

    @model_validator(mode="after")
    def _one_candidate_takes_no_samples(self) -> ProposalConfig:
        if self.choose == "proposal_mode" and self.num_samples:
            raise ValueError("choose='proposal_mode' refines the proposal's mode alone: set num_samples=0")
        return self

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """``candidates_uniform (B, S)`` picks each sample's component, ``candidates_normal (B, S, A)`` places
        it, ``refine_normal (K, B, C, A)`` moves the ``C = components + S`` candidates (components filled in
        by the policy from its proposal's size). With no samples, none: the exported graph takes no empty input."""
        if not self.num_samples:
            return {}
        return {
            "candidates_uniform": ((batch, self.num_samples), 0, "uniform"),
            "candidates_normal": ((batch, self.num_samples, action_size), 0, "normal"),
        }


def proposal_of(energy: EnergyFn) -> MixtureDensityNet:
    """The learned proposal an energy model carries; ``ValueError`` saying how to give it one."""
    if not isinstance(energy, EnergyWithProposal):
        raise ValueError(
            "the 'proposal' method needs an energy model with a learned proposal: set energy.proposal "
            "(e.g. --set 'energy.proposal={\"components\": 4}')"
        )
    return energy.proposal


def proposal_mixture_log_density(
    proposal_log_density: torch.Tensor,
    actions: torch.Tensor,
    positives: torch.Tensor,
    config: ProposalConfig,
    bound: float,
) -> torch.Tensor:
    """``log q_mix(y)`` of the negatives' mixture at ``actions (B, M, A)``: the learned proposal (its
    log-density given, ``(B, M)``), Gaussians around ``positives (B, A)`` at each local scale, and the uniform
    box ``[-bound, bound]^A``, weighted by their sample counts. ``(B, M)``."""
    counts = [config.proposal_samples] + [config.local_samples] * len(config.local_scales) + [config.uniform_samples]
    total = sum(counts)
    terms = []
    if config.proposal_samples:
        terms.append(math.log(config.proposal_samples / total) + proposal_log_density)
    size = actions.shape[-1]
    if config.local_samples and config.local_scales:
        squared = (actions - positives.unsqueeze(1)).square().sum(-1)  # (B, M), shared by every scale
        for scale in config.local_scales:
            log_normal = -0.5 * squared / scale**2 - size * (math.log(scale) + 0.5 * math.log(2 * math.pi))
            terms.append(math.log(config.local_samples / total) + log_normal)
    if config.uniform_samples:
        inside = (actions.abs() <= bound).all(-1)
        log_uniform = torch.full_like(inside, -size * math.log(2 * bound), dtype=actions.dtype)
        terms.append(math.log(config.uniform_samples / total) + log_uniform.masked_fill(~inside, -math.inf))
    return torch.logsumexp(torch.stack(terms), dim=0)


@register_method(ProposalConfig, negatives=True, acts=True)
class ProposalOptimizer:
    """Negatives with their density (:meth:`sample_with_density`) and proposal-and-refine inference."""

    def __init__(self, config: ProposalConfig, action_size: int, bound: float) -> None:
        self.config, self.action_size, self.bound = config, action_size, bound
        if config.proposal_samples + config.local_samples * len(config.local_scales) + config.uniform_samples < 1:
            raise ValueError(
                "sampler 'proposal' draws no negatives: raise proposal_samples, local_samples or uniform_samples"
            )

    @torch.no_grad()
    def negatives_around(
        self, energy: EnergyFn, obs: torch.Tensor, positives: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Negatives ``(B, M, A)`` for observations ``obs (B, O)`` and demonstrated actions ``positives (B, A)``:
        the proposal's samples (and component means), Gaussians around the positive, uniform ones."""
        return self._negatives(self._mixture(energy, obs), obs, positives, generator)

    @torch.no_grad()
    def sample_with_density(
        self, energy: EnergyFn, obs: torch.Tensor, positives: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`negatives_around`, and the negatives' mixture's log-density at the positive ``(B,)`` and at the
        negatives ``(B, M)`` (for ranking NCE; the one loss that needs it, so only it pays for it)."""
        mixture = self._mixture(energy, obs)
        negatives = self._negatives(mixture, obs, positives, generator)
        candidates = torch.cat([positives.unsqueeze(1), negatives], dim=1)
        learned = (  # the mixture drawn from above, not a second forward of the proposal net
            gaussian_mixture_log_density(*mixture, candidates)
            if mixture is not None
            else torch.zeros(candidates.shape[:2], device=obs.device)
        )
        log_q = proposal_mixture_log_density(learned, candidates, positives, self.config, self.bound)
        return negatives, log_q[:, 0], log_q[:, 1:]

    def _mixture(self, energy: EnergyFn, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The learned proposal's mixture for ``obs``, when negatives are drawn from it (None otherwise)."""
        return proposal_of(energy).mixture(obs) if self.config.proposal_samples else None

    def _negatives(
        self,
        mixture: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
    ) -> torch.Tensor:
        cfg, batch, device = self.config, len(obs), obs.device
        parts = []
        if mixture is not None:
            uniform = torch.rand(batch, cfg.proposal_samples, generator=generator, device=device)
            normal = torch.randn(batch, cfg.proposal_samples, self.action_size, generator=generator, device=device)
            parts.append(sample_gaussian_mixture(*mixture, uniform, normal))
            if cfg.mean_negatives:
                parts.append(mixture[1].clamp(-self.bound, self.bound))
        for scale in cfg.local_scales if cfg.local_samples else []:
            noise = torch.randn(batch, cfg.local_samples, self.action_size, generator=generator, device=device)
            parts.append(positives.unsqueeze(1) + scale * noise)
        if cfg.uniform_samples:
            parts.append(uniform_actions(batch, cfg.uniform_samples, self.action_size, self.bound, generator, device))
        return torch.cat(parts, dim=1)

    def infer(
        self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor], gradient: GradientFn | None = None
    ) -> torch.Tensor:
        """The proposal's component means and samples, refined on the energy; the lowest-energy one ``(B, A)``.
        With ``choose="proposal_mode"``: the most probable component's mean, refined."""
        logits, means, stds = proposal_of(energy).mixture(obs)
        candidates = means
        if self.config.choose == "proposal_mode":
            candidates = most_probable_mean(logits, means)
        if self.config.num_samples:
            samples = sample_gaussian_mixture(
                logits, means, stds, noise["candidates_uniform"], noise["candidates_normal"]
            )
            candidates = torch.cat([means, samples], dim=1)
        candidates = candidates.clamp(-self.bound, self.bound)
        moved = refine_on_energy(
            gradient or autograd_gradient(energy),
            obs,
            candidates,
            self.config.refine_steps,
            self.config.refine_step,
            self.bound,
        )
        return moved[:, 0] if self.config.choose == "proposal_mode" else lowest_energy(moved, energy(obs, moved))


def normalized_gradient_step(y: torch.Tensor, grad: torch.Tensor, length: float) -> torch.Tensor:
    """``y - length * g / |g|`` per candidate (``(B, M, A)``): a step of a fixed length downhill, whatever the
    energy's scale (ranking NCE's energies can span hundreds of nats, where a plain gradient step overshoots)."""
    return y - length * grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def refine_on_energy(
    gradient: GradientFn, obs: torch.Tensor, y: torch.Tensor, steps: int, schedule: StepSchedule, bound: float
) -> torch.Tensor:
    """``steps`` normalised-gradient steps of candidates ``y (B, M, A)``, lengths decaying by ``schedule``,
    each result kept in the box ``[-bound, bound]``."""
    for k in range(steps):
        y = normalized_gradient_step(y, gradient(obs, y), polynomial_step_size(k, steps, schedule)).clamp(-bound, bound)
    return y
