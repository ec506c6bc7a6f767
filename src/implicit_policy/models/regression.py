"""The explicit baseline's networks: a regression ``obs (B, O) -> action (B, A)`` in normalised units, built
like the energy net (same config: MLP or pre-activation ResNet, init, dropout), so that the two policy kinds
differ only in what the network outputs."""

from __future__ import annotations

import torch
from torch import nn

from implicit_policy.models.energy import NetConfig, ResidualBlock, hidden_dropout, mlp_layers


class RegressionNet(nn.Module):
    """MLP ``obs (B, O) -> action (B, A)`` in normalised units, sized and initialised like the energy net."""

    def __init__(self, obs_size: int, action_size: int, config: NetConfig = NetConfig()) -> None:
        super().__init__()
        self.layers = mlp_layers([obs_size] + [config.hidden_size] * config.hidden_layers + [action_size], config)
        self.dropout = hidden_dropout(config)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.layers[0](obs)
        for layer in self.layers[1:]:
            h = layer(self.dropout(torch.relu(h)))
        return h


class ResNetRegressionNet(nn.Module):
    """``obs (B, O) -> action (B, A)`` through the energy net's pre-activation residual trunk (``kind="resnet"``)."""

    def __init__(self, obs_size: int, action_size: int, config: NetConfig) -> None:
        super().__init__()
        self.projection, self.output = mlp_layers([obs_size, config.hidden_size, action_size], config)
        self.blocks = nn.ModuleList(ResidualBlock(config) for _ in range(config.residual_blocks))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        h = self.projection(obs)
        for block in self.blocks:
            h = block(h)
        return self.output(h)


def build_regression_net(obs_size: int, action_size: int, config: NetConfig = NetConfig()) -> nn.Module:
    """The ``mse`` kind's network, of the ``config.kind`` an energy net would be."""
    return (ResNetRegressionNet if config.kind == "resnet" else RegressionNet)(obs_size, action_size, config)
