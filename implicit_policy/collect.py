"""Writing oracle demonstrations to a dataset file."""

from __future__ import annotations

import numpy as np

from .data import Demonstrations
from .rollout import oracle_rollout


def collect_demonstrations(env_id: str, episodes: int, seed: int, progress: bool = False) -> Demonstrations:
    """Oracle demonstrations on the episodes seeded ``seed .. seed + episodes - 1``."""
    runs = oracle_rollout(env_id, episodes, seed, progress=progress)
    steps = runs.observations.shape[1]
    return Demonstrations(
        observations=runs.observations.reshape(-1, runs.observations.shape[-1]).astype(np.float32),
        actions=runs.actions.reshape(-1, runs.actions.shape[-1]).astype(np.float32),
        episode_lengths=np.full(episodes, steps, dtype=np.int64),
        episode_seeds=runs.seeds,
        episode_successes=runs.successes,
        env_id=env_id,
        seed=seed,
    )
