"""implicit-policy: implicit (energy-based) behaviour-cloned policies for robot control loops.

Every name below loads on first use, so ``from implicit_policy import OnnxPolicy`` needs only numpy and
onnxruntime (the robot install) and ``import implicit_policy`` is fast. Where Gymnasium is installed,
importing the package also loads the env packages (the ``implicit_policy.envs`` entry points), so
``gym.make("Particle2D-v0")`` works after it.
"""

from __future__ import annotations

import importlib
from typing import Any

from implicit_policy.evaluation.env_hooks import load_env_plugins
from implicit_policy.version import __version__

_LAZY = {
    "Demonstrations": "implicit_policy.data",
    "DemonstrationError": "implicit_policy.data",
    "load_demonstrations": "implicit_policy.data",
    "collect_demonstrations": "implicit_policy.data.collect",
    "rollout": "implicit_policy.evaluation.rollout",
    "oracle_rollout": "implicit_policy.evaluation.rollout",
    "evaluate": "implicit_policy.evaluation.evaluate",
    "TrainConfig": "implicit_policy.config",
    "train": "implicit_policy.training.trainer",
    "ImplicitPolicy": "implicit_policy.policies.torch_policy",
    "ExplicitPolicy": "implicit_policy.policies.torch_policy",
    "load_policy": "implicit_policy.policies.torch_policy",
    "OnnxPolicy": "implicit_policy.runtime.onnx_policy",
    "export_argmin": "implicit_policy.policies.export",
    "export_energy": "implicit_policy.policies.export",
    "register_method": "implicit_policy.optimizers.base",
    "register_policy_kind": "implicit_policy.kinds.base",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'implicit_policy' has no attribute {name!r}")


def _load_env_packages() -> None:
    try:
        import gymnasium  # noqa: F401
    except ImportError:  # the robot install: no envs to register
        return
    load_env_plugins()


_load_env_packages()

__all__ = ["__version__", *_LAZY]
