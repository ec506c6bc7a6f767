"""Demonstration files: a documented ``.npz`` schema, atomic saving, and loading that validates everything.

Schema (``format_version`` 1), ``T`` transitions in ``E`` episodes, stored back to back:

| key | shape, dtype | meaning |
|---|---|---|
| ``observations`` | ``(T, O)`` float32 | observation before each action (its vector parts) |
| ``image.<name>`` | ``(T, H, W, C)`` uint8, optional | each camera's frame before each action, one array per image part |
| ``actions`` | ``(T, A)`` float32 | the demonstrator's action |
| ``episode_lengths`` | ``(E,)`` int64 | transitions per episode, all > 0, summing to T |
| ``episode_seeds`` | ``(E,)`` int64 | the env reset seed of each episode |
| ``episode_successes`` | ``(E,)`` bool | whether the demonstrator succeeded |
| ``env_id`` | ``()`` str | Gymnasium id the episodes come from; empty when there is none (recorded on a robot) |
| ``env_kwargs`` | ``()`` str, optional | JSON object of the env's constructor kwargs; absent when there are none |
| ``observation_parts`` | ``()`` str, optional | JSON list of the source keys the observations are made of (``runtime.input_spec``); absent for a flat observation |
| ``seed`` | ``()`` int64 | the collection seed (first episode seed) |
| ``format_version`` | ``()`` int64 | 1 |
| ``sha256`` | ``()`` str | digest of all the above, to refuse a tampered file |

Files load with ``allow_pickle=False``: nothing in them can execute code.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from implicit_policy.atomic import atomic_open
from implicit_policy.data.frames import take_frames
from implicit_policy.runtime.input_spec import InputSpec, ObservationPart

FORMAT_VERSION = 1
IMAGE_PREFIX = "image."
_ARRAY_KEYS = ("observations", "actions", "episode_lengths", "episode_seeds", "episode_successes")
_DTYPES = {
    "observations": np.float32,
    "actions": np.float32,
    "episode_lengths": np.int64,
    "episode_seeds": np.int64,
    "episode_successes": np.bool_,
}


class DemonstrationError(ValueError):
    """A demonstration file or array that is missing, corrupt, tampered or inconsistent."""


@dataclass(frozen=True)
class Demonstrations:
    """Episodes of ``(observation, action)`` pairs; see the module docstring for the schema. ``env_id`` is
    empty for data with no simulator (training then validates on held-out episodes); ``env_kwargs`` are the
    env's constructor kwargs."""

    observations: np.ndarray
    actions: np.ndarray
    episode_lengths: np.ndarray
    episode_seeds: np.ndarray
    episode_successes: np.ndarray
    env_id: str
    seed: int
    env_kwargs: dict = field(default_factory=dict)
    observation_parts: tuple[ObservationPart, ...] = ()
    """The source keys (and slices) each observation is made of, in order; empty: one flat observation."""
    images: dict[str, np.ndarray] = field(default_factory=dict)
    """Frames ``(T, H, W, C)`` uint8 of each image part, by the part's name, stored once (in memory, or
    memory-mapped past a size limit: :mod:`implicit_policy.data.frames`): windows gather them by index when a
    batch is drawn. ``observations`` hold the vector parts only."""

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def num_episodes(self) -> int:
        return len(self.episode_lengths)

    @property
    def episode_starts(self) -> np.ndarray:
        """Index ``(E,)`` of each episode's first transition."""
        return np.concatenate([[0], np.cumsum(self.episode_lengths)[:-1]]).astype(np.int64)

    @property
    def observation_size(self) -> int:
        return self.observations.shape[1]

    @property
    def action_size(self) -> int:
        return self.actions.shape[1]

    def flat_observations(self, rows: np.ndarray) -> np.ndarray:
        """The observations of transitions ``rows (R,)`` as a policy takes them flat, ``(R, O)`` float32: the
        parts in order, frames flattened (with no image parts, ``observations[rows]``)."""
        if not self.images:
            return self.observations[rows]
        values, offset = [], 0
        for part in self.observation_parts:
            if part.image:
                values.append(self.images[part.name][rows].reshape(len(rows), -1).astype(np.float32))
            else:
                values.append(self.observations[rows, offset : offset + part.size])
                offset += part.size
        return np.concatenate(values, axis=1)

    def input_spec(self, n_obs_steps: int = 1, horizon: int = 1, n_action_steps: int = 1) -> InputSpec:
        """What a policy trained on these demonstrations eats (:mod:`implicit_policy.runtime.input_spec`)."""
        parts = self.observation_parts or (ObservationPart("observation", (self.observation_size,)),)
        return InputSpec(parts, self.action_size, "action", n_obs_steps, horizon, n_action_steps)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the ``.npz`` atomically; return its path."""
        path = Path(path)
        with atomic_open(path, "wb") as handle:
            np.savez(handle, **self._payload(), sha256=np.str_(self.digest()))  # type: ignore[arg-type]
        return path

    def _payload(self) -> dict[str, np.ndarray]:
        kwargs = {"env_kwargs": np.str_(json.dumps(self.env_kwargs, sort_keys=True))} if self.env_kwargs else {}
        if self.observation_parts:
            parts = [part.to_dict() for part in self.observation_parts]
            kwargs["observation_parts"] = np.str_(json.dumps(parts, sort_keys=True))
        return {
            **{key: getattr(self, key) for key in _ARRAY_KEYS},
            **{f"{IMAGE_PREFIX}{name}": frames for name, frames in sorted(self.images.items())},
            "env_id": np.str_(self.env_id),
            "seed": np.int64(self.seed),
            "format_version": np.int64(FORMAT_VERSION),
            **kwargs,  # absent when empty, so files written before these keys keep their digest
        }

    def split(self, held_out: np.ndarray) -> tuple[Demonstrations, Demonstrations]:
        """The episodes not in ``held_out`` (episode indices) and those in it, as two Demonstrations."""
        keep = np.ones(self.num_episodes, dtype=bool)
        keep[held_out] = False
        return self.episodes(np.flatnonzero(keep)), self.episodes(np.sort(np.asarray(held_out, dtype=np.int64)))

    def episodes(self, index: np.ndarray) -> Demonstrations:
        """The episodes ``index`` (indices, in that order) as new Demonstrations."""
        rows = np.concatenate(
            [np.arange(s, s + n) for s, n in zip(self.episode_starts[index], self.episode_lengths[index])]
        )
        images = {name: take_frames(frames, rows) for name, frames in self.images.items()}
        return Demonstrations(
            self.observations[rows],
            self.actions[rows],
            self.episode_lengths[index],
            self.episode_seeds[index],
            self.episode_successes[index],
            self.env_id,
            self.seed,
            dict(self.env_kwargs),
            self.observation_parts,
            images,
        )

    def digest(self) -> str:
        """sha256 of every array and field: what the file's ``sha256`` records and a resumed run checks."""
        digest = hashlib.sha256()
        for key, value in self._payload().items():
            value = np.ascontiguousarray(value)
            digest.update(f"{key}|{value.dtype.str}|{value.shape}|".encode())
            digest.update(value.tobytes())
        return digest.hexdigest()


def observation_windows(episode_lengths: np.ndarray, n_obs_steps: int) -> np.ndarray:
    """Index ``(T, n_obs_steps)`` of the observations each transition's policy sees, oldest first.

    A window never crosses an episode boundary: near an episode's start it repeats the episode's first
    observation (as Implicit BC and diffusion_policy pad), so a window at step ``t`` of an episode starting at
    ``s`` holds ``max(s, t - n + 1 + j)`` for ``j = 0 .. n - 1``.
    """
    lengths = np.asarray(episode_lengths, dtype=np.int64)
    starts = np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    t = np.arange(int(lengths.sum()), dtype=np.int64)
    offsets = np.arange(n_obs_steps, dtype=np.int64) - (n_obs_steps - 1)
    return np.maximum(starts[:, None], t[:, None] + offsets[None, :])


def action_chunks(episode_lengths: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Index ``(T, horizon)`` of the actions each transition's chunk holds, and which of them ``(T, horizon)``
    bool are padding.

    A chunk never crosses an episode boundary: past an episode's end it repeats the episode's last action
    (the padding rule for absolute targets, as diffusion_policy pads), and the mask marks those steps, so a
    loss can leave them out where actions are deltas. The chunk at step ``t`` of an episode ending at ``e``
    (its last step) holds ``min(e, t + k)`` for ``k = 0 .. horizon - 1``.
    """
    lengths = np.asarray(episode_lengths, dtype=np.int64)
    ends = np.repeat(np.cumsum(lengths) - 1, lengths)
    t = np.arange(int(lengths.sum()), dtype=np.int64)
    wanted = t[:, None] + np.arange(horizon, dtype=np.int64)[None, :]
    return np.minimum(wanted, ends[:, None]), wanted > ends[:, None]


def _validate(demos: Demonstrations) -> None:
    for key, dtype in _DTYPES.items():
        value = getattr(demos, key)
        if not isinstance(value, np.ndarray) or value.dtype != dtype:
            got = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise DemonstrationError(f"{key} must be a {np.dtype(dtype).name} array, got {got}")
    obs, act = demos.observations, demos.actions
    if obs.ndim != 2 or act.ndim != 2:
        raise DemonstrationError(
            f"observations and actions must be 2-D (T, O) and (T, A), got {obs.shape} and {act.shape}"
        )
    if len(obs) != len(act):
        raise DemonstrationError(f"observations have {len(obs)} rows but actions have {len(act)}")
    for key in ("observations", "actions"):
        bad = ~np.isfinite(getattr(demos, key))
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise DemonstrationError(f"{key} contain NaN or inf (first at row {row})")
    lengths = demos.episode_lengths
    if lengths.ndim != 1 or len(lengths) == 0:
        raise DemonstrationError(f"episode_lengths must be a non-empty 1-D array, got shape {lengths.shape}")
    if (lengths <= 0).any():
        raise DemonstrationError(f"episode_lengths must all be positive, got {lengths[lengths <= 0][:5]}")
    if int(lengths.sum()) != len(obs):
        raise DemonstrationError(f"episode_lengths sum to {int(lengths.sum())} but there are {len(obs)} transitions")
    for key in ("episode_seeds", "episode_successes"):
        if getattr(demos, key).shape != lengths.shape:
            raise DemonstrationError(
                f"{key} must have shape {lengths.shape} (one per episode), got {getattr(demos, key).shape}"
            )
    vectors = [p for p in demos.observation_parts if not p.image]
    if demos.observation_parts and sum(p.size for p in vectors) != demos.observation_size:
        raise DemonstrationError(
            f"observation_parts give {sum(p.size for p in vectors)} vector values but observations have "
            f"size {demos.observation_size}"
        )
    cameras = {p.name: p for p in demos.observation_parts if p.image}
    if set(cameras) != set(demos.images):
        raise DemonstrationError(
            f"images hold {sorted(demos.images)} but observation_parts name the image parts {sorted(cameras)}"
        )
    for name, frames in demos.images.items():
        want = (len(obs), *cameras[name].shape)
        if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.shape != want:
            got = f"{frames.dtype} {frames.shape}" if isinstance(frames, np.ndarray) else type(frames).__name__
            raise DemonstrationError(f"image part {name!r} must be uint8 frames of shape {want}, got {got}")
    if not isinstance(demos.env_id, str):
        raise DemonstrationError(f"env_id must be a string (empty for no env), got {demos.env_id!r}")
    if not isinstance(demos.env_kwargs, dict) or any(not isinstance(k, str) for k in demos.env_kwargs):
        raise DemonstrationError(f"env_kwargs must be a dict with string keys, got {demos.env_kwargs!r}")


def _parts(arrays: dict[str, np.ndarray]) -> tuple[ObservationPart, ...]:
    """The ``observation_parts`` a file records; none for a flat observation."""
    if "observation_parts" not in arrays:
        return ()
    try:
        return tuple(ObservationPart.from_dict(part) for part in json.loads(str(arrays["observation_parts"])))
    except (KeyError, TypeError) as err:
        raise ValueError(f"observation_parts is malformed: {err!r}") from None


def load_npz(path: str | os.PathLike) -> Demonstrations:
    """Load and validate a demonstration ``.npz``; :class:`DemonstrationError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise DemonstrationError(f"demonstration file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise DemonstrationError(f"{path} is not a readable demonstration .npz (truncated or corrupt?): {err}") from err
    required = (*_ARRAY_KEYS, "env_id", "seed", "format_version", "sha256")
    missing = [key for key in required if key not in arrays]
    if missing:
        raise DemonstrationError(f"{path} lacks the keys {missing}; expected {list(required)}")
    version = int(arrays["format_version"])
    if version != FORMAT_VERSION:
        raise DemonstrationError(f"{path} has format_version {version}; this version reads {FORMAT_VERSION}")
    try:
        demos = Demonstrations(
            **{key: arrays[key] for key in _ARRAY_KEYS},
            env_id=str(arrays["env_id"]),
            seed=int(arrays["seed"]),
            env_kwargs=json.loads(str(arrays["env_kwargs"])) if "env_kwargs" in arrays else {},
            observation_parts=_parts(arrays),
            images={k[len(IMAGE_PREFIX) :]: v for k, v in arrays.items() if k.startswith(IMAGE_PREFIX)},
        )
    except (DemonstrationError, json.JSONDecodeError, ValueError) as err:
        raise DemonstrationError(f"{path}: {err}") from err
    if demos.digest() != str(arrays["sha256"]):
        raise DemonstrationError(f"{path} fails its sha256 check: its contents were changed after it was written")
    return demos
