"""The ``mse`` kind: a regression net from the observation window to the action, trained by squared error.
The explicit baseline every implicit recipe is measured against."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

import torch
from torch import nn

from implicit_policy.kinds.base import Parts, PolicyConfig, StatelessObjective, register_policy_kind
from implicit_policy.models.energy import NetConfig
from implicit_policy.models.losses import mse_loss
from implicit_policy.models.regression import build_regression_net


@register_policy_kind
class MSEPolicyConfig(PolicyConfig):
    """A regression net (``net``: MLP or pre-activation ResNet, sized like an energy net) acting by its output."""

    kind: Literal["mse"] = "mse"
    net: NetConfig = NetConfig()
    legacy_paths: ClassVar[dict[str, str]] = {"energy": "net"}

    def build_model(self, obs_size: int, action_size: int) -> nn.Module:
        return build_regression_net(obs_size, action_size, self.net)

    def objective(self, model: nn.Module, action_size: int, bound: float, device: torch.device) -> MSEObjective:
        return MSEObjective()

    def actor(self, model: nn.Module, action_size: int, bound: float) -> Callable[..., torch.Tensor]:
        return lambda obs, noise: model(obs)


class MSEObjective(StatelessObjective):
    def loss(
        self,
        model: nn.Module,
        obs: torch.Tensor,
        positives: torch.Tensor,
        generator: torch.Generator,
        keep: torch.Tensor | None = None,
    ) -> tuple[Parts, dict[str, float]]:
        mse = mse_loss(model(obs), positives, keep)
        return {"mse": mse, "loss": mse}, {}
