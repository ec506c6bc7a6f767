"""Which episodes of a dataset to train on: ``train --episodes SPEC``.

``SPEC`` is a list of episode indices and ranges (``0-89``, ``0,2,5-9``), or ``diffusion_policy:N``:
Diffusion Policy's split, which its published Push-T numbers train on (``N = 90``): the validation episodes
``get_val_mask(E, val_ratio=0.02, seed=42)`` left out, then ``downsample_mask(..., max_n=N, seed=42)`` of the
rest, as ``diffusion_policy/common/sampler.py`` draws them.
"""

from __future__ import annotations

import numpy as np

from implicit_policy.data.demonstrations import DemonstrationError

DIFFUSION_POLICY = "diffusion_policy:"


def diffusion_policy_val_mask(num_episodes: int, val_ratio: float = 0.02, seed: int = 42) -> np.ndarray:
    """Diffusion Policy's validation episodes ``(E,)`` bool: ``round(E * val_ratio)`` of them (at least one,
    never all), drawn without replacement by ``numpy.random.default_rng(seed)``."""
    mask = np.zeros(num_episodes, dtype=bool)
    if val_ratio <= 0:
        return mask
    count = min(max(1, round(num_episodes * val_ratio)), num_episodes - 1)
    mask[np.random.default_rng(seed=seed).choice(num_episodes, size=count, replace=False)] = True
    return mask


def diffusion_policy_downsample(mask: np.ndarray, max_n: int, seed: int = 42) -> np.ndarray:
    """Diffusion Policy's ``downsample_mask``: at most ``max_n`` of the episodes ``mask`` ``(E,)`` keeps, drawn by
    ``numpy.random.default_rng(seed)``."""
    if mask.sum() <= max_n:
        return mask
    kept = np.flatnonzero(mask)
    chosen = kept[np.random.default_rng(seed=seed).choice(len(kept), size=max_n, replace=False)]
    out = np.zeros_like(mask)
    out[chosen] = True
    return out


def select_episodes(spec: str, num_episodes: int) -> np.ndarray:
    """The sorted episode indices ``SPEC`` names (module docstring); ``DemonstrationError`` for an index out of
    range or a malformed spec."""
    text = spec.strip()
    if text.startswith(DIFFUSION_POLICY):
        count = text[len(DIFFUSION_POLICY) :]
        if not count.isdigit() or int(count) < 1:
            raise DemonstrationError(
                f"--episodes {spec!r}: expected diffusion_policy:N with N >= 1, e.g. diffusion_policy:90"
            )
        train = ~diffusion_policy_val_mask(num_episodes)
        return np.flatnonzero(diffusion_policy_downsample(train, int(count)))
    chosen: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise DemonstrationError(f"--episodes {spec!r}: {item!r} is not an index or a range like 0-89")
        low, high = int(first), int(last) if dash else int(first)
        if high < low or high >= num_episodes:
            raise DemonstrationError(
                f"--episodes {spec!r}: {item!r} is outside the {num_episodes} episodes (indices 0-{num_episodes - 1})"
            )
        chosen.update(range(low, high + 1))
    return np.asarray(sorted(chosen), dtype=np.int64)
