"""One entry point for every place demonstrations come from: a ``.npz`` path, or ``PREFIX:SOURCE`` for the
formats other tools write (``minari:ID`` or ``minari:PATH``). A new format is one reader module and one
entry in :data:`READERS`."""

from __future__ import annotations

import os
from collections.abc import Callable

from implicit_policy.data import minari
from implicit_policy.data.demonstrations import Demonstrations, load_npz

READERS: dict[str, Callable[[str], Demonstrations]] = {
    minari.PREFIX: minari.load_minari,
}
"""Readers by prefix (with its colon); each takes the whole source string."""


def load_demonstrations(source: str | os.PathLike) -> Demonstrations:
    """Demonstrations from ``source``: a ``.npz`` file written by ``collect``, or ``PREFIX:...`` for another
    format (see :data:`READERS`); :class:`~implicit_policy.data.demonstrations.DemonstrationError` naming
    what is wrong."""
    text = os.fspath(source)
    for prefix, read in READERS.items():
        if text.startswith(prefix):
            return read(text)
    return load_npz(source)
