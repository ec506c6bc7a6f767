"""The protocols of optimisers over actions: ``sample`` negatives for training, ``infer`` the argmin;
and of samplers that learn as they go (the Marginal Action Sampler), which the trainer also ``update``s.

All work in normalised action space, inside the box ``[-bound, bound]^A``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..energy import EnergyFn, GradientFn


class NegativeSampler(Protocol):
    def sample(self, energy: EnergyFn, obs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Negative actions ``(B, M, A)`` for observations ``obs (B, O)``, detached from the graph."""
        ...


@runtime_checkable
class LearnedSampler(NegativeSampler, Protocol):
    """A sampler with its own model, trained on the same batches as the energy net."""

    def update(self, positives: torch.Tensor) -> dict[str, float]:
        """One training step of the sampler's model on demonstrated actions ``(B, A)`` and the samples of
        the last :meth:`sample`; returns its metrics."""
        ...

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Weights and optimiser state, for exact resume."""
        ...

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None: ...

    def to(self, device: torch.device) -> "LearnedSampler":
        """Move the sampler's model to ``device``."""
        ...


class ActionOptimizer(NegativeSampler, Protocol):

    def infer(self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor],
              gradient: GradientFn | None = None) -> torch.Tensor:
        """The best action found ``(B, A)`` for each observation, from the noise that
        :func:`implicit_policy.runtime.noise_specs` names (so torch and ONNX agree on the same noise).
        ``gradient`` gives ``dE/dy`` to optimisers that use it (autograd when None; a policy passes its
        energy net's explicit backward pass, which exports to ONNX); derivative-free ones ignore it."""
        ...


def box_from_uniform(uniform: torch.Tensor, bound: float) -> torch.Tensor:
    """Map [0, 1) samples to the box ``[-bound, bound]``."""
    return (2 * uniform - 1) * bound


def uniform_actions(batch: int, count: int, action_size: int, bound: float, generator: torch.Generator,
                    device: torch.device | str = "cpu") -> torch.Tensor:
    """``(batch, count, action_size)`` samples of U(-bound, bound)."""
    return box_from_uniform(torch.rand(batch, count, action_size, generator=generator, device=device), bound)


def lowest_energy(actions: torch.Tensor, energies: torch.Tensor) -> torch.Tensor:
    """Per row, the candidate of ``actions (B, M, A)`` with the lowest of ``energies (B, M)``: ``(B, A)``."""
    best = energies.argmin(dim=1, keepdim=True).unsqueeze(-1)  # (B, 1, 1); gather keeps B symbolic for export
    return torch.gather(actions, 1, best.expand(-1, 1, actions.shape[2])).squeeze(1)
