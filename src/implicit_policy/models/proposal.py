"""A learned conditional proposal ``q(y | x)``: a mixture density network (MDN) over normalised actions.

It is trained by maximum likelihood on the demonstrations beside the energy net. It serves three ways:
as training negatives whose density is known (so ranking NCE can correct for it), as the start of
inference (candidates refined on the energy), and alone as an explicit baseline (the most probable
component's mean, preset ``mdn``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from implicit_policy.frozen_config import FrozenConfig


class MDNConfig(FrozenConfig):
    """A mixture of ``components`` diagonal Gaussians, from an MLP of ``hidden_layers`` x ``hidden_size``;
    standard deviations are at least ``min_std`` (normalised units), so the density stays finite."""

    components: int = Field(4, ge=1)
    hidden_size: int = Field(256, ge=1)
    hidden_layers: int = Field(2, ge=1)
    min_std: float = Field(1e-3, gt=0)
    mean_assignment: Literal["responsibility", "nearest"] = Field(
        "responsibility",
        description="which component means the mean error moves: each by its responsibility p(k | y), or only "
        "the one nearest the demonstrated action (winner-takes-all, as multiple-choice learning)",
    )


def component_log_joint(
    logits: torch.Tensor,
    means: torch.Tensor,
    stds: torch.Tensor,
    actions: torch.Tensor,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log pi_k + log N(y; mu_k, diag sigma_k^2)`` for each candidate and component, with ``pi =
    softmax(logits)``; with ``keep (B, A)`` (1 or 0 per dimension) over the kept dimensions only (the marginal,
    as the Gaussians are diagonal). ``logits (B, K)``, ``means``/``stds (B, K, A)``, ``actions (B, M, A)`` ->
    ``(B, M, K)``."""
    weight = torch.ones_like(means[:, 0]) if keep is None else keep  # (B, A)
    squared = ((actions.unsqueeze(2) - means.unsqueeze(1)) / stds.unsqueeze(1)).square()  # (B, M, K, A)
    mahalanobis = (squared * weight[:, None, None, :]).sum(-1) if keep is not None else squared.sum(-1)
    log_normaliser = (torch.log(stds) * weight.unsqueeze(1)).sum(-1) + 0.5 * math.log(2 * math.pi) * weight.sum(
        -1, True
    )
    return torch.log_softmax(logits, dim=-1).unsqueeze(1) - 0.5 * mahalanobis - log_normaliser.unsqueeze(1)


def gaussian_mixture_log_density(
    logits: torch.Tensor,
    means: torch.Tensor,
    stds: torch.Tensor,
    actions: torch.Tensor,
    keep: torch.Tensor | None = None,
) -> torch.Tensor:
    """``log sum_k pi_k N(y; mu_k, diag sigma_k^2)`` (:func:`component_log_joint`, summed over components)
    ``(B, M)``."""
    return torch.logsumexp(component_log_joint(logits, means, stds, actions, keep), dim=-1)


def gaussian_mixture_log_density_and_gradient(
    logits: torch.Tensor, means: torch.Tensor, stds: torch.Tensor, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``log q(y)`` ``(B, M)`` and ``d log q(y) / dy = sum_k p(k | y) (mu_k - y) / sigma_k^2`` ``(B, M, A)`` at
    ``actions (B, M, A)``, from one :func:`component_log_joint`: the gradient written out (no autograd) so that
    refinement on an energy with the proposal as its prior exports to ONNX."""
    joint = component_log_joint(logits, means, stds, actions)  # (B, M, K)
    responsibilities = torch.softmax(joint, dim=-1)
    pull = (means.unsqueeze(1) - actions.unsqueeze(2)) / stds.unsqueeze(1).square()  # (B, M, K, A)
    return torch.logsumexp(joint, dim=-1), (responsibilities.unsqueeze(-1) * pull).sum(2)


def component_mean_error(
    logits: torch.Tensor,
    means: torch.Tensor,
    stds: torch.Tensor,
    actions: torch.Tensor,
    keep: torch.Tensor | None = None,
    assignment: Literal["responsibility", "nearest"] = "responsibility",
) -> torch.Tensor:
    """``sum_k r_k |y - mu_k|^2 / A`` per example ``(B,)``, with the responsibilities ``r_k = p(k | y)`` held
    fixed: each component's mean regressed on the data it explains, every example weighed alike. Likelihood
    alone weighs errors by ``1 / sigma^2``, so where the data are hard to fit a component can widen instead of
    moving its mean there (Seitzer et al., 2022, on heteroscedastic likelihoods); this term moves it.
    ``assignment="nearest"``: only the nearest mean's error, ``min_k |y - mu_k|^2 / A`` (winner-takes-all), so
    each mean becomes one mode's regression whatever the widths say. ``logits (B, K)``, ``means``/``stds (B, K,
    A)``, ``actions (B, A)``; ``keep (B, A)``: only those dimensions."""
    weight = torch.ones_like(actions) if keep is None else keep
    squared = ((actions.unsqueeze(1) - means).square() * weight.unsqueeze(1)).sum(-1) / weight.sum(-1, keepdim=True)
    if assignment == "nearest":
        return squared.min(dim=-1).values
    log_joint = component_log_joint(logits, means, stds, actions.unsqueeze(1), keep)[:, 0]  # (B, K)
    responsibilities = torch.softmax(log_joint, dim=-1).detach()
    return (responsibilities * squared).sum(-1)


def mixture_components(logits: torch.Tensor, uniform: torch.Tensor) -> torch.Tensor:
    """The component ``(B, M)`` each ``uniform (B, M)`` picks, by the inverse of the mixture weights' cumulative
    sum (``logits (B, K)``)."""
    cumulative = torch.cumsum(torch.softmax(logits, dim=-1), dim=-1)  # (B, K)
    component = (uniform.unsqueeze(-1) > cumulative.unsqueeze(1)).sum(-1)
    return torch.clamp(component, max=logits.shape[-1] - 1)


def sample_gaussian_mixture(
    logits: torch.Tensor, means: torch.Tensor, stds: torch.Tensor, uniform: torch.Tensor, normal: torch.Tensor
) -> torch.Tensor:
    """Samples ``(B, M, A)`` of the mixture from given noise: ``uniform (B, M)`` picks each sample's
    component (:func:`mixture_components`), ``normal (B, M, A)`` places it. Noise
    in, so the exported graph and torch draw the same samples."""
    index = mixture_components(logits, uniform).unsqueeze(-1).expand(-1, -1, means.shape[-1])
    return torch.gather(means, 1, index) + torch.gather(stds, 1, index) * normal


def most_probable_mean(logits: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """The mean ``(B, 1, A)`` of each row's most probable component (``logits (B, K)``, ``means (B, K, A)``): the
    mixture's mode as the explicit policy acts on it; ``gather`` keeps the batch axis symbolic for export."""
    best = logits.argmax(dim=-1, keepdim=True).unsqueeze(-1).expand(-1, 1, means.shape[-1])
    return torch.gather(means, 1, best)


class MixtureDensityNet(nn.Module):
    """``obs (B, O) -> (logits (B, K), means (B, K, A), stds (B, K, A))``; ``forward`` gives the most
    probable component's mean ``(B, A)``, the explicit policy's action."""

    def __init__(self, obs_size: int, action_size: int, config: MDNConfig = MDNConfig()) -> None:
        super().__init__()
        self.config, self.action_size = config, action_size
        sizes = [obs_size] + [config.hidden_size] * config.hidden_layers
        self.trunk = nn.Sequential(*(m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), nn.ReLU())))
        k = config.components
        self.head = nn.Linear(config.hidden_size, k * (1 + 2 * action_size))
        self._shared: tuple[torch.Tensor, torch.Tensor] | None = None

    @contextmanager
    def trunk_once(self, obs: torch.Tensor) -> Iterator[None]:
        """Inside, every use of the trunk on this ``obs`` tensor reads one forward pass, made on entry (with
        gradients if they are on there): a training step's negatives, likelihood and energies, or a decision's
        refinement steps, share it instead of running the trunk once each."""
        outer, self._shared = self._shared, (obs, self.trunk(obs))
        try:
            yield
        finally:
            self._shared = outer

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        """The trunk's features ``(B, hidden_size)`` of ``obs (B, O)`` (the shared pass inside :meth:`trunk_once`)."""
        if self._shared is not None and self._shared[0] is obs:
            return self._shared[1]
        return self.trunk(obs)

    def mixture(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mixture's parameters for each observation."""
        return self.mixture_of(self.features(obs))

    def mixture_of(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The mixture's parameters from the trunk's ``features (B, hidden_size)`` (for a model that reads them
        too: the trunk runs once)."""
        k, a = self.config.components, self.action_size
        out = self.head(features)
        logits = out[:, :k]
        means = out[:, k : k + k * a].reshape(-1, k, a)
        stds = torch.nn.functional.softplus(out[:, k + k * a :].reshape(-1, k, a)) + self.config.min_std
        return logits, means, stds

    def log_density(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """``log q(actions (B, M, A) | obs (B, O)) -> (B, M)``."""
        return gaussian_mixture_log_density(*self.mixture(obs), actions)

    def fit_terms(
        self, obs: torch.Tensor, actions: torch.Tensor, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """What training minimises, from one forward pass: the log-density of the demonstrated ``actions
        (B, A)`` ``(B,)`` and :func:`component_mean_error` ``(B,)``, over the ``keep (B, A)`` dimensions."""
        mixture = self.mixture(obs)
        return gaussian_mixture_log_density(*mixture, actions.unsqueeze(1), keep)[:, 0], component_mean_error(
            *mixture, actions, keep, self.config.mean_assignment
        )

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        logits, means, _ = self.mixture(obs)
        return most_probable_mean(logits, means).squeeze(1)
