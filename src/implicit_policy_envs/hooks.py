"""What implicit-policy knows about the envs of this package, Gymnasium-Robotics' FetchPush and the two-goal
FetchPush, registered with the core's env hooks: scripted demonstrators (``implicit-policy collect --env
ID``), extra closed-loop metrics, energy-landscape markers, and Gymnasium-Robotics' ids made known on first
use."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np
from gymnasium.envs.registration import registry

from implicit_policy.evaluation.env_hooks import (
    Act,
    EnvHooks,
    Marker,
    OnReset,
    announce_env_ids,
    register_env_hooks,
    register_env_resolver,
)
from implicit_policy.extras import installed, require

from . import fetch_push, particle
from .oracle import ParticleOracle

ROBOTICS_FAMILIES = ("Fetch", "Hand", "Adroit", "PointMaze", "AntMaze", "FrankaKitchen")
"""Id prefixes of Gymnasium-Robotics' envs (and of ours built on them, FetchPushTwoGoals-v0)."""


def register_robotics(env_id: str) -> None:
    """Register Gymnasium-Robotics' envs when an id is not registered yet and that package is installed
    (``pip install "implicit-policy[robotics]"``), so ``FetchPush-v4`` (or any of its ids) works like a
    bundled id; an id it does not have stays unknown, for the caller's error. Without the package, an id of
    its families (``Fetch...``, ``Hand...``) is refused in one line naming the extra."""
    if env_id in registry:
        return
    if not installed("gymnasium_robotics"):
        if env_id.split("/")[-1].startswith(ROBOTICS_FAMILIES):
            require("gymnasium_robotics", f"env {env_id!r}")
        return
    import gymnasium

    with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice about the Adroit envs' rewards
        import gymnasium_robotics

    gymnasium.register_envs(gymnasium_robotics)


def _particle_demonstrator(env_id: str) -> tuple[Act, OnReset]:
    oracle = ParticleOracle(int(registry[env_id].kwargs["n_dim"]))
    return oracle.act, lambda info: oracle.reset(info["first_goal_index"])


def _particle_diagnostics(env_id: str, runs: Any) -> dict[str, float]:
    """Share of episodes that reached at least the first goal: partial progress where success reads 0."""
    return {"first_goal_rate": float(np.mean(particle.first_step_at(runs, "first_goal") >= 0))}


def _particle_markers(env_id: str, observation: np.ndarray) -> list[Marker]:
    """A 2-D particle env's action is a position: the goals and the agent lie in the action plane."""
    if int(registry[env_id].kwargs["n_dim"]) != 2:
        return []
    parts = particle.split_observation(observation[None], 2)
    return [
        ("first goal", parts["first_goal"][0], dict(marker="o", mfc="none", mec="lime", ms=12, mew=2)),
        ("second goal", parts["second_goal"][0], dict(marker="o", mfc="none", mec="deepskyblue", ms=12, mew=2)),
        ("agent", parts["agent_position"][0], dict(marker="o", color="red", ms=5)),
    ]


def _fetch_push_demonstrator(env_id: str) -> tuple[Act, OnReset]:
    pusher = fetch_push.FetchPushDemonstrator()
    return pusher.act, pusher.reset


def _two_goals_demonstrator(env_id: str) -> tuple[Act, OnReset]:
    pusher = fetch_push.TwoGoalsDemonstrator()
    return pusher.act, pusher.reset


def _two_goals_diagnostics(env_id: str, runs: Any) -> dict[str, float]:
    """Share of episodes that succeeded at goal 1 and at goal 2 (the modes a policy chose), and its commitment:
    the share of episodes whose block's heading switched between the goals, and the mean number of switches
    (in the JSON; tables print rates)."""
    reached = fetch_push.goal_reached(runs.observations, runs.lengths, runs.successes)
    switches = fetch_push.goal_switches(runs.observations, runs.lengths)
    return {
        "goal_1_rate": float(np.mean(reached == 0)),
        "goal_2_rate": float(np.mean(reached == 1)),
        "goal_switches": float(np.mean(switches)),
        "switching_rate": float(np.mean(switches > 0)),
    }


def register(particle_ids: list[str]) -> None:
    """Register this package's hooks with the core, for ``particle_ids`` and FetchPush."""
    register_env_resolver(register_robotics)
    register_env_hooks(
        particle_ids.__contains__,
        EnvHooks(
            demonstrator=_particle_demonstrator,
            diagnostics=_particle_diagnostics,
            labels={"first_goal_rate": "reached goal 1"},
            landscape_markers=_particle_markers,
        ),
    )
    register_env_hooks(fetch_push.ENV_ID.__eq__, EnvHooks(demonstrator=_fetch_push_demonstrator))
    register_env_hooks(
        fetch_push.TWO_GOALS_ENV_ID.__eq__,
        EnvHooks(
            demonstrator=_two_goals_demonstrator,
            diagnostics=_two_goals_diagnostics,
            labels={
                "goal_1_rate": "at goal 1",
                "goal_2_rate": "at goal 2",
                "switching_rate": "episodes that switched goal",
            },
        ),
    )
    announce_env_ids([*particle_ids, fetch_push.ENV_ID, fetch_push.TWO_GOALS_ENV_ID])
