"""implicit-policy: implicit (energy-based) behaviour-cloned policies for robot control loops.

Importing the package registers the particle envs with Gymnasium. The torch-based parts load lazily,
so ``from implicit_policy import OnnxPolicy`` works on a machine without torch.
"""

from __future__ import annotations

import importlib
from typing import Any

import implicit_policy_envs  # noqa: F401  (registers the particle envs)

from .data import Demonstrations, DemonstrationError, load_demonstrations

__version__ = "0.1.0"

_LAZY = {
    "collect_demonstrations": "implicit_policy.collect",
    "rollout": "implicit_policy.rollout",
    "oracle_rollout": "implicit_policy.rollout",
    "TrainConfig": "implicit_policy.config",
    "ImplicitPolicy": "implicit_policy.policy",
    "ExplicitPolicy": "implicit_policy.policy",
    "load_policy": "implicit_policy.policy",
    "OnnxPolicy": "implicit_policy.onnx_policy",
    "export_argmin": "implicit_policy.export",
    "export_energy": "implicit_policy.export",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'implicit_policy' has no attribute {name!r}")


__all__ = ["Demonstrations", "DemonstrationError", "load_demonstrations", *_LAZY]
