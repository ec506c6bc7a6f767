"""Energy landscapes: ``E(obs, .)`` on a grid over a 2-D action box, with the demonstrator's action and the
policy's argmin, the picture people look at to debug an energy model (``implicit-policy plot-energy``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from implicit_policy.evaluation.env_hooks import Marker, hooks_for
from implicit_policy.evaluation.rollout import oracle_rollout
from implicit_policy.policies.torch_policy import ImplicitPolicy


@dataclass(frozen=True)
class Landscape:
    """``n`` observations and what the policy makes of them; actions in raw env units."""

    env_id: str
    seeds: np.ndarray  # (n,) episode seeds
    steps: np.ndarray  # (n,) step within the episode
    observations: np.ndarray  # (n, O)
    demonstrator_actions: np.ndarray  # (n, 2)
    policy_actions: np.ndarray  # (n, 2): what ``act`` returns, the argmin found by the policy's optimiser
    grid_x: np.ndarray  # (G,) first action coordinate
    grid_y: np.ndarray  # (G,) second action coordinate
    energies: np.ndarray  # (n, G, G), [i, row y, column x]
    markers: list[list[Marker]]  # per observation, the env's points of interest in the action plane


def demonstration_states(env_id: str, count: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``count`` oracle states from episodes ``seed, seed + 1, ...``, at steps spread over the episode (so
    the pictures show the start, the move between goals and the end): seeds, steps, observations, actions."""
    runs = oracle_rollout(env_id, count, seed)
    length = runs.observations.shape[1]
    steps = np.linspace(0, length - 1, count + 2)[1:-1].astype(int) if count > 1 else np.array([0])
    rows = np.arange(count)
    return runs.seeds, steps, runs.observations[rows, steps], runs.actions[rows, steps]


@torch.no_grad()
def energy_landscape(policy: ImplicitPolicy, count: int = 4, seed: int = 1000, grid: int = 101) -> Landscape:
    """Energies of ``policy`` over a ``grid x grid`` mesh of its 2-D action box, for ``count`` oracle states."""
    if policy.action_size != 2:
        raise ValueError(
            f"an energy landscape picture needs a 2-D action; this policy's action size is {policy.action_size}"
        )
    env_id = policy.header.env_id
    seeds, steps, observations, demonstrated = demonstration_states(env_id, count, seed)
    xs = np.linspace(policy.action_low[0], policy.action_high[0], grid, dtype=np.float32)
    ys = np.linspace(policy.action_low[1], policy.action_high[1], grid, dtype=np.float32)
    mesh = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major over (y, x)
    obs = torch.as_tensor(observations, dtype=torch.float32, device=policy.device)
    actions = torch.as_tensor(mesh, device=policy.device).expand(count, -1, -1)
    energies = policy.raw_energy(obs, actions).reshape(count, grid, grid).cpu().numpy()
    policy.reset()
    mark = hooks_for(env_id).landscape_markers
    markers = [mark(env_id, o) if mark is not None else [] for o in observations]
    return Landscape(
        env_id,
        seeds,
        steps,
        observations.astype(np.float32),
        demonstrated.astype(np.float32),
        policy.act(observations),
        xs,
        ys,
        energies,
        markers,
    )
