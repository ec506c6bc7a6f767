"""diffusion_policy's zarr replay buffers: ``zarr:PATH`` (a ``.zarr`` folder or a ``.zarr.zip``), with the
optional extra ``pip install "implicit-policy[zarr]"``.

Layout (diffusion_policy's ``ReplayBuffer``): ``data/<key>`` arrays whose first axis runs over every step of
every episode, back to back, and ``meta/episode_ends`` (the cumulative step count at each episode's end).
Actions are ``data/action``; observations are ``--obs-keys`` concatenated in order, by default ``state`` where
the buffer has it (Push-T's), else every other per-step vector, sorted by name. A key with more axes per step
is flattened (``keypoint``, 9 x 2, gives 18 values) and any key can be sliced: Diffusion Policy's Push-T
observation is ``--obs-keys keypoint state[:2]`` (the keypoints, then the agent position). Image arrays
(three axes per step, ``img`` in Push-T: 96 x 96 x 3 float 0..255) are read when named (``--obs-keys
img,agent_pos=state[:2]``), a chunk at a time, into uint8 frames stored once; arrays of Python objects are
refused before anything is read (a pickle codec would run code from the file).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.data.episodes import (
    choose_keys,
    demonstrations_from_episodes,
    frames_uint8,
    image_layout,
    read_part,
    steps,
)
from implicit_policy.data.frames import frame_array
from implicit_policy.extras import require

PREFIX = "zarr:"
ACTION_KEY = "action"
FRAMES_PER_READ = 1024
"""Image frames read and converted at a time: a float buffer never holds more than this many."""


def _open(path: Path) -> Any:
    zarr = require("zarr", "zarr replay buffers")

    if not path.exists():
        raise DemonstrationError(f"zarr replay buffer not found: {path}")
    try:
        store = (
            zarr.storage.ZipStore(path, mode="r") if path.is_file() else zarr.storage.LocalStore(path, read_only=True)
        )
        return zarr.open_group(store, mode="r")
    except Exception as err:  # zarr raises assorted errors for what is not a zarr group
        raise DemonstrationError(f"{path} is not a readable zarr group: {err}") from err


def _array(group: Any, name: str, path: Path) -> Any:
    if name not in group:
        raise DemonstrationError(
            f"{path} has no {name!r}; a diffusion_policy replay buffer has data/ and meta/episode_ends"
        )
    array = group[name]
    if array.dtype == object or np.dtype(array.dtype).kind not in "fiub":
        raise DemonstrationError(f"{path}: key {name!r} is not numeric (dtype {array.dtype}); it is not read")
    return array


def load_zarr(source: str, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """The episodes of the replay buffer ``zarr:PATH`` (module docstring); no env recorded."""
    path = Path(source[len(PREFIX) :])
    root = _open(path)
    ends = np.asarray(_array(root, "meta/episode_ends", path)[:], dtype=np.int64)
    if ends.ndim != 1 or len(ends) == 0 or np.any(np.diff(np.concatenate([[0], ends])) <= 0):
        raise DemonstrationError(f"{path}: meta/episode_ends must be increasing step counts, got {ends[:5]}...")
    data = root["data"] if "data" in root else None
    if data is None:
        raise DemonstrationError(f"{path} has no data/ group; a diffusion_policy replay buffer has data/<key> arrays")
    shapes: dict[str, tuple[int, ...] | None] = {
        key: tuple(data[key].shape[1:]) for key in data.array_keys() if key != ACTION_KEY
    }
    images = {key: layout for key, shape in shapes.items() if (layout := image_layout(shape or ())) is not None}
    vectors = sorted(k for k, shape in shapes.items() if shape is not None and len(shape) <= 1)
    default = ["state"] if len(shapes.get("state") or ()) == 1 else vectors
    parts = choose_keys(str(path), shapes, obs_keys, default, images)
    keys = list(dict.fromkeys(part.key for part in parts if not part.image))
    arrays = {key: _array(root, f"data/{key}", path) for key in [*keys, ACTION_KEY]}
    for key, array in arrays.items():
        if array.shape[0] != ends[-1]:
            raise DemonstrationError(
                f"{path}: key {key!r} has {array.shape[0]} steps but meta/episode_ends ends at {ends[-1]}"
            )
    values = {key: array[:] for key, array in arrays.items()}
    starts = np.concatenate([[0], ends[:-1]])
    observations, actions = [], []
    for episode, (start, end) in enumerate(zip(starts, ends)):
        action = steps(values[ACTION_KEY][start:end], str(path), ACTION_KEY, episode)
        read = [read_part(values[p.key][start:end], p, str(path), episode, len(action)) for p in parts if not p.image]
        observations.append(np.concatenate(read, axis=1) if read else np.zeros((len(action), 0), np.float32))
        actions.append(action)
    frames = {
        part.name: _frames(_array(root, f"data/{part.key}", path), part.layout, path, part.key, ends[-1])
        for part in parts
        if part.image
    }
    return demonstrations_from_episodes(
        str(path), list(range(len(ends))), observations, actions, parts=parts, images=frames
    )


def _frames(array: Any, layout: str, path: Path, key: str, total: int) -> np.ndarray:
    """Every frame of ``array`` as uint8 ``(T, H, W, C)``, read and converted :data:`FRAMES_PER_READ` at a time."""
    if array.shape[0] != total:
        raise DemonstrationError(
            f"{path}: key {key!r} has {array.shape[0]} steps but meta/episode_ends ends at {total}"
        )
    first = frames_uint8(array[:1], layout, str(path), key)
    out = frame_array((total, *first.shape[1:]))
    for start in range(0, total, FRAMES_PER_READ):
        out[start : start + FRAMES_PER_READ] = frames_uint8(
            array[start : start + FRAMES_PER_READ], layout, str(path), key
        )
    return out
