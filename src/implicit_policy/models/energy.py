"""The energy network E(obs, action) -> scalar; lower energy means a better action."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from implicit_policy.frozen_config import FrozenConfig
from implicit_policy.models.proposal import (
    MDNConfig,
    MixtureDensityNet,
    gaussian_mixture_log_density,
    gaussian_mixture_log_density_and_gradient,
)


class NetConfig(FrozenConfig):
    """An MLP or pre-activation ResNet trunk; defaults are Ta et al.'s MLP (appendix D). The energy net and
    the explicit kinds' regression nets are built from it alike.

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


class EnergyNetConfig(NetConfig):
    """The network over concat(obs, action) (:class:`NetConfig`) and an optional learned proposal beside it.

    ``head_size`` set: the observation is encoded once per row by an MLP (``hidden_size`` x ``hidden_layers``)
    and each candidate action is scored by a light head over concat(features, action) (``head_size`` x
    ``head_layers``), so a candidate costs the head alone: many negatives, or long action chunks, stay cheap.
    """

    head_size: int | None = Field(None, ge=1, description="width of the per-candidate head; None: one MLP over both")
    head_layers: int = Field(2, ge=1, description="hidden layers of the per-candidate head (with head_size)")

    proposal: MDNConfig | None = Field(
        None, description="a learned proposal q(y|x) trained beside the energy (models/proposal.py); None: none"
    )
    head_on_proposal: bool = Field(
        False,
        description="with head_size and proposal: the per-candidate head reads the proposal's trunk features, "
        "one observation encoder for both (hidden_size and hidden_layers then unused)",
    )
    head_detached: bool = Field(
        False,
        description="with head_on_proposal: the head reads the trunk's features detached, so the contrastive loss "
        "trains the head alone and the proposal's likelihood alone trains the trunk (and a camera's encoder): "
        "the energy is a pure residual on a proposal trained as the mdn kind is",
    )
    proposal_prior: float = Field(
        0.0,
        ge=0,
        description="weight w of the proposal as a prior inside the energy, E = E_net - w log q(y|x) (needs "
        "proposal): the net learns a correction to the proposal's density, and an untrained net ranks "
        "candidates as the proposal does",
    )


EnergyFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``obs (B, O) x actions (B, M, A) -> energies (B, M)``: an energy net or any function of that shape."""

GradientFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``obs (B, O) x actions (B, M, A) -> dE/d actions (B, M, A)``."""


def mlp_layers(sizes: list[int], config: NetConfig) -> nn.ModuleList:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with Ta et al.'s N(0, ``init_std``) weights and
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


def hidden_dropout(config: NetConfig) -> nn.Module:
    return nn.Dropout(config.dropout) if config.dropout > 0 else nn.Identity()


def split_first_layer(layer: nn.Linear, obs_size: int, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``layer(concat(obs (B, O), actions (B, M, A)))`` as ``(B, M, H)``, with the observation part computed once
    per row instead of once per candidate: the same function, M times less work on obs."""
    w_obs, w_act = layer.weight[:, :obs_size], layer.weight[:, obs_size:]
    return (obs @ w_obs.T + layer.bias).unsqueeze(1) + actions @ w_act.T


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
        return split_first_layer(self.layers[0], self.obs_size, obs, actions)  # (B, M, H)

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


class ResidualBlock(nn.Module):
    """Pre-activation residual block ``x + W2 relu(W1 relu(x))`` of width ``hidden_size`` (dropout after each
    activation); weights initialised like the MLP's."""

    def __init__(self, config: NetConfig) -> None:
        super().__init__()
        self.inner, self.outer = mlp_layers(
            [config.hidden_size] * 3, config.model_copy(update={"spectral_norm": False})
        )
        if config.spectral_norm:
            self.inner, self.outer = spectral_norm(self.inner), spectral_norm(self.outer)
        self.dropout = hidden_dropout(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.outer(self.dropout(torch.relu(self.inner(self.dropout(torch.relu(x))))))


class ResNetEnergyNet(nn.Module):
    """Implicit BC's ``ResNetPreActivation`` energy net: ``obs (B, O) x actions (B, M, A) -> energies (B, M)``.

    A linear projection of concat(obs, action) to ``hidden_size`` (split as the MLP's first layer), then
    ``residual_blocks`` :class:`ResidualBlock`, then a linear output to one energy.
    """

    def __init__(self, obs_size: int, action_size: int, config: EnergyNetConfig) -> None:
        super().__init__()
        self.obs_size, self.action_size, self.config = obs_size, action_size, config
        self.projection, self.output = mlp_layers([obs_size + action_size, config.hidden_size, 1], config)
        self.blocks = nn.ModuleList(ResidualBlock(config) for _ in range(config.residual_blocks))

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        h = split_first_layer(self.projection, self.obs_size, obs, actions)
        for block in self.blocks:
            h = block(h)
        return self.output(h).squeeze(-1)

    def energy_and_action_gradient(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies ``(B, M)`` and ``dE/d actions (B, M, A)`` by an explicit backward pass (evaluation mode),
        as :meth:`EnergyNet.energy_and_action_gradient`: each block passes the gradient straight through
        its skip connection plus back through its two ReLU layers."""
        h = split_first_layer(self.projection, self.obs_size, obs, actions)
        saved = []
        for block in self.blocks:
            inner = block.inner(torch.relu(h))
            saved.append((h, inner))
            h = h + block.outer(torch.relu(inner))
        grad = self.output.weight.squeeze(0)  # dE/dh after the last block, (H,)
        for block, (h_in, inner) in zip(reversed(self.blocks), reversed(saved)):
            through = (grad @ block.outer.weight) * (inner > 0).to(inner.dtype)
            grad = grad + (through @ block.inner.weight) * (h_in > 0).to(h_in.dtype)
        return self.output(h).squeeze(-1), grad @ self.projection.weight[:, self.obs_size :]


class EncoderHeadEnergyNet(nn.Module):
    """``obs (B, O) x actions (B, M, A) -> energies (B, M)``: an MLP encodes each observation once (``hidden_size``
    x ``hidden_layers``, ReLU), and an :class:`EnergyNet` head of width ``head_size`` scores each candidate
    against the features; its explicit gradient is the head's."""

    def __init__(self, obs_size: int, action_size: int, config: EnergyNetConfig) -> None:
        super().__init__()
        assert config.head_size is not None
        self.obs_size, self.action_size, self.config = obs_size, action_size, config
        self.encoder = mlp_layers([obs_size] + [config.hidden_size] * config.hidden_layers, config)
        head = config.model_copy(update={"hidden_size": config.head_size, "hidden_layers": config.head_layers})
        self.head = EnergyNet(config.hidden_size, action_size, head)
        self.dropout = hidden_dropout(config)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The observation's features ``(B, hidden_size)``, computed once per row."""
        h = obs
        for layer in self.encoder:
            h = self.dropout(torch.relu(layer(h)))
        return h

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(obs), actions)

    def energy_and_action_gradient(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head.energy_and_action_gradient(self.features(obs), actions)


class EnergyWithProposal(nn.Module):
    """An energy net and a learned proposal over the same observations, saved, loaded and exported as one
    model; ``proposal`` is there for the samplers and inference methods that draw candidates from it. Its
    energy is the net's, minus ``prior_weight`` times the proposal's log-density (``energy.proposal_prior``), a
    residual energy: with the proposal trained by likelihood alone, the net learns what the proposal gets
    wrong. With ``head_on_proposal`` the net is a head over the proposal's trunk features, not the observation."""

    def __init__(
        self,
        energy: EnergyNet | ResNetEnergyNet | EncoderHeadEnergyNet,
        proposal: MixtureDensityNet,
        prior_weight: float = 0.0,
        head_on_proposal: bool = False,
        head_detached: bool = False,
    ) -> None:
        super().__init__()
        self.energy, self.proposal, self.prior_weight = energy, proposal, prior_weight
        self.head_on_proposal, self.head_detached = head_on_proposal, head_detached

    def _net_input_and_prior(
        self, obs: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None]:
        """The net's input (the observation, or the proposal's trunk features) and the proposal's mixture held
        fixed inside the energy (None without a prior): the contrastive loss trains the net's correction, the
        proposal's own likelihood trains the proposal (gradients still flow to the actions). The trunk runs once."""
        if not (self.head_on_proposal or self.prior_weight):
            return obs, None
        features = self.proposal.features(obs)
        net_input = (features.detach() if self.head_detached else features) if self.head_on_proposal else obs
        if not self.prior_weight:
            return net_input, None
        logits, means, stds = self.proposal.mixture_of(features)
        return net_input, (logits.detach(), means.detach(), stds.detach())

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        net_input, prior = self._net_input_and_prior(obs)
        energies = self.energy(net_input, actions)
        if prior is None:
            return energies
        return energies - self.prior_weight * gaussian_mixture_log_density(*prior, actions)

    def energy_and_action_gradient(self, obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        net_input, prior = self._net_input_and_prior(obs)
        energies, gradient = self.energy.energy_and_action_gradient(net_input, actions)
        if prior is None:
            return energies, gradient
        log_q, grad_log_q = gaussian_mixture_log_density_and_gradient(*prior, actions)
        return energies - self.prior_weight * log_q, gradient - self.prior_weight * grad_log_q


EnergyModel = EnergyNet | ResNetEnergyNet | EncoderHeadEnergyNet | EnergyWithProposal


def build_energy_net(obs_size: int, action_size: int, config: EnergyNetConfig = EnergyNetConfig()) -> EnergyModel:
    """The energy network ``config.kind`` names (an encoder and a light head with ``config.head_size``), with its
    learned proposal when ``config.proposal`` is set."""
    net: EnergyNet | ResNetEnergyNet | EncoderHeadEnergyNet
    if config.head_size is not None:
        net = EncoderHeadEnergyNet(obs_size, action_size, config)
    else:
        net = (ResNetEnergyNet if config.kind == "resnet" else EnergyNet)(obs_size, action_size, config)
    if config.proposal is None:
        if config.proposal_prior or config.head_on_proposal:
            raise ValueError(
                "energy.proposal_prior and energy.head_on_proposal need a learned proposal: set energy.proposal"
            )
        return net
    proposal = MixtureDensityNet(obs_size, action_size, config.proposal)
    if config.head_on_proposal:
        if config.head_size is None:
            raise ValueError("energy.head_on_proposal needs a head: set energy.head_size")
        head = config.model_copy(update={"hidden_size": config.head_size, "hidden_layers": config.head_layers})
        net = EnergyNet(config.proposal.hidden_size, action_size, head)
    return EnergyWithProposal(net, proposal, config.proposal_prior, config.head_on_proposal, config.head_detached)
