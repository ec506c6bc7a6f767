"""``ImplicitPolicy``: raw observation in, argmin-energy action out, for one observation or a batch."""

from __future__ import annotations

import os

import numpy as np
import torch

from .checkpoint import CheckpointError, CheckpointHeader, NormalizerStats, read_checkpoint, write_checkpoint
from .config import InferenceConfig, LangevinConfig
from .energy import EnergyNet
from .normalize import Normalizer
from .runtime import ControlLoopPolicy
from .samplers import build_sampler


class ImplicitPolicy(ControlLoopPolicy):
    """An energy net, its normaliser and an optimiser over actions (DFO or Langevin), in torch.

    ``act`` normalises the observation, finds ``argmin_a E(obs, a)``, maps it back to raw units and clips it
    to the env's action box. Noise comes from a numpy generator seeded with ``seed`` (shared with
    ``OnnxPolicy``, so both give the same actions for the same seed). Langevin uses the energy net's
    explicit action gradient, as the exported graph does.
    """

    def __init__(self, header: CheckpointHeader, energy: EnergyNet, device: str | torch.device = "cpu",
                 seed: int = 0, inference: InferenceConfig | None = None) -> None:
        self.header = header if inference is None else header.model_copy(update={"inference": inference})
        self.device = torch.device(device)
        self.energy = energy.to(self.device).eval()
        self.torch_normalizer = Normalizer(**header.normalizer.model_dump()).to(self.device)
        self.optimizer = build_sampler(self.header.inference, header.action_size, self.torch_normalizer.action_bound)
        self.obs_size, self.action_size = header.obs_size, header.action_size
        self.inference = self.header.inference.model_dump()
        self.normalizer = header.normalizer.model_dump()
        self.action_low = np.asarray(header.action_low, dtype=np.float32)
        self.action_high = np.asarray(header.action_high, dtype=np.float32)
        super().__init__(seed)

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0,
             inference: InferenceConfig | None = None) -> "ImplicitPolicy":
        """Load a checkpoint folder, or a run folder's best-validated checkpoint (its newest if it never
        validated); never unpickles."""
        _, header, weights = read_checkpoint(path)
        energy = EnergyNet(header.obs_size, header.action_size, header.energy)
        try:
            energy.load_state_dict(weights, strict=True)
        except RuntimeError as err:
            raise CheckpointError(f"weights in {path} do not match the recorded sizes: {err}") from err
        return cls(header, energy, device, seed, inference)

    def save(self, path: str | os.PathLike) -> None:
        """Write a checkpoint folder (config.json + model.safetensors) atomically."""
        write_checkpoint(path, self.header, self.energy.state_dict())

    def normalized_argmin(self, obs: torch.Tensor, noise: dict[str, torch.Tensor]) -> torch.Tensor:
        """``argmin`` in normalised units: ``obs (B, O) -> (B, A)``; the exported graph runs this too."""
        if isinstance(self.header.inference, LangevinConfig):
            gradient = lambda o, y: self.energy.energy_and_action_gradient(o, y)[1]  # noqa: E731
            return self.optimizer.infer(self.energy, obs, noise, gradient=gradient)
        return self.optimizer.infer(self.energy, obs, noise)

    @torch.no_grad()
    def argmin(self, obs: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        obs_t = self.torch_normalizer.normalize_obs(torch.as_tensor(obs, device=self.device))
        noise_t = {k: torch.as_tensor(v, device=self.device) for k, v in noise.items()}
        return self.torch_normalizer.denormalize_actions(self.normalized_argmin(obs_t, noise_t)).cpu().numpy()


def normalizer_stats(normalizer: Normalizer) -> NormalizerStats:
    return NormalizerStats(**normalizer.state())


def load_policy(path: str | os.PathLike, device: str | torch.device = "cpu", seed: int = 0) -> ImplicitPolicy:
    """The policy a checkpoint or run folder holds."""
    return ImplicitPolicy.load(path, device=device, seed=seed)
