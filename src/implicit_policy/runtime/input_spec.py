"""What a policy eats: the observation layout it was trained on, recorded from the data through the
checkpoint to the ONNX metadata, so a robot program can check what it feeds (JSON in and out).

The flat observation a policy takes is its parts' values concatenated in order. Each part is a source key
(a dataset column, or ``observation`` for a flat env or ``.npz`` observation), flattened in C order when it
has more than one axis per step (``keypoint``, 9 x 2, gives 18 values), then sliced (``state[0:2]``: the
first two values). ``n_obs_steps`` observations of history make the window the policy sees; ``horizon`` and
``n_action_steps`` say how many actions it decides at once and executes before deciding again (1 and 1: one
action per tick).

An **image** part (a camera) is a frame per step, ``(H, W, C)`` uint8 as the policy takes it; ``layout``
records how the source stored it (``HWC`` or ``CHW``, uint8 or float 0..255: readers convert). A part may be
fed under another ``name`` than its source key (``--obs-keys agent_pos=state[:2]``: the env's ``agent_pos`` is
the data's ``state[:2]``): policies take a dict of parts by name. Flat, a policy's observation is its parts'
values in order, frames flattened in C order (what the history window holds). As JSON::

    {"format": 1, "observation": [{"key": "keypoint", "shape": [9, 2], "start": 0, "stop": 18},
                                   {"key": "state", "shape": [5], "start": 0, "stop": 2}],
     "action": {"key": "action", "size": 2}, "n_obs_steps": 2, "horizon": 1, "n_action_steps": 1}

with ``"name"``, ``"image": true`` and ``"layout"`` on the parts that have them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

SPEC_FORMAT = 1
IMAGE_LAYOUTS = ("HWC", "CHW")


@dataclass(frozen=True)
class ObservationPart:
    """One source key's contribution: its per-step ``shape`` in the source and the slice ``[start, stop)`` of
    its flattened values that the policy reads. An ``image`` part is a whole frame ``shape = (H, W, C)`` (as the
    policy takes it; ``layout`` says how the source stored it); ``name`` is what the policy calls the part
    (default: ``key``)."""

    key: str
    shape: tuple[int, ...]
    start: int = 0
    stop: int | None = None
    name: str = ""
    image: bool = False
    layout: str = "HWC"

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.key)
        if self.image and (len(self.shape) != 3 or self.layout not in IMAGE_LAYOUTS):
            raise ValueError(
                f"image part {self.name!r}: expected a (H, W, C) frame stored as {' or '.join(IMAGE_LAYOUTS)}, "
                f"got shape {self.shape} and layout {self.layout!r}"
            )
        total = math.prod(self.shape)
        stop = total if self.stop is None else self.stop
        if not 0 <= self.start < stop <= total:
            raise ValueError(
                f"observation part {self.key!r}: slice [{self.start}:{stop}] is outside its {total} values"
            )
        if self.image and (self.start, stop) != (0, total):
            raise ValueError(f"image part {self.name!r} cannot be sliced")
        object.__setattr__(self, "stop", stop)

    @property
    def size(self) -> int:
        return int(self.stop or 0) - self.start

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.stop == math.prod(self.shape)

    @property
    def dtype(self) -> str:
        """What a policy takes for this part: ``uint8`` frames, ``float32`` vectors."""
        return "uint8" if self.image else "float32"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Per-step shape a policy takes: the frame ``(H, W, C)``, or the vector ``(size,)``."""
        return self.shape if self.image else (self.size,)

    def to_dict(self) -> dict[str, Any]:
        named = {"name": self.name} if self.name != self.key else {}
        image = {"image": True, "layout": self.layout} if self.image else {}
        return {"key": self.key, "shape": list(self.shape), "start": self.start, "stop": self.stop, **named, **image}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObservationPart:
        """The part a :meth:`to_dict` wrote; ``KeyError``/``TypeError``/``ValueError`` when malformed."""
        return cls(
            str(data["key"]),
            tuple(int(s) for s in data["shape"]),
            int(data["start"]),
            int(data["stop"]),
            str(data.get("name", "")),
            bool(data.get("image", False)),
            str(data.get("layout", "HWC")),
        )

    def __str__(self) -> str:
        shape = "x".join(map(str, self.shape))
        source = f"{self.key}" + ("" if self.whole else f"[{self.start}:{self.stop}]")
        named = source if self.name == self.key else f"{self.name}={source}"
        return f"{named} ({shape}{f' uint8 image, stored {self.layout}' if self.image else ''})"


def flat_slices(parts: tuple[ObservationPart, ...]) -> list[tuple[ObservationPart, slice]]:
    """Where each part lies in a flat observation (the parts in order, frames flattened): the layout that
    :meth:`InputSpec.flatten` writes and the encoder and the ONNX runtime read back."""
    slices, offset = [], 0
    for part in parts:
        slices.append((part, slice(offset, offset + part.size)))
        offset += part.size
    return slices


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
        """Values of one flat observation: every part's, frames flattened."""
        return sum(part.size for part in self.observation)

    @property
    def images(self) -> tuple[ObservationPart, ...]:
        return tuple(part for part in self.observation if part.image)

    @property
    def vectors(self) -> tuple[ObservationPart, ...]:
        return tuple(part for part in self.observation if not part.image)

    @property
    def vector_size(self) -> int:
        """Values of the vector parts together: what the normaliser sees."""
        return sum(part.size for part in self.vectors)

    def flatten(self, obs: Any) -> tuple[np.ndarray, bool]:
        """Parts by name (``{name: (shape) or (B, shape)}``) to flat float32 observations ``(B, obs_size)`` in
        the spec's order, and whether one observation was given; ``ValueError`` naming a missing part, or a
        part of the wrong shape or dtype and what it expects."""
        if not isinstance(obs, dict):
            names = ", ".join(f"{p.name!r}" for p in self.observation)
            raise ValueError(f"this policy takes a dict of its observation parts ({names}), got {type(obs).__name__}")
        missing = [part.name for part in self.observation if part.name not in obs]
        if missing:
            raise ValueError(f"observation lacks the part(s) {missing}; this policy takes {self.part_names()}")
        flat, single = [], None
        for part in self.observation:
            value = np.asarray(obs[part.name])
            want = part.input_shape
            if part.image and value.dtype != np.uint8:
                raise ValueError(f"observation part {part.name!r} must be uint8 frames {want}, got dtype {value.dtype}")
            if not part.image and value.dtype.kind not in "fiu":
                raise ValueError(f"observation part {part.name!r} must be real numbers {want}, got dtype {value.dtype}")
            if not part.image and not np.all(np.isfinite(value)):
                raise ValueError(f"observation part {part.name!r} contains NaN or inf")
            if value.shape == want:
                is_single = True
            elif value.shape[1:] == want:
                is_single = False
            else:
                raise ValueError(
                    f"observation part {part.name!r} must have shape {want} or (B, {', '.join(map(str, want))}), "
                    f"got {value.shape}"
                )
            if single is not None and is_single != single:
                raise ValueError(f"observation part {part.name!r} is batched differently from the others")
            single = is_single
            flat.append(value.reshape(1 if is_single else len(value), -1).astype(np.float32))
        rows = {len(f) for f in flat}
        if len(rows) > 1:
            raise ValueError(f"observation parts have different batch sizes {sorted(rows)}")
        return np.concatenate(flat, axis=1), bool(single)

    def part_names(self) -> str:
        return ", ".join(f"{p.name} {p.input_shape} {p.dtype}" for p in self.observation)

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
