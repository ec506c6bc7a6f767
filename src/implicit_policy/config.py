"""A run's whole configuration, as one frozen pydantic model that refuses bad values by field name.

:class:`TrainConfig` assembles the configs that the modules declare beside what they build (the energy
net's in ``energy.py``, each optimiser over actions' in its ``optimizers/`` module, each policy kind's in ``kinds/``)
and is saved as JSON beside the weights. The policy is a tagged union on ``kind`` built from the registered
kinds, as an energy model's sampler and inference are from the registered optimisers.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from implicit_policy.atomic import atomic_write_text
from implicit_policy.frozen_config import FrozenConfig, describe_validation_error
from implicit_policy.kinds import (
    EnergyPolicyConfig,
    MDNPolicyConfig,
    MSEPolicyConfig,
    PolicyConfig,
    PolicyField,
    RegressionConfig,
    policy_kind,
)
from implicit_policy.kinds.energy import METHOD_ROLES, InferenceConfig, SamplerConfig, method_config_class
from implicit_policy.models.energy import EnergyNetConfig, NetConfig
from implicit_policy.models.losses import LossConfig
from implicit_policy.models.proposal import MDNConfig
from implicit_policy.models.vision import VisionConfig
from implicit_policy.optimizers.dfo import DFOConfig
from implicit_policy.optimizers.langevin import LangevinConfig, StepSchedule
from implicit_policy.optimizers.marginal import MarginalLossConfig, MarginalSamplerConfig
from implicit_policy.optimizers.proposal import ProposalConfig
from implicit_policy.optimizers.uniform import UniformSamplerConfig


class NormalizerConfig(FrozenConfig):
    """Min-max normalisation to [-1, 1]; ``action_margin`` widens the action box on each side.

    ``observations="standard"`` standardises observations (mean 0, standard deviation 1 per dimension) as
    Implicit BC does, instead of min-max; actions are always min-max.
    """

    action_margin: float = Field(0.05, ge=0, le=1, description="fraction of the range: 0.05 gives [-1.1, 1.1]")
    observations: Literal["min_max", "standard"] = "min_max"


class BatchConfig(FrozenConfig):
    """How each training batch is composed (:mod:`implicit_policy.training.batches` says why)."""

    decision_fraction: float = Field(0.0, ge=0, lt=1, description="share of a batch drawn from decision points")
    decision_threshold: float = Field(0.2, gt=0, description="normalised action jump that marks a decision point")
    history_dropout: float = Field(0.0, ge=0, le=1, description="probability a window is shown as an episode start")


class OptimConfig(FrozenConfig):
    """Adam with step decay, as appendix D: lr 1e-3, batch 512, gamma 0.99 every 100 epochs; or cosine decay.

    ``lr_decay_every_steps`` (when > 0) counts the decay interval in gradient steps instead of epochs, as
    Implicit BC's code does (x0.99 every 100 steps, whatever the dataset size)."""

    learning_rate: float = Field(1e-3, gt=0)
    batch_size: int = Field(512, ge=1)
    lr_decay: float = Field(0.99, gt=0, le=1)
    lr_decay_every_epochs: float = Field(100, gt=0)
    lr_decay_every_steps: int = Field(0, ge=0, description="> 0: decay every this many steps instead of epochs")
    weight_decay: float = Field(0.0, ge=0)
    ema_decay: float = Field(0.0, ge=0, lt=1, description="Polyak average of the weights, used by the policy; 0: off")
    schedule: Literal["step", "cosine"] = Field(
        "step",
        description="step: the decay above; cosine: from learning_rate to 0 over the run's steps (Diffusion "
        "Policy's and IBC's Push-T schedule), the decay fields unused",
    )


class AugmentConfig(FrozenConfig):
    """Perturbations of each training batch's observations (the actions stay as demonstrated).

    ``observation_noise`` is the standard deviation of Gaussian noise added to the normalised observations:
    one number for every dimension, or one per dimension. A regulariser for features the net should not
    trust to full precision (noisy sensors, a feature that is exact only in the demonstrations); it costs
    precision on the dimensions it perturbs. Off by default and in every preset: on Particle2D-v0 it
    lowered success (docs: Results), and on Push-T it did not lift the mixture (docs: Push-T).
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

    policy: PolicyField = Field(
        EnergyPolicyConfig(), description="the policy kind and its own settings (net, loss, act path): kinds/"
    )
    normalizer: NormalizerConfig = NormalizerConfig()
    optim: OptimConfig = OptimConfig()
    augment: AugmentConfig = AugmentConfig()
    batch: BatchConfig = BatchConfig()
    vision: VisionConfig = Field(
        VisionConfig(), description="how image parts (cameras) are encoded, for data with images: models/vision.py"
    )
    n_obs_steps: int = Field(1, ge=1, description="observations the policy sees: the current one and the n-1 before it")
    horizon: int = Field(1, ge=1, description="actions the policy decides at once (a chunk); 1: one per tick")
    n_action_steps: int = Field(
        1, ge=1, description="actions of each chunk executed before the policy decides again (<= horizon)"
    )
    action_padding: Literal["repeat", "mask"] = Field(
        "repeat",
        description="chunk steps past an episode's end: 'repeat' the last action (absolute targets: particles, "
        "Push-T) or 'mask' them out of the loss (deltas: the arm, which must not learn to keep moving)",
    )
    temporal_ensemble: float = Field(
        0.0,
        ge=0,
        description="> 0: decide every tick and act with the weighted mean of every chunk's prediction for it, "
        "weights exp(-m i), i = 0 the oldest (ACT's m = 0.01); 0: off, execute n_action_steps per decision",
    )
    steps: int = Field(10_000, ge=1)
    time_limit_minutes: float | None = Field(
        None,
        gt=0,
        description="stop at the first step past this much training time (validation included; a resumed run's "
        "time so far counts), validating and saving as at the last step; the schedule stays that of `steps`. "
        "None: no limit",
    )
    seed: int = 0
    log_every: int = Field(50, ge=1)
    eval_every: int = Field(1000, ge=0, description="closed-loop validation every this many steps; 0: only at the end")
    eval_episodes: int = Field(100, ge=0)
    eval_metric: Literal["success_rate", "mean_max_reward"] = Field(
        "success_rate",
        description="what closed-loop validation keeps the best weights by: the success rate, or Diffusion "
        "Policy's score, the mean over episodes of the highest per-step reward (finer on Push-T)",
    )
    eval_seed: int = Field(
        200_000,
        description="validation episodes use seeds eval_seed, eval_seed + 1, ...: by default none of the usual "
        "demonstration (0..), test (1000.., 5000.., 10000..) or Push-T test (100000-100049) seeds; 0.3 used 100000",
    )
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

    @model_validator(mode="before")
    @classmethod
    def _from_0_3_layout(cls, values: Any) -> Any:
        return migrate_0_3(values) if isinstance(values, dict) else values

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.n_action_steps > self.horizon:
            raise ValueError(f"n_action_steps ({self.n_action_steps}) must be <= horizon ({self.horizon})")
        if self.horizon > 1 and self.policy.acting.model_dump().get("warm_start_fraction", 0.0):
            raise ValueError("warm start (inference.warm_start_fraction) is for one-action policies: set horizon 1")
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

    def updated(self, **changes) -> TrainConfig:
        """A validated copy with top-level fields replaced (``model_copy`` would skip validation); ``ValueError``
        naming each bad field on one line. The 0.3 sections (``energy=``, ``sampler=``, ``inference=``, ``loss=``)
        replace the current policy kind's fields they now are."""
        dumped = {k: v.model_dump() if isinstance(v, FrozenConfig) else v for k, v in changes.items()}
        data = self.model_dump() | {k: v for k, v in dumped.items() if k not in LEGACY_SECTIONS}
        for section in (k for k in LEGACY_SECTIONS if k in changes):  # 0.3's: the kind's fields they now are
            node, keys = data, _current_path(data, section).split(".")
            for key in keys[:-1]:
                node = node[key]
            node[keys[-1]] = dumped[section]
        try:
            return type(self).model_validate(data)
        except ValidationError as err:
            raise ValueError(f"invalid config: {describe_validation_error(err)}") from None

    def with_settings(self, settings: list[str]) -> TrainConfig:
        """A validated copy with dotted fields set from ``PATH=VALUE`` strings (``VALUE`` as JSON, else a
        string): ``["n_obs_steps=2", "policy.sampler.iterations=30", "policy.kind=mse"]``. A union member
        (the policy kind, an energy model's sampler or inference) is switched by setting its ``kind``; fields
        it does not share are dropped. The 0.3 paths (``sampler.iterations``, ``energy.hidden_size``, ...) still
        name the current kind's fields."""
        data = self.model_dump()
        for setting in settings:
            path, sep, text = setting.partition("=")
            if not sep or not path:
                raise ValueError(f"setting {setting!r} is not PATH=VALUE, e.g. policy.sampler.iterations=30")
            value = setting_value(text)
            keys = _current_path(data, path).split(".")
            node = data
            for key in keys[:-1]:
                if not isinstance(node.get(key), dict):
                    raise ValueError(f"setting {setting!r}: {key!r} is not a config section")
                node = node[key]
            if keys[-1] not in node:
                raise ValueError(f"setting {setting!r}: no field {keys[-1]!r} here; fields: {', '.join(node)}")
            node[keys[-1]] = value
            if keys[-1] == "kind":  # a new kind keeps only its own fields
                try:
                    member = _union_member(".".join(keys[:-1]), value)
                except ValueError as err:
                    raise ValueError(f"setting {setting!r}: {err}") from None
                if member is not None:
                    for key in [k for k in node if k not in member.model_fields]:
                        del node[key]
                    node |= {k: v for k, v in _defaults(member).items() if k not in node}
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
            if isinstance(values, dict):
                values = migrate_0_3(values)  # a complete 0.3 file is complete
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


ADDED_SINCE_0_2 = frozenset(
    {
        "val_episodes",
        "action_low",
        "action_high",
        "log",
        "horizon",
        "n_action_steps",
        "action_padding",
        "temporal_ensemble",
    }
)
"""Fields a config file written by 0.2 or 0.3 lacks; their defaults train as those did, so such a file stays
complete."""

LEGACY_SECTIONS = ("energy", "sampler", "inference", "loss")
"""The 0.3 run config's policy sections, now fields of a policy kind (``policy``)."""


def migrate_0_3(values: dict[str, Any]) -> dict[str, Any]:
    """A run config written by 0.3 (policy sections at the top, the kind implied by ``loss.kind``) in today's
    layout: the sections move into ``policy`` of the kind they described. Today's configs pass unchanged."""
    if "policy" in values or not any(k in values for k in LEGACY_SECTIONS):
        return values
    values = dict(values)
    legacy = {k: values.pop(k) for k in LEGACY_SECTIONS if k in values}
    energy, loss = dict(legacy.get("energy") or {}), dict(legacy.get("loss") or {})
    loss_kind = loss.get("kind", "info_nce")
    if loss_kind == "mse":
        energy.pop("proposal", None)
        values["policy"] = {"kind": "mse", "net": energy}
    elif loss_kind == "mdn":
        values["policy"] = {"kind": "mdn", "mdn": energy.get("proposal") or {}}
        values["policy"]["mean_weight"] = loss.get("proposal_mean_weight", 0.0)
    else:
        values["policy"] = {"kind": "energy", **legacy}
    return values


def setting_value(text: str) -> Any:
    """The value of a ``PATH=VALUE`` setting: ``VALUE`` as JSON, else the text itself (``choose=proposal_mode``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _current_path(data: dict[str, Any], path: str) -> str:
    """``path`` in today's layout: a 0.3 path (``sampler.iterations``) names a field of the current policy kind
    through its ``legacy_paths`` (the longest matching prefix); other paths pass unchanged."""
    first = path.split(".")[0]
    if first in data or first not in LEGACY_SECTIONS:
        return path
    try:
        kind = policy_kind(data["policy"]["kind"])
    except ValueError:
        return path
    for old in sorted(kind.legacy_paths, key=len, reverse=True):
        if path == old or path.startswith(old + "."):
            return "policy." + kind.legacy_paths[old] + path[len(old) :]
    raise ValueError(
        f"setting {path!r}: the policy kind {kind.model_fields['kind'].default!r} has no such section; its fields: "
        f"{', '.join('policy.' + f for f in kind.model_fields)}"
    )


def _defaults(cls: type[FrozenConfig]) -> dict[str, Any]:
    """The default values of a config class's fields (nothing for a class with required fields)."""
    try:
        return cls().model_dump()
    except ValidationError:
        return {}


def _union_member(section: str, kind: object) -> type[FrozenConfig] | None:
    """The config class ``kind`` selects in the union at ``section`` (``policy``, ``policy.sampler``, ...),
    or None where ``section`` is no union."""
    if section == "policy":
        return policy_kind(kind)
    if section.startswith("policy.") and section[len("policy.") :] in METHOD_ROLES:
        return method_config_class(kind, METHOD_ROLES[section[len("policy.") :]])
    return None


__all__ = [
    "AugmentConfig",
    "EnergyPolicyConfig",
    "MDNPolicyConfig",
    "MSEPolicyConfig",
    "NetConfig",
    "PolicyConfig",
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
    "VisionConfig",
    "describe_validation_error",
    "method_config_class",
    "migrate_0_3",
]
