"""``PushTKeypoints-v0``: gym-pusht's Push-T with Diffusion Policy's low-dimensional observation, so a policy
trained on the Push-T demonstrations' keypoints (``zarr:pusht_cchi_v7_replay.zarr --obs-keys
keypoint,state[:2]``) is evaluated with no glue code (``pip install "implicit-policy[pusht]"``).

Push a T-shaped block onto a fixed target with a circular agent (pymunk physics, 10 Hz control, the
agent driven to the commanded position by a PD controller): gym-pusht's ``PushTEnv``, unchanged but for
the observation and the way a seed draws the start state.

| | |
|---|---|
| Observation | ``Box(-inf, inf, (20,))``: the block's 9 keypoints ``x, y`` (18, pixels), then the agent's position (2): Diffusion Policy's ``keypoint`` then ``state[:2]``. The keypoints are :data:`KEYPOINTS` (block frame) moved by the block's pose |
| Action | ``Box(0, 512, (2,))``: the agent's target position in pixels |
| Start state | ``reset(options={"pose": state})`` places the agent and block at a recorded state; ``reset(seed=s)`` draws the agent and block position and the block angle with ``numpy.random.RandomState(s)`` as Diffusion Policy's ``PushTEnv`` does (gym-pusht 0.1.5 did the same; 0.1.6 on draws differently), so seeds 100000-100049 are its published test episodes |
| Reward | ``clip(coverage / 0.95, 0, 1)``, coverage the share of the target the block covers |
| Success | ``info["is_success"]``: coverage > 0.95 (the episode then terminates) |
| Episode | 300 steps (``max_episode_steps``), as Diffusion Policy's evaluation |
| Score | Diffusion Policy's: the mean over episodes of the highest per-step reward (``eval`` reports it as ``mean_max_reward``) |

Version history:

- v0: initial version.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gym_pusht.envs.pusht import PushTEnv
from gymnasium import spaces

ENV_ID = "PushTKeypoints-v0"
EPISODE_STEPS = 300
KEYPOINTS = np.array(
    [
        [9.27, 90.04],
        [-60.98, -1.19],
        [60.91, -1.39],
        [-0.27, 25.54],
        [-14.06, 122.82],
        [39.0, 32.86],
        [-39.97, 32.73],
        [-16.82, 62.86],
        [23.54, -1.7],
    ]
)
"""The 9 keypoints of Diffusion Policy's Push-T data in the block's frame (pixels), read off its
``data/keypoint`` and ``data/state`` arrays by least squares (mean residual 0.003 px over 25,650 steps)."""


def keypoints(block_x: float, block_y: float, block_angle: float) -> np.ndarray:
    """The 9 keypoints ``(9, 2)`` in pixels of a block at ``(x, y)`` turned by ``angle`` radians."""
    c, s = np.cos(block_angle), np.sin(block_angle)
    rotation = np.array([[c, -s], [s, c]])
    return KEYPOINTS @ rotation.T + np.array([block_x, block_y])


def diffusion_policy_start(seed: int) -> np.ndarray:
    """The start state ``(5,)`` (agent x, y, block x, y, angle) Diffusion Policy's ``PushTEnv`` draws for ``seed``."""
    rs = np.random.RandomState(seed=seed)
    return np.array(
        [
            rs.randint(50, 450),
            rs.randint(50, 450),
            rs.randint(100, 400),
            rs.randint(100, 400),
            rs.randn() * 2 * np.pi - np.pi,
        ]
    )


def diffusion_policy_reset(env: PushTEnv, seed: int | None, options: dict | None) -> dict:
    """Reset gym-pusht's ``env`` as the module docstring says (``options["pose"]``, or Diffusion Policy's start
    state for ``seed``); the reset info."""
    options = dict(options or {})
    pose = options.pop("pose", None)
    if seed is not None and options.get("reset_to_state") is None:
        options["reset_to_state"] = diffusion_policy_start(seed)
    _, info = PushTEnv.reset(env, seed=seed, options=options or None)
    if pose is not None:
        env.agent.position = (float(pose[0]), float(pose[1]))
        env.block.angle = float(pose[4])  # the angle first: it turns the block about its centre of mass
        env.block.position = (float(pose[2]), float(pose[3]))
        for body in (env.agent, env.block):  # shapes cache their placement until reindexed: frames would lag
            env.space.reindex_shapes_for_body(body)
    return info


class PushTKeypointsEnv(PushTEnv):
    """gym-pusht's Push-T with the 20-D keypoint observation and Diffusion Policy's seeded start states."""

    def __init__(self, render_mode: str = "rgb_array", **kwargs: Any) -> None:
        super().__init__(obs_type="state", render_mode=render_mode, **kwargs)
        # Unbounded: a keypoint of a block pushed against the wall may lie outside the 512 px window.
        self.observation_space = spaces.Box(low=-np.inf, high=np.inf, shape=(20,), dtype=np.float32)

    def keypoint_observation(self) -> np.ndarray:
        """The 20-D observation of the current state: keypoints (18) then the agent's position (2)."""
        block = keypoints(self.block.position.x, self.block.position.y, self.block.angle)
        return np.concatenate([block.reshape(-1), np.asarray(self.agent.position)]).astype(np.float32)

    def reset(self, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        """``options["pose"]`` (agent x, y, block x, y, angle) places the agent and block exactly there (a state
        recorded in the data); otherwise the start state is Diffusion Policy's for ``seed``, set as its test
        envs set it (``legacy_test``: the position, then the angle about the block's centre of mass)."""
        info = diffusion_policy_reset(self, seed, options)
        return self.keypoint_observation(), info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        _, reward, terminated, truncated, info = super().step(np.asarray(action, dtype=np.float64))
        return self.keypoint_observation(), float(reward), terminated, truncated, info
