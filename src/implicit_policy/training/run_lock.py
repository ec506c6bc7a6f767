"""One writer per run folder: an exclusive ``fcntl`` lock on ``RUN/train.lock`` for as long as a training
runs. The kernel drops the lock when its holder exits, however it exits (``kill -9`` included), so a lock
left by a dead process never blocks; a second ``train`` into a held folder is refused, naming the holder."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "train.lock"


class RunFolderBusy(ValueError):
    """Another process is training into this run folder."""


@contextmanager
def run_folder_lock(run_dir: str | os.PathLike) -> Iterator[None]:
    """Hold ``run_dir``'s lock for the ``with`` block; :class:`RunFolderBusy` if another process holds it."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before it existed
        yield
        return
    path = Path(run_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "an unknown process"
            raise RunFolderBusy(
                f"{run_dir} is being trained by {holder} (lock {path}); wait for it to finish "
                "or train into another --out folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
