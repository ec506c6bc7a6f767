"""Where a dataset's frames live: in memory, or, past a size limit, in a memory-mapped file read by index.

Frames are stored once, uint8 ``(T, H, W, C)``. An array larger than ``IMPLICIT_POLICY_FRAME_MEMORY`` bytes
(default 8e9) is written to a file in ``IMPLICIT_POLICY_CACHE`` (default: the system's temporary folder)
and memory-mapped: a batch gathers its windows by index and the operating system pages in those frames
alone, so a dataset larger than memory trains. The file is unlinked as soon as it is mapped: nothing is
left behind, whatever stops the process. Readers write each episode's frames into that one array as they
decode them (:class:`FrameWriter`), so no copy of a dataset's frames is ever held beside it.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np

DEFAULT_FRAME_MEMORY = 8e9
CHUNK_FRAMES = 1024


def frame_memory_limit() -> float:
    """Bytes of frames held in memory before they are memory-mapped (``IMPLICIT_POLICY_FRAME_MEMORY``)."""
    text = os.environ.get("IMPLICIT_POLICY_FRAME_MEMORY", "")
    try:
        return float(text) if text else DEFAULT_FRAME_MEMORY
    except ValueError:
        raise ValueError(f"IMPLICIT_POLICY_FRAME_MEMORY must be a number of bytes, got {text!r}") from None


def frame_array(shape: tuple[int, ...]) -> np.ndarray:
    """An uninitialised uint8 array of ``shape`` for frames: in memory, or memory-mapped past the limit."""
    if np.prod(shape, dtype=np.float64) <= frame_memory_limit():
        return np.empty(shape, dtype=np.uint8)
    folder = os.environ.get("IMPLICIT_POLICY_CACHE") or tempfile.gettempdir()
    os.makedirs(folder, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="frames_", suffix=".u8", dir=folder)
    try:
        os.ftruncate(handle, int(np.prod(shape, dtype=np.int64)))
        array = np.memmap(path, dtype=np.uint8, mode="r+", shape=shape)
    finally:
        os.close(handle)
        os.unlink(path)  # the mapping keeps the data; the folder keeps nothing
    return array


def take_frames(frames: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``frames[rows]`` where it is held: a memory-mapped array's rows go to a new mapped array, a chunk at a
    time, never all into memory."""
    if not isinstance(frames, np.memmap):
        return frames[rows]
    out = frame_array((len(rows), *frames.shape[1:]))
    for start in range(0, len(rows), CHUNK_FRAMES):
        out[start : start + CHUNK_FRAMES] = frames[rows[start : start + CHUNK_FRAMES]]
    return out


class FrameWriter:
    """A dataset's frames ``(total, H, W, C)`` in one :func:`frame_array`, written episode after episode."""

    def __init__(self, total: int, shape: tuple[int, ...]) -> None:
        self._frames = frame_array((total, *shape))
        self._written = 0

    def append(self, frames: np.ndarray) -> None:
        """Write the next episode's frames ``(L, H, W, C)`` uint8 after those written so far."""
        if self._written + len(frames) > len(self._frames):
            raise ValueError(f"more frames than the {len(self._frames)} the dataset announced")
        self._frames[self._written : self._written + len(frames)] = frames
        self._written += len(frames)

    def finished(self) -> np.ndarray:
        """All the frames, once every one announced is written."""
        if self._written != len(self._frames):
            raise ValueError(f"{self._written} frames written of the {len(self._frames)} the dataset announced")
        return self._frames
