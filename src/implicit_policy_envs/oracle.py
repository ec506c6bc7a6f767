"""The scripted demonstrator of the particle task, for single and batched envs."""

from __future__ import annotations

import numpy as np

from .particle import split_observation

SWITCH_DISTANCE = 0.01


class ParticleOracle:
    """Head for the first goal until within 0.01 of it for one step, then for the second, for good.

    Works on one observation ``(4N,) -> (N,)`` or a batch ``(B, 4N) -> (B, N)``. In the multimodal env
    the goal visited first is the episode's ``info["first_goal_index"]``; pass it to :meth:`reset`.
    """

    def __init__(self, n_dim: int, switch_distance: float = SWITCH_DISTANCE) -> None:
        self.n_dim = n_dim
        self.switch_distance = switch_distance
        self._first = np.zeros(1, dtype=np.int64)
        self._switched = np.zeros(1, dtype=bool)

    def reset(self, first_goal_index: int | np.ndarray = 0, mask: np.ndarray | None = None) -> None:
        """Start new episodes: all of them, or those where ``mask (B,)`` is true."""
        first = np.atleast_1d(np.asarray(first_goal_index, dtype=np.int64))
        if mask is None:
            self._first = first.copy()
            self._switched = np.zeros(len(first), dtype=bool)
        else:
            self._first[mask] = np.broadcast_to(first, mask.shape)[mask]
            self._switched[mask] = False

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Set-points for observations ``(4N,)`` or ``(B, 4N)``, float32, same leading shape."""
        batch = np.atleast_2d(np.asarray(obs, dtype=np.float64))
        if batch.shape[1] != 4 * self.n_dim:
            raise ValueError(f"observation must have size {4 * self.n_dim}, got shape {np.shape(obs)}")
        if len(self._first) != len(batch):
            raise ValueError(f"oracle was reset for {len(self._first)} envs, got {len(batch)} observations")
        parts = split_observation(batch, self.n_dim)
        goals = np.stack([parts["first_goal"], parts["second_goal"]], axis=1)
        rows = np.arange(len(batch))
        first_goal = goals[rows, self._first]
        at_first = np.linalg.norm(parts["agent_position"] - first_goal, axis=1) < self.switch_distance
        self._switched |= at_first
        target = np.where(self._switched[:, None], goals[rows, 1 - self._first], first_goal)
        target = target.astype(np.float32)
        return target if np.ndim(obs) == 2 else target[0]
