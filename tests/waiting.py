"""Waiting in tests on the event a test needs, never on how fast the machine is.

A deadline here only guards against a hang: it is long enough that a slow or loaded machine never reaches it
(the suite's tests each take seconds to minutes even on two shared cores), and reaching it fails with a
message that says it was the hang guard.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

HANG_GUARD_S = 1800.0


def wait_for(
    condition: Callable[[], bool], what: str, *, process: subprocess.Popen | None = None, poll: float = 0.05
) -> None:
    """Poll ``condition`` until it holds; fail at once if ``process`` exits first, or at the hang guard."""
    start = time.monotonic()
    while not condition():
        if process is not None and process.poll() is not None:
            output = process.stderr.read()[-3000:] if process.stderr is not None else ""
            raise AssertionError(f"the process exited ({process.returncode}) before {what}: {output}")
        if time.monotonic() - start > HANG_GUARD_S:
            raise AssertionError(f"hang guard: waited {HANG_GUARD_S:.0f} s for {what}")
        time.sleep(poll)


def run(*args: Any, **kwargs: Any) -> subprocess.CompletedProcess:
    """``subprocess.run`` with the hang guard as its timeout."""
    try:
        return subprocess.run(*args, timeout=HANG_GUARD_S, **kwargs)
    except subprocess.TimeoutExpired as error:
        raise AssertionError(f"hang guard: {error.cmd!r} ran {HANG_GUARD_S:.0f} s") from None


def communicate(process: subprocess.Popen) -> tuple[Any, Any]:
    """``process.communicate()`` with the hang guard as its timeout."""
    try:
        return process.communicate(timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"hang guard: {process.args!r} ran {HANG_GUARD_S:.0f} s") from None
