"""Training state as flat named tensors, so it fits in one safetensors file beside the weights: an
optimiser's state, and other parts' tensors kept apart by a name prefix."""

from __future__ import annotations

import torch


def with_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """``{prefix}{name}`` -> tensor for each ``name`` in ``tensors``."""
    return {f"{prefix}{name}": value for name, value in tensors.items()}


def under_prefix(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix``, named without it: the inverse of :func:`with_prefix`."""
    return {name[len(prefix) :]: value for name, value in tensors.items() if name.startswith(prefix)}


def optimizer_state_tensors(optimizer: torch.optim.Optimizer, prefix: str = "opt.") -> dict[str, torch.Tensor]:
    """``{prefix}{param index}.{name}`` -> tensor, e.g. ``opt.0.exp_avg``; hyperparameters are not included
    (the config rebuilds them)."""
    return {f"{prefix}{i}.{k}": v for i, state in optimizer.state_dict()["state"].items() for k, v in state.items()}


def load_optimizer_state_tensors(
    optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], prefix: str = "opt."
) -> None:
    """Restore what :func:`optimizer_state_tensors` wrote (other keys in ``tensors`` are ignored)."""
    template = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in under_prefix(tensors, prefix).items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    template["state"] = state
    optimizer.load_state_dict(template)
