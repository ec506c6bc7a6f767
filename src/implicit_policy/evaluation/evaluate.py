"""Closed-loop evaluation of a policy on seeded episodes of a Gymnasium env."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from implicit_policy.evaluation.env_hooks import episode_diagnostics
from implicit_policy.evaluation.rollout import EnvKwargs, box_spaces, rollout


class Policy(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self, rows: Any = None) -> None: ...


def check_policy_fits_env(policy: Any, env_id: str, env_kwargs: EnvKwargs = None) -> None:
    """``ValueError`` naming both envs when a policy's observation or action size (where it declares them, as
    this package's policies do) differs from ``env_id``'s, before any episode runs."""
    sizes = getattr(policy, "obs_size", None), getattr(policy, "action_size", None)
    if None in sizes:
        return
    obs_space, action_space = box_spaces(env_id, env_kwargs)
    if sizes != (obs_space.shape[0], action_space.shape[0]):
        trained_on = getattr(policy, "env_id", None) or "its training data"
        raise ValueError(
            f"this policy was trained on {trained_on} (observation size {sizes[0]}, action size "
            f"{sizes[1]}) and cannot act in {env_id} (observation size {obs_space.shape[0]}, action "
            f"size {action_space.shape[0]}); pass --env {trained_on} or a policy trained on {env_id}"
        )


def mean_max_reward(max_rewards: np.ndarray) -> float:
    """Diffusion Policy's score: the mean over episodes of each episode's highest per-step reward ``(E,)``
    (on Push-T, reward = clip(coverage / 0.95, 0, 1), so 1 for an episode that ever succeeded)."""
    return float(np.mean(max_rewards))


def evaluate(
    policy: Policy,
    env_id: str,
    episodes: int = 100,
    seed: int = 1000,
    batch_size: int = 256,
    progress: bool = False,
    env_kwargs: EnvKwargs = None,
) -> dict[str, Any]:
    """Success rate (``info["is_success"]`` at each episode's end; None for an env that never reports it),
    mean return and length, Diffusion Policy's score (:func:`mean_max_reward`), and per-episode outcomes over episodes seeded ``seed .. seed + episodes - 1``.
    A batch row whose episode ends early has its observation history restarted (``policy.reset(rows)``).
    Env-specific diagnostics are added from the env package's diagnostics hook (on particle envs,
    ``first_goal_rate``: the share of episodes that at least reached the first goal). ``env_kwargs`` are
    passed to the env's constructor."""
    check_policy_fits_env(policy, env_id, env_kwargs)
    runs = rollout(
        env_id,
        policy.act,
        lambda info: policy.reset(),
        episodes,
        seed,
        batch_size,
        progress,
        on_episode_end=lambda rows: policy.reset(rows),
        env_kwargs=env_kwargs,
    )
    result = {
        "env_id": env_id,
        "episodes": episodes,
        "seed": seed,
        "success_rate": runs.success_rate,
        "mean_return": float(np.mean(runs.returns)),
        "mean_max_reward": mean_max_reward(runs.max_rewards),
        "mean_length": float(np.mean(runs.lengths)),
        "successes": runs.successes.astype(int).tolist() if runs.reports_success else None,
        "returns": runs.returns.tolist(),
        "max_rewards": runs.max_rewards.tolist(),
    }
    return result | episode_diagnostics(env_id, runs)
