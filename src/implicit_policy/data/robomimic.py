"""robomimic's HDF5 datasets: ``robomimic:PATH`` (every demonstration) or ``robomimic:PATH#FILTER`` (the
demonstrations a filter key lists, e.g. ``#train`` or ``#valid``), with the optional extra
``pip install "implicit-policy[robomimic]"``.

Layout (robomimic's): ``data/demo_N/actions (L, A)`` and ``data/demo_N/obs/<key> (L, ...)``; filter keys are
``mask/<name>``, arrays of demonstration names. Demonstrations are read in the order of their number.
Observations are ``--obs-keys`` concatenated in order, by default every low-dimensional key (one vector per
step), sorted by name. Image keys (``agentview_image``: ``(L, H, W, C)`` uint8, robomimic's layout) are read
as uint8 frames when named (``--obs-keys agentview_image,robot0_eef_pos``). The env recorded in ``data``'s ``env_args`` is a
robosuite env, not a Gymnasium id: the demonstrations are read with no env.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.data.episodes import (
    check_frames,
    choose_keys,
    demonstrations_from_episodes,
    frames_uint8,
    image_layout,
    read_part,
    steps,
)
from implicit_policy.data.frames import FrameWriter
from implicit_policy.extras import require
from implicit_policy.runtime.input_spec import ObservationPart

PREFIX = "robomimic:"


def _h5py() -> Any:
    return require("h5py", "robomimic datasets")


def _demo_names(handle: Any, path: Path, filter_key: str) -> list[str]:
    if "data" not in handle:
        raise DemonstrationError(f"{path} has no 'data' group; a robomimic file has data/demo_N")
    names = sorted(handle["data"].keys(), key=lambda n: int(m.group()) if (m := re.search(r"\d+$", n)) else -1)
    if not filter_key:
        return names
    masks = handle["mask"] if "mask" in handle else {}
    if filter_key not in masks:
        raise DemonstrationError(f"{path} has no filter key mask/{filter_key}; it has {sorted(masks)}")
    listed = [n.decode() if isinstance(n, bytes) else str(n) for n in masks[filter_key][()]]
    missing = [n for n in listed if n not in handle["data"]]
    if missing:
        raise DemonstrationError(f"{path}: mask/{filter_key} lists {missing[:3]}, which data/ does not hold")
    return sorted(listed, key=names.index)


def load_robomimic(source: str, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """The demonstrations of ``robomimic:PATH[#FILTER]`` (module docstring); no env recorded."""
    text, _, filter_key = source[len(PREFIX) :].partition("#")
    path = Path(text)
    h5py = _h5py()
    if not path.is_file():
        raise DemonstrationError(f"robomimic file not found: {path}")
    try:
        handle = h5py.File(path, "r")
    except OSError as err:
        raise DemonstrationError(f"{path} is not a readable HDF5 file: {err}") from err
    with handle:
        names = _demo_names(handle, path, filter_key)
        if not names:
            raise DemonstrationError(f"{path} holds no demonstrations")
        parts: tuple[ObservationPart, ...] | None = None
        observations, actions = [], []
        frames: dict[str, FrameWriter] = {}
        total = sum(len(handle["data"][name]["actions"]) for name in names if "actions" in handle["data"][name])
        for name in names:
            demo = handle["data"][name]
            if "actions" not in demo or "obs" not in demo:
                raise DemonstrationError(f"{path}: episode {name} lacks 'actions' or 'obs'")
            if parts is None:
                shapes = {key: tuple(demo["obs"][key].shape[1:]) for key in demo["obs"]}
                layouts = {key: layout for key, shape in shapes.items() if (layout := image_layout(shape)) is not None}
                default = sorted(key for key, shape in shapes.items() if len(shape) <= 1)
                parts = choose_keys(str(path), dict(shapes), obs_keys, default, layouts)
                frames = {part.name: FrameWriter(total, part.shape) for part in parts if part.image}
            action = steps(demo["actions"][()], str(path), "actions", name)
            read = []
            for part in parts:
                if part.key not in demo["obs"]:
                    raise DemonstrationError(f"{path}: episode {name} has no observation key {part.key!r}")
                values = demo["obs"][part.key][()]
                if part.image:
                    uint8 = frames_uint8(values, part.layout, str(path), f"obs/{part.key}")
                    frames[part.name].append(check_frames(uint8, part, str(path), name, len(action)))
                else:
                    read.append(read_part(values, part, str(path), name, len(action), f"obs/{part.key}"))
            observations.append(np.concatenate(read, axis=1) if read else np.zeros((len(action), 0), np.float32))
            actions.append(action)
    images = {key: writer.finished() for key, writer in frames.items()}
    return demonstrations_from_episodes(str(path), names, observations, actions, parts=parts or (), images=images)
