"""What a policy eats: the observation layout it was trained on, recorded from the data through the
checkpoint to the ONNX metadata, so a robot program can check what it feeds (numpy-free, JSON in and out).

The flat observation a policy takes is its parts' values concatenated in order. Each part is a source key
(a dataset column, or ``observation`` for a flat env or ``.npz`` observation), flattened in C order when it
has more than one axis per step (``keypoint``, 9 x 2, gives 18 values), then sliced (``state[0:2]``: the
first two values). ``n_obs_steps`` observations of history make the window the policy sees; ``horizon`` and
``n_action_steps`` say how many actions it decides at once and executes before deciding again (1 and 1: one
action per tick). As JSON::

    {"format": 1, "observation": [{"key": "keypoint", "shape": [9, 2], "start": 0, "stop": 18},
                                   {"key": "state", "shape": [5], "start": 0, "stop": 2}],
     "action": {"key": "action", "size": 2}, "n_obs_steps": 2, "horizon": 1, "n_action_steps": 1}
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

SPEC_FORMAT = 1


@dataclass(frozen=True)
class ObservationPart:
    """One source key's contribution: its per-step ``shape`` in the source and the slice ``[start, stop)`` of
    its flattened values that the policy reads."""

    key: str
    shape: tuple[int, ...]
    start: int = 0
    stop: int | None = None

    def __post_init__(self) -> None:
        total = math.prod(self.shape)
        stop = total if self.stop is None else self.stop
        if not 0 <= self.start < stop <= total:
            raise ValueError(
                f"observation part {self.key!r}: slice [{self.start}:{stop}] is outside its {total} values"
            )
        object.__setattr__(self, "stop", stop)

    @property
    def size(self) -> int:
        return int(self.stop or 0) - self.start

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == math.prod(self.shape)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "shape": list(self.shape), "start": self.start, "stop": self.stop}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObservationPart:
        """The part a :meth:`to_dict` wrote; ``KeyError``/``TypeError``/``ValueError`` when malformed."""
        return cls(str(data["key"]), tuple(int(s) for s in data["shape"]), int(data["start"]), int(data["stop"]))

    def __str__(self) -> str:
        shape = "x".join(map(str, self.shape))
        return f"{self.key}" + ("" if self.whole else f"[{self.start}:{self.stop}]") + f" ({shape})"


@dataclass(frozen=True)
class InputSpec:
    """A policy's inputs and action chunking (module docstring)."""

    observation: tuple[ObservationPart, ...]
    action_size: int
    action_key: str = "action"
    n_obs_steps: int = 1
    horizon: int = 1
    n_action_steps: int = 1

    @property
    def obs_size(self) -> int:
        return sum(part.size for part in self.observation)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SPEC_FORMAT,
            "observation": [part.to_dict() for part in self.observation],
            "action": {"key": self.action_key, "size": self.action_size},
            "n_obs_steps": self.n_obs_steps,
            "horizon": self.horizon,
            "n_action_steps": self.n_action_steps,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSpec:
        """The spec a :meth:`to_dict` wrote; ``ValueError`` naming what is missing or wrong."""
        try:
            if data.get("format") != SPEC_FORMAT:
                raise ValueError(f"input spec format {data.get('format')!r}; this version reads {SPEC_FORMAT}")
            return cls(
                tuple(ObservationPart.from_dict(part) for part in data["observation"]),
                int(data["action"]["size"]),
                str(data["action"]["key"]),
                int(data["n_obs_steps"]),
                int(data["horizon"]),
                int(data["n_action_steps"]),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"not an input spec: {err!r} missing or malformed") from None

    @classmethod
    def from_json(cls, text: str) -> InputSpec:
        return cls.from_dict(json.loads(text))

    def __str__(self) -> str:
        parts = " + ".join(map(str, self.observation))
        chunk = "" if self.horizon == 1 else f", decides {self.horizon} actions, executes {self.n_action_steps}"
        return f"{parts} -> {self.obs_size} values, window {self.n_obs_steps}, action {self.action_size}{chunk}"
