"""Why a trained Particle2D policy fails: failure kinds in closed loop and the first-step goal choice.

    python examples/diagnose_particle.py --policy runs/p2d [--episodes 200 --seed 1000]

Prints (numbers quoted in the README's tuning notes):
- closed loop: success, episodes whose first set-point lies nearer the second goal, and the failures split
  into "never reached goal 1", "reached goal 1, not goal 2" and "reached both, not at goal 2 at the end";
- the first-step choice on fresh starts, read straight from the energy: the share where E(obs, second
  goal) < E(obs, first goal), binned by the start's distance to the first goal;
- the same with the start's zero velocity replaced by ``c * (first goal - position)``, the velocity the
  agent has while approaching: if the error falls, the net reads "at rest" as "arrived at goal 1".
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from implicit_policy.evaluation.rollout import oracle_rollout, rollout
from implicit_policy.policies.torch_policy import ImplicitPolicy, load_policy
from implicit_policy_envs.particle import first_step_at, split_observation

ENV_ID = "Particle2D-v0"


def closed_loop_report(policy: ImplicitPolicy, episodes: int, seed: int) -> None:
    runs = rollout(ENV_ID, policy.act, lambda info: policy.reset(), episodes, seed)
    parts = split_observation(runs.observations, 2)
    to_second = np.linalg.norm(runs.actions[:, 0] - parts["second_goal"][:, 0], axis=1) < np.linalg.norm(
        runs.actions[:, 0] - parts["first_goal"][:, 0], axis=1
    )
    first, second = first_step_at(runs, "first_goal"), first_step_at(runs, "second_goal")
    failed = ~runs.successes.astype(bool)
    print(f"closed loop, {episodes} episodes from seed {seed}: success {runs.success_rate:.1%}")
    print(
        f"  first set-point nearer the second goal: {to_second.mean():.1%} of episodes, "
        f"{to_second[failed].sum()} of the {failed.sum()} failures"
    )
    print(
        f"  failures: never reached goal 1: {(failed & (first < 0)).sum()}; "
        f"reached goal 1, not goal 2: {(failed & (first >= 0) & (second < 0)).sum()}; "
        f"reached both, not at goal 2 at the end: {(failed & (first >= 0) & (second >= 0)).sum()}"
    )


@torch.no_grad()
def prefers_second_goal(policy: ImplicitPolicy, obs: np.ndarray) -> np.ndarray:
    """``(B,)`` whether E(obs, second goal) < E(obs, first goal) for observations ``(B, 8)``."""
    raw = torch.as_tensor(obs, dtype=torch.float32)
    parts = split_observation(raw, 2)
    energies = policy.raw_energy(raw, torch.stack([parts["first_goal"], parts["second_goal"]], dim=1))
    return (energies[:, 1] < energies[:, 0]).numpy()


def first_step_report(policy: ImplicitPolicy, starts: int, seed: int) -> None:
    obs = oracle_rollout(ENV_ID, starts, seed).observations[:, 0]  # the fresh starts of these episodes
    parts = split_observation(obs, 2)
    wrong = prefers_second_goal(policy, obs)
    distance = np.linalg.norm(parts["agent_position"] - parts["first_goal"], axis=1)
    edges = np.quantile(distance, np.linspace(0, 1, 6))
    bins = np.digitize(distance, edges[1:-1])
    print(
        f"first step, {starts} fresh starts from seed {seed}: the energy prefers the second goal in {wrong.mean():.1%}"
    )
    print(
        "  by the start's distance to goal 1: "
        + ", ".join(f"{edges[i]:.2f}-{edges[i + 1]:.2f}: {wrong[bins == i].mean():.0%}" for i in range(5))
    )
    for c in (0.5, 1.0, 2.0):
        moving = obs.copy()
        split_observation(moving, 2)["agent_velocity"][:] = c * (parts["first_goal"] - parts["agent_position"])
        print(f"  velocity {c} * (goal 1 - position) instead of 0: {prefers_second_goal(policy, moving).mean():.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", required=True, help="a run folder or checkpoint of an energy model")
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000)
    args = parser.parse_args()
    policy = load_policy(args.policy)
    if not isinstance(policy, ImplicitPolicy) or policy.header.env_id != ENV_ID:
        raise SystemExit(f"error: {args.policy} is not an energy model trained on {ENV_ID}")
    closed_loop_report(policy, args.episodes, args.seed)
    first_step_report(policy, 500, args.seed)


if __name__ == "__main__":
    main()
