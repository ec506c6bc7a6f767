"""``OnnxPolicy``: runs an exported argmin graph with onnxruntime and numpy alone (no torch).

Import it as ``from implicit_policy import OnnxPolicy`` on a robot computer that has numpy, onnx and
onnxruntime but no torch (``pip install "implicit-policy[runtime]"``, or ``[gpu]``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx

from implicit_policy.extras import require
from implicit_policy.runtime.control_loop import (
    ControlLoopPolicy,
    NoiseInputs,
    noise_distribution,
    observation_input_shape,
)
from implicit_policy.runtime.input_spec import InputSpec, flat_slices
from implicit_policy.runtime.pretrained import pretrained_folder

FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
"""Version 1 files (before metadata digests) still load, verified by their graph digest alone."""
_PREFIX = "implicit_policy."
_DIGESTS = (f"{_PREFIX}graph_sha256", f"{_PREFIX}content_sha256")


def graph_digest(model: onnx.ModelProto) -> str:
    """sha256 of the serialised graph (weights included): detects a changed or damaged file."""
    return hashlib.sha256(model.graph.SerializeToString(deterministic=True)).hexdigest()


def content_digest(model: onnx.ModelProto) -> str:
    """sha256 of the graph and of every metadata entry but the digests: the bounds, normaliser, sizes and
    inference settings the policy reads are covered as well as the weights."""
    digest = hashlib.sha256(graph_digest(model).encode())
    for entry in sorted((p.key, p.value) for p in model.metadata_props if p.key not in _DIGESTS):
        digest.update(json.dumps(entry).encode())
    return digest.hexdigest()


def read_onnx(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, str]]:
    """Load and verify an exported file; ``ValueError`` naming what is wrong."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{path} is a folder (a training run?), not an exported .onnx file; export one with "
            f"implicit-policy export --policy {path} --out {path}/policy.onnx"
        )
    if not path.is_file():
        raise ValueError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # onnx raises DecodeError and friends for damaged files
        raise ValueError(f"{path} is not a readable ONNX file (truncated or corrupt?): {err}") from err
    meta = {p.key[len(_PREFIX) :]: p.value for p in model.metadata_props if p.key.startswith(_PREFIX)}
    if "format_version" not in meta:
        raise ValueError(f"{path} was not exported by implicit-policy (no {_PREFIX}format_version metadata)")
    version = int(meta["format_version"]) if meta["format_version"].isdigit() else meta["format_version"]
    if version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has format_version {version}; this version reads {', '.join(map(str, READABLE_VERSIONS))}"
        )
    if meta.get("graph_sha256") != graph_digest(model):
        raise ValueError(f"{path} fails its graph sha256 check: the file was changed after export")
    if version >= 2 and meta.get("content_sha256") != content_digest(model):
        raise ValueError(
            f"{path} fails its sha256 check: its metadata (bounds, normaliser, sizes or inference "
            "settings) was changed after export"
        )
    return model, meta


def graph_noise_inputs(
    model: onnx.ModelProto, path: str | os.PathLike, observation_inputs: dict[str, tuple[int, ...]]
) -> NoiseInputs:
    """The noise inputs an argmin graph declares (shapes with the batch axis as 0), read from the graph itself
    so that ``OnnxPolicy`` needs no config classes; ``ValueError`` if an observation input (``obs``, or each
    part of a policy with image parts) is not ``(B, *shape)`` or a noise input lacks its one batch axis or its
    ``_uniform``/``_normal`` suffix."""
    declared = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in model.graph.input}
    for name, shape in observation_inputs.items():
        obs = declared.pop(name, None)
        if obs is None or obs[1:] != list(shape) or isinstance(obs[0], int):
            raise ValueError(
                f"{path}: graph input {name!r} is {obs}, not (B, {', '.join(map(str, shape))}) as its metadata records"
            )
    noise: NoiseInputs = {}
    for name, dims in declared.items():
        batch_axes = [axis for axis, size in enumerate(dims) if not isinstance(size, int)]
        if len(batch_axes) != 1:
            raise ValueError(f"{path}: graph input {name!r} {dims} has {len(batch_axes)} batch axes, not one")
        noise[name] = (
            tuple(0 if axis == batch_axes[0] else size for axis, size in enumerate(dims)),
            batch_axes[0],
            noise_distribution(name),
        )
    return noise


class OnnxPolicy(ControlLoopPolicy):
    """Same ``act``/``reset`` as ``ImplicitPolicy``, from one exported ``.onnx`` argmin file.

    ``providers`` defaults to CPU; pass e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` for a GPU.
    ``threads`` is onnxruntime's intra-op thread count: one is right beside a control loop.
    """

    def __init__(
        self, path: str | os.PathLike, providers: list[str] | None = None, threads: int = 1, seed: int = 0
    ) -> None:
        model, meta = read_onnx(path)
        if meta.get("kind") != "argmin":
            raise ValueError(f"{path} holds the energy net alone; OnnxPolicy needs the argmin export (the default)")
        self.path = Path(path)
        self.env_id = meta["env_id"]  # empty for a policy trained on data with no env
        self.env_kwargs = json.loads(meta.get("env_kwargs", "{}"))  # files exported before env kwargs have none
        self.obs_size, self.action_size = int(meta["obs_size"]), int(meta["action_size"])
        self.n_obs_steps = int(meta.get("n_obs_steps", 1))  # files exported before history have none
        self.horizon = int(meta.get("horizon", 1))  # files exported before chunks have none: one action
        self.n_action_steps = int(meta.get("n_action_steps", 1))
        self.temporal_ensemble = float(meta.get("temporal_ensemble", 0.0))
        self.inference = json.loads(meta["inference"])
        self.normalizer = json.loads(meta["normalizer"])
        # What it eats (keys, order, sizes, window); None for files exported before 0.4.
        self.input_spec = InputSpec.from_json(meta["input_spec"]) if "input_spec" in meta else None
        self.action_low = np.asarray(json.loads(meta["action_low"]), dtype=np.float32)
        self.action_high = np.asarray(json.loads(meta["action_high"]), dtype=np.float32)
        spec = self.input_spec
        self._parts = spec.observation if spec is not None and spec.images else ()
        if self._parts:  # one input per part (frames uint8), the window axis kept
            assert spec is not None
            self.obs_size = spec.obs_size
            inputs = {part.name: (self.n_obs_steps, *part.input_shape) for part in self._parts}
        else:
            inputs = {"obs": observation_input_shape(self.n_obs_steps, self.obs_size)}
        self._noise = graph_noise_inputs(model, path, inputs)
        ort = require("onnxruntime", "OnnxPolicy")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            model.SerializeToString(), options, providers=providers or ["CPUExecutionProvider"]
        )
        super().__init__(seed)

    @classmethod
    def from_pretrained(
        cls, repo_id_or_path: str | os.PathLike, revision: str | None = None, filename: str = "policy.onnx", **options
    ) -> OnnxPolicy:
        """An exported file by local path (a file, or a folder holding ``filename``) or from a Hugging Face Hub
        repo that holds ``filename`` (downloaded or from the cache), verified by its digests on load."""
        found = pretrained_folder(repo_id_or_path, revision)
        return cls(found / filename if found.is_dir() else found, **options)

    def noise_inputs(self, batch: int) -> NoiseInputs:
        return {
            name: (tuple(batch if axis == batch_axis else size for axis, size in enumerate(shape)), batch_axis, kind)
            for name, (shape, batch_axis, kind) in self._noise.items()
        }

    def argmin(self, window: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        if self._parts:
            feeds = {}
            for part, where in flat_slices(self._parts):
                values = window[..., where].reshape(*window.shape[:2], *part.input_shape)
                feeds[part.name] = values.astype(np.uint8) if part.image else np.ascontiguousarray(values)
        else:
            feeds = {"obs": window.reshape(len(window), *observation_input_shape(self.n_obs_steps, self.obs_size))}
        (actions,) = self.session.run(None, {**feeds, **noise})
        return actions
