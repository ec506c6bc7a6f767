"""Demonstration datasets from the scripted demonstrators (or from any controller's rollouts)."""

from __future__ import annotations

from typing import Literal

import numpy as np

from implicit_policy.data.demonstrations import Demonstrations
from implicit_policy.evaluation.env_hooks import demonstrator
from implicit_policy.evaluation.rollout import EnvKwargs, Rollouts, box_spaces, oracle_rollout, rollout

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
        _, action_space = box_spaces(env_id, env_kwargs)
        rng = np.random.default_rng(seed)

        def act(obs: np.ndarray) -> np.ndarray:
            low, high = action_space.low, action_space.high
            return rng.uniform(low, high, (len(obs), *low.shape)).astype(np.float32)

        runs = rollout(env_id, act, lambda info: None, episodes, seed, progress=progress, env_kwargs=env_kwargs)
    else:
        runs = oracle_rollout(env_id, episodes, seed, progress=progress, env_kwargs=env_kwargs)
    return demonstrations_from_rollouts(runs, env_id, seed, env_kwargs)


def demonstrations_from_rollouts(
    runs: Rollouts, env_id: str, seed: int, env_kwargs: EnvKwargs = None
) -> Demonstrations:
    """A demonstration dataset from any controller's rollouts (e.g. ``rollout(env_id, my_controller.act, ...)``):
    each episode's steps without padding, its seed and whether it succeeded."""
    episodes = len(runs.lengths)
    observations, actions = zip(*(runs.episode(e) for e in range(episodes)))
    return Demonstrations(
        observations=np.concatenate(observations).astype(np.float32),
        actions=np.concatenate(actions).astype(np.float32),
        episode_lengths=runs.lengths.astype(np.int64),
        episode_seeds=runs.seeds,
        episode_successes=runs.successes,
        env_id=env_id,
        seed=seed,
        env_kwargs=dict(env_kwargs or {}),
    )
