"""The N-dimensional particle task of Implicit BC, as a Gymnasium env and a numpy-batched vector env.

A point mass tracks a position set-point through a PD controller. It must reach the first goal, then
the second, and still be at the second when the episode ends. The physics follow Implicit BC
(google-research/ibc, ``environments/particle``); the success check also enforces the goal order,
which IBC's does not.

## Spaces (N = ``n_dim``)

| part | index | meaning | bounds |
|---|---|---|---|
| observation | ``[0, N)`` | agent position | [-1, 2] |
| observation | ``[N, 2N)`` | agent velocity | [-10, 10] |
| observation | ``[2N, 3N)`` | first goal | [0, 1] |
| observation | ``[3N, 4N)`` | second goal | [0, 1] |
| action | ``[0, N)`` | position set-point | [0, 1] |

Both are float32 ``Box`` spaces. The position and velocity bounds are loose envelopes: with set-points in
[0, 1] the damped dynamics stay well inside them (checked by the tests with a pumping controller).
The named parts are also in ``info`` (``agent_position``, ``agent_velocity``, ``first_goal``,
``second_goal``).

## Dynamics
Each step holds the set-point ``a`` for ``substeps`` = 10 Euler sub-steps of ``dt`` = 0.005 s
(20 Hz control): ``u = k_p (a - p) - k_v v`` with k_p = 10, k_v = 5; the position moves with the old
velocity, then the velocity with ``u``. At reset the agent position and both goals are drawn
U(0, 1)^N and the velocity is zero.

## Actions
An action must have shape ``(N,)``, a real numeric dtype and finite values, else ``ValueError``. A finite
value outside [0, 1] is clipped to the action space.

## Success, reward, termination
Distances are Euclidean and checked after every step. A goal is *reached* when the agent is closer than
``goal_distance`` = 0.05 to it. The episode succeeds when the first goal was reached, the second goal was
reached at that step or later, and the agent is still closer than 0.05 to the second goal after the last
step. ``info["is_success"]`` on every step is that test as if the episode ended there.
Reward is 1.0 on the last step of a successful episode and 0.0 otherwise. The episode never terminates;
it is truncated after ``max_episode_steps`` = 50 steps (the env counts them itself, and the registered ids
also carry ``max_episode_steps=50``).

## Multimodal variant
With ``multimodal=True`` each episode also draws (seeded) which goal the demonstrator visits first.
That choice is not in the observation; only the oracle reads it, from ``info["first_goal_index"]``
(0: first goal first, 1: second goal first), so policies learn it from demonstrations alone.
Success accepts either order: it holds if the ordered test above passes for first-then-second or for
second-then-first (so passing near the other goal on the way does not spoil an episode).

## Rendering
``render_mode="rgb_array"`` draws the first two dimensions (N = 1: the line y = 0.5) with numpy alone:
first goal green, second goal blue, agent red, its trail dark red.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector.utils import batch_space
from gymnasium.vector.vector_env import AutoresetMode

K_P = 10.0
K_V = 5.0
DT = 0.005
SUBSTEPS = 10
EPISODE_STEPS = 50
GOAL_DISTANCE = 0.05
POSITION_BOUNDS = (-1.0, 2.0)
VELOCITY_BOUNDS = (-10.0, 10.0)
RENDER_FPS = int(round(1.0 / (DT * SUBSTEPS)))
RENDER_SIZE = 256


def observation_space(n_dim: int) -> spaces.Box:
    """The flat float32 observation space ``[position, velocity, first goal, second goal]``."""
    low = np.concatenate([np.full(n_dim, POSITION_BOUNDS[0]), np.full(n_dim, VELOCITY_BOUNDS[0]), np.zeros(2 * n_dim)])
    high = np.concatenate([np.full(n_dim, POSITION_BOUNDS[1]), np.full(n_dim, VELOCITY_BOUNDS[1]), np.ones(2 * n_dim)])
    return spaces.Box(low=low.astype(np.float32), high=high.astype(np.float32), dtype=np.float32)


def action_space(n_dim: int) -> spaces.Box:
    """Position set-points in the unit box."""
    return spaces.Box(low=0.0, high=1.0, shape=(n_dim,), dtype=np.float32)


def split_observation(obs: np.ndarray, n_dim: int) -> dict[str, np.ndarray]:
    """Named parts of flat observations ``(..., 4N)``: each ``(..., N)``."""
    return {
        "agent_position": obs[..., :n_dim],
        "agent_velocity": obs[..., n_dim : 2 * n_dim],
        "first_goal": obs[..., 2 * n_dim : 3 * n_dim],
        "second_goal": obs[..., 3 * n_dim :],
    }


def validate_actions(actions: Any, shape: tuple[int, ...], space: spaces.Box) -> np.ndarray:
    """Checked, clipped float64 copy of ``actions``; ``ValueError`` names the expected shape."""
    arr = np.asarray(actions)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"action must be a real number array of shape {shape}, got dtype {arr.dtype}")
    if arr.shape != shape:
        raise ValueError(f"action must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"action of shape {shape} contains NaN or inf: {arr}")
    return np.clip(arr.astype(np.float64), space.low, space.high)


def check_settings(n_dim: int, render_mode: str | None) -> None:
    """``ValueError`` for a non-positive ``n_dim`` or an unknown render mode."""
    if not isinstance(n_dim, int) or n_dim < 1:
        raise ValueError(f"n_dim must be a positive int, got {n_dim!r}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")


def pd_step(position: np.ndarray, velocity: np.ndarray, setpoint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One control step of the PD-tracked point mass; all arrays ``(B, N)`` float64."""
    for _ in range(SUBSTEPS):
        force = K_P * (setpoint - position) - K_V * velocity
        position = position + velocity * DT
        velocity = velocity + force * DT
    return position, velocity


class GoalProgress:
    """Per-episode bookkeeping of the goal-order test for ``B`` episodes.

    For each allowed order (goal 0 then 1; and, unless ``ordered``, goal 1 then 0) it records whether
    that order's first goal was reached (``started (B, K)``) and its other goal reached at that step or
    later (``done (B, K)``). Success needs one order fully done and the agent still at its last goal.
    """

    def __init__(self, batch: int, ordered: bool) -> None:
        orders = 1 if ordered else 2
        self.started = np.zeros((batch, orders), dtype=bool)
        self.done = np.zeros((batch, orders), dtype=bool)

    def reset(self, mask: np.ndarray) -> None:
        self.started[mask] = False
        self.done[mask] = False

    def update(self, distances: np.ndarray) -> np.ndarray:
        """Record the goal distances ``(B, 2)`` after a step; return success so far ``(B,)``."""
        near = distances < GOAL_DISTANCE
        orders = self.started.shape[1]
        self.started |= near[:, :orders]
        at_last = near[:, 1::-1][:, :orders]  # order 0 ends at goal 1, order 1 at goal 0
        self.done |= self.started & at_last
        return np.any(self.done & at_last, axis=1)


def goal_distances(position: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Distances ``(B, 2)`` from positions ``(B, N)`` to the two goals ``(B, 2, N)``."""
    return np.sqrt(np.sum((goals - position[:, None, :]) ** 2, axis=-1))


def first_step_at(runs: Any, goal: str) -> np.ndarray:
    """Per episode of ``runs`` (an ``implicit_policy.evaluation.rollout.Rollouts``: ``observations (E, S, 4N)``,
    ``lengths (E,)``), the first step at which the agent was within the goal distance of ``goal``
    (``"first_goal"`` or ``"second_goal"``), or -1 if it never was: ``(E,)``, partial progress where the
    success rate alone reads 0."""
    n_dim = runs.observations.shape[-1] // 4
    parts = split_observation(runs.observations, n_dim)
    near = np.linalg.norm(parts["agent_position"] - parts[goal], axis=-1) < GOAL_DISTANCE
    near &= np.arange(near.shape[1])[None, :] < runs.lengths[:, None]
    return np.where(near.any(axis=1), near.argmax(axis=1), -1)


def draw_episode(rng: np.random.Generator, n_dim: int, multimodal: bool) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw one episode's start: agent position ``(N,)``, goals ``(2, N)``, demonstrator's first goal."""
    points = rng.uniform(0.0, 1.0, size=(3, n_dim))
    first_goal_index = int(rng.integers(2)) if multimodal else 0
    return points[0], points[1:], first_goal_index


def render_frame(goals: np.ndarray, trail: np.ndarray, size: int = RENDER_SIZE) -> np.ndarray:
    """An RGB image ``(size, size, 3)`` uint8 of goals ``(2, N)`` and the agent's trail ``(T, N)``."""
    image = np.full((size, size, 3), 255, dtype=np.uint8)

    def pixel(point: np.ndarray) -> tuple[float, float]:
        xy = point[:2] if len(point) >= 2 else np.array([point[0], 0.5])
        # x to the right, y up; positions in [-0.1, 1.1] fill the frame.
        return ((xy[0] + 0.1) / 1.2 * (size - 1), (1.1 - xy[1]) / 1.2 * (size - 1))

    rows, cols = np.mgrid[0:size, 0:size]

    def disc(point: np.ndarray, radius: float, colour: tuple[int, int, int]) -> None:
        x, y = pixel(point)
        image[(cols - x) ** 2 + (rows - y) ** 2 <= radius**2] = colour

    goal_radius = GOAL_DISTANCE / 1.2 * (size - 1)
    disc(goals[0], goal_radius, (60, 180, 75))
    disc(goals[1], goal_radius, (0, 90, 220))
    for point in trail[:-1]:
        disc(point, 1.5, (140, 20, 20))
    disc(trail[-1], 4.0, (230, 25, 25))
    return image


class ParticleEnv(gym.Env[np.ndarray, np.ndarray]):
    __doc__ = __doc__

    metadata = {"render_modes": ["rgb_array"], "render_fps": RENDER_FPS}

    def __init__(
        self,
        n_dim: int = 2,
        multimodal: bool = False,
        max_episode_steps: int = EPISODE_STEPS,
        render_mode: str | None = None,
    ) -> None:
        check_settings(n_dim, render_mode)
        self.n_dim = n_dim
        self.multimodal = multimodal
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.observation_space = observation_space(n_dim)
        self._box = action_space(n_dim)
        self.action_space = self._box
        self._progress = GoalProgress(1, ordered=not multimodal)
        self._position = np.zeros((1, n_dim))
        self._velocity = np.zeros((1, n_dim))
        self._goals = np.zeros((1, 2, n_dim))
        self._first_goal_index = 0
        self._steps = 0
        self._trail: list[np.ndarray] = []

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        position, goals, self._first_goal_index = draw_episode(self.np_random, self.n_dim, self.multimodal)
        self._position = position[None]
        self._velocity = np.zeros_like(self._position)
        self._goals = goals[None]
        self._steps = 0
        self._progress.reset(np.ones(1, dtype=bool))
        self._trail = [position.copy()]
        distances = goal_distances(self._position, self._goals)[0]
        obs = self._observation()
        return obs, self._info(obs, distances, False)

    def step(self, action: np.ndarray):
        setpoint = validate_actions(action, (self.n_dim,), self._box)
        self._position, self._velocity = pd_step(self._position, self._velocity, setpoint[None])
        self._steps += 1
        self._trail.append(self._position[0].copy())
        distances = goal_distances(self._position, self._goals)
        success = bool(self._progress.update(distances)[0])
        truncated = self._steps >= self.max_episode_steps
        reward = 1.0 if (truncated and success) else 0.0
        obs = self._observation()
        return obs, reward, False, truncated, self._info(obs, distances[0], success)

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        return render_frame(self._goals[0], np.asarray(self._trail))

    def _observation(self) -> np.ndarray:
        parts = (self._position[0], self._velocity[0], self._goals[0, 0], self._goals[0, 1])
        return np.concatenate(parts).astype(np.float32)

    def _info(self, obs: np.ndarray, distances: np.ndarray, success: bool) -> dict[str, Any]:
        return {
            "is_success": success,
            "first_goal_distance": float(distances[0]),
            "second_goal_distance": float(distances[1]),
            "first_goal_index": self._first_goal_index,
            **{k: v.copy() for k, v in split_observation(obs, self.n_dim).items()},
        }


class ParticleVectorEnv(gym.vector.VectorEnv):
    """``num_envs`` particle episodes stepped as one array operation; same episodes as ``ParticleEnv``.

    Seeding follows Gymnasium's sync vector env: ``reset(seed=s)`` gives sub-env ``i`` the seed ``s + i``,
    so episode for episode it matches ``ParticleEnv`` reset with that seed. A sub-env whose episode ended
    is reset on the next ``step`` (``AutoresetMode.NEXT_STEP``), which then ignores its action.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": RENDER_FPS, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        n_dim: int = 2,
        multimodal: bool = False,
        max_episode_steps: int = EPISODE_STEPS,
        render_mode: str | None = None,
    ) -> None:
        check_settings(n_dim, render_mode)
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        self.num_envs = num_envs
        self.n_dim = n_dim
        self.multimodal = multimodal
        self.max_episode_steps = max_episode_steps
        self.render_mode = render_mode
        self.single_observation_space = observation_space(n_dim)
        self._box = action_space(n_dim)
        self.single_action_space = self._box
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rngs = [seeding.np_random(None)[0] for _ in range(num_envs)]
        self._position = np.zeros((num_envs, n_dim))
        self._velocity = np.zeros((num_envs, n_dim))
        self._goals = np.zeros((num_envs, 2, n_dim))
        self._first_goal_index = np.zeros(num_envs, dtype=np.int64)
        self._steps = np.zeros(num_envs, dtype=np.int64)
        self._progress = GoalProgress(num_envs, ordered=not multimodal)
        self._needs_reset = np.zeros(num_envs, dtype=bool)
        self._trails: list[list[np.ndarray]] = [[] for _ in range(num_envs)]

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None):
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            if len(seed) != self.num_envs:
                raise ValueError(f"seed list must have {self.num_envs} entries, got {len(seed)}")
            seeds = list(seed)
        for i, s in enumerate(seeds):
            if s is not None:
                self._rngs[i] = seeding.np_random(s)[0]
        self._start_episodes(np.ones(self.num_envs, dtype=bool))
        distances = goal_distances(self._position, self._goals)
        obs = self._observations()
        return obs, self._infos(obs, distances, np.zeros(self.num_envs, dtype=bool))

    def step(self, actions: np.ndarray):
        setpoints = validate_actions(actions, (self.num_envs, self.n_dim), self._box)
        restarting = self._needs_reset.copy()
        position, velocity = pd_step(self._position, self._velocity, setpoints)
        running = ~restarting
        self._position[running] = position[running]
        self._velocity[running] = velocity[running]
        self._steps[running] += 1
        for i in np.flatnonzero(running):
            self._trails[i].append(self._position[i].copy())
        self._start_episodes(restarting)
        distances = goal_distances(self._position, self._goals)
        success = self._progress.update(distances)
        success[restarting] = False
        truncated = running & (self._steps >= self.max_episode_steps)
        rewards = np.where(truncated & success, 1.0, 0.0)
        self._needs_reset = truncated.copy()
        terminated = np.zeros(self.num_envs, dtype=bool)
        obs = self._observations()
        return obs, rewards, terminated, truncated, self._infos(obs, distances, success)

    def render(self) -> tuple[np.ndarray, ...] | None:
        if self.render_mode != "rgb_array":
            return None
        return tuple(render_frame(self._goals[i], np.asarray(self._trails[i])) for i in range(self.num_envs))

    def _start_episodes(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            position, goals, self._first_goal_index[i] = draw_episode(self._rngs[i], self.n_dim, self.multimodal)
            self._position[i] = position
            self._goals[i] = goals
            self._trails[i] = [position.copy()]
        self._velocity[mask] = 0.0
        self._steps[mask] = 0
        self._progress.reset(mask)
        self._needs_reset[mask] = False

    def _observations(self) -> np.ndarray:
        parts = (self._position, self._velocity, self._goals[:, 0], self._goals[:, 1])
        return np.concatenate(parts, axis=1).astype(np.float32)

    def _infos(self, obs: np.ndarray, distances: np.ndarray, success: np.ndarray) -> dict[str, Any]:
        values = {
            "is_success": success.copy(),
            "first_goal_distance": distances[:, 0].copy(),
            "second_goal_distance": distances[:, 1].copy(),
            "first_goal_index": self._first_goal_index.copy(),
            **{k: v.copy() for k, v in split_observation(obs, self.n_dim).items()},
        }
        everyone = np.ones(self.num_envs, dtype=bool)
        return {**values, **{f"_{k}": everyone.copy() for k in values}}
