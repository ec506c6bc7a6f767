"""What ``ImplicitPolicy`` and ``OnnxPolicy`` share, with numpy alone: observation checks, the noise
contract of the argmin (:data:`NoiseInputs`), history, warm start, and clipping to the box.

Both policies draw their noise here from a ``numpy.random.Generator``, so the torch and the onnxruntime
policy give the same actions for the same seed; they differ only in who evaluates the argmin.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from implicit_policy.runtime.input_spec import InputSpec

NoiseInputs = dict[str, tuple[tuple[int, ...], int, str]]
"""The noise an argmin takes as inputs: name -> (shape, batch axis, ``"uniform"`` or ``"normal"``). Each
inference config declares its own (``noise_inputs(batch, action_size)``); the names end in ``_uniform`` or
``_normal`` as they are drawn (:func:`noise_distribution`), so an exported graph's inputs state them too."""

NOISE_DISTRIBUTIONS = ("uniform", "normal")


def noise_distribution(name: str) -> str:
    """``"uniform"`` (U[0, 1)) or ``"normal"`` (N(0, 1)): what the noise input ``name`` is drawn from, by its suffix."""
    kind = name.rpartition("_")[2]
    if kind not in NOISE_DISTRIBUTIONS:
        raise ValueError(f"noise input {name!r} must end in _uniform or _normal")
    return kind


def draw_noise(specs: NoiseInputs, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """float32 noise arrays of the shapes ``specs`` gives."""
    return {
        name: (
            rng.random(shape, dtype=np.float32) if kind == "uniform" else rng.standard_normal(shape, dtype=np.float32)
        )
        for name, (shape, _, kind) in specs.items()
    }


def action_bound(normalizer: dict[str, Any]) -> float:
    """Half-width of the widened normalised action box (1.1 for a 5 % margin)."""
    return 1.0 + 2.0 * normalizer["margin"]


def normalize_actions(normalizer: dict[str, Any], actions: np.ndarray) -> np.ndarray:
    """Raw actions ``(..., A)`` to the normalised box, as ``Normalizer.normalize_actions``."""
    low, high = np.asarray(normalizer["action_min"]), np.asarray(normalizer["action_max"])
    span = np.where(high - low > 1e-8, high - low, 1.0)
    return (actions - (high + low) / 2) / (span / 2)


def warm_start(
    initial_uniform: np.ndarray,
    previous: np.ndarray,
    fraction: float,
    spread: float,
    bound: float,
    rng: np.random.Generator,
    rows: np.ndarray | None = None,
) -> None:
    """Place the first ``fraction`` of the candidates ``(B, N, A)`` around ``previous`` normalised actions
    ``(B, A)`` with Gaussian ``spread``, in place (``initial_uniform`` maps [0, 1) to ``[-bound, bound]``);
    only in ``rows`` (bool ``(B,)``) when given: a restarted row has no previous action."""
    count = int(round(fraction * initial_uniform.shape[1]))
    if count == 0:
        return
    around = previous[:, None, :] + spread * rng.standard_normal((len(previous), count, previous.shape[1]))
    placed = np.clip((around / bound + 1) / 2, 0.0, np.nextafter(1.0, 0.0))
    if rows is None:
        initial_uniform[:, :count] = placed
    else:
        initial_uniform[rows, :count] = placed[rows]


def observation_input_shape(n_obs_steps: int, obs_size: int) -> tuple[int, ...]:
    """Per-row shape of an argmin graph's ``obs`` input: ``(O,)`` without history (the format of every file
    exported before it), the window ``(n_obs_steps, O)`` with it."""
    return (obs_size,) if n_obs_steps == 1 else (n_obs_steps, obs_size)


def validate_observations(obs: Any, obs_size: int) -> tuple[np.ndarray, bool]:
    """float32 ``(B, O)`` copy of ``obs`` ``(O,)`` or ``(B, O)``, and whether it was a single one."""
    try:
        arr = np.asarray(obs)
    except ValueError as err:  # e.g. a ragged nested list
        raise ValueError(f"observation must be an array of shape ({obs_size},) or (B, {obs_size}): {err}") from None
    if arr.dtype.kind not in "fiu":
        raise ValueError(
            f"observation must be a real number array of shape ({obs_size},) or (B, {obs_size}), got dtype {arr.dtype}"
        )
    if arr.ndim not in (1, 2) or arr.shape[-1] != obs_size:
        raise ValueError(f"observation must have shape ({obs_size},) or (B, {obs_size}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"observation of shape {arr.shape} contains NaN or inf")
    if arr.dtype.kind == "f" and arr.size and np.abs(arr).max() > np.finfo(np.float32).max:
        raise ValueError(
            f"observation of shape {arr.shape} has values beyond float32's range (max {np.abs(arr).max():.3g})"
        )
    return np.ascontiguousarray(np.atleast_2d(arr), dtype=np.float32), arr.ndim == 1


class ControlLoopPolicy(ABC):
    """``act``/``reset`` around an argmin that a subclass evaluates from observation windows and noise.

    The policy keeps its own observation history: users pass one raw observation per tick (or one per
    batch row) and the policy feeds the argmin the last ``n_obs_steps`` of them, oldest first, the first
    tick of an episode repeated to fill the window (as the training windows are padded). Each batch row has
    its own history; ``reset()`` forgets them all, ``reset(rows)`` only those rows (a vector env that
    autoresets one sub-env).

    A policy that decides a chunk of ``horizon`` actions at once keeps a queue per batch row: ``act`` is still
    called once per tick with one observation (the history advances every tick), returns the queue's next
    action, and decides again when ``n_action_steps`` of the chunk have been executed (or the row restarted).
    With ``temporal_ensemble`` m > 0 it decides every tick instead and returns, per row, the weighted mean of
    every kept chunk's prediction for this tick, weights ``exp(-m i)`` with ``i = 0`` the oldest (ACT's
    temporal ensembling; it can average two modes, hence off by default).

    Subclasses set ``obs_size``, ``action_size``, ``n_obs_steps``, ``inference`` (dict), ``normalizer`` (dict),
    ``action_low`` and ``action_high`` (and ``horizon``, ``n_action_steps``, ``temporal_ensemble`` for chunks)
    before calling ``super().__init__(seed)``.
    """

    obs_size: int
    action_size: int
    n_obs_steps: int
    horizon: int = 1
    n_action_steps: int = 1
    temporal_ensemble: float = 0.0
    inference: dict[str, Any]
    normalizer: dict[str, Any]
    action_low: np.ndarray
    action_high: np.ndarray
    input_spec: InputSpec | None = None

    def __init__(self, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self._previous: np.ndarray | None = None  # last actions (B, A), for warm start
        self._history: np.ndarray | None = None  # last observations (B, n_obs_steps, O), oldest first
        self._restarted: np.ndarray | None = None  # rows (B,) whose episode restarts at their next observation
        self._queue: np.ndarray | None = None  # decided chunks (B, horizon, A), raw units
        self._executed: np.ndarray | None = None  # actions of each row's chunk executed so far (B,)
        self._ensemble: np.ndarray | None = (
            None  # temporal ensembling: chunk decided i ticks ago (B, horizon, horizon, A)
        )
        self._ensemble_age: np.ndarray | None = None  # ticks since each kept chunk was decided (B, horizon); -1: none

    def execute(self, n_action_steps: int | None = None, temporal_ensemble: float | None = None) -> None:
        """Change how decided chunks are executed, not what is decided: ``n_action_steps`` (1 to ``horizon``)
        actions before deciding again, or ACT's ``temporal_ensemble`` weight (0: off), e.g. chosen on validation
        episodes after training. Clears the queues."""
        if n_action_steps is not None:
            if not 1 <= n_action_steps <= self.horizon:
                raise ValueError(
                    f"n_action_steps must be 1 to the policy's horizon {self.horizon}, got {n_action_steps}"
                )
            self.n_action_steps = n_action_steps
        if temporal_ensemble is not None:
            if temporal_ensemble < 0:
                raise ValueError(f"temporal_ensemble must be >= 0, got {temporal_ensemble}")
            self.temporal_ensemble = temporal_ensemble
        self.reset()

    @abstractmethod
    def noise_inputs(self, batch: int) -> NoiseInputs:
        """The noise the argmin takes for ``batch`` observations (none for a regression)."""

    @abstractmethod
    def argmin(self, window: np.ndarray, noise: dict[str, np.ndarray]) -> np.ndarray:
        """Raw actions for raw observation windows ``(B, n_obs_steps, O)`` and the given noise: ``(B, A)``, or the
        chunk ``(B, horizon, A)``."""

    def reset(self, rows: Any = None) -> None:
        """Start new episodes: forget the observation history and the previous action (warm start).

        ``rows`` (indices or a bool mask over the batch) restarts only those rows: their next observation
        fills their window, the other rows keep theirs. Without it, every row restarts and the next ``act``
        may take a batch of any size (with ``n_obs_steps`` 1 it always may).
        """
        if rows is None or self._history is None:
            self._previous = self._history = self._restarted = None
            self._queue = self._executed = self._ensemble = self._ensemble_age = None
            return
        mask = np.zeros(len(self._history), dtype=bool)
        try:
            mask[np.asarray(rows)] = True
        except IndexError as err:
            raise ValueError(f"reset rows {rows!r} do not index a batch of {len(mask)} rows") from err
        self._restarted |= mask

    def _observe(self, batch: np.ndarray) -> np.ndarray:
        """Push observations ``(B, O)`` into the history; the windows ``(B, n_obs_steps, O)``."""
        if self._history is not None and len(self._history) != len(batch) and self.n_obs_steps == 1:
            self.reset()  # without history a new batch size loses nothing: start afresh, as before history
        if self._history is None:
            self._history = np.repeat(batch[:, None], self.n_obs_steps, axis=1)
            self._restarted = np.zeros(len(batch), dtype=bool)
        elif len(self._history) != len(batch):
            raise ValueError(
                f"got {len(batch)} observations but the policy keeps histories for {len(self._history)} "
                "rows; call reset() before changing the batch size"
            )
        else:
            self._history = np.concatenate([self._history[:, 1:], batch[:, None]], axis=1)
            self._history[self._restarted] = batch[self._restarted, None]  # a restarted row: its new obs throughout
        return self._history

    def act(self, obs: Any) -> np.ndarray:
        """Actions for ``obs (O,) -> (A,)`` or ``(B, O) -> (B, A)``, float32, inside the action box. A policy with
        image parts takes a dict of its parts by name (``{"img": (H, W, C) uint8, "agent_pos": (2,)}``, or each
        with a batch axis in front), any policy with a recorded input spec may."""
        if isinstance(obs, dict) or (self.input_spec is not None and self.input_spec.images):
            if self.input_spec is None:
                raise ValueError("this policy records no input spec (exported before 0.4): pass a flat observation")
            batch, single = self.input_spec.flatten(obs)
        else:
            batch, single = validate_observations(obs, self.obs_size)
        window = self._observe(batch)
        restarted = np.zeros(len(batch), dtype=bool) if self._restarted is None else self._restarted.copy()
        if self.temporal_ensemble > 0:
            actions = self._ensembled(window, restarted)
        else:
            if self._queue is None or len(self._queue) != len(batch):
                self._queue = np.zeros((len(batch), self.horizon, self.action_size), np.float32)
                self._executed = np.full(len(batch), self.n_action_steps, np.int64)
            assert self._executed is not None
            decide = restarted | (self._executed >= self.n_action_steps)
            if decide.any():
                self._queue[decide] = self._decide(window[decide], None if decide.all() else decide)
                self._executed[decide] = 0
            actions = self._queue[np.arange(len(batch)), self._executed]
            self._executed += 1
        self._previous = actions
        if self._restarted is not None:
            self._restarted[:] = False
        return actions[0] if single else actions

    def _decide(self, window: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """Chunks ``(R, horizon, A)`` for the windows ``(R, n_obs_steps, O)`` of the deciding ``rows`` (bool over
        the batch; None: all), clipped to the action box; warm-started around the rows' previous actions."""
        noise = draw_noise(self.noise_inputs(len(window)), self.rng)
        fraction = self.inference.get("warm_start_fraction", 0.0)
        if fraction and self._previous is not None:
            previous = self._previous if rows is None else self._previous[rows]
            kept = None if self._restarted is None else ~(self._restarted if rows is None else self._restarted[rows])
            warm_start(
                noise["initial_uniform"],
                normalize_actions(self.normalizer, previous),
                fraction,
                self.inference["warm_start_spread"],
                action_bound(self.normalizer),
                self.rng,
                rows=kept,
            )
        chunk = self.argmin(window, noise)
        chunk = chunk[:, None] if chunk.ndim == 2 else chunk
        return np.clip(chunk, self.action_low, self.action_high).astype(np.float32)

    def _ensembled(self, window: np.ndarray, restarted: np.ndarray) -> np.ndarray:
        """Temporal ensembling: decide for every row, keep the last ``horizon`` chunks, average their predictions
        for this tick with weights ``exp(-m i)``, ``i = 0`` the oldest."""
        b = len(window)
        if self._ensemble is None or len(self._ensemble) != b:
            self._ensemble = np.zeros((b, self.horizon, self.horizon, self.action_size), np.float32)
            self._ensemble_age = np.full((b, self.horizon), -1, np.int64)
        assert self._ensemble_age is not None
        self._ensemble_age[restarted] = -1
        self._ensemble = np.roll(self._ensemble, 1, axis=1)  # slot j: the chunk decided j ticks ago
        self._ensemble_age = np.roll(self._ensemble_age, 1, axis=1)
        self._ensemble_age[self._ensemble_age >= 0] += 1
        self._ensemble[:, 0] = self._decide(window, None)
        self._ensemble_age[:, 0] = 0
        return ensemble_actions(self._ensemble, self._ensemble_age, self.temporal_ensemble)


def ensemble_actions(chunks: np.ndarray, ages: np.ndarray, m: float) -> np.ndarray:
    """ACT's temporal ensembling: per row, the weighted mean over kept chunks ``(B, H, H, A)`` (slot ``j``
    decided ``ages[:, j]`` ticks ago, -1 for none) of each one's prediction for this tick (its step ``age``),
    with weights ``exp(-m i)``, ``i = 0`` the oldest chunk. ``(B, A)``."""
    b, h = ages.shape
    valid = (ages >= 0) & (ages < h)
    step = np.clip(ages, 0, h - 1)
    predictions = chunks[np.arange(b)[:, None], np.arange(h)[None, :], step]  # (B, H, A)
    rank = np.cumsum(valid[:, ::-1], axis=1)[:, ::-1] - valid  # kept chunks older than slot j: 0 for the oldest
    weights = np.where(valid, np.exp(-m * rank), 0.0)
    return (weights[..., None] * predictions).sum(axis=1) / weights.sum(axis=1, keepdims=True)
