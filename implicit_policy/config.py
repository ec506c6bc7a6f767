"""Every knob of a run, as frozen pydantic models that refuse bad values by field name.

A run's whole configuration is one :class:`TrainConfig`, saved as JSON beside the weights. Samplers are a
tagged union on ``kind``: the same Langevin and DFO settings serve training negatives and inference.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Annotated, Literal, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from .atomic import atomic_write_text


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


NoiseInputs = dict[str, tuple[tuple[int, ...], int, str]]
"""The noise an argmin takes as inputs: name -> (shape, batch axis, ``"uniform"`` or ``"normal"``)."""


class EnergyNetConfig(_Config):
    """The network over concat(obs, action); defaults are Ta et al.'s MLP (appendix D).

    ``kind="resnet"`` is Implicit BC's ``ResNetPreActivation``: a linear projection to ``hidden_size``, then
    ``residual_blocks`` blocks ``x + W2 relu(W1 relu(x))`` (IBC's "depth 2" is one block), then the output
    layer. ``hidden_layers`` counts the MLP's layers and ``residual_blocks`` the ResNet's blocks.
    """

    kind: Literal["mlp", "resnet"] = "mlp"
    hidden_size: int = Field(256, ge=1)
    hidden_layers: int = Field(2, ge=1)
    residual_blocks: int = Field(1, ge=1)
    activation: Literal["relu"] = "relu"
    init_std: float = Field(0.05, gt=0, description="weights and biases drawn from N(0, init_std)")
    dropout: float = Field(0.0, ge=0, lt=1)
    spectral_norm: bool = False


class NormalizerConfig(_Config):
    """Min-max normalisation to [-1, 1]; ``action_margin`` widens the action box on each side.

    ``observations="standard"`` standardises observations (mean 0, standard deviation 1 per dimension) as
    Implicit BC does, instead of min-max; actions are always min-max.
    """

    action_margin: float = Field(0.05, ge=0, le=1, description="fraction of the range: 0.05 gives [-1.1, 1.1]")
    observations: Literal["min_max", "standard"] = "min_max"


class StepSchedule(_Config):
    """Polynomial decay of the Langevin step size from ``start`` to ``end`` over the chain's iterations."""

    start: float = Field(1.0, gt=0)
    end: float = Field(0.001, gt=0)
    power: float = Field(2.0, gt=0)


class UniformSamplerConfig(_Config):
    """Independent uniform samples in the widened action box (DFO-style negatives)."""

    kind: Literal["uniform"] = "uniform"
    num_samples: int = Field(256, ge=1)


class DFOConfig(_Config):
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
        return {"initial_uniform": ((batch, n, action_size), 0, "uniform"),
                "resample_uniform": ((k, batch), 1, "uniform"),
                "perturb_normal": ((k, batch, n, action_size), 1, "normal")}


class LangevinConfig(_Config):
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
    warm_start_fraction: float = Field(0.0, ge=0, le=1, description="inference: share of chains started near the last action")
    warm_start_spread: float = Field(0.05, ge=0, description="inference: std of the warm-start chains, normalised units")
    uniform_samples: int = Field(0, ge=0, description="training: extra uniform negatives per example beside the chains' samples")

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        """``initial_uniform (B, N, A)`` starts the chains in the box, ``step_normal (K, B, N, A)`` moves them."""
        n, k = self.num_samples, self.iterations
        return {"initial_uniform": ((batch, n, action_size), 0, "uniform"),
                "step_normal": ((k, batch, n, action_size), 1, "normal")}


class MarginalLossConfig(_Config):
    """How the marginal EBM of the Marginal Action Sampler learns: the MCMC loss (eq. 4) plus optional
    regularisers (appendix A's max-entropy term, an L2 pull of the data's energies to zero)."""

    max_entropy_weight: float = Field(0.0, ge=0, description="times half the variance of the samples' energies")
    positive_l2_weight: float = Field(0.0, ge=0, description="times the mean squared energy of the data's actions")


class MarginalSamplerConfig(_Config):
    """Marginal Action Sampler (Ta et al., section V): a second, unconditional EBM ``E_gamma(y)`` over actions,
    trained alongside the conditional one by ``langevin`` MCMC; the samples it draws each step are the
    conditional EBM's InfoNCE negatives, independent of the observation as InfoNCE's bound asks."""

    kind: Literal["marginal"] = "marginal"
    energy: EnergyNetConfig = EnergyNetConfig(hidden_size=64)
    langevin: LangevinConfig = LangevinConfig(rule="correct", num_samples=8, iterations=10)
    loss: MarginalLossConfig = MarginalLossConfig()
    learning_rate: float = Field(1e-3, gt=0)

    @property
    def num_samples(self) -> int:
        return self.langevin.num_samples


SamplerConfig = Annotated[Union[UniformSamplerConfig, LangevinConfig, MarginalSamplerConfig], Field(discriminator="kind")]
"""Training negatives; DFO is an inference method (its training negatives are ``uniform``)."""


class RegressionConfig(_Config):
    """An explicit (regression) policy's "inference": the network's output is the action. No optimiser, no noise."""

    kind: Literal["regression"] = "regression"

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        return {}


InferenceConfig = Annotated[Union[DFOConfig, LangevinConfig, RegressionConfig], Field(discriminator="kind")]
"""How a policy acts; each kind names the noise its argmin takes (``noise_inputs``), the one contract that
torch, the exported graph and ``OnnxPolicy`` share."""


def inference_config(values: dict) -> DFOConfig | LangevinConfig | RegressionConfig:
    """The inference config a JSON dict describes (as an exported file's metadata carries it)."""
    return TypeAdapter(InferenceConfig).validate_python(values)


class LossConfig(_Config):
    """Main loss plus weighted regularisers (weights of 0 switch them off). ``mse`` trains an explicit
    policy instead: an MLP from observation to action, by mean squared error (the regression baseline)."""

    kind: Literal["info_nce", "mcmc", "mse"] = "info_nce"
    max_entropy_weight: float = Field(0.0, ge=0, description="times half the variance of the negatives' energies")
    positive_l2_weight: float = Field(0.0, ge=0, description="times the mean squared positive energy")
    gradient_penalty_weight: float = Field(0.0, ge=0)
    gradient_penalty_margin: float = Field(1.0, ge=0)
    gradient_penalty_actions: Literal["negatives", "all"] = Field(
        "negatives", description="where dE/dy is penalised: the negatives, or the positive and the negatives (IBC)")


class OptimConfig(_Config):
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


class AugmentConfig(_Config):
    """Perturbations of each training batch's observations (the actions stay as demonstrated).

    ``observation_noise`` is the standard deviation of Gaussian noise added to the normalised observations:
    one number for every dimension, or one per dimension. A regulariser for features the net should not
    trust to full precision (noisy sensors, a feature that is exact only in the demonstrations); it costs
    precision on the dimensions it perturbs. Off by default and in every preset: on Particle2D-v0 it
    lowered success (README, "What we measured while tuning").
    """

    observation_noise: float | list[float] = 0.0

    @field_validator("observation_noise")
    @classmethod
    def _non_negative(cls, value: float | list[float]) -> float | list[float]:
        values = value if isinstance(value, list) else [value]
        if not values or any(not math.isfinite(v) or v < 0 for v in values):
            raise ValueError(f"must be a finite number >= 0 or a non-empty list of them, got {value!r}")
        return value


class TrainConfig(_Config):
    """A whole training run: model, data handling, negatives, loss, optimiser, logging and evaluation."""

    energy: EnergyNetConfig = EnergyNetConfig()
    normalizer: NormalizerConfig = NormalizerConfig()
    sampler: SamplerConfig = LangevinConfig()
    inference: InferenceConfig = LangevinConfig(noise_scale=0.01, num_samples=512)
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    augment: AugmentConfig = AugmentConfig()
    n_obs_steps: int = Field(1, ge=1, description="observations the policy sees: the current one and the n-1 before it")
    steps: int = Field(10_000, ge=1)
    seed: int = 0
    log_every: int = Field(50, ge=1)
    eval_every: int = Field(1000, ge=0, description="closed-loop validation every this many steps; 0: only at the end")
    eval_episodes: int = Field(100, ge=0)
    eval_seed: int = Field(100_000, description="validation episodes use seeds eval_seed, eval_seed + 1, ...")
    checkpoint_every: int = Field(1000, ge=1)
    keep_checkpoints: int = Field(2, ge=1)
    torch_threads: int = Field(1, ge=0, description="torch threads of this training process; 0: torch's default "
                               "(all cores, which oversubscribes a machine that runs anything else)")
    device: str = Field("cpu", description="torch device for the model, data, samplers and losses: cpu, cuda, cuda:N")

    @model_validator(mode="after")
    def _regression_goes_with_mse(self) -> "TrainConfig":
        if (self.loss.kind == "mse") != isinstance(self.inference, RegressionConfig):
            raise ValueError("loss.kind 'mse' (an explicit policy) goes with inference.kind 'regression', and only with it")
        return self

    @property
    def explicit(self) -> bool:
        """An explicit regression policy rather than an energy model (``sampler`` is then unused)."""
        return self.loss.kind == "mse"

    def updated(self, **changes) -> "TrainConfig":
        """A validated copy with top-level fields replaced (``model_copy`` would skip validation); ``ValueError``
        naming each bad field on one line."""
        try:
            return type(self).model_validate(self.model_dump() | changes)
        except ValidationError as err:
            raise ValueError(f"invalid config: {describe_validation_error(err)}") from None

    def with_settings(self, settings: list[str]) -> "TrainConfig":
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
            if keys[-1] == "kind":  # a new union member keeps only the fields it has
                member = _union_member(keys, value)
                for key in [k for k in node if member is not None and k not in member.model_fields]:
                    del node[key]
        try:
            return type(self).model_validate(data)
        except ValidationError as err:
            raise ValueError(f"invalid settings {settings}: {describe_validation_error(err)}") from err

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike, complete: bool = False) -> "TrainConfig":
        """A config file; ``complete=True`` (the CLI's ``--config``) refuses one that leaves top-level fields
        out, which would otherwise train built-in defaults nobody chose."""
        path = Path(path)
        try:
            values = json.loads(path.read_text())
            missing = [name for name in cls.model_fields if complete and isinstance(values, dict) and name not in values]
            if missing:
                raise ValueError(f"config file {path} lacks {', '.join(missing)}; start from a full config: "
                                 "implicit-policy config --preset NAME > FILE")
            return cls.model_validate(values)
        except FileNotFoundError as err:
            raise ValueError(f"config file not found: {path}") from err
        except json.JSONDecodeError as err:
            raise ValueError(f"config file {path} is not valid JSON: {err}") from err
        except ValidationError as err:
            raise ValueError(f"invalid config {path}: {describe_validation_error(err)}") from err


def _union_member(keys: list[str], kind: object) -> type[BaseModel] | None:
    """The config class of ``kind`` in the union at ``keys[:-1]`` (e.g. ``sampler``), if there is one."""
    unions = {"sampler": SamplerConfig, "inference": InferenceConfig}  # the unions themselves, not copies
    union = unions.get(".".join(keys[:-1]))
    members = get_args(get_args(union)[0]) if union is not None else ()
    return next((m for m in members if m.model_fields["kind"].default == kind), None)


def describe_validation_error(err: ValidationError) -> str:
    """One line per bad field: ``field.path: message (got value)``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in err.errors()
    )
