"""The checkpoint folder: ``config.json`` (everything needed to rebuild the policy, versioned) and
``model.safetensors`` (weights: loading never executes code). A run folder holds ``checkpoints/step_N``
folders, a ``latest`` file naming the newest (what ``--resume`` continues), and ``best/``, the checkpoint
with the highest validation success so far (what loading a run folder gives). Checkpoint folders and
``latest`` are written atomically, so a crash never leaves a half-written checkpoint behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import to_json
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from implicit_policy.atomic import atomic_write_text, default_mode
from implicit_policy.config import PolicyField, TrainConfig, describe_validation_error, migrate_0_3
from implicit_policy.models.normalize import NormalizerStats

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 (before header digests) still loads, verified by its weights' digest alone."""
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LATEST_FILE = "latest"
BEST_FOLDER = "best"


class CheckpointError(ValueError):
    """A checkpoint that is missing, corrupt, tampered or inconsistent."""


class CheckpointHeader(BaseModel):
    """What ``config.json`` holds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    format_version: int = FORMAT_VERSION
    env_id: str = Field(description="the Gymnasium id of the env the data came from; empty for data with no env")
    env_kwargs: dict[str, Any] = Field({}, description="the env's constructor kwargs")
    obs_size: int = Field(ge=0, description="values of the vector parts (0: a policy that sees frames alone)")
    action_size: int = Field(ge=1)
    n_obs_steps: int = Field(1, ge=1, description="observation window the net sees; 1 in checkpoints older than it")
    horizon: int = Field(1, ge=1, description="actions decided at once (a chunk); 1 in checkpoints older than chunks")
    n_action_steps: int = Field(1, ge=1, description="actions of a chunk executed before deciding again")
    temporal_ensemble: float = Field(0.0, ge=0, description="ACT's temporal ensembling weight m; 0: off")
    action_low: list[float]
    action_high: list[float]
    normalizer: NormalizerStats
    policy: PolicyField = Field(description="the policy kind and its settings: what builds the net and acts")
    input_spec: dict[str, Any] | None = Field(
        None, description="what the policy eats: runtime.input_spec.InputSpec as a dict; None before 0.4"
    )
    train: TrainConfig | None = None
    step: int | None = Field(None, description="training step the weights are from")
    validation_success_rate: float | None = None
    validation_action_mse: float | None = Field(None, description="held-out action error of these weights")
    weights_sha256: str = ""
    header_sha256: str = Field("", description="digest of everything above (weights digest included); format 2 on")

    @model_validator(mode="before")
    @classmethod
    def _from_0_3_layout(cls, values: Any) -> Any:
        """0.3 headers name the net (``energy``) and the acting method (``inference``); the policy kind
        follows from them and the training config's loss."""
        if not isinstance(values, dict) or "policy" in values or "energy" not in values:
            return values
        values = dict(values)
        train = values.get("train") or {}
        sections = {"energy": values.pop("energy"), "inference": values.pop("inference", None)}
        if sections["inference"] is not None and sections["inference"].get("kind") == "regression":
            loss = dict(train.get("loss") or {})
            if "kind" not in loss or loss["kind"] not in ("mse", "mdn"):  # format 1 headers carry no train config
                loss["kind"] = "mdn" if sections["energy"].get("proposal") else "mse"
            sections["loss"] = loss
        elif train.get("sampler"):
            sections |= {"sampler": train["sampler"], "loss": train.get("loss") or {}}
        values["policy"] = migrate_0_3({k: v for k, v in sections.items() if v is not None})["policy"]
        return values

    def digest(self) -> str:
        """sha256 of this header with ``header_sha256`` blank: covers every field a policy reads."""
        return stored_digest(self.model_copy(update={"header_sha256": ""}).model_dump(mode="json"))


def stored_digest(stored: dict[str, Any]) -> str:
    """sha256 of a header as its file holds it, ``header_sha256`` blank: a header written by an older version
    verifies against its own fields, however today's reader completes or migrates them."""
    return hashlib.sha256(to_json({**stored, "header_sha256": ""})).hexdigest()


def resolve_checkpoint(path: str | os.PathLike, latest: bool = False) -> Path:
    """A checkpoint folder itself; for a run folder its best-validated checkpoint, or (``latest=True``, or
    when the run never validated) its newest one; ``RUN/latest`` (the pointer file) its newest one."""
    path = Path(path)
    if path.name == LATEST_FILE and path.is_file():
        return resolve_checkpoint(path.parent, latest=True)
    if (path / CONFIG_FILE).is_file():
        return path
    if not latest and (path / BEST_FOLDER / CONFIG_FILE).is_file():
        return path / BEST_FOLDER
    pointer = path / LATEST_FILE
    if pointer.is_file():
        return path / pointer.read_text().strip()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if (path / "train_config.json").is_file():
        raise CheckpointError(
            f"{path} is a run folder with no checkpoint yet (the first is written after checkpoint_every steps)"
        )
    raise CheckpointError(f"{path} is neither a checkpoint folder ({CONFIG_FILE}) nor a run folder ({LATEST_FILE})")


def write_checkpoint(
    folder: str | os.PathLike,
    header: CheckpointHeader,
    weights: dict[str, torch.Tensor],
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a complete checkpoint folder atomically (temporary folder, then rename); replaces ``folder``."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    blob = save_safetensors({k: v.detach().cpu().contiguous() for k, v in weights.items()})
    # Re-validated, so the digest is of exactly the values a reader will parse back (e.g. 1 -> 1.0 in a float field).
    header = CheckpointHeader.model_validate(
        header.model_dump() | {"weights_sha256": hashlib.sha256(blob).hexdigest(), "format_version": FORMAT_VERSION}
    )
    header = header.model_copy(update={"header_sha256": header.digest()})
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    os.chmod(tmp, default_mode(directory=True))
    try:
        files = {WEIGHTS_FILE: blob, CONFIG_FILE: header.model_dump_json(indent=2).encode(), **(extra_files or {})}
        for name, data in files.items():
            with open(tmp / name, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp / name, default_mode())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def set_latest(run_dir: str | os.PathLike, checkpoint_name: str) -> None:
    atomic_write_text(Path(run_dir) / LATEST_FILE, checkpoint_name + "\n")


def read_checkpoint(
    path: str | os.PathLike, latest: bool = False
) -> tuple[Path, CheckpointHeader, dict[str, torch.Tensor]]:
    """Resolve (see :func:`resolve_checkpoint`), read and verify a checkpoint: its folder, header and weights."""
    folder = resolve_checkpoint(path, latest)
    config_path, weights_path = folder / CONFIG_FILE, folder / WEIGHTS_FILE
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise CheckpointError(f"checkpoint {folder} lacks {needed.name}")
    try:
        stored = json.loads(config_path.read_text())
        header = CheckpointHeader.model_validate(stored)
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{config_path} is not valid JSON (truncated?): {err}") from err
    except ValidationError as err:
        raise CheckpointError(
            f"{config_path} is not a valid checkpoint config: {describe_validation_error(err)}"
        ) from err
    if header.format_version not in READABLE_VERSIONS:
        raise CheckpointError(
            f"{config_path} has format_version {header.format_version}; this version reads "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    if header.format_version >= 2 and header.header_sha256 != stored_digest(stored):
        raise CheckpointError(
            f"{config_path} was changed after it was written (its sha256 does not match); to act "
            "with other inference settings, pass them to ImplicitPolicy.load(..., inference=...)"
        )
    blob = weights_path.read_bytes()
    if hashlib.sha256(blob).hexdigest() != header.weights_sha256:
        raise CheckpointError(f"{weights_path} does not match the sha256 in {CONFIG_FILE}: truncated or tampered")
    try:
        weights = load_safetensors(blob)
    except SafetensorError as err:
        raise CheckpointError(f"{weights_path} is not a readable safetensors file: {err}") from err
    return folder, header, weights


def read_extra(folder: Path, name: str) -> bytes:
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"checkpoint {folder} lacks {name}, needed to resume training")
    return path.read_bytes()


def prune_checkpoints(run_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` ``checkpoints/step_N`` folders."""
    folders = sorted((run_dir / "checkpoints").glob("step_*"), key=lambda p: int(p.name.split("_")[1]))
    for old in folders[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


__all__ = [
    "CheckpointError",
    "CheckpointHeader",
    "NormalizerStats",
    "read_checkpoint",
    "write_checkpoint",
    "set_latest",
    "resolve_checkpoint",
    "prune_checkpoints",
]
