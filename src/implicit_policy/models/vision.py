"""Vision encoders: one per camera, frames in, a feature vector per frame out, trained end to end by the policy
kind's loss (diffusion_policy's ``model/vision`` and robomimic's observation encoders are the model).

An encoder is a registered module, chosen by name in :class:`VisionConfig` (``--set vision.encoder=NAME``):

- ``conv``: a small conv net (four 3 x 3 layers, two of them strided, ``channels`` and ``2 * channels`` wide)
  with spatial-softmax keypoints; about 11 M multiply-adds for an 84 x 84 frame at 16 channels, so it trains
  on one CPU thread.
- ``resnet18``: ResNet-18 with GroupNorm in place of BatchNorm and spatial softmax in place of the global
  pooling (Diffusion Policy's vision encoder), trained from scratch: a GPU recipe.

Both end in :class:`SpatialSoftmax`: each of ``keypoints`` feature maps becomes the expected ``(x, y)`` of
its softmax, so a frame gives ``2 * keypoints`` features that say *where* things are, which is what a
pushing or reaching policy needs. Frames are cropped by :class:`Crop` before the encoder (random crops while
training, the centre crop when acting and in the exported graph).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from pydantic import Field
from torch import nn

from implicit_policy.frozen_config import FrozenConfig


class VisionConfig(FrozenConfig):
    """How image parts are encoded: the encoder (a registered name), its width, the keypoints of its spatial
    softmax and the crop. One encoder per camera, shared by the frames of an observation window."""

    encoder: str = Field("conv", description="a registered vision encoder: conv (CPU), resnet18 (GPU)")
    channels: int = Field(16, ge=1, description="conv: width of the first two layers (the last two have twice it)")
    keypoints: int = Field(32, ge=1, description="spatial-softmax keypoints: 2 x this many features per frame")
    crop: float = Field(
        0.875, gt=0, le=1, description="side of the crop as a share of the frame's (84 of 96), random while training"
    )
    resize: int = Field(
        0,
        ge=0,
        description="frames scaled (bilinear) to this height, width in proportion, before the crop; 0: as stored",
    )
    frames: int = Field(
        0, ge=0, description="the last this many frames of the observation window are encoded; 0: every frame"
    )
    norm: Literal["none", "group"] = Field("group", description="conv: GroupNorm after each conv layer, or none")


VISION_ENCODERS: dict[str, Callable[[VisionConfig, int], nn.Module]] = {}
"""Vision encoder builders by name: ``(config, in_channels) -> module (N, C, H, W) float -> (N, F)`` whose
``feature_size`` is ``F``."""


def register_vision_encoder(name: str) -> Callable[[Callable[[VisionConfig, int], nn.Module]], Callable]:
    """Decorator that registers a builder ``(VisionConfig, in_channels) -> module`` as ``vision.encoder=name``."""

    def register(builder: Callable[[VisionConfig, int], nn.Module]) -> Callable[[VisionConfig, int], nn.Module]:
        if name in VISION_ENCODERS and VISION_ENCODERS[name] is not builder:
            raise ValueError(f"vision encoder {name!r} is registered twice")
        VISION_ENCODERS[name] = builder
        return builder

    return register


def build_vision_encoder(config: VisionConfig, in_channels: int) -> nn.Module:
    """The registered encoder ``config.encoder``; ``ValueError`` naming the registered ones otherwise."""
    if config.encoder not in VISION_ENCODERS:
        raise ValueError(
            f"no vision encoder {config.encoder!r} is registered (registered: {', '.join(sorted(VISION_ENCODERS))})"
        )
    return VISION_ENCODERS[config.encoder](config, in_channels)


class SpatialSoftmax(nn.Module):
    """Feature maps ``(N, C, H, W)`` to keypoints ``(N, 2 K)``: a 1 x 1 conv to ``K`` maps, then each map's
    expected ``(x, y)`` in [-1, 1] under its softmax (Levine et al. 2016), with a learned temperature."""

    def __init__(self, in_channels: int, keypoints: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, keypoints, kernel_size=1)
        self.log_temperature = nn.Parameter(torch.zeros(()))
        self.feature_size = 2 * keypoints

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        maps = self.project(maps)
        n, k, h, w = maps.shape
        weights = torch.softmax(maps.flatten(2) / self.log_temperature.exp(), dim=-1)  # (N, K, H * W)
        ys = torch.linspace(-1.0, 1.0, h, device=maps.device, dtype=maps.dtype)
        xs = torch.linspace(-1.0, 1.0, w, device=maps.device, dtype=maps.dtype)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack([grid_x.reshape(-1), grid_y.reshape(-1)], dim=-1)  # (H * W, 2)
        return (weights @ grid).flatten(1)  # (N, K * 2)


@register_vision_encoder("conv")
class ConvEncoder(nn.Sequential):
    """Four 3 x 3 conv layers (strides 2, 1, 2, 1; ``c, c, 2c, 2c`` channels, ReLU; with ``norm="group"`` a
    GroupNorm of 8-channel groups before each ReLU) and spatial softmax. Without the norm, PyTorch's default
    initialisation shrinks the maps layer by layer until the softmax is all but uniform: the keypoints barely
    move with the image at first (their spread over Push-T frames is 1e-4 of the frame at initialisation,
    2e-3 with the norm)."""

    def __init__(self, config: VisionConfig, in_channels: int) -> None:
        c = config.channels
        layers: list[nn.Module] = []
        for cin, cout, stride in ((in_channels, c, 2), (c, c, 1), (c, 2 * c, 2), (2 * c, 2 * c, 1)):
            layers.append(nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1))
            if config.norm == "group":
                layers.append(nn.GroupNorm(max(1, cout // 8), cout))
            layers.append(nn.ReLU())
        softmax = SpatialSoftmax(2 * c, config.keypoints)
        super().__init__(*layers, softmax)
        self.feature_size = softmax.feature_size


class _BasicBlock(nn.Module):
    """ResNet's basic block with GroupNorm (16 channels a group, as Diffusion Policy replaces BatchNorm)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.norm1 = nn.GroupNorm(cout // 16, cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.norm2 = nn.GroupNorm(cout // 16, cout)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.GroupNorm(cout // 16, cout))
            if stride != 1 or cin != cout
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(self.conv1(x)))
        return torch.relu(self.norm2(self.conv2(out)) + self.shortcut(x))


@register_vision_encoder("resnet18")
class ResNet18Encoder(nn.Sequential):
    """ResNet-18 (stem, four stages of two basic blocks, 64-512 channels) with GroupNorm, its global pooling
    replaced by spatial softmax: Diffusion Policy's image encoder, from scratch."""

    def __init__(self, config: VisionConfig, in_channels: int) -> None:
        stem = [nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.GroupNorm(4, 64), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
        blocks: list[nn.Module] = []
        cin = 64
        for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            blocks += [_BasicBlock(cin, cout, stride), _BasicBlock(cout, cout, 1)]
            cin = cout
        softmax = SpatialSoftmax(512, config.keypoints)
        super().__init__(*stem, *blocks, softmax)
        self.feature_size = softmax.feature_size


class Crop(nn.Module):
    """Frames ``(B, n, C, H, W)`` cropped to ``(B, n, C, h, w)``: while training at a random place per row
    (the same for a row's ``n`` frames, so the window shows no false motion), else in the centre."""

    def __init__(self, height: int, width: int, share: float) -> None:
        super().__init__()
        self.height, self.width = height, width
        self.h, self.w = max(1, round(height * share)), max(1, round(width * share))

    def forward(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if (self.h, self.w) == (self.height, self.width):
            return frames
        if not self.training:
            top, left = (self.height - self.h) // 2, (self.width - self.w) // 2
            return frames[..., top : top + self.h, left : left + self.w]
        b = len(frames)
        tops = torch.randint(self.height - self.h + 1, (b,), generator=generator, device=frames.device).tolist()
        lefts = torch.randint(self.width - self.w + 1, (b,), generator=generator, device=frames.device).tolist()
        return torch.stack([f[..., t : t + self.h, x : x + self.w] for f, t, x in zip(frames, tops, lefts)])
