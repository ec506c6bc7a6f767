"""``PushTPixels-v0``: gym-pusht's Push-T seen through its 96 x 96 camera, as Diffusion Policy's image
Push-T: a policy trained on the demonstrations' frames and agent position (``zarr:pusht_cchi_v7_replay.zarr
--obs-keys img,agent_pos=state[:2]``) is evaluated with no glue code (``pip install "implicit-policy[pusht]"``).

The task, start states, reward, success and episode are :mod:`implicit_policy_envs.pusht_keypoints`'s; only
the observation differs.

| | |
|---|---|
| Observation | ``Dict``: ``img`` ``Box(0, 255, (96, 96, 3), uint8)``, the rendered scene as the data's ``img`` frames; ``agent_pos`` ``Box(0, 512, (2,))``, the agent's position in pixels (the data's ``state[:2]``) |
| Action | ``Box(0, 512, (2,))``: the agent's target position in pixels |
| Start state | ``reset(options={"pose": state})`` places the agent and block at a recorded state; ``reset(seed=s)`` Diffusion Policy's start state for ``s`` (test seeds 100000-100049) |
| Reward, success, episode | as ``PushTKeypoints-v0``: ``clip(coverage / 0.95, 0, 1)``, coverage > 0.95, 300 steps |

gym-pusht names the frame ``pixels``; this env names it ``img``, as the demonstrations do, so the policy's
parts and the env's are the same names.

Version history:

- v0: initial version.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gym_pusht.envs.pusht import PushTEnv
from gymnasium import spaces

from .pusht_keypoints import diffusion_policy_reset

ENV_ID = "PushTPixels-v0"
FRAME_SIZE = 96


class PushTPixelsEnv(PushTEnv):
    """gym-pusht's Push-T with ``{"img", "agent_pos"}`` observations and Diffusion Policy's seeded start states."""

    def __init__(self, render_mode: str = "rgb_array", **kwargs: Any) -> None:
        super().__init__(
            obs_type="pixels_agent_pos",
            render_mode=render_mode,
            observation_width=FRAME_SIZE,
            observation_height=FRAME_SIZE,
            **kwargs,
        )
        self.observation_space = spaces.Dict(
            {
                "agent_pos": spaces.Box(low=0.0, high=512.0, shape=(2,), dtype=np.float32),
                "img": spaces.Box(low=0, high=255, shape=(FRAME_SIZE, FRAME_SIZE, 3), dtype=np.uint8),
            }
        )

    def pixel_observation(self) -> dict[str, np.ndarray]:
        """The observation of the current state: the frame and the agent's position."""
        observed = self.get_obs()
        return {"agent_pos": np.asarray(observed["agent_pos"], np.float32), "img": observed["pixels"]}

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[dict, dict]:
        """As ``PushTKeypoints-v0``'s reset: ``options["pose"]`` or Diffusion Policy's start state for ``seed``."""
        info = diffusion_policy_reset(self, seed, options)
        return self.pixel_observation(), info

    def step(self, action: np.ndarray) -> tuple[dict, float, bool, bool, dict]:
        _, reward, terminated, truncated, info = super().step(np.asarray(action, dtype=np.float64))
        return self.pixel_observation(), float(reward), terminated, truncated, info
