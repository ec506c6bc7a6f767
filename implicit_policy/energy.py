"""The energy network E(obs, action) -> scalar; lower energy means a better action."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import EnergyNetConfig


def mlp_layers(sizes: list[int], config: EnergyNetConfig) -> nn.ModuleList:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with the seed paper's N(0, ``init_std``) weights and
    biases, spectral norm on the hidden-to-hidden layers if configured. Shared by the energy net and the
    explicit baseline's regression net, so both are built alike."""
    layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:]))
    for layer in layers:
        nn.init.normal_(layer.weight, std=config.init_std)
        nn.init.normal_(layer.bias, std=config.init_std)
    if config.spectral_norm:
        for i in range(1, len(layers) - 1):
            layers[i] = spectral_norm(layers[i])
    return layers


def hidden_dropout(config: EnergyNetConfig) -> nn.Module:
    return nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()


class EnergyNet(nn.Module):
    """MLP over concat(obs, action): ``obs (B, O) x actions (B, M, A) -> energies (B, M)``.

    The first layer's product is split into its observation and action parts, so the observation part is
    computed once per row instead of once per candidate: the same function, M times less work on obs.
    """

    def __init__(self, obs_size: int, action_size: int, config: EnergyNetConfig = EnergyNetConfig()) -> None:
        super().__init__()
        self.obs_size, self.action_size, self.config = obs_size, action_size, config
        self.layers = mlp_layers([obs_size + action_size] + [config.hidden_size] * config.hidden_layers + [1], config)
        self.dropout = hidden_dropout(config)

    def _first_layer(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        first = self.layers[0]
        w_obs, w_act = first.weight[:, : self.obs_size], first.weight[:, self.obs_size :]
        return (obs @ w_obs.T + first.bias).unsqueeze(1) + actions @ w_act.T  # (B, M, H)

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        h = self._first_layer(obs, actions)
        for layer in self.layers[1:]:
            h = layer(self.dropout(torch.relu(h)))
        return h.squeeze(-1)

    def energy_and_action_gradient(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies ``(B, M)`` and ``dE/d actions (B, M, A)`` by the ReLU MLP's explicit backward pass.

        Written out (no autograd) so that Langevin inference exports to ONNX; evaluation mode only
        (dropout off). Checked against autograd by the tests.
        """
        pre = [self._first_layer(obs, actions)]
        for layer in self.layers[1:]:
            pre.append(layer(torch.relu(pre[-1])))
        grad = self.layers[-1].weight.squeeze(0)  # dE/dz of the last hidden layer, (H,)
        for i in range(len(self.layers) - 2, -1, -1):
            grad = grad * (pre[i] > 0).to(pre[i].dtype)  # through the ReLU, (B, M, H)
            weight = self.layers[i].weight
            grad = grad @ (weight[:, self.obs_size :] if i == 0 else weight)
        return pre[-1].squeeze(-1), grad
