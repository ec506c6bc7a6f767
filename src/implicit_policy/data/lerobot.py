"""LeRobot datasets: ``lerobot:PATH``, a local ``LeRobotDataset`` folder (v2.x, one parquet file per
episode, or v3.0, many episodes per file), with the optional extra ``pip install "implicit-policy[lerobot]"``.

Layout (LeRobot's): ``meta/info.json`` declares the ``features`` (name -> ``dtype``, ``shape``) and the
``codebase_version``; the frames are rows of ``data/**/*.parquet`` with one column per non-video feature plus
``episode_index`` and ``frame_index``. Actions are the ``action`` feature; observations are ``--obs-keys``
concatenated in order, by default ``observation.state`` followed by every other non-image ``observation.*``
feature, sorted by name. Image and video features are read when named (``--obs-keys
observation.image,observation.state``): an ``image`` feature's frames are PNG (or JPEG) files in its parquet
column, decoded with Pillow; a ``video`` feature's are the frames of its mp4 files (``video_path`` in
``info.json``: one file per episode in v2.x, many episodes per file from ``from_timestamp`` on in v3.0),
decoded with PyAV (both in the ``lerobot`` extra). Only the chosen columns and videos are
read. The env of a simulated dataset (``info.json`` has
none that names a Gymnasium id) is given with ``--env``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.data.episodes import check_frames, choose_keys, demonstrations_from_episodes, read_part, steps
from implicit_policy.data.frames import FrameWriter
from implicit_policy.extras import require
from implicit_policy.runtime.input_spec import ObservationPart

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


def _shape(feature: dict) -> tuple[int, ...]:
    """A feature's per-frame shape from ``info.json``."""
    return tuple(int(n) for n in feature.get("shape") or [1])


def _image_layouts(features: dict) -> dict[str, str]:
    """The image and video features and how their ``shape`` is ordered: ``CHW`` where ``names`` start with
    the channel, else ``HWC`` (LeRobot's ``height, width, channel``)."""
    layouts = {}
    for key, feature in features.items():
        if feature.get("dtype") in _IMAGE_DTYPES:
            names = [str(n).lower() for n in feature.get("names") or []]
            layouts[key] = "CHW" if names[:1] in (["channel"], ["channels"], ["c"]) else "HWC"
    return layouts


def load_lerobot(source: str, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """The episodes of the LeRobot dataset folder ``lerobot:PATH`` (module docstring); no env recorded."""
    parquet = _pyarrow()
    path = Path(source[len(PREFIX) :])
    if not path.is_dir():
        raise DemonstrationError(f"LeRobot dataset folder not found: {path}")
    info = _info(path)
    features = info["features"]
    layouts = _image_layouts(features)
    shapes: dict[str, tuple[int, ...] | None] = {
        key: _shape(f) for key, f in features.items() if key.startswith("observation.")
    }
    vectors = sorted(k for k, shape in shapes.items() if k not in layouts and len(shape or ()) == 1)
    default = (["observation.state"] if "observation.state" in vectors else []) + [
        k for k in vectors if k != "observation.state"
    ]
    parts = choose_keys(str(path), shapes, obs_keys, default, layouts)
    keys = list(dict.fromkeys(part.key for part in parts if not part.image))
    pictures = [p for p in parts if p.image and features[p.key]["dtype"] == "image"]
    videos = [p for p in parts if p.image and features[p.key]["dtype"] == "video"]
    files = sorted((path / "data").glob("**/*.parquet"))
    if not files:
        raise DemonstrationError(f"{path} has no data/**/*.parquet files")
    columns = [*keys, *dict.fromkeys(p.key for p in pictures), ACTION_KEY, "episode_index", "frame_index"]
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
    picture_keys = {p.key for p in pictures}
    for file, table in zip(files, tables):
        for c in columns:
            reader = _encoded_images if c in picture_keys else _column
            frames[c].append(reader(table.column(c), file, c))
    data = {c: np.concatenate(v) for c, v in frames.items()}
    episode, frame = data["episode_index"].reshape(-1), data["frame_index"].reshape(-1)
    order = np.lexsort((frame, episode))  # rows by episode, then frame
    episode_ids, firsts = np.unique(episode[order], return_index=True)
    observations, actions = [], []
    images = {p.name: FrameWriter(len(order), p.shape) for p in parts if p.image}
    videos_of = _VideoFiles(path, info, [p.key for p in videos]) if videos else None
    for e, rows in zip(episode_ids, np.split(order, firsts[1:])):
        action = steps(data[ACTION_KEY][rows], str(path), ACTION_KEY, int(e))
        read = [read_part(data[p.key][rows], p, str(path), int(e), len(action)) for p in parts if not p.image]
        observations.append(np.concatenate(read, axis=1) if read else np.zeros((len(action), 0), np.float32))
        actions.append(action)
        for p in pictures:
            images[p.name].append(_decode_pictures(data[p.key][rows], p, path, int(e)))
        for p in videos:
            assert videos_of is not None
            images[p.name].append(videos_of.frames(p, int(e), data["frame_index"][rows].reshape(-1)))
    return demonstrations_from_episodes(
        str(path),
        [int(e) for e in episode_ids],
        observations,
        actions,
        parts=parts,
        images={name: writer.finished() for name, writer in images.items()},
    )


def _encoded_images(column: Any, file: Path, name: str) -> np.ndarray:
    """An image feature's column (Hugging Face ``Image``: a struct of ``bytes`` and ``path``) as an object array
    of the encoded files' bytes."""
    import pyarrow as pa

    if not pa.types.is_struct(column.type) or column.type.get_field_index("bytes") < 0:
        raise DemonstrationError(f"{file}: column {name!r} holds {column.type}, not images (a struct with bytes)")
    values = column.combine_chunks().field("bytes").to_pylist()
    return np.asarray(values + [None], dtype=object)[:-1]  # the None keeps a 1-D array of bytes objects


def _decode_pictures(encoded: np.ndarray, part: ObservationPart, path: Path, episode: int) -> np.ndarray:
    """One episode's encoded frames of ``part`` as uint8 ``(L, H, W, C)``."""
    image = require("PIL.Image", "LeRobot image features")
    frames = []
    for step, data in enumerate(encoded):
        try:
            frame = np.asarray(image.open(io.BytesIO(data)).convert("RGB" if part.shape[-1] == 3 else "L"))
        except (OSError, TypeError) as err:  # PIL's UnidentifiedImageError is an OSError
            raise DemonstrationError(
                f"{path}: key {part.key!r} of episode {episode}, frame {step}: not a readable image ({err})"
            ) from None
        frames.append(frame.reshape(frame.shape[0], frame.shape[1], -1))
    return check_frames(np.stack(frames), part, str(path), episode, len(encoded))


class _VideoFiles:
    """Where each episode's frames of a video feature are: the file ``info.json``'s ``video_path`` names and the
    first frame in it (v3.0 keeps many episodes per file, from ``from_timestamp`` on). Each key's current file
    is decoded once and kept while its episodes are read (episodes come in order, files hold consecutive ones),
    so a v3.0 file is not decoded again for every episode in it."""

    def __init__(self, path: Path, info: dict, keys: list[str]) -> None:
        self.path, self.info, self.fps = path, info, float(info.get("fps") or 0)
        if "video_path" not in info or not self.fps:
            raise DemonstrationError(f"{path}/meta/info.json lacks video_path or fps, which video features need")
        self.episodes: dict[int, dict[str, Any]] = {}
        self.decoded: dict[str, tuple[Path, np.ndarray]] = {}  # per key: its current file and all its frames
        if info["codebase_version"] == "v3.0":
            parquet = _pyarrow()
            for file in sorted((path / "meta" / "episodes").glob("**/*.parquet")):
                for row in parquet.read_table(file).to_pylist():
                    self.episodes[int(row["episode_index"])] = row

    def frames(self, part: ObservationPart, episode: int, frame_index: np.ndarray) -> np.ndarray:
        """The episode's frames ``(L, H, W, C)`` uint8 at ``frame_index (L,)``."""
        key = part.key
        if self.info["codebase_version"] == "v3.0":
            row = self.episodes.get(episode)
            if row is None or f"videos/{key}/file_index" not in row:
                raise DemonstrationError(f"{self.path}: meta/episodes holds no video of {key!r} for episode {episode}")
            relative = self.info["video_path"].format(
                video_key=key,
                chunk_index=int(row[f"videos/{key}/chunk_index"]),
                file_index=int(row[f"videos/{key}/file_index"]),
            )
            first = int(round(float(row[f"videos/{key}/from_timestamp"]) * self.fps))
        else:
            chunk = episode // int(self.info.get("chunks_size") or 1000)
            relative = self.info["video_path"].format(episode_chunk=chunk, video_key=key, episode_index=episode)
            first = 0
        wanted = first + frame_index.astype(np.int64)
        file = self.path / relative
        if key not in self.decoded or self.decoded[key][0] != file:
            self.decoded[key] = (file, _decode_video(file, key, episode))
        decoded = self.decoded[key][1]
        if len(decoded) <= wanted.max():
            raise DemonstrationError(
                f"{file}: video of {key!r} ends at frame {len(decoded)}, episode {episode} needs "
                f"frame {int(wanted.max())}"
            )
        return check_frames(decoded[wanted], part, str(self.path), episode, len(wanted))


def _decode_video(file: Path, key: str, episode: int) -> np.ndarray:
    """Every frame of ``file`` as uint8 ``(N, H, W, 3)``, by PyAV."""
    av = require("av", "LeRobot video features")
    if not file.is_file():
        raise DemonstrationError(f"video of {key!r} for episode {episode} not found: {file}")
    frames = []
    try:
        with av.open(str(file)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, OSError) as err:
        raise DemonstrationError(f"{file}: not a readable video ({err}); key {key!r}, episode {episode}") from None
    if not frames:
        raise DemonstrationError(f"{file}: the video holds no frames; key {key!r}, episode {episode}")
    return np.stack(frames)


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
