"""The protocol of a policy kind, and its registry.

A policy kind (the energy model, ``mse``, ``mdn``, and users' own) is one config class that names it by
``kind`` and knows how to build its network, train it (an :class:`Objective`) and act with it (its
``normalized_act``). The run config accepts any registered kind as its ``policy``; the trainer, the torch
policies and the ONNX exporter talk to this protocol only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal, Protocol, TypeVar

import torch
from torch import nn

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.optimizers.base import MethodConfig
from implicit_policy.registry import lookup
from implicit_policy.runtime.control_loop import NoiseInputs

Parts = dict[str, torch.Tensor]
"""A loss and its named parts: ``loss`` is what is minimised, every other entry is logged."""


class Objective(Protocol):
    """What the trainer asks of a kind: one batch's loss, and any state the kind trains beside the net."""

    def loss(
        self,
        model: nn.Module,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
        keep: torch.Tensor | None = None,
    ) -> tuple[Parts, dict[str, float]]:
        """The loss parts (``loss`` among them) for normalised observation windows ``obs (B, O)`` and
        demonstrated actions ``positives (B, D)`` (a chunk of ``horizon`` actions, flattened: ``D = horizon * A``),
        and extra metrics to log. ``keep (B, D)`` (1 real, 0 padding past an episode's end) is passed only by
        runs that mask padding (``action_padding="mask"``): a kind that supports it leaves those values out."""
        ...

    def after_step(self, positives: torch.Tensor) -> dict[str, float]:
        """Called after each optimiser step (a learned sampler trains here); metrics to log."""
        ...

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """State beside the network's weights that exact resume needs (empty for most kinds)."""
        ...

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None: ...


class StatelessObjective:
    """An objective with no state beside the network: the base of the explicit kinds'."""

    def after_step(self, positives: torch.Tensor) -> dict[str, float]:
        return {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        return None


class RegressionConfig(MethodConfig):
    """The acting method of a kind whose network outputs the action: no optimiser, no noise. What the ONNX
    metadata records as ``inference`` for such kinds."""

    kind: Literal["regression"] = "regression"


class PolicyConfig(FrozenConfig):
    """The base of every policy kind's config. ``kind`` (a ``Literal`` in each subclass) names it in the
    registry; ``legacy_paths`` maps the 0.3 run-config sections the kind took over (``energy``, ``loss``, ...)
    to its own fields, so old ``--set`` paths and config files keep working."""

    kind: str
    legacy_paths: ClassVar[dict[str, str]] = {}

    @property
    def acting(self) -> MethodConfig:
        """How this kind acts: an optimiser over actions, or :class:`RegressionConfig` (the net's output)."""
        return RegressionConfig()

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """The noise the act path takes for ``batch`` observations (see ``NoiseInputs``)."""
        return self.acting.noise_inputs(batch, action_size)

    def build_model(self, obs_size: int, action_size: int) -> nn.Module:
        """The untrained network for flattened observation windows of ``obs_size`` and actions of ``action_size``."""
        raise NotImplementedError

    def objective(self, model: nn.Module, action_size: int, bound: float, device: torch.device) -> Objective:
        """The training objective for ``model`` (actions normalised into ``[-bound, bound]``)."""
        raise NotImplementedError

    def actor(self, model: nn.Module, action_size: int, bound: float) -> Callable[..., torch.Tensor]:
        """``(obs (B, O), noise) -> actions (B, A)`` in normalised units; the exported graph runs it too."""
        raise NotImplementedError


POLICY_KINDS: dict[str, type[PolicyConfig]] = {}
"""Every registered policy kind by name: this package's, filled as ``kinds/`` is imported, and users' own."""

ENTRY_POINT_GROUP = "implicit_policy.policy_kinds"
"""Installed packages may declare modules that register kinds here; they load when a kind is unknown."""

_Config = TypeVar("_Config", bound=PolicyConfig)


def register_policy_kind(config: type[_Config]) -> type[_Config]:
    """Class decorator that registers a policy kind's config by its ``kind``, at any time and from any
    module: the run config then accepts ``policy.kind`` = that name (``--set policy.kind=NAME``)."""
    kind = config.model_fields["kind"].default
    if kind in POLICY_KINDS and POLICY_KINDS[kind] is not config:
        raise ValueError(
            f"policy kind {kind!r} is registered twice: {POLICY_KINDS[kind].__name__} and {config.__name__}"
        )
    POLICY_KINDS[kind] = config
    return config


def policy_kind(kind: object) -> type[PolicyConfig]:
    """The config class registered as ``kind``; ``ValueError`` naming the registered kinds otherwise."""
    return lookup(POLICY_KINDS, kind, ENTRY_POINT_GROUP, "policy kind", "register_policy_kind")
