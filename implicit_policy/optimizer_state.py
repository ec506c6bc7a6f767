"""An optimiser's state as flat named tensors, so it fits in a safetensors file beside the weights."""

from __future__ import annotations

import torch


def optimizer_state_tensors(optimizer: torch.optim.Optimizer, prefix: str = "opt.") -> dict[str, torch.Tensor]:
    """``{prefix}{param index}.{name}`` -> tensor, e.g. ``opt.0.exp_avg``; hyperparameters are not included
    (the config rebuilds them)."""
    return {f"{prefix}{i}.{k}": v for i, state in optimizer.state_dict()["state"].items() for k, v in state.items()}


def load_optimizer_state_tensors(optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor],
                                 prefix: str = "opt.") -> None:
    """Restore what :func:`optimizer_state_tensors` wrote (other keys in ``tensors`` are ignored)."""
    template = optimizer.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, name = key[len(prefix):].split(".", 1)
            state.setdefault(int(index), {})[name] = value
    template["state"] = state
    optimizer.load_state_dict(template)
