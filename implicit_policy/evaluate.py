"""Closed-loop evaluation of a policy on seeded episodes of a Gymnasium env."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

import implicit_policy_envs

from .rollout import rollout


class Policy(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self, rows: Any = None) -> None: ...


def evaluate(policy: Policy, env_id: str, episodes: int = 100, seed: int = 1000, batch_size: int = 256,
             progress: bool = False) -> dict[str, Any]:
    """Success rate (``info["is_success"]`` at each episode's end; None for an env that never reports it),
    mean return and length, and per-episode outcomes over episodes seeded ``seed .. seed + episodes - 1``.
    A batch row whose episode ends early has its observation history restarted (``policy.reset(rows)``).
    Env-specific diagnostics are added from ``implicit_policy_envs.episode_diagnostics`` (on particle envs,
    ``first_goal_rate``: the share of episodes that at least reached the first goal)."""
    runs = rollout(env_id, policy.act, lambda info: policy.reset(), episodes, seed, batch_size, progress,
                   on_episode_end=lambda rows: policy.reset(rows))
    result = {
        "env_id": env_id,
        "episodes": episodes,
        "seed": seed,
        "success_rate": runs.success_rate,
        "mean_return": float(np.mean(runs.returns)),
        "mean_length": float(np.mean(runs.lengths)),
        "successes": runs.successes.astype(int).tolist() if runs.reports_success else None,
        "returns": runs.returns.tolist(),
    }
    return result | implicit_policy_envs.episode_diagnostics(env_id, runs)
