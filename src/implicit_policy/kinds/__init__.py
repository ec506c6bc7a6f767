"""Policy kinds: one module per kind (its config class, network builder, objective and act path),
registered by name. Every module of this package is imported below; a kind of the user's own registers the
same way (:func:`register_policy_kind`) from any module or through the ``implicit_policy.policy_kinds``
entry-point group."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Annotated, Any

from pydantic import BeforeValidator, SerializeAsAny

from implicit_policy.kinds.base import (
    POLICY_KINDS,
    Objective,
    PolicyConfig,
    RegressionConfig,
    StatelessObjective,
    policy_kind,
    register_policy_kind,
)
from implicit_policy.registry import validate_as

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from implicit_policy.kinds.energy import EnergyPolicyConfig  # noqa: E402  (re-exported; imported by the loop above)
from implicit_policy.kinds.mdn import MDNPolicyConfig  # noqa: E402
from implicit_policy.kinds.mse import MSEPolicyConfig  # noqa: E402


def _validate_policy(value: Any) -> PolicyConfig:
    kind = value.get("kind", "energy") if isinstance(value, dict) else getattr(value, "kind", None)
    return validate_as(policy_kind(kind), value)


PolicyField = Annotated[SerializeAsAny[PolicyConfig], BeforeValidator(_validate_policy)]
"""A run's policy: any registered kind, chosen by ``kind``."""

__all__ = [
    "POLICY_KINDS",
    "EnergyPolicyConfig",
    "MDNPolicyConfig",
    "MSEPolicyConfig",
    "Objective",
    "PolicyConfig",
    "PolicyField",
    "RegressionConfig",
    "StatelessObjective",
    "policy_kind",
    "register_policy_kind",
]
