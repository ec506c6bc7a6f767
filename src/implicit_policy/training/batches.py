"""Which transitions a training batch holds, and how their observation windows are shown.

Behaviour cloning from observation histories learns to repeat the motion it sees (the copycat problem,
Wen et al. 2020): where the last action can be read from the motion, the nets copy it, and the few states
where the demonstrator *decides* something (an episode's start, where there is no motion to read, and
the steps where its action jumps) are 2-4 % of the data. Two levers, both off by default:

- ``decision_fraction``: that share of every batch is drawn from the decision points (episode starts and
  the steps whose demonstrated action moves more than ``decision_threshold`` from the step before, in
  normalised units, the largest coordinate counting).
- ``history_dropout``: each window is, with this probability, shown as if the episode started at its
  step (every frame the current observation), so the nets must also act from the present alone.
"""

from __future__ import annotations

import numpy as np
import torch

from implicit_policy.config import BatchConfig


def decision_points(episode_starts: np.ndarray, actions: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the transitions where the demonstrator decides: each episode's first step
    (``episode_starts (E,)``, as ``Demonstrations.episode_starts`` gives them), and each step whose action
    ``(T, A)`` (normalised) differs from the step before in some coordinate by more than ``threshold``.
    ``(D,)`` int64, sorted."""
    starts = np.asarray(episode_starts, dtype=np.int64)
    jump = np.zeros(len(actions), dtype=bool)
    jump[1:] = np.abs(np.diff(actions, axis=0)).max(axis=1) > threshold
    jump[starts] = True  # a start always counts, and a jump across an episode boundary is no decision
    return np.flatnonzero(jump).astype(np.int64)


class BatchSampler:
    """Draws batch indices over ``size`` transitions, a ``decision_fraction`` of them from ``decisions``."""

    def __init__(self, config: BatchConfig, size: int, decisions: np.ndarray, device: torch.device) -> None:
        self.size, self.config = size, config
        self.decisions = torch.as_tensor(decisions, device=device)

    def indices(self, batch: int, generator: torch.Generator) -> torch.Tensor:
        """``(batch,)`` transition indices, uniform over the data but for the decision share."""
        device = self.decisions.device
        index = torch.randint(self.size, (batch,), generator=generator, device=device)
        count = round(batch * self.config.decision_fraction) if len(self.decisions) else 0
        if count:
            pick = torch.randint(len(self.decisions), (count,), generator=generator, device=device)
            index[:count] = self.decisions[pick]
        return index


def drop_history(
    windows: torch.Tensor, n_obs_steps: int, probability: float, generator: torch.Generator
) -> torch.Tensor:
    """Flattened windows ``(B, n * O)``, oldest first, with each row replaced by its newest frame repeated
    ``n`` times with ``probability``: the window a policy sees at an episode's start."""
    if probability <= 0 or n_obs_steps == 1:
        return windows
    frames = windows.reshape(len(windows), n_obs_steps, -1)
    start = frames[:, -1:].expand_as(frames)
    dropped = torch.rand(len(windows), generator=generator, device=windows.device) < probability
    return torch.where(dropped[:, None, None], start, frames).flatten(1)
