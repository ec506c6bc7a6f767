"""Experiment tracking beside ``metrics.jsonl``: every record the run writes there (losses, energies,
gradient norm, learning rate, validation success or held-out error) also goes to TensorBoard
(``log=["tensorboard"]``, event files in ``RUN/tensorboard``; optional extra ``tensorboard``) or Weights &
Biases (``log=["wandb"]``, the run in ``RUN/wandb``; optional extra ``wandb``; ``WANDB_MODE=offline`` needs no
network). Each is imported only when chosen.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal, Protocol

from implicit_policy.extras import require

Tracker = Literal["tensorboard", "wandb"]
_EXTRA = {"tensorboard": "tensorboard", "wandb": "wandb"}


class MetricsSink(Protocol):
    def log(self, record: dict[str, float]) -> None:
        """One ``metrics.jsonl`` record (with its ``step``)."""

    def close(self) -> None: ...


def _require(kind: str) -> None:
    require(_EXTRA[kind], f"--log {kind}")


class TensorBoardSink:
    """Scalars named as in ``metrics.jsonl``, at the record's step, in ``run_dir/tensorboard``."""

    def __init__(self, run_dir: Path) -> None:
        _require("tensorboard")
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))

    def log(self, record: dict[str, float]) -> None:
        step = int(record["step"])
        for name, value in record.items():
            if name != "step":
                self.writer.add_scalar(name, value, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    """One W&B run per training run (named after its folder, resumed with it), the config as its config."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        _require("wandb")
        import wandb

        self.run = wandb.init(
            project="implicit-policy",
            name=run_dir.name,
            id=f"{run_dir.name}-{hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:8]}",
            dir=str(run_dir),
            config=config,
            resume="allow",
            reinit="create_new",
        )

    def log(self, record: dict[str, float]) -> None:
        self.run.log({k: v for k, v in record.items() if k != "step"}, step=int(record["step"]))

    def close(self) -> None:
        self.run.finish()


def open_trackers(kinds: list[Tracker], run_dir: Path, config: dict[str, Any]) -> list[MetricsSink]:
    """A sink per chosen tracker; ``ValueError`` naming the extra to install when one is missing."""
    return [TensorBoardSink(run_dir) if kind == "tensorboard" else WandbSink(run_dir, config) for kind in kinds]
