"""Closed-loop rollouts of a controller in a batched vector env over seeded episodes (numpy only).

Both demonstration collection (the oracle) and evaluation (a trained policy) run through here, so an
episode seed means the same start state everywhere: episode ``k`` of a rollout with ``seed=s`` is
the env reset with seed ``s + k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from implicit_policy.evaluation.env_hooks import demonstrator, resolve_env_id


@dataclass(frozen=True)
class Rollouts:
    """What happened in ``E`` episodes, recorded for ``S`` steps (the longest episode's length).

    ``observations (E, S, O)`` and ``actions (E, S, A)`` are the observation before each action and the
    action taken; episode ``e`` lasted ``lengths[e]`` steps and what follows is padding. ``successes (E,)``
    is the env's ``info["is_success"]`` at each episode's last step (``reports_success`` False, and all
    False, for an env that never sets it); ``returns (E,)``, ``seeds (E,)``; ``max_rewards (E,)``, each episode's
    highest per-step reward (Diffusion Policy's per-episode score).
    """

    observations: np.ndarray
    actions: np.ndarray
    successes: np.ndarray
    returns: np.ndarray
    seeds: np.ndarray
    lengths: np.ndarray = None  # type: ignore[assignment]  # default: every episode lasted all S steps
    reports_success: bool = True
    max_rewards: np.ndarray = None  # type: ignore[assignment]  # default: unknown (NaN)
    frames: dict[str, np.ndarray] | None = None
    """With ``record_frames``: each image part's frames ``(E, S, H, W, C)`` uint8, by the env's key."""

    def __post_init__(self) -> None:
        if self.lengths is None:
            object.__setattr__(self, "lengths", np.full(len(self.observations), self.observations.shape[1], np.int64))
        if self.max_rewards is None:
            object.__setattr__(self, "max_rewards", np.full(len(self.observations), np.nan))

    @property
    def success_rate(self) -> float | None:
        return float(np.mean(self.successes)) if self.reports_success else None

    def episode(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Observations ``(L, O)`` and actions ``(L, A)`` of one episode, without padding."""
        length = self.lengths[index]
        return self.observations[index, :length], self.actions[index, :length]

    def episode_frames(self, index: int) -> dict[str, np.ndarray]:
        """Each image part's frames ``(L, H, W, C)`` of one episode, without padding (none unless recorded)."""
        return {key: frames[index, : self.lengths[index]] for key, frames in (self.frames or {}).items()}


EnvKwargs = dict[str, Any] | None
"""Keyword arguments of an env's constructor (``gym.make(env_id, **kwargs)``), e.g. gym-pusht's ``obs_type``."""


def make_env(env_id: str, env_kwargs: EnvKwargs = None, **make_kwargs: Any) -> gym.Env:
    """One env of ``env_id`` (named as :func:`make_vector_env` takes it), made with ``env_kwargs`` and
    ``make_kwargs`` (e.g. ``render_mode``); ``Dict`` observations are left as they are. ``ValueError`` for an
    unregistered id or kwargs the env refuses."""
    name = resolve_env_id(env_id)
    try:
        return gym.make(name, **make_kwargs, **(env_kwargs or {}))
    except gym.error.Error as err:
        raise ValueError(f"unknown Gymnasium env id {env_id!r}: {err}") from err
    except TypeError as err:
        raise ValueError(f"env {env_id!r} refuses the kwargs {env_kwargs}: {err}") from None


def make_vector_env(
    env_id: str, num_envs: int, env_kwargs: EnvKwargs = None, flatten: bool = True
) -> gym.vector.VectorEnv:
    """``num_envs`` copies of ``env_id`` made with ``env_kwargs``: the env's own batched implementation where
    it registers one (the particle envs), else Gymnasium's synchronous vector env. ``env_id`` may name the
    module that registers it (``module:EnvId``) or a namespace to import (``gym_pusht/PushT-v0``).
    ``Dict`` observations (Gymnasium-Robotics' ``observation`` / ``achieved_goal`` / ``desired_goal``) are
    flattened by ``gymnasium.spaces.flatten``: the keys in sorted order, each part flattened, concatenated;
    ``flatten=False`` leaves them as dicts of batched parts (a camera's frames among them), for a policy that
    takes its parts by name. ``ValueError`` for an unregistered id or kwargs the env refuses."""
    name = resolve_env_id(env_id)
    try:
        spec = gym.spec(name)
    except gym.error.Error as err:
        raise ValueError(f"unknown Gymnasium env id {env_id!r}: {err}") from err
    mode = "vector_entry_point" if spec.vector_entry_point else "sync"
    try:
        env = gym.make_vec(name, num_envs=num_envs, vectorization_mode=mode, **(env_kwargs or {}))
    except TypeError as err:
        raise ValueError(f"env {env_id!r} refuses the kwargs {env_kwargs}: {err}") from None
    if flatten and isinstance(env.single_observation_space, gym.spaces.Dict):
        env = gym.wrappers.vector.FlattenObservation(env)
    return env


def observation_space(env_id: str, env_kwargs: EnvKwargs = None) -> gym.spaces.Space:
    """The observation space of one ``env_id`` env as it is, ``Dict`` spaces unflattened."""
    env = make_vector_env(env_id, 1, env_kwargs, flatten=False)
    try:
        return env.single_observation_space
    finally:
        env.close()


def action_space(env_id: str, env_kwargs: EnvKwargs = None) -> gym.spaces.Box:
    """The action space of one ``env_id`` env; ``ValueError`` unless it is a 1-D ``Box``."""
    env = make_vector_env(env_id, 1, env_kwargs, flatten=False)
    try:
        space = env.single_action_space
    finally:
        env.close()
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"{env_id} has an action space {space}; implicit-policy needs a 1-D Box")
    return space


def box_spaces(env_id: str, env_kwargs: EnvKwargs = None) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    """The observation and action spaces of ``env_id``; ``ValueError`` unless both are 1-D ``Box`` spaces."""
    env = make_vector_env(env_id, 1, env_kwargs)
    try:
        spaces = env.single_observation_space, env.single_action_space
    finally:
        env.close()
    boxes = []
    for name, space in zip(("observation", "action"), spaces):
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(f"{env_id} has a {name} space {space}; implicit-policy needs 1-D Box spaces")
        boxes.append(space)
    return boxes[0], boxes[1]


def rollout(
    env_id: str,
    act: Callable[[np.ndarray], np.ndarray],
    on_reset: Callable[[dict], None],
    episodes: int,
    seed: int,
    batch_size: int = 256,
    progress: bool = False,
    on_episode_end: Callable[[np.ndarray], None] | None = None,
    env_kwargs: EnvKwargs = None,
    parts: bool = False,
    record_frames: bool = False,
) -> Rollouts:
    """Run ``act (B, O) -> (B, A)`` on ``episodes`` seeded episodes, ``batch_size`` at a time.

    ``parts``: ``act`` takes a ``Dict`` env's observations as they are, a dict of batched parts (frames
    among them), and the recorded ``observations`` hold the vector parts alone (sorted by key);
    ``record_frames`` keeps the frames too (``Rollouts.frames``), as ``collect`` does.

    ``on_reset(info)`` is called with the batched reset info before each batch of episodes starts, and
    ``on_episode_end(rows)`` with the batch rows whose episode just ended while others go on (the vector env
    restarts those rows by itself; their later steps are not recorded as part of any episode), so a
    policy can restart those rows' observation history.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    chunks: list[tuple[np.ndarray, ...]] = []
    reports_success = True
    resolve_env_id(env_id)  # an unknown id or a missing extra fails before the bar shows
    bar = tqdm(total=episodes, desc=f"episodes {env_id}", unit="ep", disable=not progress)
    for start in range(0, episodes, batch_size):
        num_envs = min(batch_size, episodes - start)
        env = make_vector_env(env_id, num_envs, env_kwargs, flatten=not parts)
        try:
            *arrays, reported = _run_batch(env, act, on_reset, on_episode_end, seed + start, record_frames)
        finally:
            env.close()
        chunks.append(tuple(arrays))
        reports_success &= reported
        bar.update(num_envs)
    bar.close()
    steps = max(chunk[0].shape[1] for chunk in chunks)
    padded = [tuple(_pad_steps(a, steps) if a.ndim == 3 else a for a in chunk[:-1]) for chunk in chunks]
    obs, actions, successes, returns, lengths, max_rewards = (np.concatenate(parts) for parts in zip(*padded))
    seeds = np.arange(seed, seed + episodes, dtype=np.int64)
    frames = None
    if record_frames and chunks[0][-1]:
        frames = {key: np.concatenate([_pad_steps(c[-1][key], steps) for c in chunks]) for key in chunks[0][-1]}
    return Rollouts(obs, actions, successes, returns, seeds, lengths, reports_success, max_rewards, frames)


def _pad_steps(array: np.ndarray, steps: int) -> np.ndarray:
    """``(E, S, ...)`` padded to ``(E, steps, ...)`` by repeating the last recorded step."""
    return np.concatenate([array, np.repeat(array[:, -1:], steps - array.shape[1], axis=1)], axis=1)


def _run_batch(env: gym.vector.VectorEnv, act, on_reset, on_episode_end, seed: int, record_frames: bool) -> tuple:
    """Each sub-env's first episode: observations, actions, successes, returns, lengths, highest per-step
    rewards, frames (``{}`` unless ``record_frames``), and whether the env reported ``is_success``."""
    obs, info = env.reset(seed=seed)
    on_reset(info)
    n = env.num_envs
    observations, actions = [], []
    frames: dict[str, list[np.ndarray]] = {}
    returns, lengths, max_rewards = np.zeros(n), np.zeros(n, dtype=np.int64), np.full(n, -np.inf)
    successes, done = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    reported = False
    while not done.all():
        action = np.asarray(act(obs), dtype=np.float32)
        observations.append(_vector_parts(obs) if isinstance(obs, dict) else obs)
        if record_frames and isinstance(obs, dict):
            for key in image_keys(obs):
                frames.setdefault(key, []).append(np.asarray(obs[key]))
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        running = ~done
        returns[running] += np.asarray(reward)[running]
        max_rewards[running] = np.maximum(max_rewards[running], np.asarray(reward)[running])
        lengths[running] += 1
        ended = running & (np.asarray(terminated) | np.asarray(truncated))
        if ended.any():
            if "is_success" in info:
                reported = True
                successes[ended] = np.asarray(info["is_success"], dtype=bool)[ended]
            done |= ended
            if on_episode_end is not None and not done.all():
                on_episode_end(np.flatnonzero(ended))
    observed = np.stack(observations, axis=1), np.stack(actions, axis=1)
    stacked = {key: np.stack(values, axis=1) for key, values in frames.items()}
    return *observed, successes, returns, lengths, max_rewards, stacked, reported


def image_keys(obs: dict[str, np.ndarray]) -> list[str]:
    """The keys of a batch of dict observations that hold frames ``(B, H, W, C)``, sorted."""
    return sorted(key for key in obs if np.ndim(obs[key]) == 4)


def _vector_parts(obs: dict[str, np.ndarray]) -> np.ndarray:
    """The vector parts ``(B, D)`` of a batch of dict observations, sorted by key (frames left out)."""
    vectors = [np.asarray(obs[key], dtype=np.float32) for key in sorted(obs) if np.ndim(obs[key]) <= 2]  # (B, d)
    return np.concatenate(vectors, axis=1) if vectors else np.zeros((len(next(iter(obs.values()))), 0), np.float32)


def oracle_rollout(
    env_id: str, episodes: int, seed: int, batch_size: int = 256, progress: bool = False, env_kwargs: EnvKwargs = None
) -> Rollouts:
    """The env's scripted demonstrator (its env package's demonstrator hook) on ``episodes`` seeded episodes."""
    act, on_reset = demonstrator(env_id)
    return rollout(env_id, act, on_reset, episodes, seed, batch_size, progress, env_kwargs=env_kwargs)
