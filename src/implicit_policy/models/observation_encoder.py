"""Observations with image parts as one feature vector per observation, which every policy kind's net takes.

Each camera (an image part of the input spec) has its own encoder (:mod:`implicit_policy.models.vision`),
shared by the frames of the observation window; its features join the normalised vector parts, step by
step, and the window's steps are flattened oldest first. The energy model therefore encodes each
observation once, whatever the number of candidate actions it scores.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from implicit_policy.models.vision import Crop, VisionConfig, build_vision_encoder
from implicit_policy.runtime.input_spec import ObservationPart, flat_slices


class CameraEncoder(nn.Module):
    """One camera's frames ``(B, n, H, W, C)`` (uint8, or float 0..255) to features ``(B, n, F)``: scaled to
    [0, 1], resized (``resize``), cropped (:class:`~implicit_policy.models.vision.Crop`), encoded frame by frame."""

    def __init__(self, part: ObservationPart, config: VisionConfig) -> None:
        super().__init__()
        height, width, channels = part.shape
        self.size = (config.resize, max(1, round(width * config.resize / height))) if config.resize else None
        self.crop = Crop(*(self.size or (height, width)), config.crop)
        self.encoder = build_vision_encoder(config, channels)
        self.feature_size: int = int(self.encoder.feature_size)

    def forward(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, n = frames.shape[:2]
        x = frames.permute(0, 1, 4, 2, 3).flatten(0, 1).float() / 255.0  # (B * n, C, H, W)
        if self.size is not None:
            x = F.interpolate(x, size=self.size, mode="bilinear", align_corners=False)
        x = self.crop(x.unflatten(0, (b, n)), generator)
        return self.encoder(x.flatten(0, 1)).unflatten(0, (b, n))


class ObservationEncoder(nn.Module):
    """Flat raw windows ``(B, n, O)`` (the parts in spec order, frames flattened) or their pieces to the net's
    input ``(B, n * V + f * F)``, oldest step first: each step's vector parts (normalised by the caller), and
    for the window's last ``f`` steps (``vision.frames``; 0: all ``n``) each camera's features beside them."""

    def __init__(self, parts: tuple[ObservationPart, ...], config: VisionConfig, n_obs_steps: int) -> None:
        super().__init__()
        self.parts = parts
        cameras = {part.name: CameraEncoder(part, config) for part in parts if part.image}
        self.cameras = nn.ModuleDict(cameras)
        self.vector_size = sum(part.size for part in parts if not part.image)
        self.frames = min(config.frames or n_obs_steps, n_obs_steps)
        camera_features = sum(camera.feature_size for camera in cameras.values())
        self.output_size = n_obs_steps * self.vector_size + self.frames * camera_features
        self.slices = flat_slices(parts)

    def split(self, window: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Flat windows ``(B, n, O)`` to the vector parts ``(B, n, V)`` and frames ``{name: (B, n, H, W, C)}``."""
        vectors, frames = [], {}
        for part, where in self.slices:
            values = window[..., where]
            if part.image:
                frames[part.name] = values.unflatten(-1, part.shape)
            else:
                vectors.append(values)
        empty = window[..., :0]
        return (torch.cat(vectors, dim=-1) if vectors else empty), frames

    def forward(
        self, vectors: torch.Tensor, frames: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Normalised vector parts ``(B, n, V)`` and raw frames ``{name: (B, n, H, W, C)}`` to the net's input."""
        k = vectors.shape[1] - self.frames  # the steps whose frames are not encoded
        seen = [camera(frames[name][:, k:], generator) for name, camera in self.cameras.items()]  # (B, n - k, F)
        return torch.cat([vectors[:, :k].flatten(1), torch.cat([vectors[:, k:], *seen], dim=-1).flatten(1)], dim=-1)


class EncodedPolicyNet(nn.Module):
    """A policy kind's net behind an :class:`ObservationEncoder`: what a policy with image parts trains,
    checkpoints (``encoder.*`` and ``net.*`` weights) and exports."""

    def __init__(self, encoder: ObservationEncoder, net: nn.Module) -> None:
        super().__init__()
        self.encoder, self.net = encoder, net


def kind_net(model: nn.Module) -> nn.Module:
    """The policy kind's own net in ``model``: behind the encoder of an :class:`EncodedPolicyNet`, else itself."""
    return model.net if isinstance(model, EncodedPolicyNet) else model
