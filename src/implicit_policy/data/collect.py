"""Demonstration datasets from the scripted demonstrators (or from any controller's rollouts)."""

from __future__ import annotations

import numpy as np

from implicit_policy.data.demonstrations import Demonstrations
from implicit_policy.evaluation.env_hooks import demonstrator
from implicit_policy.evaluation.rollout import Rollouts, oracle_rollout


def check_collect_arguments(env_id: str, episodes: int, seed: int) -> None:
    """``ValueError`` naming the problem: an env without a scripted demonstrator, a non-positive episode
    count, a seed range outside Gymnasium's ``[0, 2**32 - 1]``."""
    demonstrator(env_id)
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed <= 2**32 - 1 - episodes:
        raise ValueError(f"seed must be an integer in [0, 2**32 - 1 - episodes], got {seed!r}")


def collect_demonstrations(env_id: str, episodes: int, seed: int, progress: bool = False) -> Demonstrations:
    """The env's scripted demonstrations on the episodes seeded ``seed .. seed + episodes - 1``."""
    check_collect_arguments(env_id, episodes, seed)
    return demonstrations_from_rollouts(oracle_rollout(env_id, episodes, seed, progress=progress), env_id, seed)


def demonstrations_from_rollouts(runs: Rollouts, env_id: str, seed: int) -> Demonstrations:
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
    )
