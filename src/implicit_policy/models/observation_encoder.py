"""Observations with image parts as one feature vector per observation, which every policy kind's net takes.

Each camera (an image part of the input spec) has its own encoder (:mod:`implicit_policy.models.vision`),
shared by the frames of the observation window; its features join the normalised vector parts, step by
step, and the window's steps are flattened oldest first. The energy model therefore encodes each
observation once, whatever the number of candidate actions it scores.
"""

from __future__ import annotations

import torch
from torch import nn

from implicit_policy.models.vision import Crop, VisionConfig, build_vision_encoder
from implicit_policy.runtime.input_spec import ObservationPart


class CameraEncoder(nn.Module):
    """One camera's frames ``(B, n, H, W, C)`` (uint8, or float 0..255) to features ``(B, n, F)``: scaled to
    [0, 1], cropped (:class:`~implicit_policy.models.vision.Crop`), encoded frame by frame."""

    def __init__(self, part: ObservationPart, config: VisionConfig) -> None:
        super().__init__()
        height, width, channels = part.shape
        self.crop = Crop(height, width, config.crop)
        self.encoder = build_vision_encoder(config, channels)
        self.feature_size = int(self.encoder.feature_size)

    def forward(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        b, n = frames.shape[:2]
        x = frames.permute(0, 1, 4, 2, 3).float() / 255.0  # (B, n, C, H, W)
        x = self.crop(x, generator)
        return self.encoder(x.flatten(0, 1)).unflatten(0, (b, n))


class ObservationEncoder(nn.Module):
    """Flat raw windows ``(B, n, O)`` (the parts in spec order, frames flattened) or their pieces to the net's
    input ``(B, n * F)``: per step, the vector parts (normalised by the caller) then each camera's features."""

    def __init__(self, parts: tuple[ObservationPart, ...], config: VisionConfig) -> None:
        super().__init__()
        self.parts = parts
        self.cameras = nn.ModuleDict({part.name: CameraEncoder(part, config) for part in parts if part.image})
        self.vector_size = sum(part.size for part in parts if not part.image)
        self.feature_size = self.vector_size + sum(int(camera.feature_size) for camera in self.cameras.values())
        self.offsets: list[tuple[ObservationPart, int]] = []
        offset = 0
        for part in parts:
            self.offsets.append((part, offset))
            offset += part.size

    def split(self, window: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Flat windows ``(B, n, O)`` to the vector parts ``(B, n, V)`` and frames ``{name: (B, n, H, W, C)}``."""
        vectors, frames = [], {}
        for part, offset in self.offsets:
            values = window[..., offset : offset + part.size]
            if part.image:
                frames[part.name] = values.unflatten(-1, part.shape)
            else:
                vectors.append(values)
        empty = window[..., :0]
        return (torch.cat(vectors, dim=-1) if vectors else empty), frames

    def forward(
        self, vectors: torch.Tensor, frames: dict[str, torch.Tensor], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Normalised vector parts ``(B, n, V)`` and raw frames ``{name: (B, n, H, W, C)}`` to ``(B, n * F)``."""
        features = [vectors] + [camera(frames[name], generator) for name, camera in self.cameras.items()]
        return torch.cat(features, dim=-1).flatten(1)


class EncodedPolicyNet(nn.Module):
    """A policy kind's net behind an :class:`ObservationEncoder`: what a policy with image parts trains,
    checkpoints (``encoder.*`` and ``net.*`` weights) and exports."""

    def __init__(self, encoder: ObservationEncoder, net: nn.Module) -> None:
        super().__init__()
        self.encoder, self.net = encoder, net
