"""The protocols of optimisers over actions: ``sample`` negatives for training, ``infer`` the argmin;
and of samplers that learn as they go (the Marginal Action Sampler), which the trainer also ``update``s.

All work in normalised action space, inside the box ``[-bound, bound]^A``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, runtime_checkable

import torch

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.energy import EnergyFn, GradientFn
from implicit_policy.registry import lookup
from implicit_policy.runtime.control_loop import NoiseInputs


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

    def to(self, device: torch.device) -> LearnedSampler:
        """Move the sampler's model to ``device``."""
        ...


@runtime_checkable
class DensitySampler(Protocol):
    """A sampler of negatives that knows their density (for ranking NCE) and draws them around the
    demonstrated actions too."""

    def negatives_around(
        self, energy: EnergyFn, obs: torch.Tensor, positives: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
        """Negatives ``(B, M, A)`` for ``obs (B, O)`` and the demonstrated actions ``positives (B, A)``."""
        ...

    def sample_with_density(
        self, energy: EnergyFn, obs: torch.Tensor, positives: torch.Tensor, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Negatives ``(B, M, A)``, and the log-density of their proposal at the positives ``(B,)`` and at
        the negatives ``(B, M)``."""
        ...


class ActionOptimizer(NegativeSampler, Protocol):
    def infer(
        self, energy: EnergyFn, obs: torch.Tensor, noise: dict[str, torch.Tensor], gradient: GradientFn | None = None
    ) -> torch.Tensor:
        """The best action found ``(B, A)`` for each observation, from the noise that
        its config's ``noise_inputs`` names (so torch and ONNX agree on the same noise).
        ``gradient`` gives ``dE/dy`` to optimisers that use it (autograd when None; a policy passes its
        energy net's explicit backward pass, which exports to ONNX); derivative-free ones ignore it."""
        ...


def box_from_uniform(uniform: torch.Tensor, bound: float) -> torch.Tensor:
    """Map [0, 1) samples to the box ``[-bound, bound]``."""
    return (2 * uniform - 1) * bound


def uniform_actions(
    batch: int,
    count: int,
    action_size: int,
    bound: float,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """``(batch, count, action_size)`` samples of U(-bound, bound)."""
    return box_from_uniform(torch.rand(batch, count, action_size, generator=generator, device=device), bound)


def lowest_energy(actions: torch.Tensor, energies: torch.Tensor) -> torch.Tensor:
    """Per row, the candidate of ``actions (B, M, A)`` with the lowest of ``energies (B, M)``: ``(B, A)``."""
    best = energies.argmin(dim=1, keepdim=True).unsqueeze(-1)  # (B, 1, 1); gather keeps B symbolic for export
    return torch.gather(actions, 1, best.expand(-1, 1, actions.shape[2])).squeeze(1)


class MethodConfig(FrozenConfig):
    """The base of every optimiser's config: ``kind`` names the method in the registry (a ``Literal`` in
    each subclass). A method that acts overrides :meth:`noise_inputs`."""

    kind: str

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """The noise this method's argmin takes for ``batch`` observations: name -> (shape, batch axis,
        ``"uniform"`` or ``"normal"``); names end in ``_uniform`` / ``_normal``."""
        return {}


@dataclass(frozen=True)
class ActionMethod:
    """An optimiser over actions and the config that selects it by ``kind``: what it may be used for in a
    run (``negatives``: a training sampler; ``acts``: a policy's inference) and how to build it."""

    config: type[MethodConfig]
    build: Callable[[Any, int, float], Any]
    negatives: bool
    acts: bool


METHODS: dict[str, ActionMethod] = {}
"""Every registered optimiser over actions, by its config's ``kind``: this package's, filled as
``optimizers/`` is imported, and users' own, registered whenever their module is imported."""

ENTRY_POINT_GROUP = "implicit_policy.optimizers"
"""Installed packages may declare modules that register methods here; they load when a kind is unknown."""


def method(kind: object) -> ActionMethod:
    """The registered method of ``kind``; ``ValueError`` naming the registered kinds otherwise."""
    return lookup(METHODS, kind, ENTRY_POINT_GROUP, "optimiser over actions of kind", "register_method")


_Optimizer = TypeVar("_Optimizer", bound=type)


def register_method(config: type[MethodConfig], *, negatives: bool, acts: bool) -> Callable[[_Optimizer], _Optimizer]:
    """Class decorator that registers an optimiser with its config, at any time and from any module: the run
    config then accepts the config's ``kind`` as its ``sampler`` (``negatives``) and/or ``inference``
    (``acts``), and ``build_sampler`` builds the class, called as ``cls(config, action_size, bound)``."""
    kind = config.model_fields["kind"].default

    def register(cls: _Optimizer) -> _Optimizer:
        if kind in METHODS and METHODS[kind].build is not cls:
            raise ValueError(
                f"optimiser kind {kind!r} is registered twice: {METHODS[kind].build.__name__} and {cls.__name__}"
            )
        METHODS[kind] = ActionMethod(config, cls, negatives, acts)
        return cls

    return register
