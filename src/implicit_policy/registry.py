"""What the open registries (optimisers over actions, policy kinds) share: looking a name up, loading the
installed packages' entry points when it is unknown, and validating a config into the class a name selects."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, TypeVar

from pydantic import ValidationError

from implicit_policy.frozen_config import FrozenConfig, describe_validation_error

_Entry = TypeVar("_Entry")
_Config = TypeVar("_Config", bound=FrozenConfig)


def lookup(registry: dict[str, _Entry], kind: object, group: str, what: str, decorator: str) -> _Entry:
    """``registry[kind]``, after loading the ``group`` entry points when ``kind`` is unknown; ``ValueError``
    naming ``what`` was asked for, the registered names and how to register one otherwise."""
    if kind not in registry:
        for entry in entry_points(group=group):
            entry.load()
    if not isinstance(kind, str) or kind not in registry:
        raise ValueError(
            f"no {what} {kind!r} is registered (registered: {', '.join(sorted(registry))}); one of your own "
            f"registers with {decorator} when its module is imported: import it first, or name it in the "
            f"{group!r} entry-point group of its package"
        )
    return registry[kind]


def validate_as(cls: type[_Config], value: Any) -> _Config:
    """``value`` (a dict, or a config of another class) as an instance of ``cls``; ``ValueError`` naming the
    bad fields on one line."""
    if isinstance(value, cls):
        return value
    if isinstance(value, FrozenConfig):
        value = value.model_dump()
    try:
        return cls.model_validate(value)
    except ValidationError as err:
        raise ValueError(describe_validation_error(err)) from None
