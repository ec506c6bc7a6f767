"""``OnnxPolicy``: runs an exported argmin graph with onnxruntime and numpy alone (no torch).

Import it as ``from implicit_policy.onnx_policy import OnnxPolicy`` (or ``from implicit_policy import
OnnxPolicy``) on a robot computer that has numpy, onnx and onnxruntime but no torch.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

FORMAT_VERSION = 1
_PREFIX = "implicit_policy."


def noise_specs(inference: dict[str, Any], batch: int, action_size: int) -> dict[str, tuple[tuple[int, ...], int, str]]:
    """Noise inputs of an argmin graph: name -> (shape, batch axis, ``"uniform"`` or ``"normal"``)."""
    n, k = inference["num_samples"], inference["iterations"]
    specs = {"initial_uniform": ((batch, n, action_size), 0, "uniform")}
    if inference["kind"] == "dfo":
        specs["resample_uniform"] = ((k, batch, n), 1, "uniform")
        specs["perturb_normal"] = ((k, batch, n, action_size), 1, "normal")
    else:
        specs["step_normal"] = ((k, batch, n, action_size), 1, "normal")
    return specs


def draw_noise(inference: dict[str, Any], batch: int, action_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """float32 noise arrays for one ``session.run`` of an argmin graph."""
    return {
        name: (rng.random(shape, dtype=np.float32) if kind == "uniform" else rng.standard_normal(shape, dtype=np.float32))
        for name, (shape, _, kind) in noise_specs(inference, batch, action_size).items()
    }


def graph_digest(model: onnx.ModelProto) -> str:
    """sha256 of the serialised graph (weights included): detects a changed or damaged file."""
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def read_onnx(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, str]]:
    """Load and verify an exported file; ``ValueError`` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and friends for damaged files
        raise ValueError(f"{path} is not a readable ONNX file (truncated or corrupt?): {err}") from err
    meta = {p.key[len(_PREFIX):]: p.value for p in model.metadata_props if p.key.startswith(_PREFIX)}
    if "format_version" not in meta:
        raise ValueError(f"{path} was not exported by implicit-policy (no {_PREFIX}format_version metadata)")
    if int(meta["format_version"]) != FORMAT_VERSION:
        raise ValueError(f"{path} has format_version {meta['format_version']}; this version reads {FORMAT_VERSION}")
    if meta.get("graph_sha256") != graph_digest(model):
        raise ValueError(f"{path} fails its graph sha256 check: the file was changed after export")
    return model, meta


class OnnxPolicy:
    """Same ``act``/``reset`` as ``ImplicitPolicy``, from one exported ``.onnx`` argmin file.

    ``providers`` defaults to CPU; pass e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` for a GPU.
    ``threads`` is onnxruntime's intra-op thread count: one is right beside a control loop.
    """

    def __init__(self, path: str | os.PathLike, providers: list[str] | None = None, threads: int = 1,
                 seed: int = 0) -> None:
        model, meta = read_onnx(path)
        if meta.get("kind") != "argmin":
            raise ValueError(f"{path} holds the energy net alone; OnnxPolicy needs the argmin export (the default)")
        self.path = Path(path)
        self.env_id = meta["env_id"]
        self.obs_size, self.action_size = int(meta["obs_size"]), int(meta["action_size"])
        self.inference = json.loads(meta["inference"])
        self.action_low = np.asarray(json.loads(meta["action_low"]), dtype=np.float32)
        self.action_high = np.asarray(json.loads(meta["action_high"]), dtype=np.float32)
        declared = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
        expected = {"obs": ["B", self.obs_size]} | {
            name: [("B" if axis == batch_axis else size) for axis, size in enumerate(shape)]
            for name, (shape, batch_axis, _) in noise_specs(self.inference, 0, self.action_size).items()
        }
        if {k: [d if isinstance(d, int) else "B" for d in v] for k, v in declared.items()} != expected:
            raise ValueError(f"{path}: graph inputs {declared} do not match its recorded sizes {expected}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model.SerializeToString(), options,
                                            providers=providers or ["CPUExecutionProvider"])
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        """Start a new episode."""

    def act(self, obs: Any) -> np.ndarray:
        """Actions for ``obs (O,) -> (A,)`` or ``(B, O) -> (B, A)``, float32, inside the action box."""
        batch, single = validate_observations(obs, self.obs_size)
        noise = draw_noise(self.inference, len(batch), self.action_size, self.rng)
        (actions,) = self.session.run(None, {"obs": batch, **noise})
        return actions[0] if single else actions

    def act_with_noise(self, obs: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        """``act`` with given noise arrays (see :func:`noise_specs`): for parity tests against torch."""
        batch, _ = validate_observations(obs, self.obs_size)
        (actions,) = self.session.run(None, {"obs": batch, **noise})
        return actions


def validate_observations(obs: Any, obs_size: int) -> tuple[np.ndarray, bool]:
    """float32 ``(B, O)`` copy of ``obs`` ``(O,)`` or ``(B, O)``, and whether it was a single one."""
    arr = np.asarray(obs)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"observation must be a real number array of shape ({obs_size},) or (B, {obs_size}), got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != obs_size:
        raise ValueError(f"observation must have shape ({obs_size},) or (B, {obs_size}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"observation of shape {arr.shape} contains NaN or inf")
    return np.ascontiguousarray(np.atleast_2d(arr), dtype=np.float32), arr.ndim == 1
