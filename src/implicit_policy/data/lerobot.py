"""LeRobot datasets: ``lerobot:PATH``, a local ``LeRobotDataset`` folder (v2.x, one parquet file per
episode, or v3.0, many episodes per file), with the optional extra ``pip install "implicit-policy[lerobot]"``.

Layout (LeRobot's): ``meta/info.json`` declares the ``features`` (name -> ``dtype``, ``shape``) and the
``codebase_version``; the frames are rows of ``data/**/*.parquet`` with one column per non-video feature plus
``episode_index`` and ``frame_index``. Actions are the ``action`` feature; observations are ``--obs-keys``
concatenated in order, by default ``observation.state`` followed by every other non-image ``observation.*``
feature, sorted by name. Image and video features are refused when named; their files are never opened.
Only the chosen columns are read from the parquet files. The env of a simulated dataset (``info.json`` has
none that names a Gymnasium id) is given with ``--env``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.data.episodes import choose_keys, demonstrations_from_episodes, read_part, steps
from implicit_policy.extras import require

PREFIX = "lerobot:"
ACTION_KEY = "action"
READABLE_VERSIONS = ("v2.0", "v2.1", "v3.0")
_IMAGE_DTYPES = ("image", "video")


def _pyarrow() -> Any:
    return require("pyarrow.parquet", "LeRobot datasets")


def _info(path: Path) -> dict:
    info_path = path / "meta" / "info.json"
    if not info_path.is_file():
        raise DemonstrationError(f"{path} is not a LeRobot dataset folder: no meta/info.json")
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as err:
        raise DemonstrationError(f"{info_path} is not valid JSON: {err}") from err
    version = info.get("codebase_version")
    if version not in READABLE_VERSIONS:
        raise DemonstrationError(
            f"{info_path} has codebase_version {version!r}; this reader knows {', '.join(READABLE_VERSIONS)}"
        )
    if not isinstance(info.get("features"), dict) or ACTION_KEY not in info["features"]:
        raise DemonstrationError(f"{info_path} declares no {ACTION_KEY!r} feature")
    return info


def _shape(feature: dict) -> tuple[int, ...] | None:
    """A feature's per-frame shape from ``info.json``; None for an image or video feature."""
    if feature.get("dtype") in _IMAGE_DTYPES:
        return None
    return tuple(int(n) for n in feature.get("shape") or [1])


def load_lerobot(source: str, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """The episodes of the LeRobot dataset folder ``lerobot:PATH`` (module docstring); no env recorded."""
    parquet = _pyarrow()
    path = Path(source[len(PREFIX) :])
    if not path.is_dir():
        raise DemonstrationError(f"LeRobot dataset folder not found: {path}")
    features = _info(path)["features"]
    shapes = {key: _shape(f) for key, f in features.items() if key.startswith("observation.")}
    vectors = sorted(k for k, shape in shapes.items() if shape is not None and len(shape) == 1)
    default = (["observation.state"] if "observation.state" in vectors else []) + [
        k for k in vectors if k != "observation.state"
    ]
    parts = choose_keys(str(path), shapes, obs_keys, default)
    keys = list(dict.fromkeys(part.key for part in parts))
    files = sorted((path / "data").glob("**/*.parquet"))
    if not files:
        raise DemonstrationError(f"{path} has no data/**/*.parquet files")
    columns = [*keys, ACTION_KEY, "episode_index", "frame_index"]
    tables = []
    for file in files:
        try:
            schema = parquet.read_schema(file)
            missing = [c for c in columns if c not in schema.names]
            if missing:
                raise DemonstrationError(f"{file} has no column {missing[0]!r}; it has {schema.names}")
            tables.append(parquet.read_table(file, columns=columns))
        except DemonstrationError:
            raise
        except Exception as err:  # pyarrow raises ArrowInvalid and friends for a damaged file
            raise DemonstrationError(f"{file} is not a readable parquet file: {err}") from err
    frames: dict[str, list[np.ndarray]] = {c: [] for c in columns}
    for file, table in zip(files, tables):
        for c in columns:
            frames[c].append(_column(table.column(c), file, c))
    data = {c: np.concatenate(v) for c, v in frames.items()}
    episode, frame = data["episode_index"].reshape(-1), data["frame_index"].reshape(-1)
    order = np.lexsort((frame, episode))  # rows by episode, then frame
    episode_ids, firsts = np.unique(episode[order], return_index=True)
    observations, actions = [], []
    for e, rows in zip(episode_ids, np.split(order, firsts[1:])):
        action = steps(data[ACTION_KEY][rows], str(path), ACTION_KEY, int(e))
        read = [read_part(data[p.key][rows], p, str(path), int(e), len(action)) for p in parts]
        observations.append(np.concatenate(read, axis=1))
        actions.append(action)
    return demonstrations_from_episodes(str(path), [int(e) for e in episode_ids], observations, actions, parts=parts)


def _column(column: Any, file: Path, name: str) -> np.ndarray:
    """A parquet column as ``(N, D)`` (list columns) or ``(N,)``; ``DemonstrationError`` for a ragged or
    non-numeric one, naming the file and the column."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_list(kind) or pa.types.is_fixed_size_list(kind) or pa.types.is_large_list(kind):
        value = kind.value_type
        if not (pa.types.is_integer(value) or pa.types.is_floating(value) or pa.types.is_boolean(value)):
            raise DemonstrationError(f"{file}: column {name!r} holds {value}, not numbers")
        lists = column.combine_chunks()
        lengths = np.asarray(lists.value_lengths())
        if len(lengths) and (lengths != lengths[0]).any():
            row = int(np.argmax(lengths != lengths[0]))
            raise DemonstrationError(
                f"{file}: column {name!r} is ragged (row {row} has {lengths[row]} values, row 0 has {lengths[0]})"
            )
        flat = np.asarray(lists.flatten().to_numpy(zero_copy_only=False))
        return flat.reshape(len(lengths), -1 if len(lengths) else 0)
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
        raise DemonstrationError(f"{file}: column {name!r} holds {kind}, not numbers")
    return np.asarray(column.to_numpy())
