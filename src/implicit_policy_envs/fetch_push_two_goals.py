"""``FetchPushTwoGoals-v0``: Gymnasium-Robotics' FetchPush with two goals, either of which counts, so that
demonstrations have two right answers (``pip install "implicit-policy[robotics]"``).

A regression policy averages demonstrations that push to one goal with those that push to the other, and
heads for neither; an implicit policy can pick one and commit. The arm, block, table, action and physics are
``FetchPush-v4``'s own; only the goals differ.

| | |
|---|---|
| Observation | ``Dict``: ``observation`` (25, as ``FetchPush-v4``: gripper position, block position, block minus gripper, fingers, block rotation and velocities, gripper and finger velocities), ``achieved_goal`` (3, the block's position), ``desired_goal`` (6: goal 1's ``x, y, z`` then goal 2's). Flattened in sorted key order (:func:`implicit_policy.evaluation.rollout.make_vector_env`): 34 values, goal 1 at 3:6, goal 2 at 6:9 |
| Action | ``Box(-1, 1, (4,))``: gripper displacement ``dx, dy, dz`` (x 0.05 m per step) and the fingers (-1 closed) |
| Goals | Each drawn as ``FetchPush-v4`` draws its goal (the gripper's start ``x, y`` plus ``U(-0.15, 0.15)`` each, on the table), redrawn until the two are at least 0.15 m apart |
| Reward | ``sparse`` (default): 0 when the block is within 0.05 m of either goal, else -1; ``dense``: minus the distance to the nearer goal |
| Success | ``info["is_success"]``: the block within 0.05 m of **either** goal (judged at the last of the 50 steps) |
| Reset info | ``demonstrator_goal``: 0 or 1, a fair coin drawn from the episode's seed; the scripted demonstrator pushes to that goal, so demonstrations choose 50/50 and are reproducible |
| Render | goal 1 red, goal 2 blue (``render_mode="rgb_array"`` renders offscreen) |

Version history:

- v0: initial version.
"""

from __future__ import annotations

import contextlib
import io
import os

import mujoco
import numpy as np
from gymnasium import spaces

with contextlib.redirect_stderr(io.StringIO()):  # the package's import prints a notice about other envs
    import gymnasium_robotics
    from gymnasium_robotics.envs.fetch.push import MujocoFetchPushEnv

ENV_ID = "FetchPushTwoGoals-v0"
MIN_SEPARATION = 0.15  # metres between the two goals
_ASSETS = os.path.join(os.path.dirname(gymnasium_robotics.__file__), "envs", "assets", "fetch", "push.xml")


class FetchPushTwoGoalsEnv(MujocoFetchPushEnv):
    """FetchPush whose ``desired_goal`` holds two goals; success is the block at either."""

    def __init__(self, reward_type: str = "sparse", **kwargs) -> None:
        self._demonstrator_goal = 0
        super().__init__(reward_type=reward_type, **kwargs)
        goals = spaces.Box(-np.inf, np.inf, shape=(6,), dtype=np.float64)
        parts: dict[str, spaces.Space] = dict(self.observation_space.spaces)  # type: ignore[has-type]
        self.observation_space = spaces.Dict({**parts, "desired_goal": goals})

    def _initialize_simulation(self) -> None:
        """FetchPush's model with a second goal marker, ``target1``, beside its ``target0``."""
        model_spec = mujoco.MjSpec.from_file(_ASSETS)
        model_spec.body("floor0").add_site(
            name="target1", pos=[0, 0, 0.5], size=[0.02] * 3, rgba=[0, 0, 1, 1], type=mujoco.mjtGeom.mjGEOM_SPHERE
        )
        self.model = model_spec.compile()
        self.data = mujoco.MjData(self.model)
        self._model_names = self._utils.MujocoModelNames(self.model)
        self.model.vis.global_.offwidth = self.width
        self.model.vis.global_.offheight = self.height
        self._env_setup(initial_qpos=self.initial_qpos)  # type: ignore[has-type]
        self.initial_time = self.data.time
        self.initial_qpos = np.copy(self.data.qpos)
        self.initial_qvel = np.copy(self.data.qvel)

    def _sample_goal(self) -> np.ndarray:
        """Two goals ``(6,)``, each from FetchPush's goal distribution, at least ``MIN_SEPARATION`` apart;
        then the demonstrator's coin."""
        first = super()._sample_goal()
        second = super()._sample_goal()
        while np.linalg.norm(first[:2] - second[:2]) < MIN_SEPARATION:
            second = super()._sample_goal()
        self._demonstrator_goal = int(self.np_random.integers(2))
        return np.concatenate([first, second])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs, {**info, "demonstrator_goal": self._demonstrator_goal}

    def nearer_goal_distance(self, achieved_goal: np.ndarray, goals: np.ndarray) -> np.ndarray:
        """Distance ``(...)`` from ``achieved_goal (..., 3)`` to the nearer of ``goals (..., 6)``."""
        pair = np.reshape(goals, (*np.shape(goals)[:-1], 2, 3))
        return np.min(np.linalg.norm(pair - np.expand_dims(achieved_goal, -2), axis=-1), axis=-1)

    def compute_reward(self, achieved_goal, goal, info):
        distance = self.nearer_goal_distance(achieved_goal, goal)
        if self.reward_type == "sparse":
            return -(distance > self.distance_threshold).astype(np.float32)
        return -distance

    def _is_success(self, achieved_goal, desired_goal):
        return (self.nearer_goal_distance(achieved_goal, desired_goal) < self.distance_threshold).astype(np.float32)

    def _render_callback(self) -> None:
        """Place both goal markers (the two sites share the floor body, so one offset serves both)."""
        offset = (self.data.site_xpos - self.model.site_pos)[0]
        for index, name in enumerate(("target0", "target1")):
            site = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, name)
            self.model.site_pos[site] = self.goal[3 * index : 3 * index + 3] - offset
        mujoco.mj_forward(self.model, self.data)
