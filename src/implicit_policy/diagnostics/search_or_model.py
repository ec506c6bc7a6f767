"""Search failure or model failure? A probe of a policy on demonstrated states it was not trained on.

For each state the policy's own inference finds an action; the demonstrated action is the reference.
Where the demonstrated action has the *lower* energy, the search missed a better minimum (search failure);
where the found action has the lower energy and still lands far away, the energy's minimum itself is
wrong (model failure). A much longer search separates the two further: if it also lands far away with a
lower energy than the demonstration's, the model is at fault. Rows are reported for every state and
separately at the decision points (episode starts and action jumps), where behaviour cloning from
observation histories most often fails. A policy deciding chunks is probed on the chunk: its distance is
the mean over the chunk's steps (those before the episode's end) of each action's distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from implicit_policy.config import InferenceConfig
from implicit_policy.data.demonstrations import Demonstrations, action_chunks, observation_windows
from implicit_policy.optimizers.langevin import LangevinConfig, StepSchedule
from implicit_policy.policies.torch_policy import ImplicitPolicy, TorchPolicy
from implicit_policy.runtime.control_loop import draw_noise
from implicit_policy.training.batches import BatchConfig, decision_points

LONG_SEARCH = LangevinConfig(
    rule="ibc", num_samples=256, iterations=100, noise_scale=0.01, step=StepSchedule(start=0.1, end=1e-4)
)
"""The long search of the probe: 256 Langevin chains of 100 steps."""


@torch.no_grad()
def _probe(
    policy: TorchPolicy, windows: torch.Tensor, demonstrated: torch.Tensor, kept: torch.Tensor, seed: int
) -> dict[str, np.ndarray]:
    """Per state: the found chunk's distance to the demonstrated one ``(S, horizon, A)`` (raw units, the mean over
    the ``kept (S, horizon)`` steps of each action's distance), and for an energy model both energies."""
    noise = {
        k: torch.as_tensor(v)
        for k, v in draw_noise(policy.noise_inputs(len(windows)), np.random.default_rng(seed)).items()
    }
    obs = policy.normalize_window(windows)
    found = policy.normalized_argmin(obs, noise).detach()
    per_step = (policy.raw_chunk(found) - demonstrated).norm(dim=-1)  # (S, horizon)
    out = {"distance": ((per_step * kept).sum(-1) / kept.sum(-1)).numpy()}
    if isinstance(policy, ImplicitPolicy):
        target = policy.torch_normalizer.normalize_actions(demonstrated).flatten(1)
        out["found_energy"] = policy.energy(obs, found.unsqueeze(1))[:, 0].numpy()
        out["demonstrated_energy"] = policy.energy(obs, target.unsqueeze(1))[:, 0].numpy()
    return out


def _summary(probe: dict[str, np.ndarray], rows: np.ndarray, tolerance: float) -> dict[str, float]:
    distance = probe["distance"][rows]
    summary = {
        "states": int(len(rows)),
        "median_distance": float(np.median(distance)),
        "within_tolerance": float(np.mean(distance < tolerance)),
    }
    if "found_energy" in probe:  # energy models only
        summary["search_failure"] = float(np.mean(probe["demonstrated_energy"][rows] < probe["found_energy"][rows]))
    return summary


def search_or_model(
    policy: TorchPolicy,
    demos: Demonstrations,
    states: int = 200,
    seed: int = 0,
    tolerance: float = 0.05,
    long_search: InferenceConfig | None = LONG_SEARCH,
) -> dict[str, Any]:
    """The probe over ``states`` transitions of ``demos`` drawn at random (``seed``), with the policy's own
    inference and, for an energy model, with ``long_search``: for each, and for all states, decision points
    and the rest, the median distance of the found action to the demonstrated one (raw units), the share
    within ``tolerance``, and (energy models) the share of search failures."""
    flat_size = demos.input_spec().obs_size  # vectors and frames, as the policy takes them flat
    if flat_size != policy.obs_size or demos.action_size != policy.action_size:
        raise ValueError(
            f"demonstrations have observation size {flat_size} and action size {demos.action_size}; "
            f"the policy takes {policy.obs_size} and gives {policy.action_size}"
        )
    rng = np.random.default_rng(seed)
    count = min(states, len(demos.observations))
    picked = np.sort(rng.choice(len(demos.observations), count, replace=False))
    index = observation_windows(demos.episode_lengths, policy.n_obs_steps)[picked]
    windows = torch.as_tensor(demos.flat_observations(index.ravel()).reshape(*index.shape, -1))  # (S, n, O)
    chunk, padded = action_chunks(demos.episode_lengths, policy.horizon)
    demonstrated = torch.as_tensor(demos.actions[chunk[picked]])  # (S, horizon, A)
    kept = torch.as_tensor(~padded[picked], dtype=demonstrated.dtype)
    normalised = policy.torch_normalizer.normalize_actions(torch.as_tensor(demos.actions)).numpy()
    threshold = (policy.header.train.batch if policy.header.train is not None else BatchConfig()).decision_threshold
    decisions = np.isin(picked, decision_points(demos.episode_starts, normalised, threshold))
    groups = {
        "all": np.arange(count),
        "decision points": np.flatnonzero(decisions),
        "elsewhere": np.flatnonzero(~decisions),
    }
    searches: dict[str, TorchPolicy] = {"policy's inference": policy}
    if isinstance(policy, ImplicitPolicy) and long_search is not None:
        searches["long search"] = ImplicitPolicy(policy.header, policy.model, policy.device, inference=long_search)
    result: dict[str, Any] = {"states": count, "tolerance": tolerance, "rows": []}
    for name, searcher in searches.items():
        probe = _probe(searcher, windows, demonstrated, kept, seed)
        for group, rows in groups.items():
            if len(rows):
                result["rows"].append({"search": name, "states_in": group, **_summary(probe, rows, tolerance)})
    return result


def format_search_or_model(result: dict[str, Any]) -> str:
    """The probe's rows as a plain-text table."""
    lines = [f"{'search':<20}{'states':<17}{'n':>5}{'median dist':>13}{'within tol':>12}{'search failure':>16}"]
    for row in result["rows"]:
        failure = f"{row['search_failure']:.0%}" if "search_failure" in row else "-"
        lines.append(
            f"{row['search']:<20}{row['states_in']:<17}{row['states']:>5}{row['median_distance']:>13.4f}"
            f"{row['within_tolerance']:>12.0%}{failure:>16}"
        )
    return "\n".join(lines)
