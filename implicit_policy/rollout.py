"""Closed-loop rollouts of a controller in a batched vector env over seeded episodes (numpy only).

Both demonstration collection (the oracle) and evaluation (a trained policy) run through here, so an
episode seed means the same start state everywhere: episode ``k`` of a rollout with ``seed=s`` is
the env reset with seed ``s + k``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

import implicit_policy_envs  # noqa: F401  (registers the particle envs)


@dataclass(frozen=True)
class Rollouts:
    """What happened in ``E`` episodes of ``S`` steps each.

    ``observations (E, S, O)`` and ``actions (E, S, A)`` are the observation before each action and
    the action taken; ``successes (E,)``, ``returns (E,)``, ``seeds (E,)``.
    """

    observations: np.ndarray
    actions: np.ndarray
    successes: np.ndarray
    returns: np.ndarray
    seeds: np.ndarray

    @property
    def success_rate(self) -> float:
        return float(np.mean(self.successes))

    def first_step_at(self, goal: str) -> np.ndarray:
        """Per episode ``(E,)``, the first recorded step at which the agent was within the goal distance of
        ``goal`` (``"first_goal"`` or ``"second_goal"``), or -1 if it never was: partial progress where
        the success rate alone reads 0."""
        n_dim = self.observations.shape[-1] // 4
        parts = implicit_policy_envs.particle.split_observation(self.observations, n_dim)
        near = np.linalg.norm(parts["agent_position"] - parts[goal], axis=-1) < implicit_policy_envs.particle.GOAL_DISTANCE
        return np.where(near.any(axis=1), near.argmax(axis=1), -1)


def rollout(
    env_id: str,
    act: Callable[[np.ndarray], np.ndarray],
    on_reset: Callable[[dict], None],
    episodes: int,
    seed: int,
    batch_size: int = 256,
    progress: bool = False,
) -> Rollouts:
    """Run ``act (B, O) -> (B, A)`` on ``episodes`` seeded episodes, ``batch_size`` at a time.

    ``on_reset(info)`` is called with the batched reset info before each batch of episodes starts.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    implicit_policy_envs.particle_n_dim(env_id)  # clear error for an unknown id
    chunks: list[tuple[np.ndarray, ...]] = []
    bar = tqdm(total=episodes, desc=f"episodes {env_id}", unit="ep", disable=not progress)
    for start in range(0, episodes, batch_size):
        num_envs = min(batch_size, episodes - start)
        env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        try:
            chunks.append(_run_batch(env, act, on_reset, seed + start))
        finally:
            env.close()
        bar.update(num_envs)
    bar.close()
    obs, actions, successes, returns = (np.concatenate(parts) for parts in zip(*chunks))
    return Rollouts(obs, actions, successes, returns, np.arange(seed, seed + episodes, dtype=np.int64))


def _run_batch(env: gym.vector.VectorEnv, act, on_reset, seed: int) -> tuple[np.ndarray, ...]:
    obs, info = env.reset(seed=seed)
    on_reset(info)
    observations, actions = [], []
    returns = np.zeros(env.num_envs)
    while True:
        action = np.asarray(act(obs), dtype=np.float32)
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        returns += reward
        if np.any(terminated | truncated):
            if not np.all(terminated | truncated):
                raise RuntimeError(f"episodes of {env.spec.id if env.spec else env} ended at different steps")
            break
    successes = np.asarray(info["is_success"], dtype=bool)
    return np.stack(observations, axis=1), np.stack(actions, axis=1), successes, returns


def oracle_rollout(env_id: str, episodes: int, seed: int, batch_size: int = 256, progress: bool = False) -> Rollouts:
    """The scripted demonstrator on ``episodes`` seeded episodes of ``env_id``."""
    oracle = implicit_policy_envs.ParticleOracle(implicit_policy_envs.particle_n_dim(env_id))
    return rollout(
        env_id,
        act=oracle.act,
        on_reset=lambda info: oracle.reset(info["first_goal_index"]),
        episodes=episodes,
        seed=seed,
        batch_size=batch_size,
        progress=progress,
    )
