"""What every dataset reader shares: choosing observation keys, checking each episode's arrays, and putting
the episodes together. Every refusal names the file, the key and the episode, on one line."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations


def choose_keys(
    source: str, available: dict[str, int], obs_keys: Sequence[str] | None, default: list[str]
) -> list[str]:
    """The observation keys to read, in order: ``obs_keys`` when given, else ``default``. ``available`` maps
    each key the file has to its per-step rank (1 for a vector; more for images, which are refused)."""
    keys = list(obs_keys) if obs_keys else default
    if not keys:
        raise DemonstrationError(f"{source}: no state observation keys; the file has {sorted(available)} (--obs-keys)")
    for key in keys:
        if key not in available:
            raise DemonstrationError(
                f"{source}: no observation key {key!r}; the file has {', '.join(sorted(available))} (--obs-keys)"
            )
        if available[key] > 1:
            raise DemonstrationError(
                f"{source}: observation key {key!r} holds images (rank {available[key]} per step); implicit-policy "
                "trains on state vectors: choose state keys with --obs-keys"
            )
    return keys


def steps(array: np.ndarray, source: str, key: str, episode: object, length: int | None = None) -> np.ndarray:
    """``array`` as per-step vectors ``(L, D)`` float32 (a scalar per step becomes ``D = 1``);
    ``DemonstrationError`` for a non-numeric array, NaN or inf, more than one axis per step, or a length other
    than ``length``."""
    where = f"{source}: key {key!r} of episode {episode}"
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        raise DemonstrationError(f"{where} is not numeric (dtype {array.dtype})")
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise DemonstrationError(f"{where} has shape {array.shape}; expected (steps, size)")
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
) -> Demonstrations:
    """Demonstrations from per-episode ``observations (L_e, O)`` and ``actions (L_e, A)`` checked by
    :func:`steps`; ``episodes`` names them in messages. ``DemonstrationError`` for no episodes, an empty
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
    )
