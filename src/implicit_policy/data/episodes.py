"""What every dataset reader shares: choosing observation keys, checking each episode's arrays, and putting
the episodes together. Every refusal names the file, the key and the episode, on one line."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.runtime.input_spec import ObservationPart

KEY_SYNTAX = re.compile(r"^(?:(?P<name>[^=\[\]]+)=)?(?P<key>[^=\[\]]+?)(?:\[(?P<start>-?\d*):(?P<stop>-?\d*)\])?$")
"""An ``--obs-keys`` entry: a source key, optionally sliced over its flattened per-step values with Python's
``[start:stop]`` (``state[:2]``, ``keypoint``, ``observation.state[2:5]``, ``state[-1:]``), optionally named
as the policy takes it (``agent_pos=state[:2]``: an env's ``agent_pos`` is the data's ``state[:2]``)."""

ImageLayouts = dict[str, str]
"""Image keys of a source and how each stores its frames: ``HWC`` or ``CHW``."""


def choose_keys(
    source: str,
    shapes: dict[str, tuple[int, ...] | None],
    obs_keys: Sequence[str] | None,
    default: list[str],
    images: ImageLayouts | None = None,
) -> tuple[ObservationPart, ...]:
    """The observation parts to read, in order: ``obs_keys`` (entries as :data:`KEY_SYNTAX`) when given, else
    ``default``. ``shapes`` maps each key the file has to its per-step shape as stored (``()`` for a scalar), or
    None for an image this reader cannot read (refused); ``images`` names the image keys it can, by layout. A
    key with more than one axis per step (Push-T's ``keypoint``, 9 x 2) is flattened in C order before it is
    sliced; an image part is a whole frame, ``(H, W, C)`` whatever its stored layout."""
    images = images or {}
    entries = list(obs_keys) if obs_keys else default
    if not entries:
        raise DemonstrationError(f"{source}: no state observation keys; the file has {sorted(shapes)} (--obs-keys)")
    parts = []
    for entry in entries:
        match = KEY_SYNTAX.match(entry.strip())
        if match is None:
            raise DemonstrationError(f"{source}: observation key {entry!r} is not KEY or KEY[start:stop] (--obs-keys)")
        key = match["key"]
        if key not in shapes:
            raise DemonstrationError(
                f"{source}: no observation key {key!r}; the file has {', '.join(sorted(shapes))} (--obs-keys)"
            )
        shape = shapes[key]
        if shape is None:
            raise DemonstrationError(
                f"{source}: observation key {key!r} holds images this reader cannot read; choose state keys "
                "with --obs-keys"
            )
        name = (match["name"] or key).strip()
        if key in images:
            if match["start"] is not None:
                raise DemonstrationError(f"{source}: {entry!r} slices the image key {key!r}; frames are whole")
            if len(shape) != 3:
                raise DemonstrationError(f"{source}: image key {key!r} has per-step shape {shape}; expected 3 axes")
            hwc = shape if images[key] == "HWC" else (shape[1], shape[2], shape[0])
            parts.append(ObservationPart(key, tuple(hwc), name=name, image=True, layout=images[key]))
            continue
        shape = shape or (1,)
        size = math.prod(shape)
        start, stop, _ = slice(
            int(match["start"]) if match["start"] not in (None, "") else None,
            int(match["stop"]) if match["stop"] not in (None, "") else None,
        ).indices(size)
        if stop <= start:
            raise DemonstrationError(f"{source}: {entry!r} selects none of the {size} values of {key!r} (--obs-keys)")
        parts.append(ObservationPart(key, tuple(shape), start, stop, name=name))
    names = [part.name for part in parts]
    if len(set(names)) != len(names):
        raise DemonstrationError(f"{source}: --obs-keys names a part twice ({names}); name them: NAME=KEY[a:b]")
    return tuple(parts)


def image_layout(per_step: tuple[int, ...]) -> str | None:
    """How a per-step array of three axes stores a frame: ``CHW`` when the first axis holds 1, 3 or 4 channels
    and the last does not, ``HWC`` otherwise; None for other ranks."""
    if len(per_step) != 3:
        return None
    return "CHW" if per_step[0] in (1, 3, 4) and per_step[-1] not in (1, 3, 4) else "HWC"


def frames_uint8(values: np.ndarray, layout: str, source: str, key: str) -> np.ndarray:
    """Stored frames ``(L, ...)`` (uint8, or float 0..255 as diffusion_policy stores them) as uint8 ``(L, H, W, C)``."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise DemonstrationError(f"{source}: image key {key!r} contains NaN or inf")
        values = np.clip(np.rint(values), 0, 255)
    elif values.dtype != np.uint8 and (values.min(initial=0) < 0 or values.max(initial=0) > 255):
        raise DemonstrationError(f"{source}: image key {key!r} has values outside 0..255 (dtype {values.dtype})")
    values = values.astype(np.uint8, copy=False)
    return np.ascontiguousarray(values.transpose(0, 2, 3, 1) if layout == "CHW" else values)


def check_frames(frames: np.ndarray, part: ObservationPart, source: str, episode: object, length: int) -> np.ndarray:
    """One episode's frames of the image ``part``, uint8 ``(L, H, W, C)`` (decoded, or by :func:`frames_uint8`),
    returned as they are; ``DemonstrationError`` naming the episode for another frame shape or a count other
    than ``length``."""
    if frames.shape[1:] != part.shape or len(frames) != length:
        raise DemonstrationError(
            f"{source}: key {part.key!r} of episode {episode} has {len(frames)} frames of {frames.shape[1:]}, "
            f"expected {length} of {part.shape}"
        )
    return frames


def read_part(
    values: np.ndarray, part: ObservationPart, source: str, episode: object, length: int, name: str | None = None
) -> np.ndarray:
    """One episode's values of ``part`` as ``(L, part.size)`` float32: the key's steps checked by :func:`steps`
    (flattened), then sliced; ``DemonstrationError`` when the episode's per-step shape is not the part's (ragged
    episodes). ``name``: the key as messages call it (default ``part.key``)."""
    values = np.asarray(values)
    per_step = tuple(values.shape[1:]) or (1,)
    if values.ndim >= 1 and per_step != part.shape:
        raise DemonstrationError(
            f"{source}: key {name or part.key!r} of episode {episode} has shape {per_step} per step, but the first "
            f"episode's has {part.shape} (ragged episodes)"
        )
    return steps(values, source, name or part.key, episode, length)[:, part.start : part.stop]


def steps(array: np.ndarray, source: str, key: str, episode: object, length: int | None = None) -> np.ndarray:
    """``array`` as per-step vectors ``(L, D)`` float32 (a scalar per step becomes ``D = 1``; more axes per step
    are flattened in C order); ``DemonstrationError`` for a non-numeric array, NaN or inf, or a length other
    than ``length``."""
    where = f"{source}: key {key!r} of episode {episode}"
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        raise DemonstrationError(f"{where} is not numeric (dtype {array.dtype})")
    if array.ndim == 0:
        raise DemonstrationError(f"{where} has shape {array.shape}; expected (steps, ...)")
    array = array.reshape(len(array), -1)
    if length is not None and len(array) != length:
        raise DemonstrationError(f"{where} has {len(array)} steps but the episode's actions have {length}")
    values = array.astype(np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        raise DemonstrationError(f"{where} contains NaN or inf (first at step {int(np.argwhere(bad)[0, 0])})")
    return values


def demonstrations_from_episodes(
    source: str,
    episodes: Sequence[object],
    observations: Sequence[np.ndarray],
    actions: Sequence[np.ndarray],
    env_id: str = "",
    successes: Sequence[bool] | None = None,
    parts: tuple[ObservationPart, ...] = (),
    images: dict[str, np.ndarray] | None = None,
) -> Demonstrations:
    """Demonstrations from per-episode ``observations (L_e, O)`` and ``actions (L_e, A)`` checked by
    :func:`steps`, and the frames ``images`` of the image parts (``(T, H, W, C)`` uint8 by part name, all
    episodes back to back); ``episodes`` names them in messages. ``DemonstrationError`` for no episodes, an empty
    episode, or an episode whose sizes differ from the first's (ragged)."""
    if not episodes:
        raise DemonstrationError(f"{source} holds no episodes")
    first_obs, first_act = observations[0].shape[1], actions[0].shape[1]
    for name, obs, act in zip(episodes, observations, actions):
        if len(act) == 0:
            raise DemonstrationError(f"{source}: episode {name} has no steps")
        if obs.shape[1] != first_obs or act.shape[1] != first_act:
            raise DemonstrationError(
                f"{source}: episode {name} has observation size {obs.shape[1]} and action size {act.shape[1]}, but "
                f"episode {episodes[0]} has {first_obs} and {first_act} (ragged episodes)"
            )
    count = len(episodes)
    return Demonstrations(
        observations=np.concatenate(observations),
        actions=np.concatenate(actions),
        episode_lengths=np.asarray([len(a) for a in actions], dtype=np.int64),
        episode_seeds=np.full(count, -1, dtype=np.int64),
        episode_successes=np.asarray(successes if successes is not None else [False] * count, dtype=bool),
        env_id=env_id,
        seed=0,
        observation_parts=parts,
        images=images or {},
    )
