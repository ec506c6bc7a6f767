"""ONNX export: the energy net alone, or the whole argmin (normalisation and every DFO or Langevin
iteration inside one graph), for :class:`~implicit_policy.runtime.onnx_policy.OnnxPolicy` to run without torch.

The argmin graph takes its randomness as inputs (uniform and normal noise, shapes in the metadata), so
the same noise gives the same action in torch and in onnxruntime. Langevin's gradient is the energy net's
explicit backward pass (torch's exporter cannot export autograd).

A policy with image parts takes each part as its own input, named as the part, with the window axis:
``img (B, n_obs_steps, H, W, C)`` uint8 (scaling and the centre crop inside the graph), ``agent_pos
(B, n_obs_steps, 2)`` float32; a vector-only policy takes the flat ``obs`` as before.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import onnx
import torch
from torch import nn

from implicit_policy.atomic import atomic_open
from implicit_policy.policies.torch_policy import ImplicitPolicy, TorchPolicy
from implicit_policy.runtime.control_loop import observation_input_shape
from implicit_policy.runtime.onnx_policy import FORMAT_VERSION, content_digest, graph_digest

OPSET = 18


class RawEnergy(nn.Module):
    """``E(raw obs (B, O), raw actions (B, M, A)) -> (B, M)``: the policy's :meth:`ImplicitPolicy.raw_energy`."""

    def __init__(self, policy: ImplicitPolicy) -> None:
        super().__init__()
        self.policy = policy
        self.energy, self.normalizer = policy.energy, policy.torch_normalizer

    def forward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.policy.raw_energy(obs, actions)


class ArgminModule(nn.Module):
    """Raw observation ``(B, O)`` (or window ``(B, n_obs_steps, O)``) and the inference kind's noise inputs
    in, raw action ``(B, A)`` out, clipped to the action box: the policy's own ``normalized_argmin`` between
    its normaliser's two maps. The noise arrives positionally in the order of ``noise_inputs``, so one
    module serves every inference kind (an explicit policy takes none)."""

    def __init__(self, policy: TorchPolicy) -> None:
        super().__init__()
        self.policy = policy
        self.model, self.normalizer = policy.model, policy.torch_normalizer
        self.noise_names = list(policy.noise_inputs(1))
        spec = policy.input_spec
        self.part_names = [part.name for part in spec.observation] if spec is not None and spec.images else []
        self.register_buffer("low", torch.tensor(policy.header.action_low))
        self.register_buffer("high", torch.tensor(policy.header.action_high))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.part_names:  # one input per part, then the noise
            k = len(self.part_names)
            obs = self.policy.features_from_parts(dict(zip(self.part_names, inputs[:k])))
            noise = inputs[k:]
        else:
            obs, noise = self.policy.normalize_window(inputs[0]), inputs[1:]
        best = self.policy.normalized_argmin(obs, dict(zip(self.noise_names, noise)))
        chunk = torch.minimum(torch.maximum(self.policy.raw_chunk(best), self.low), self.high)  # (B, horizon, A)
        return chunk[:, 0] if self.policy.horizon == 1 else chunk  # one action: (B, A), as before chunks


def argmin_module(policy: TorchPolicy) -> ArgminModule:
    """The exportable module of a policy's whole argmin (inputs: observation, then its noise)."""
    return ArgminModule(policy)


def _metadata(policy: TorchPolicy, kind: str) -> dict[str, str]:
    header = policy.header
    meta = {
        "implicit_policy.format_version": str(FORMAT_VERSION),
        "implicit_policy.kind": kind,
        "implicit_policy.env_id": header.env_id,
        "implicit_policy.env_kwargs": json.dumps(header.env_kwargs, sort_keys=True),
        "implicit_policy.obs_size": str(header.obs_size),
        "implicit_policy.action_size": str(header.action_size),
        "implicit_policy.n_obs_steps": str(header.n_obs_steps),
        "implicit_policy.horizon": str(header.horizon),
        "implicit_policy.n_action_steps": str(header.n_action_steps),
        "implicit_policy.temporal_ensemble": repr(header.temporal_ensemble),
        "implicit_policy.action_low": json.dumps(header.action_low),
        "implicit_policy.action_high": json.dumps(header.action_high),
        "implicit_policy.normalizer": header.normalizer.model_dump_json(),
    }
    if header.input_spec is not None:
        meta["implicit_policy.input_spec"] = json.dumps(header.input_spec, sort_keys=True)
    if kind == "argmin":
        meta["implicit_policy.inference"] = header.policy.acting.model_dump_json()
    return meta


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence the exporter's warnings and log lines (e.g. "torchvision is not installed"): noise to a user."""
    log = logging.getLogger("torch.onnx")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def _export(
    module: nn.Module,
    inputs: dict[str, torch.Tensor],
    dynamic: dict[str, dict[int, str]],
    output: str,
    path: Path,
    metadata: dict[str, str],
    varargs_after: int | None = None,
) -> Path:
    """Export, embed weights, stamp metadata and a digest, check, and write ``path`` atomically.
    ``varargs_after``: the module's forward takes the inputs from that position on as ``*args``."""
    module = module.eval()
    dims = {label: torch.export.Dim(label, min=1) for axes in dynamic.values() for label in axes.values()}
    shapes: list[Any] = [{axis: dims[label] for axis, label in dynamic.get(name, {}).items()} for name in inputs]
    if varargs_after is not None and len(shapes) > varargs_after:
        shapes = [*shapes[:varargs_after], tuple(shapes[varargs_after:])]
    with tempfile.TemporaryDirectory() as tmp, _quiet_exporter():
        raw_path = Path(tmp) / "model.onnx"
        with torch.no_grad():
            torch.onnx.export(
                module,
                tuple(inputs.values()),
                str(raw_path),
                input_names=list(inputs),
                output_names=[output],
                dynamic_shapes=tuple(shapes),
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
        model = onnx.load(str(raw_path))
    for key, value in {**metadata, "implicit_policy.graph_sha256": graph_digest(model)}.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    content = content_digest(model)  # before adding its own entry
    entry = model.metadata_props.add()
    entry.key, entry.value = "implicit_policy.content_sha256", content
    onnx.checker.check_model(model, full_check=True)
    with atomic_open(path, "wb") as handle:
        handle.write(model.SerializeToString())
    return path


def _example_batch(*sizes: int) -> int:
    """An example batch size equal to no other dimension, so the exporter cannot tie them together."""
    batch = 5
    while batch in sizes:
        batch += 1
    return batch


def export_energy(policy: ImplicitPolicy, path: str | os.PathLike) -> Path:
    """The energy net with its normaliser: inputs ``obs (B, O)`` (``(B, n_obs_steps, O)`` with history),
    ``actions (B, M, A)`` (chunks flattened, ``(B, M, horizon * A)``), output ``energies (B, M)``."""
    if not isinstance(policy, ImplicitPolicy):
        raise ValueError(f"an {type(policy).__name__} has no energy net to export; export its argmin (the default)")
    obs_shape = observation_input_shape(policy.n_obs_steps, policy.obs_size)
    b = _example_batch(*obs_shape, policy.chunk_size)
    m = _example_batch(*obs_shape, policy.chunk_size, b)
    example = {"obs": torch.zeros(b, *obs_shape), "actions": torch.zeros(b, m, policy.chunk_size)}
    return _export(
        RawEnergy(policy),
        example,
        {"obs": {0: "B"}, "actions": {0: "B", 1: "M"}},
        "energies",
        Path(path),
        _metadata(policy, "energy"),
    )


def export_argmin(policy: TorchPolicy, path: str | os.PathLike) -> Path:
    """The whole policy: inputs ``obs (B, O)`` (the window ``(B, n_obs_steps, O)`` with history, oldest
    first) and the noise named in the metadata, output ``action (B, A)``, or the chunk ``(B, horizon, A)`` of a
    policy that decides several (``OnnxPolicy`` keeps the queue)."""
    inference = policy.header.policy.acting
    obs_shape = observation_input_shape(policy.n_obs_steps, policy.obs_size)
    b = _example_batch(
        *obs_shape,
        policy.action_size,
        policy.horizon,
        policy.chunk_size,
        *(getattr(inference, k, 0) for k in ("num_samples", "iterations")),
    )
    specs = policy.noise_inputs(b)
    if policy.input_spec is not None and policy.input_spec.images:
        example = {
            part.name: torch.zeros(b, policy.n_obs_steps, *part.input_shape, dtype=getattr(torch, part.dtype))
            for part in policy.input_spec.observation
        }
    else:
        example = {"obs": torch.zeros(b, *obs_shape)}
    parts = len(example)
    example |= {name: torch.rand(*shape) for name, (shape, _, _) in specs.items()}
    dynamic = {name: {0: "B"} for name in list(example)[:parts]} | {
        name: {axis: "B"} for name, (_, axis, _) in specs.items()
    }
    return _export(
        ArgminModule(policy), example, dynamic, "action", Path(path), _metadata(policy, "argmin"), varargs_after=0
    )
