"""Min-max normalisation of observations and actions to [-1, 1], fitted on demonstrations."""

from __future__ import annotations

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from implicit_policy.runtime.control_loop import action_bound


class NormalizerStats(BaseModel):
    """The normaliser's statistics as a checkpoint records them (raw units)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    obs_min: list[float]
    obs_max: list[float]
    action_min: list[float]
    action_max: list[float]
    margin: float


class Normalizer(nn.Module):
    """Maps raw observations and actions to [-1, 1] per dimension and back.

    Actions are sampled and clipped in the normalised box widened by ``margin`` of its range (2) on each
    side: with margin 0.05, ``[-1.1, 1.1]``. A dimension that never varies in the
    demonstrations gets a range of 1 around its value, so it maps to 0 instead of dividing by zero.
    """

    def __init__(self, obs_min, obs_max, action_min, action_max, margin: float = 0.05) -> None:
        super().__init__()
        for name, value in (
            ("obs_min", obs_min),
            ("obs_max", obs_max),
            ("action_min", action_min),
            ("action_max", action_max),
        ):
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float32)))
        self.margin = margin

    @classmethod
    def fit(
        cls, observations: np.ndarray, actions: np.ndarray, margin: float = 0.05, observation_scaling: str = "min_max"
    ) -> Normalizer:
        """Statistics of ``observations (T, O)`` and ``actions (T, A)``. ``observation_scaling="standard"``
        maps mean -/+ one standard deviation to -/+1 (standardisation), stored as the same two bounds, so
        the policy, its checkpoint and the exported graph need nothing new."""
        if observation_scaling == "standard":
            mean, std = observations.mean(0, dtype=np.float64), observations.std(0, dtype=np.float64)
            obs_low, obs_high = mean - std, mean + std
        else:
            obs_low, obs_high = observations.min(0), observations.max(0)
        return cls(obs_low, obs_high, actions.min(0), actions.max(0), margin)

    def stats(self) -> NormalizerStats:
        """The statistics as a checkpoint records them."""
        return NormalizerStats(**self.state())

    def state(self) -> dict[str, list[float] | float]:
        """JSON-ready statistics, the inverse of ``Normalizer(**state)``."""
        return {name: getattr(self, name).tolist() for name in ("obs_min", "obs_max", "action_min", "action_max")} | {
            "margin": self.margin
        }

    @property
    def action_bound(self) -> float:
        """Half-width of the widened normalised action box: 1.1 for a 5 % margin."""
        return action_bound(self.state())

    def _scale(self, low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        span = high - low
        span = torch.where(span > 1e-8, span, torch.ones_like(span))
        return (high + low) / 2, span / 2

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        centre, half = self._scale(self.obs_min, self.obs_max)
        return (obs - centre) / half

    def normalize_actions(self, actions: torch.Tensor) -> torch.Tensor:
        centre, half = self._scale(self.action_min, self.action_max)
        return (actions - centre) / half

    def denormalize_actions(self, actions: torch.Tensor) -> torch.Tensor:
        centre, half = self._scale(self.action_min, self.action_max)
        return actions * half + centre
