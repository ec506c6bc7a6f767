"""Derivative-free optimisation over actions (IBC's DFO inference), as a pure function of its noise.

All randomness is an explicit input (``initial_uniform``, ``resample_uniform``, ``perturb_normal``: see
the config's ``noise_inputs``), so the exported ONNX graph and the torch policy compute the
same actions from the same noise.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from implicit_policy.models.energy import EnergyFn, GradientFn
from implicit_policy.optimizers.base import MethodConfig, box_from_uniform, lowest_energy, register_method
from implicit_policy.optimizers.uniform import UniformSampler
from implicit_policy.runtime.control_loop import NoiseInputs


class DFOConfig(MethodConfig):
    """Derivative-free optimisation: uniform samples, then resampling around low energies with shrinking noise."""

    kind: Literal["dfo"] = "dfo"
    num_samples: int = Field(1024, ge=1)
    iterations: int = Field(3, ge=0)
    noise_scale: float = Field(0.33, ge=0)
    noise_shrink: float = Field(0.5, gt=0, le=1)
    warm_start_fraction: float = Field(0.0, ge=0, le=1, description="share of candidates started near the last action")
    warm_start_spread: float = Field(0.05, ge=0, description="std of the warm-start candidates, normalised units")

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """``initial_uniform (B, N, A)`` places the candidates in the box, ``resample_uniform (K, B)`` is one
        systematic-resampling offset per row and round, ``perturb_normal (K, B, N, A)`` the perturbations."""
        n, k = self.num_samples, self.iterations
        return {
            "initial_uniform": ((batch, n, action_size), 0, "uniform"),
            "resample_uniform": ((k, batch), 1, "uniform"),
            "perturb_normal": ((k, batch, n, action_size), 1, "normal"),
        }


def resample_by_energy(actions: torch.Tensor, energies: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Systematic resampling: ``N`` of the candidates ``actions (B, N, A)``, each kept about ``N * p`` times
    for p = softmax(-energies ``(B, N)``), from one uniform ``offsets (B,)`` per row.

    Position ``i`` takes the first candidate whose cumulative probability exceeds ``(i + offset) / N``.
    Counting, per position, the candidates whose boundary ``ceil(N * cdf - offset)`` lies at or before it
    (a scatter-add and a cumulative sum) does this in linear time with ops that export to ONNX.
    """
    n = actions.shape[1]
    cdf = torch.cumsum(torch.softmax(-energies, dim=1), dim=1)
    boundaries = torch.ceil(n * cdf - offsets.unsqueeze(1)).clamp(0, n).long()
    marks = torch.zeros(energies.shape[0], n + 1, dtype=energies.dtype, device=energies.device)
    marks = marks.scatter_add(1, boundaries, torch.ones_like(energies))
    picks = torch.cumsum(marks[:, :n], dim=1).long().clamp(max=n - 1)
    return torch.gather(actions, 1, picks.unsqueeze(-1).expand(-1, -1, actions.shape[2]))


def dfo_argmin(
    energy: EnergyFn,
    obs: torch.Tensor,
    initial_uniform: torch.Tensor,
    resample_uniform: torch.Tensor,
    perturb_normal: torch.Tensor,
    config: DFOConfig,
    bound: float,
) -> torch.Tensor:
    """Uniform candidates, ``iterations`` rounds of resampling by energy and Gaussian perturbation whose scale
    shrinks by ``noise_shrink`` each round, then the lowest-energy candidate: ``(B, A)``."""
    actions = box_from_uniform(initial_uniform, bound)
    scale = config.noise_scale
    for k in range(config.iterations):
        chosen = resample_by_energy(actions, energy(obs, actions), resample_uniform[k])
        actions = (chosen + scale * perturb_normal[k]).clamp(-bound, bound)
        scale *= config.noise_shrink
    return lowest_energy(actions, energy(obs, actions))


@register_method(DFOConfig, negatives=False, acts=True)
class DFOOptimizer(UniformSampler):
    """DFO inference; its training negatives are uniform samples (inherited)."""

    config: DFOConfig  # type: ignore[assignment]  # built from its own config, which has num_samples as well

    @torch.no_grad()
    def infer(
        self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor], gradient: GradientFn | None = None
    ) -> torch.Tensor:
        return dfo_argmin(
            energy,
            obs,
            noise["initial_uniform"],
            noise["resample_uniform"],
            noise["perturb_normal"],
            self.config,
            self.bound,
        )
