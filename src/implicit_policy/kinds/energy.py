"""The energy model: ``E(obs window, action)`` trained by a contrastive loss against negatives from a
sampler, acting by an optimiser over actions (DFO, Langevin, proposal-and-refine, or a user's own)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Annotated, Any, ClassVar, Literal, cast

import torch
from pydantic import BeforeValidator, SerializeAsAny
from torch import nn

from implicit_policy.kinds.base import Parts, PolicyConfig, register_policy_kind
from implicit_policy.models.energy import EnergyModel, EnergyNetConfig, EnergyWithProposal, build_energy_net
from implicit_policy.models.losses import LossConfig, total_loss
from implicit_policy.optimizers import (
    METHODS,
    ActionOptimizer,
    DensitySampler,
    LearnedSampler,
    MethodConfig,
    build_sampler,
    method,
)
from implicit_policy.optimizers.langevin import LangevinConfig
from implicit_policy.registry import validate_as


def method_config_class(kind: object, role: Literal["negatives", "acts"]) -> type[MethodConfig]:
    """The config class of the method ``kind`` for ``role`` (training negatives, or acting), looked up in
    the registry when a config is validated, so methods registered at any time are accepted."""
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
        return validate_as(method_config_class(kind, role), value)

    return validate


SamplerConfig = Annotated[SerializeAsAny[MethodConfig], BeforeValidator(_method_config("negatives"))]
"""Training negatives: any registered method that makes them, chosen by ``kind`` (DFO only acts; its
negatives are ``uniform``)."""
InferenceConfig = Annotated[SerializeAsAny[MethodConfig], BeforeValidator(_method_config("acts"))]
"""How an energy model acts: any registered method that acts; each names the noise its argmin takes
(``noise_inputs``), the one contract that torch, the exported graph and ``OnnxPolicy`` share."""

METHOD_ROLES: dict[str, Literal["negatives", "acts"]] = {"sampler": "negatives", "inference": "acts"}
"""The fields of this kind that are unions of registered methods, switched by setting their ``kind``."""


@register_policy_kind
class EnergyPolicyConfig(PolicyConfig):
    """An energy net (``energy``, with an optional learned proposal), its training negatives (``sampler``),
    its contrastive loss (``loss``) and its argmin (``inference``)."""

    kind: Literal["energy"] = "energy"
    energy: EnergyNetConfig = EnergyNetConfig()
    sampler: SamplerConfig = LangevinConfig()
    inference: InferenceConfig = LangevinConfig(noise_scale=0.01, num_samples=512)
    loss: LossConfig = LossConfig()
    legacy_paths: ClassVar[dict[str, str]] = {k: k for k in ("energy", "sampler", "inference", "loss")}

    @property
    def acting(self) -> MethodConfig:
        return self.inference

    def build_model(self, obs_size: int, action_size: int) -> nn.Module:
        return build_energy_net(obs_size, action_size, self.energy)

    def objective(self, model: nn.Module, action_size: int, bound: float, device: torch.device) -> EnergyObjective:
        return EnergyObjective(self, action_size, bound, device)

    def actor(self, model: nn.Module, action_size: int, bound: float) -> Callable[..., torch.Tensor]:
        optimizer = cast(ActionOptimizer, build_sampler(self.inference, action_size, bound))  # it acts: validated
        energy = cast(EnergyModel, model)

        def act(obs: torch.Tensor, noise: dict[str, torch.Tensor]) -> torch.Tensor:
            with trunk_once(energy, obs):
                return optimizer.infer(energy, obs, noise, lambda o, a: energy.energy_and_action_gradient(o, a)[1])

        return act


def trunk_once(model: nn.Module, obs: torch.Tensor) -> AbstractContextManager[None]:
    """One pass of a learned proposal's trunk over ``obs`` for everything inside (nothing to share without one)."""
    return model.proposal.trunk_once(obs) if isinstance(model, EnergyWithProposal) else nullcontext()


class EnergyObjective:
    """The configured contrastive loss of the energy against the sampler's negatives (with the learned
    proposal's likelihood when the net has one); a learned sampler trains after each step."""

    def __init__(self, config: EnergyPolicyConfig, action_size: int, bound: float, device: torch.device) -> None:
        self.config = config
        self.sampler = build_sampler(config.sampler, action_size, bound)
        if isinstance(self.sampler, LearnedSampler):
            self.sampler.to(device)

    def loss(
        self,
        model: nn.Module,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
        keep: torch.Tensor | None = None,
    ) -> tuple[Parts, dict[str, float]]:
        """With ``keep``, every negative takes the positive's values where the target is padding, so the energy
        cannot tell them apart there: those values leave the contrast (and the proposal's likelihood)."""
        with trunk_once(model, obs):
            return self._loss(model, obs, positives, generator, keep)

    def _loss(
        self,
        model: nn.Module,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
        keep: torch.Tensor | None,
    ) -> tuple[Parts, dict[str, float]]:
        log_q = None
        if isinstance(self.sampler, DensitySampler):
            if self.config.loss.proposal_correction:  # ranking NCE: the one loss that reads the density
                negatives, log_q_positive, log_q_negative = self.sampler.sample_with_density(
                    model, obs, positives, generator
                )
                log_q = (log_q_positive, log_q_negative)
            else:
                negatives = self.sampler.negatives_around(model, obs, positives, generator)
        else:
            negatives = self.sampler.sample(model, obs, generator)
        if keep is not None:
            negatives = torch.where(keep.unsqueeze(1) > 0, negatives, positives.unsqueeze(1))
        proposal_density = proposal_error = None
        if isinstance(model, EnergyWithProposal):
            proposal_density, proposal_error = model.proposal.fit_terms(obs, positives, keep)
        energies = model(obs, torch.cat([positives.unsqueeze(1), negatives], dim=1))
        positive, negative = energies[:, 0], energies[:, 1:]
        parts = total_loss(
            self.config.loss,
            model,
            obs,
            positive,
            negative,
            negatives,
            positives,
            log_q,
            proposal_density,
            proposal_error,
        )
        # The share of rows whose demonstrated action has the lowest energy among its candidates: moves while
        # InfoNCE sits near log(1 + M) against hard negatives.
        top1 = (positive.unsqueeze(1) < negative).all(dim=1).float().mean().item()
        return parts, {
            "positive_top1": top1,
            "positive_energy": positive.mean().item(),
            "negative_energy": negative.mean().item(),
            "negative_distance": (negatives - positives.unsqueeze(1)).norm(dim=-1).mean().item(),
        }

    def after_step(self, positives: torch.Tensor) -> dict[str, float]:
        return self.sampler.update(positives) if isinstance(self.sampler, LearnedSampler) else {}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return self.sampler.state_tensors() if isinstance(self.sampler, LearnedSampler) else {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        if isinstance(self.sampler, LearnedSampler):
            self.sampler.load_state_tensors(tensors)
