"""Validation on held-out demonstrations: how to tell a good checkpoint from a bad one without a simulator.

Some episodes are held out of training (``val_episodes``) and never trained on. On their observation windows the
policy's own inference acts, and the checkpoint is scored by its action error against the demonstration
(diffusion_policy chose Implicit BC's checkpoints by the same error, on training data, for want of a
simulator). An energy model is also scored by where the demonstrated action ranks among uniform actions: the
share of them with a lower energy (0 is best), which says whether the energy or the search is off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from implicit_policy.data.demonstrations import Demonstrations, action_chunks, observation_windows
from implicit_policy.optimizers.base import uniform_actions
from implicit_policy.policies.torch_policy import ImplicitPolicy, TorchPolicy
from implicit_policy.runtime.control_loop import draw_noise

DEFAULT_FRACTION = 0.1
"""Share of episodes held out of data with no env when ``val_episodes`` is not given."""
MAX_STATES = 1024
"""Held-out transitions scored per validation (a fixed draw of them when there are more)."""
RANK_ACTIONS = 255
"""Uniform actions the demonstrated one is ranked among."""


def held_out_episodes(num_episodes: int, val_episodes: float | None, has_env: bool) -> np.ndarray:
    """Indices ``(V,)`` of the episodes to hold out: ``val_episodes`` of them (a count >= 1, or a fraction
    below 1, at least one episode), by default 10 % without an env and none with one. A fixed draw (seed 0),
    so every training seed of a recipe holds out the same episodes. ``ValueError`` if nothing would be left
    to train on."""
    if val_episodes is None:
        val_episodes = 0.0 if has_env else DEFAULT_FRACTION
    count = (
        int(val_episodes) if val_episodes >= 1 else max(1, round(val_episodes * num_episodes)) if val_episodes else 0
    )
    if count >= num_episodes:
        raise ValueError(
            f"val_episodes {val_episodes:g} holds out {count} of the {num_episodes} episodes, leaving none to train "
            "on; hold out fewer (--val-episodes), or record more episodes"
        )
    return np.sort(np.random.default_rng(0).permutation(num_episodes)[:count])


@dataclass(frozen=True)
class HeldOut:
    """Held-out observation windows ``(S, n_obs_steps, O)`` and demonstrated chunks ``(S, horizon, A)``, raw units
    (the chunk past an episode's end repeats its last action)."""

    windows: np.ndarray
    actions: np.ndarray

    @classmethod
    def from_demonstrations(cls, demos: Demonstrations, n_obs_steps: int, horizon: int = 1) -> HeldOut:
        """Every transition's window, or a fixed draw of :data:`MAX_STATES` of them."""
        index = observation_windows(demos.episode_lengths, n_obs_steps)
        chunks, _ = action_chunks(demos.episode_lengths, horizon)
        rows = np.arange(len(index))
        if len(rows) > MAX_STATES:
            rows = np.sort(np.random.default_rng(0).choice(len(rows), MAX_STATES, replace=False))
        windows = demos.flat_observations(index[rows].ravel()).reshape(len(rows), n_obs_steps, -1)
        return cls(windows, demos.actions[chunks[rows]])

    def metrics(self, policy: TorchPolicy, seed: int) -> dict[str, float]:
        """``val_action_mse`` (raw units, the policy's inference with noise from ``seed``) and, for an energy
        model, ``val_energy_rank``: the mean share of :data:`RANK_ACTIONS` uniform actions in the box whose
        energy is below the demonstrated action's."""
        noise = draw_noise(policy.noise_inputs(len(self.windows)), np.random.default_rng(seed))
        found = np.clip(policy.argmin(self.windows, noise), policy.action_low, policy.action_high)  # (S, horizon, A)
        result = {"val_action_mse": float(np.mean(np.square(found - self.actions)))}
        if not isinstance(policy, ImplicitPolicy):
            return result
        with torch.no_grad():
            obs = policy.normalize_window(torch.as_tensor(self.windows, device=policy.device))
            demonstrated = policy.torch_normalizer.normalize_actions(
                torch.as_tensor(self.actions, device=policy.device)
            ).flatten(1)
            generator = torch.Generator(policy.device).manual_seed(seed)
            bound = policy.torch_normalizer.action_bound
            uniform = uniform_actions(len(obs), RANK_ACTIONS, demonstrated.shape[1], bound, generator, policy.device)
            energies = policy.energy(obs, torch.cat([demonstrated.unsqueeze(1), uniform], dim=1))
        result["val_energy_rank"] = float((energies[:, 1:] < energies[:, :1]).float().mean())
        return result
