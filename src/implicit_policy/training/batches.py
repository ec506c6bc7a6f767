"""The way from demonstrations to training batches, as one object the trainer draws from
(:class:`DemonstrationBatches`): which transitions a batch holds, their observation windows and action chunks
gathered by index when the batch is drawn (frames are stored once, as uint8, and never copied per window),
normalisation and augmentation.

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

from dataclasses import dataclass

import numpy as np
import torch

from implicit_policy.config import BatchConfig
from implicit_policy.data.demonstrations import Demonstrations, action_chunks, observation_windows
from implicit_policy.models.normalize import Normalizer


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


def drop_history(windows: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """Windows ``(B, n)`` of transition indices, oldest first, with each row replaced by its newest index
    repeated ``n`` times with ``probability``: the window a policy sees at an episode's start."""
    if probability <= 0 or windows.shape[1] == 1:
        return windows
    dropped = torch.rand(len(windows), generator=generator, device=windows.device) < probability
    return torch.where(dropped[:, None], windows[:, -1:].expand_as(windows), windows)


@dataclass(frozen=True)
class Batch:
    """One training batch: normalised vector parts ``vectors (B, n, V)`` of each observation window (noise
    added), its raw frames ``frames {name: (B, n, H, W, C) uint8}``, the demonstrated normalised chunks
    ``positives (B, horizon * A)`` and, where padding is masked, ``keep (B, horizon * A)``."""

    vectors: torch.Tensor
    frames: dict[str, torch.Tensor]
    positives: torch.Tensor
    keep: torch.Tensor | None


class DemonstrationBatches:
    """Training batches drawn from demonstrations: windows and chunks by index, normalised, augmented.

    ``observation_noise`` (``(n * V,)`` per-dimension scale, or None) is added to the normalised vector parts;
    ``mask_padding`` keeps a ``keep`` mask of the chunk steps past an episode's end.
    """

    def __init__(
        self,
        demos: Demonstrations,
        normalizer: Normalizer,
        config: BatchConfig,
        n_obs_steps: int,
        horizon: int,
        mask_padding: bool,
        observation_noise: torch.Tensor | None,
        device: torch.device,
    ) -> None:
        self.config, self.device = config, device
        self.windows = torch.as_tensor(observation_windows(demos.episode_lengths, n_obs_steps), device=device)
        self.observations = normalizer.normalize_obs(torch.as_tensor(demos.observations, device=device))  # (T, V)
        # Frames stay where they are (uint8, in memory or memory-mapped): each batch gathers its own.
        self.frames = dict(demos.images)
        self.step_actions = normalizer.normalize_actions(torch.as_tensor(demos.actions, device=device))  # (T, A)
        chunk_index, padded = action_chunks(demos.episode_lengths, horizon)
        self.chunks = torch.as_tensor(chunk_index, device=device)  # (T, horizon)
        self.keep: torch.Tensor | None = None  # (T, horizon * A): 1 where the target is no padding
        if horizon > 1 and mask_padding:
            keep = torch.as_tensor(~padded, dtype=torch.float32, device=device)
            self.keep = keep.repeat_interleave(demos.action_size, dim=1)
        self.noise = None if observation_noise is None else observation_noise.to(device)
        decisions = decision_points(demos.episode_starts, self.step_actions.cpu().numpy(), config.decision_threshold)
        self.sampler = BatchSampler(config, len(self.windows), decisions, device)

    def __len__(self) -> int:
        """Transitions in the data (one window and chunk each)."""
        return len(self.windows)

    def vectors_at(self, windows: torch.Tensor) -> torch.Tensor:
        """Normalised vector parts ``(B, n, V)`` of windows ``(B, n)`` of transition indices."""
        return self.observations[windows]

    def chunks_at(self, index: torch.Tensor) -> torch.Tensor:
        """Demonstrated normalised chunks ``(B, horizon * A)`` of transitions ``index (B,)``."""
        return self.step_actions[self.chunks[index]].flatten(1)

    def draw(self, batch_size: int, generator: torch.Generator) -> Batch:
        """A batch of ``batch_size`` transitions (:class:`BatchSampler`), history dropped and noise added."""
        index = self.sampler.indices(batch_size, generator)
        windows = drop_history(self.windows[index], self.config.history_dropout, generator)  # (B, n)
        vectors = self.vectors_at(windows)  # (B, n, V)
        if self.noise is not None:
            noise = torch.randn((len(index), self.noise.numel()), generator=generator, device=self.device)
            vectors = vectors + (self.noise * noise).reshape(vectors.shape)
        rows = windows.cpu().numpy()
        frames = {name: torch.from_numpy(frames[rows]).to(self.device) for name, frames in self.frames.items()}
        positives = self.chunks_at(index)
        return Batch(vectors, frames, positives, None if self.keep is None else self.keep[index])
