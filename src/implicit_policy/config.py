"""A run's whole configuration, as one frozen pydantic model that refuses bad values by field name.

:class:`TrainConfig` assembles the configs that the modules declare beside what they build (the energy
net's in ``energy.py``, the losses' in ``losses.py``, each optimiser over actions' in its ``samplers/``
module) and is saved as JSON beside the weights. Samplers are tagged unions on ``kind``, built from the
registered optimisers: the same Langevin settings serve training negatives and inference.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from implicit_policy.atomic import atomic_write_text
from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.energy import EnergyNetConfig
from implicit_policy.models.losses import LossConfig
from implicit_policy.models.proposal import MDNConfig
from implicit_policy.optimizers import METHODS, MethodConfig, method
from implicit_policy.optimizers.dfo import DFOConfig
from implicit_policy.optimizers.langevin import LangevinConfig, StepSchedule
from implicit_policy.optimizers.marginal import MarginalLossConfig, MarginalSamplerConfig
from implicit_policy.optimizers.proposal import ProposalConfig
from implicit_policy.optimizers.uniform import UniformSamplerConfig
from implicit_policy.training.batches import BatchConfig


class NormalizerConfig(FrozenConfig):
    """Min-max normalisation to [-1, 1]; ``action_margin`` widens the action box on each side.

    ``observations="standard"`` standardises observations (mean 0, standard deviation 1 per dimension) as
    Implicit BC does, instead of min-max; actions are always min-max.
    """

    action_margin: float = Field(0.05, ge=0, le=1, description="fraction of the range: 0.05 gives [-1.1, 1.1]")
    observations: Literal["min_max", "standard"] = "min_max"


class RegressionConfig(MethodConfig):
    """An explicit (regression) policy's "inference": the network's output is the action. No optimiser, no noise."""

    kind: Literal["regression"] = "regression"


def method_config_class(kind: object, role: Literal["negatives", "acts"]) -> type[MethodConfig]:
    """The config class of the method ``kind`` for ``role`` (training negatives, or acting), looked up in
    the registry when a config is validated, so methods registered at any time are accepted."""
    if role == "acts" and kind == RegressionConfig.model_fields["kind"].default:
        return RegressionConfig
    found = method(kind)
    if not (found.negatives if role == "negatives" else found.acts):
        usable = sorted(k for k, m in METHODS.items() if (m.negatives if role == "negatives" else m.acts))
        raise ValueError(
            f"method {kind!r} cannot {'make training negatives' if role == 'negatives' else 'act'}; "
            f"these can: {', '.join(usable)}"
        )
    return found.config


def _method_config(role: Literal["negatives", "acts"]) -> Callable[[Any], MethodConfig]:
    """A validator that builds the registered config class a ``kind`` names from a dict (or checks an instance)."""

    def validate(value: Any) -> MethodConfig:
        kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
        cls = method_config_class(kind, role)
        if isinstance(value, cls):
            return value
        if isinstance(value, MethodConfig):
            value = value.model_dump()
        try:
            return cls.model_validate(value)
        except ValidationError as err:
            raise ValueError(describe_validation_error(err)) from None

    return validate


SamplerConfig = Annotated[SerializeAsAny[MethodConfig], BeforeValidator(_method_config("negatives"))]
"""Training negatives: any registered method that makes them, chosen by ``kind`` (DFO only acts; its
negatives are ``uniform``)."""
InferenceConfig = Annotated[SerializeAsAny[MethodConfig], BeforeValidator(_method_config("acts"))]
"""How a policy acts: any registered method that acts, or ``regression``; each names the noise its argmin
takes (``noise_inputs``), the one contract that torch, the exported graph and ``OnnxPolicy`` share."""


class OptimConfig(FrozenConfig):
    """Adam with step decay, as appendix D: lr 1e-3, batch 512, gamma 0.99 every 100 epochs.

    ``lr_decay_every_steps`` (when > 0) counts the decay interval in gradient steps instead of epochs, as
    Implicit BC's code does (x0.99 every 100 steps, whatever the dataset size)."""

    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(512, ge=1)
    lr_decay: float = Field(0.99, gt=0, le=1)
    lr_decay_every_epochs: float = Field(100, gt=0)
    lr_decay_every_steps: int = Field(0, ge=0, description="> 0: decay every this many steps instead of epochs")
    weight_decay: float = Field(0.0, ge=0)
    ema_decay: float = Field(0.0, ge=0, lt=1, description="Polyak average of the weights, used by the policy; 0: off")


class AugmentConfig(FrozenConfig):
    """Perturbations of each training batch's observations (the actions stay as demonstrated).

    ``observation_noise`` is the standard deviation of Gaussian noise added to the normalised observations:
    one number for every dimension, or one per dimension. A regulariser for features the net should not
    trust to full precision (noisy sensors, a feature that is exact only in the demonstrations); it costs
    precision on the dimensions it perturbs. Off by default and in every preset: on Particle2D-v0 it
    lowered success (docs: Results).
    """

    observation_noise: float | list[float] = 0.0

    @field_validator("observation_noise")
    @classmethod
    def _non_negative(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if not values or any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"must be a finite number >= 0 or a non-empty list of them, got {value!r}")
        return value


class TrainConfig(FrozenConfig):
    """A whole training run: model, data handling, negatives, loss, optimiser, logging and evaluation."""

    energy: EnergyNetConfig = EnergyNetConfig()
    normalizer: NormalizerConfig = NormalizerConfig()
    sampler: SamplerConfig = LangevinConfig()
    inference: InferenceConfig = LangevinConfig(noise_scale=0.01, num_samples=512)
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    augment: AugmentConfig = AugmentConfig()
    batch: BatchConfig = BatchConfig()
    n_obs_steps: int = Field(1, ge=1, description="observations the policy sees: the current one and the n-1 before it")
    steps: int = Field(10_000, ge=1)
    seed: int = 0
    log_every: int = Field(50, ge=1)
    eval_every: int = Field(1000, ge=0, description="closed-loop validation every this many steps; 0: only at the end")
    eval_episodes: int = Field(100, ge=0)
    eval_seed: int = Field(100_000, description="validation episodes use seeds eval_seed, eval_seed + 1, ...")
    val_episodes: float | None = Field(
        None,
        ge=0,
        description="episodes held out of training to validate on (action error; the best checkpoint by it "
        "when there is no env): N >= 1 episodes, 0 < f < 1 that fraction, 0 none; None: 10 % for data with no "
        "env, none for data with one (closed-loop validation)",
    )
    action_low: list[float] | None = Field(
        None, description="the action box (raw units) for data with no env; default: the data's range widened"
    )
    action_high: list[float] | None = None
    log: list[Literal["tensorboard", "wandb"]] = Field(
        [], description="trackers that receive every metrics.jsonl record too (training.tracking)"
    )
    checkpoint_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    torch_threads: int = Field(
        1,
        ge=0,
        description="torch threads of this training process; 0: torch's default "
        "(all cores, which oversubscribes a machine that runs anything else)",
    )
    device: str = Field("cpu", description="torch device for the model, data, samplers and losses: cpu, cuda, cuda:N")

    @model_validator(mode="after")
    def _regression_goes_with_explicit_losses(self) -> TrainConfig:
        if self.explicit != isinstance(self.inference, RegressionConfig):
            raise ValueError(
                "loss.kind 'mse' or 'mdn' (an explicit policy) goes with inference.kind 'regression', and only with it"
            )
        if self.loss.kind == "mdn" and self.energy.proposal is None:
            raise ValueError("loss.kind 'mdn' trains the mixture density net that energy.proposal sizes: set it")
        if self.loss.kind == "mse" and self.energy.proposal is not None:
            raise ValueError("loss.kind 'mse' trains a regression net: energy.proposal must be unset (or use 'mdn')")
        if self.val_episodes is not None and self.val_episodes >= 1 and self.val_episodes != int(self.val_episodes):
            raise ValueError(
                f"val_episodes must be a whole number of episodes or a fraction below 1, got {self.val_episodes}"
            )
        if (self.action_low is None) != (self.action_high is None):
            raise ValueError("action_low and action_high go together: give both or neither")
        if self.action_low is not None and (
            len(self.action_low) != len(self.action_high or [])
            or any(lo >= hi for lo, hi in zip(self.action_low, self.action_high or []))
        ):
            raise ValueError("action_low and action_high must have the same length and low < high in every dimension")
        return self

    @property
    def explicit(self) -> bool:
        """An explicit regression policy rather than an energy model (``sampler`` is then unused)."""
        return self.loss.kind in ("mse", "mdn")

    def updated(self, **changes) -> TrainConfig:
        """A validated copy with top-level fields replaced (``model_copy`` would skip validation); ``ValueError``
        naming each bad field on one line."""
        try:
            return type(self).model_validate(self.model_dump() | changes)
        except ValidationError as err:
            raise ValueError(f"invalid config: {describe_validation_error(err)}") from None

    def with_settings(self, settings: list[str]) -> TrainConfig:
        """A validated copy with dotted fields set from ``PATH=VALUE`` strings (``VALUE`` as JSON, else a
        string): ``["n_obs_steps=2", "sampler.iterations=30", "energy.kind=resnet"]``. A union member
        (sampler, inference) is switched by setting its ``kind``; fields it does not share are dropped."""
        data = self.model_dump()
        for setting in settings:
            path, sep, text = setting.partition("=")
            if not sep or not path:
                raise ValueError(f"setting {setting!r} is not PATH=VALUE, e.g. sampler.iterations=30")
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = text
            node, keys = data, path.split(".")
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    raise ValueError(f"setting {setting!r}: {key!r} is not a config section")
                node = node[key]
            if keys[-1] not in node:
                raise ValueError(f"setting {setting!r}: no field {keys[-1]!r} here; fields: {', '.join(node)}")
            node[keys[-1]] = value
            if keys[-1] == "kind" and ".".join(keys[:-1]) in _METHOD_ROLES:  # a new method keeps only its fields
                try:
                    member = method_config_class(value, _METHOD_ROLES[".".join(keys[:-1])])
                except ValueError as err:
                    raise ValueError(f"setting {setting!r}: {err}") from None
                for key in [k for k in node if k not in member.model_fields]:
                    del node[key]
        try:
            return type(self).model_validate(data)
        except ValidationError as err:
            raise ValueError(f"invalid settings {settings}: {describe_validation_error(err)}") from err

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike, complete: bool = False) -> TrainConfig:
        """A config file; ``complete=True`` (the CLI's ``--config``) refuses one that leaves top-level fields
        out, which would otherwise train built-in defaults nobody chose."""
        path = Path(path)
        try:
            values = json.loads(path.read_text())
            missing = [
                name
                for name in cls.model_fields
                if complete and isinstance(values, dict) and name not in values and name not in ADDED_SINCE_0_2
            ]
            if missing:
                raise ValueError(
                    f"config file {path} lacks {', '.join(missing)}; start from a full config: "
                    "implicit-policy config --preset NAME > FILE"
                )
            return cls.model_validate(values)
        except FileNotFoundError as err:
            raise ValueError(f"config file not found: {path}") from err
        except json.JSONDecodeError as err:
            raise ValueError(f"config file {path} is not valid JSON: {err}") from err
        except ValidationError as err:
            raise ValueError(f"invalid config {path}: {describe_validation_error(err)}") from err


ADDED_SINCE_0_2 = frozenset({"val_episodes", "action_low", "action_high", "log"})
"""Fields a config file written by 0.2 lacks; their defaults train as 0.2 did, so such a file stays complete."""

_METHOD_ROLES: dict[str, Literal["negatives", "acts"]] = {"sampler": "negatives", "inference": "acts"}


def describe_validation_error(err: ValidationError) -> str:
    """One line per bad field: ``field.path: message (got value)``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in err.errors())


__all__ = [
    "AugmentConfig",
    "BatchConfig",
    "MDNConfig",
    "ProposalConfig",
    "DFOConfig",
    "EnergyNetConfig",
    "InferenceConfig",
    "LangevinConfig",
    "LossConfig",
    "MarginalLossConfig",
    "MarginalSamplerConfig",
    "NormalizerConfig",
    "OptimConfig",
    "RegressionConfig",
    "SamplerConfig",
    "StepSchedule",
    "TrainConfig",
    "UniformSamplerConfig",
    "describe_validation_error",
    "method_config_class",
]
