"""Closed-loop evaluation of a policy on seeded episodes of a particle env."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .rollout import rollout


class Policy(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self) -> None: ...


def evaluate(policy: Policy, env_id: str, episodes: int = 100, seed: int = 1000, batch_size: int = 256,
             progress: bool = False) -> dict[str, Any]:
    """Success rate, mean return and per-episode outcomes over episodes seeded ``seed .. seed + episodes - 1``;
    ``first_goal_rate`` is the share of episodes that at least reached the first goal."""
    runs = rollout(env_id, policy.act, lambda info: policy.reset(), episodes, seed, batch_size, progress)
    return {
        "env_id": env_id,
        "episodes": episodes,
        "seed": seed,
        "success_rate": runs.success_rate,
        "mean_return": float(np.mean(runs.returns)),
        "first_goal_rate": float(np.mean(runs.first_step_at("first_goal") >= 0)),
        "successes": runs.successes.astype(int).tolist(),
    }
