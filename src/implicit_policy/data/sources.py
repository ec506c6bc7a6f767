"""One entry point for every place demonstrations come from: a ``.npz`` path, or ``PREFIX:SOURCE`` for the
formats other tools write (``lerobot:PATH``, ``zarr:PATH``, ``robomimic:PATH``, ``minari:ID`` or
``minari:PATH``). A new format is one reader module and one entry in :data:`READERS`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from implicit_policy.data import lerobot, minari, robomimic, zarr_buffer
from implicit_policy.data.demonstrations import Demonstrations, load_npz

Reader = Callable[[str, Sequence[str] | None], Demonstrations]
"""A format's reader: the whole source string and the observation keys (None: the format's default)."""

READERS: dict[str, Reader] = {
    lerobot.PREFIX: lerobot.load_lerobot,
    zarr_buffer.PREFIX: zarr_buffer.load_zarr,
    robomimic.PREFIX: robomimic.load_robomimic,
    minari.PREFIX: minari.load_minari,
}
"""Readers by prefix (with its colon)."""


def load_demonstrations(source: str | os.PathLike, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """Demonstrations from ``source``: a ``.npz`` file written by ``collect``, or ``PREFIX:...`` for another
    format (see :data:`READERS`), its observations made of ``obs_keys`` in that order where the format has
    several; :class:`~implicit_policy.data.demonstrations.DemonstrationError` naming what is wrong."""
    text = os.fspath(source)
    for prefix, read in READERS.items():
        if text.startswith(prefix):
            return read(text, obs_keys)
    if obs_keys:
        raise ValueError(
            f"{text} is a .npz of flat observations: --obs-keys is for lerobot:, zarr:, robomimic:, minari:"
        )
    return load_npz(source)
