"""Per env id, what implicit-policy knows beyond the Gymnasium interface: its scripted demonstrator (what
``implicit-policy collect --env ID`` runs) and its extra closed-loop diagnostics (what ``evaluate`` adds to
the success rate). Adding a bundled env or a demonstrator is one entry here plus its module."""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from gymnasium.envs.registration import registry

from . import fetch_push, particle
from .oracle import ParticleOracle

Act = Callable[[np.ndarray], np.ndarray]
OnReset = Callable[[dict], None]

def ensure_registered(env_id: str) -> None:
    """Register Gymnasium-Robotics' envs when an id is not registered yet and that package is installed
    (``pip install "implicit-policy[robotics]"``), so ``FetchPush-v4`` (or any of its ids) works like a
    bundled id; an id it does not have stays unknown, for the caller's error."""
    if env_id in registry or importlib.util.find_spec("gymnasium_robotics") is None:
        return
    import gymnasium

    with contextlib.redirect_stderr(io.StringIO()):  # its import prints a notice about the Adroit envs' rewards
        import gymnasium_robotics

    gymnasium.register_envs(gymnasium_robotics)


def _particle(env_id: str) -> tuple[Act, OnReset]:
    oracle = ParticleOracle(int(registry[env_id].kwargs["n_dim"]))
    return oracle.act, lambda info: oracle.reset(info["first_goal_index"])


def _fetch_push(env_id: str) -> tuple[Act, OnReset]:
    pusher = fetch_push.FetchPushDemonstrator()
    return pusher.act, pusher.reset


def _particle_diagnostics(runs: Any) -> dict[str, float]:
    """Share of episodes that reached at least the first goal: partial progress where success reads 0."""
    return {"first_goal_rate": float(np.mean(particle.first_step_at(runs, "first_goal") >= 0))}


def _demonstrator_factories() -> dict[str, Callable[[str], tuple[Act, OnReset]]]:
    from . import particle_env_ids

    return {env_id: _particle for env_id in particle_env_ids()} | {fetch_push.ENV_ID: _fetch_push}


def demonstrator(env_id: str) -> tuple[Act, OnReset]:
    """A fresh scripted demonstrator of ``env_id`` as ``act (B, O) -> (B, A)`` and ``on_reset(info)`` (called
    with the vector env's reset info before each batch of episodes); ``ValueError`` for an id without one."""
    factories = _demonstrator_factories()
    if env_id not in factories:
        raise ValueError(f"unknown particle env id {env_id!r}, nor another env with a scripted demonstrator; "
                         f"there is one for {', '.join(factories)}. For another env, record your own "
                         "demonstrations (README: 'Your own env and data')")
    return factories[env_id](env_id)


def episode_diagnostics(env_id: str, runs: Any) -> dict[str, float]:
    """Extra closed-loop metrics of ``env_id`` from its ``Rollouts`` (none for most envs)."""
    from . import particle_env_ids

    return _particle_diagnostics(runs) if env_id in particle_env_ids() else {}
