"""The ``mdn`` kind: a mixture density net over actions, trained by likelihood, acting with the most probable
component's mean. The explicit multimodal baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import torch
from pydantic import Field
from torch import nn

from implicit_policy.kinds.base import Parts, PolicyConfig, StatelessObjective, register_policy_kind
from implicit_policy.models.losses import negative_log_likelihood, proposal_mean_term
from implicit_policy.models.proposal import MDNConfig, MixtureDensityNet


@register_policy_kind
class MDNPolicyConfig(PolicyConfig):
    """A mixture density net (``mdn``); ``mean_weight`` adds its components' mean squared error to the
    likelihood (likelihood alone leaves the means imprecise where the data are hard to fit)."""

    kind: Literal["mdn"] = "mdn"
    mdn: MDNConfig = MDNConfig(components=4, hidden_size=256)
    mean_weight: float = Field(0.0, ge=0, description="times the squared error of the components' means")
    legacy_paths: ClassVar[dict[str, str]] = {"energy.proposal": "mdn", "loss.proposal_mean_weight": "mean_weight"}

    def build_model(self, obs_size: int, action_size: int) -> nn.Module:
        return MixtureDensityNet(obs_size, action_size, self.mdn)

    def objective(self, model: nn.Module, action_size: int, bound: float, device: torch.device) -> MDNObjective:
        return MDNObjective(self.mean_weight)

    def actor(self, model: nn.Module, action_size: int, bound: float) -> Callable[..., torch.Tensor]:
        return lambda obs, noise: model(obs)


class MDNObjective(StatelessObjective):
    def __init__(self, mean_weight: float) -> None:
        self.mean_weight = mean_weight

    def loss(
        self,
        model: nn.Module,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
        keep: torch.Tensor | None = None,
    ) -> tuple[Parts, dict[str, float]]:
        assert isinstance(model, MixtureDensityNet)  # what build_model made
        log_density, mean_error = model.fit_terms(obs, positives, keep)
        parts = {"mdn": negative_log_likelihood(log_density), **proposal_mean_term(self.mean_weight, mean_error)}
        return parts | {"loss": torch.stack(list(parts.values())).sum()}, {}
