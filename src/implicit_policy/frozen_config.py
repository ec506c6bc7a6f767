"""The base of every config model: frozen (a run's settings cannot change under it) and strict (a misspelt
field is an error, not a silently ignored key). Each module declares the config of what it builds with it;
:mod:`implicit_policy.config` assembles them into a run's :class:`~implicit_policy.config.TrainConfig`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError


class FrozenConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def describe_validation_error(err: ValidationError) -> str:
    """One line per bad field: ``field.path: message (got value)``."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in err.errors())
