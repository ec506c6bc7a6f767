"""Demonstration datasets from the scripted demonstrators (or from any controller's rollouts)."""

from __future__ import annotations

from typing import Literal

import gymnasium as gym
import numpy as np

from implicit_policy.data.demonstrations import Demonstrations
from implicit_policy.evaluation.env_hooks import demonstrator
from implicit_policy.evaluation.rollout import (
    EnvKwargs,
    Rollouts,
    action_space,
    observation_space,
    oracle_rollout,
    rollout,
)
from implicit_policy.runtime.input_spec import ObservationPart

Controller = Literal["demonstrator", "random"]
"""Who acts while collecting: the env's scripted demonstrator, or uniform random actions in the env's box
(data for plumbing checks, or exploration data, from any env)."""


def check_collect_arguments(env_id: str, episodes: int, seed: int, controller: Controller = "demonstrator") -> None:
    """``ValueError`` naming the problem: an env without a scripted demonstrator, a non-positive episode
    count, a seed range outside Gymnasium's ``[0, 2**32 - 1]``."""
    if controller == "demonstrator":
        demonstrator(env_id)
    elif controller != "random":
        raise ValueError(f"controller must be 'demonstrator' or 'random', got {controller!r}")
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= 2**32 - 1 - episodes:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1 - episodes], got {seed!r}")


def collect_demonstrations(
    env_id: str,
    episodes: int,
    seed: int,
    progress: bool = False,
    env_kwargs: EnvKwargs = None,
    controller: Controller = "demonstrator",
) -> Demonstrations:
    """The env's scripted demonstrations (or uniform random actions) on the episodes seeded
    ``seed .. seed + episodes - 1``, the env made with ``env_kwargs``."""
    check_collect_arguments(env_id, episodes, seed, controller)
    if controller == "random":
        space = action_space(env_id, env_kwargs)
        cameras = has_cameras(observation_space(env_id, env_kwargs))
        rng = np.random.default_rng(seed)

        def act(obs: np.ndarray | dict[str, np.ndarray]) -> np.ndarray:
            rows = len(next(iter(obs.values()))) if isinstance(obs, dict) else len(obs)
            return rng.uniform(space.low, space.high, (rows, *space.low.shape)).astype(np.float32)

        runs = rollout(
            env_id,
            act,
            lambda info: None,
            episodes,
            seed,
            progress=progress,
            env_kwargs=env_kwargs,
            parts=cameras,
            record_frames=cameras,
        )
    else:
        runs = oracle_rollout(env_id, episodes, seed, progress=progress, env_kwargs=env_kwargs)
    return demonstrations_from_rollouts(runs, env_id, seed, env_kwargs)


def demonstrations_from_rollouts(
    runs: Rollouts, env_id: str, seed: int, env_kwargs: EnvKwargs = None
) -> Demonstrations:
    """A demonstration dataset from any controller's rollouts (e.g. ``rollout(env_id, my_controller.act, ...)``):
    each episode's steps without padding, its seed and whether it succeeded. Rollouts that recorded frames
    (a ``Dict`` env with cameras) give image parts named by the env's keys, after its vector parts (sorted)."""
    episodes = len(runs.lengths)
    observations, actions = zip(*(runs.episode(e) for e in range(episodes)))
    parts: tuple[ObservationPart, ...] = ()
    images: dict[str, np.ndarray] = {}
    if runs.frames:
        space = observation_space(env_id, env_kwargs)
        assert isinstance(space, gym.spaces.Dict)
        vectors = [
            ObservationPart(k, (int(np.prod(space[k].shape or ())),))
            for k in sorted(space.spaces)
            if k not in runs.frames
        ]
        cameras = [ObservationPart(k, tuple(runs.frames[k].shape[2:]), image=True) for k in sorted(runs.frames)]
        parts = (*vectors, *cameras)
        images = {k: np.concatenate([runs.episode_frames(e)[k] for e in range(episodes)]) for k in runs.frames}
    return Demonstrations(
        observations=np.concatenate(observations).astype(np.float32),
        actions=np.concatenate(actions).astype(np.float32),
        episode_lengths=runs.lengths.astype(np.int64),
        episode_seeds=runs.seeds,
        episode_successes=runs.successes,
        env_id=env_id,
        seed=seed,
        env_kwargs=dict(env_kwargs or {}),
        observation_parts=parts,
        images=images,
    )


def has_cameras(space: gym.spaces.Space) -> bool:
    """Whether observations of ``space`` are a ``Dict`` holding frames (a ``Box`` of three axes, uint8)."""
    return isinstance(space, gym.spaces.Dict) and any(
        isinstance(s, gym.spaces.Box) and len(s.shape) == 3 and s.dtype == np.uint8 for s in space.spaces.values()
    )
