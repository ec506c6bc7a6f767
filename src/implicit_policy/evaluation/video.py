"""Rollout videos: the policy acting in the env, rendered with ``render_mode="rgb_array"`` (MuJoCo envs
offscreen, with EGL when there is no display) and written as MP4 by imageio with ffmpeg (optional extra
``pip install "implicit-policy[video]"``).

Each frame carries a caption bar along its top edge: green while the env reports ``is_success``, red
otherwise, so a clip shows when the task was done; in a folder of clips, each file's name also says how the
episode ended. A policy that sees through cameras has what it saw inset in the lower-right corner (each
camera's frame, enlarged by whole pixels, side by side), so a clip shows the scene and the policy's view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from implicit_policy.atomic import atomic_open
from implicit_policy.evaluation.evaluate import takes_parts
from implicit_policy.evaluation.rollout import EnvKwargs, make_env
from implicit_policy.extras import require

CAPTION_ROWS = 6
"""Height in pixels of the success bar at the top of each frame."""


@dataclass(frozen=True)
class Clip:
    """One episode: its frames ``(T, H, W, 3)`` uint8, seed, success at its end, and the env's frame rate
    (its ``metadata["render_fps"]``, else 30)."""

    frames: np.ndarray
    seed: int
    success: bool
    fps: float


def require_video() -> Any:
    require("imageio_ffmpeg", "rollout videos")
    return require("imageio.v3", "rollout videos")


def _make_rendered_env(env_id: str, env_kwargs: EnvKwargs, parts: bool) -> gym.Env:
    """The env, rendering; ``Dict`` observations flattened unless the policy takes its ``parts`` by name."""
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen MuJoCo on a headless machine (before its import)
    env = make_env(env_id, env_kwargs, render_mode="rgb_array")
    flatten = isinstance(env.observation_space, gym.spaces.Dict) and not parts
    return gym.wrappers.FlattenObservation(env) if flatten else env


def _captioned(frame: np.ndarray, success: bool) -> np.ndarray:
    frame = np.array(frame, dtype=np.uint8, copy=True)
    frame[:CAPTION_ROWS] = (40, 170, 60) if success else (200, 50, 40)
    return frame


def _with_cameras(frame: np.ndarray, views: list[np.ndarray]) -> np.ndarray:
    """``frame (H, W, 3)`` with the camera ``views`` (each ``(h, w, C)`` uint8) inset in its lower-right corner,
    each enlarged by the largest whole factor that keeps the insets within a third of the frame's height."""
    if not views:
        return frame
    height, width = frame.shape[:2]
    scale = max(1, height // (3 * max(v.shape[0] for v in views)))
    right = width - 4
    for view in reversed(views):
        big = np.repeat(np.repeat(view, scale, axis=0), scale, axis=1)
        big = np.broadcast_to(big, (*big.shape[:2], 3)) if big.shape[2] == 1 else big[..., :3]
        h, w = big.shape[:2]
        if right - w - 2 < 0:
            break
        frame[height - h - 6 : height - 2, right - w - 2 : right + 2] = 80  # a border
        frame[height - h - 4 : height - 4, right - w : right] = big
        right -= w + 8
    return frame


def record_episodes(policy: Any, env_id: str, episodes: int, seed: int, env_kwargs: EnvKwargs = None) -> list[Clip]:
    """Run ``policy`` (``act``/``reset``) on the episodes seeded ``seed .. seed + episodes - 1``, one at a time,
    rendering every step. ``ValueError`` if the env cannot render (naming it)."""
    clips = []
    parts = takes_parts(policy)
    cameras = [part.name for part in policy.input_spec.images] if parts else []
    env = _make_rendered_env(env_id, env_kwargs, parts)
    fps = float(env.metadata.get("render_fps") or 30)
    try:
        for k in range(episodes):
            obs, info = env.reset(seed=seed + k)
            policy.reset()
            success = bool(info.get("is_success", False))
            frames = []
            done = False
            while True:
                try:
                    frame = env.render()
                except Exception as err:  # no OpenGL, no EGL: say so in one line
                    raise ValueError(f"{env_id} cannot render frames here ({type(err).__name__}: {err})") from None
                if frame is None:
                    raise ValueError(f"{env_id} renders no rgb_array frames")
                frames.append(_with_cameras(_captioned(np.asarray(frame), success), [obs[c] for c in cameras]))
                if done:
                    break
                obs, _, terminated, truncated, info = env.step(
                    policy.act(obs if parts else np.asarray(obs, np.float32))
                )
                success = bool(info.get("is_success", False))
                done = terminated or truncated
            clips.append(Clip(np.stack(frames), seed + k, success, fps))
    finally:
        env.close()
    return clips


def write_video(frames: np.ndarray, path: str | os.PathLike, fps: float) -> Path:
    """Write frames ``(T, H, W, 3)`` uint8 as an MP4 file atomically."""
    encoded = require_video().imwrite("<bytes>", frames, extension=".mp4", plugin="FFMPEG", fps=fps, macro_block_size=1)
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        handle.write(encoded)
    return path


def record_videos(
    policy: Any,
    env_id: str,
    episodes: int,
    seed: int,
    file: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    env_kwargs: EnvKwargs = None,
) -> list[Path]:
    """Record ``episodes`` episodes: all in one ``file``, or one file each in ``folder`` named
    ``seed_S_success.mp4`` / ``seed_S_failure.mp4``. The written paths."""
    require_video()
    clips = record_episodes(policy, env_id, episodes, seed, env_kwargs)
    if file is not None:
        return [write_video(np.concatenate([c.frames for c in clips]), file, clips[0].fps)]
    out = Path(folder or ".")
    out.mkdir(parents=True, exist_ok=True)
    return [
        write_video(c.frames, out / f"seed_{c.seed}_{'success' if c.success else 'failure'}.mp4", c.fps) for c in clips
    ]
