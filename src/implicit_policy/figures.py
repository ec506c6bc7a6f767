"""PNG figures with matplotlib (in the ``train`` and ``plot`` extras): without it, plotting returns ``None``
and the caller goes on without the figure."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from implicit_policy.atomic import atomic_open
from implicit_policy.extras import installed, require


def have_matplotlib() -> bool:
    return installed("matplotlib")


def pyplot() -> Any:
    """matplotlib's pyplot on the file-only Agg backend (no display needed)."""
    require("matplotlib", "figures").use("Agg")
    return require("matplotlib.pyplot", "figures")


def save_figure(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG atomically and close it."""
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi)
    pyplot().close(fig)
    return Path(path)
