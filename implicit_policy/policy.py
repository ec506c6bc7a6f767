"""``ImplicitPolicy``: raw observation in, argmin-energy action out, for one observation or a batch."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import torch

from .checkpoint import CheckpointError, CheckpointHeader, NormalizerStats, read_checkpoint, write_checkpoint
from .config import InferenceConfig
from .energy import EnergyNet
from .normalize import Normalizer
from .onnx_policy import validate_observations
from .samplers import build_sampler


class ImplicitPolicy:
    """An energy net, its normaliser and an optimiser over actions.

    ``act`` normalises the observation, finds ``argmin_a E(obs, a)`` with the inference optimiser (DFO or
    Langevin), maps it back to raw units and clips it to the env's action box.
    """

    def __init__(self, header: CheckpointHeader, energy: EnergyNet, device: str | torch.device = "cpu",
                 seed: int = 0, inference: InferenceConfig | None = None) -> None:
        self.header = header if inference is None else header.model_copy(update={"inference": inference})
        self.device = torch.device(device)
        self.energy = energy.to(self.device).eval()
        self.normalizer = Normalizer(**header.normalizer.model_dump()).to(self.device)
        self.optimizer = build_sampler(self.header.inference, header.action_size, self.normalizer.action_bound)
        self.action_low = np.asarray(header.action_low, dtype=np.float32)
        self.action_high = np.asarray(header.action_high, dtype=np.float32)
        self.seed = seed
        self.generator = torch.Generator(self.device).manual_seed(seed)

    @property
    def obs_size(self) -> int:
        return self.header.obs_size

    @property
    def action_size(self) -> int:
        return self.header.action_size

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0,
             inference: InferenceConfig | None = None) -> "ImplicitPolicy":
        """Load a checkpoint folder or a run folder's newest checkpoint (never unpickles)."""
        _, header, weights = read_checkpoint(path)
        energy = EnergyNet(header.obs_size, header.action_size, header.energy)
        try:
            energy.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"weights in {path} do not match the recorded sizes: {err}") from err
        return cls(header, energy, device, seed, inference)

    def save(self, path: str | os.PathLike) -> None:
        write_checkpoint(path, self.header, self.energy.state_dict())

    def reset(self) -> None:
        """Start a new episode."""

    @torch.no_grad()
    def act(self, obs: Any) -> np.ndarray:
        """Actions for ``obs (O,) -> (A,)`` or ``(B, O) -> (B, A)``, float32, inside the action box."""
        batch, single = validate_observations(obs, self.obs_size)
        obs_t = self.normalizer.normalize_obs(torch.as_tensor(batch, device=self.device))
        best = self.optimizer.infer(self.energy, obs_t, self.generator)
        actions = self.normalizer.denormalize_actions(best).cpu().numpy()
        actions = np.clip(actions, self.action_low, self.action_high).astype(np.float32)
        return actions[0] if single else actions


def normalizer_stats(normalizer: Normalizer) -> NormalizerStats:
    return NormalizerStats(**normalizer.state())
