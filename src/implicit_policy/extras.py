"""Optional dependencies: one place that imports them or says, in one line, which extra installs them.

Every optional path imports through :func:`require`; the command line turns :class:`MissingExtra` (and a
bare ``ModuleNotFoundError`` of a module named in :data:`EXTRA_OF`) into that line and exit status 2.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

EXTRA_OF: dict[str, str] = {
    "onnxruntime": "runtime",
    "torch": "train",
    "gymnasium": "train",
    "pydantic": "train",
    "pydantic_core": "train",
    "onnxscript": "train",
    "safetensors": "train",
    "tqdm": "train",
    "matplotlib": "plot",
    "gymnasium_robotics": "robotics",
    "mujoco": "robotics",
    "gym_pusht": "pusht",
    "pymunk": "pusht",
    "zarr": "zarr",
    "h5py": "robomimic",
    "pyarrow": "lerobot",
    "av": "lerobot",
    "PIL": "lerobot",
    "minari": "minari",
    "huggingface_hub": "hub",
    "imageio": "video",
    "imageio_ffmpeg": "video",
    "tensorboard": "tensorboard",
    "wandb": "wandb",
    "ray": "sweep",
}
"""The extra that installs each optional top-level module."""


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""

    def __init__(self, module: str, purpose: str) -> None:
        top = module.split(".")[0]
        extra = EXTRA_OF.get(top, "train")
        super().__init__(f'{purpose} needs {top}, which is not installed: pip install "implicit-policy[{extra}]"')
        self.name, self.extra = top, extra


def require(module: str, purpose: str) -> ModuleType:
    """``importlib.import_module(module)``, or :class:`MissingExtra` saying that ``purpose`` needs its extra.
    An import error from inside an installed module (a broken install) passes through unchanged."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name is None or module.split(".")[0] != err.name.split(".")[0]:
            raise
        raise MissingExtra(module, purpose) from None


def installed(module: str) -> bool:
    """Whether ``module`` is installed (for optional features that are skipped, not refused, without it); looks
    it up without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def missing_extra_message(err: ImportError) -> str | None:
    """The one-line message for :class:`MissingExtra` or a ``ModuleNotFoundError`` of an optional module;
    None for any other import error."""
    if isinstance(err, MissingExtra):
        return str(err)
    if not isinstance(err, ModuleNotFoundError):
        return None
    top = (err.name or "").split(".")[0]
    if top not in EXTRA_OF:
        return None
    return str(MissingExtra(top, "this command"))
