"""The base of every config model: frozen (a run's settings cannot change under it) and strict (a misspelt
field is an error, not a silently ignored key). Each module declares the config of what it builds with it;
:mod:`implicit_policy.config` assembles them into a run's :class:`~implicit_policy.config.TrainConfig`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class FrozenConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
