"""What ``ImplicitPolicy`` and ``OnnxPolicy`` share, with numpy alone: observation checks, the noise
contract of the argmin (:func:`noise_specs`), warm start, and clipping to the action box.

Both policies draw their noise here from a ``numpy.random.Generator``, so the torch and the onnxruntime
policy give the same actions for the same seed; they differ only in who evaluates the argmin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np


def noise_specs(inference: dict[str, Any], batch: int, action_size: int) -> dict[str, tuple[tuple[int, ...], int, str]]:
    """Noise inputs of an argmin: name -> (shape, batch axis, ``"uniform"`` or ``"normal"``).

    ``initial_uniform (B, N, A)`` places the N starting candidates in the box; DFO adds
    ``resample_uniform (K, B)`` (one systematic-resampling offset per row and round) and
    ``perturb_normal (K, B, N, A)``, Langevin ``step_normal (K, B, N, A)``. An explicit policy's regression
    needs none.
    """
    if inference["kind"] == "regression":
        return {}
    n, k = inference["num_samples"], inference["iterations"]
    specs = {"initial_uniform": ((batch, n, action_size), 0, "uniform")}
    if inference["kind"] == "dfo":
        specs["resample_uniform"] = ((k, batch), 1, "uniform")
        specs["perturb_normal"] = ((k, batch, n, action_size), 1, "normal")
    else:
        specs["step_normal"] = ((k, batch, n, action_size), 1, "normal")
    return specs


def draw_noise(inference: dict[str, Any], batch: int, action_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """float32 noise arrays for one argmin over ``batch`` observations."""
    return {
        name: (rng.random(shape, dtype=np.float32) if kind == "uniform" else rng.standard_normal(shape, dtype=np.float32))
        for name, (shape, _, kind) in noise_specs(inference, batch, action_size).items()
    }


def action_bound(normalizer: dict[str, Any]) -> float:
    """Half-width of the widened normalised action box (1.1 for a 5 % margin)."""
    return 1.0 + 2.0 * normalizer["margin"]


def normalize_actions(normalizer: dict[str, Any], actions: np.ndarray) -> np.ndarray:
    """Raw actions ``(..., A)`` to the normalised box, as ``Normalizer.normalize_actions``."""
    low, high = np.asarray(normalizer["action_min"]), np.asarray(normalizer["action_max"])
    span = np.where(high - low > 1e-8, high - low, 1.0)
    return (actions - (high + low) / 2) / (span / 2)


def warm_start(initial_uniform: np.ndarray, previous: np.ndarray, fraction: float, spread: float, bound: float,
               rng: np.random.Generator) -> None:
    """Place the first ``fraction`` of the candidates ``(B, N, A)`` around ``previous`` normalised actions
    ``(B, A)`` with Gaussian ``spread``, in place (``initial_uniform`` maps [0, 1) to ``[-bound, bound]``)."""
    count = int(round(fraction * initial_uniform.shape[1]))
    if count == 0:
        return
    around = previous[:, None, :] + spread * rng.standard_normal((len(previous), count, previous.shape[1]))
    initial_uniform[:, :count] = np.clip((around / bound + 1) / 2, 0.0, np.nextafter(1.0, 0.0))


def validate_observations(obs: Any, obs_size: int) -> tuple[np.ndarray, bool]:
    """float32 ``(B, O)`` copy of ``obs`` ``(O,)`` or ``(B, O)``, and whether it was a single one."""
    arr = np.asarray(obs)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"observation must be a real number array of shape ({obs_size},) or (B, {obs_size}), got dtype {arr.dtype}")
    if arr.ndim not in (1, 2) or arr.shape[-1] != obs_size:
        raise ValueError(f"observation must have shape ({obs_size},) or (B, {obs_size}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"observation of shape {arr.shape} contains NaN or inf")
    return np.ascontiguousarray(np.atleast_2d(arr), dtype=np.float32), arr.ndim == 1


class ControlLoopPolicy(ABC):
    """``act``/``reset`` around an argmin that a subclass evaluates from observations and noise.

    Subclasses set ``obs_size``, ``action_size``, ``inference`` (dict), ``normalizer`` (dict),
    ``action_low`` and ``action_high`` before calling ``super().__init__(seed)``.
    """

    obs_size: int
    action_size: int
    inference: dict[str, Any]
    normalizer: dict[str, Any]
    action_low: np.ndarray
    action_high: np.ndarray

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._previous: np.ndarray | None = None

    @abstractmethod
    def argmin(self, obs: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        """Raw actions ``(B, A)`` for raw observations ``(B, O)`` and the given noise."""

    def reset(self) -> None:
        """Start a new episode: forget the previous action used for warm start."""
        self._previous = None

    def act(self, obs: Any) -> np.ndarray:
        """Actions for ``obs (O,) -> (A,)`` or ``(B, O) -> (B, A)``, float32, inside the action box."""
        batch, single = validate_observations(obs, self.obs_size)
        noise = draw_noise(self.inference, len(batch), self.action_size, self.rng)
        fraction = self.inference.get("warm_start_fraction", 0.0)
        if fraction and self._previous is not None and len(self._previous) == len(batch):
            warm_start(noise["initial_uniform"], normalize_actions(self.normalizer, self._previous), fraction,
                       self.inference["warm_start_spread"], action_bound(self.normalizer), self.rng)
        actions = np.clip(self.argmin(batch, noise), self.action_low, self.action_high).astype(np.float32)
        self._previous = actions
        return actions[0] if single else actions
