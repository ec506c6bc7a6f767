"""Closed-loop evaluation of a policy on seeded episodes of a Gymnasium env."""

from __future__ import annotations

from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from implicit_policy.evaluation.env_hooks import episode_diagnostics
from implicit_policy.evaluation.rollout import EnvKwargs, box_spaces, observation_space, rollout


class Policy(Protocol):
    def act(self, obs: np.ndarray) -> np.ndarray: ...

    def reset(self, rows: Any = None) -> None: ...


def check_policy_fits_env(policy: Any, env_id: str, env_kwargs: EnvKwargs = None) -> None:
    """``ValueError`` naming both envs when a policy's observation or action size (where it declares them, as
    this package's policies do) differs from ``env_id``'s, before any episode runs."""
    spec = getattr(policy, "input_spec", None)
    if takes_parts(policy):
        check_parts_fit_env(spec, env_id, env_kwargs)
        return
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


def takes_parts(policy: Any) -> bool:
    """Whether ``policy`` acts on a dict of named parts (it has image parts) rather than a flat vector."""
    spec = getattr(policy, "input_spec", None)
    return spec is not None and bool(spec.images)


def check_parts_fit_env(
    spec: Any, env_id: str, env_kwargs: EnvKwargs = None, subject: str = "this policy takes"
) -> None:
    """``ValueError`` naming the part when ``env_id``'s ``Dict`` observations lack one of the policy's parts or
    give it another shape."""
    space = observation_space(env_id, env_kwargs)
    if not isinstance(space, gym.spaces.Dict):
        raise ValueError(
            f"{subject} the observation parts {spec.part_names()}, but {env_id} observes a {space}; "
            "pass an env whose Dict observations have those parts (e.g. PushTPixels-v0)"
        )
    for part in spec.observation:
        got = space.spaces.get(part.name)
        if got is None or tuple(got.shape or ()) != part.input_shape:
            raise ValueError(
                f"{subject} observation part {part.name!r} of shape {part.input_shape}, but {env_id} "
                f"observes {'no such part' if got is None else got}; its parts: {', '.join(sorted(space.spaces))}"
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
        parts=takes_parts(policy),
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
