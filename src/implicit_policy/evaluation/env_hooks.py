"""What the package may know about particular envs, supplied by env packages rather than written in the core.

The core works with any Gymnasium env. An env package adds, per env id, what only it knows: a scripted
demonstrator (``implicit-policy collect``), extra closed-loop metrics (``evaluate``), points worth marking
in an energy-landscape picture, and how to make an unregistered id known (Gymnasium-Robotics' ids).
It registers them with :func:`register_env_hooks` when imported, and is found through the
``implicit_policy.envs`` entry-point group, so installing a package is enough:

.. code-block:: toml

    [project.entry-points."implicit_policy.envs"]
    my_envs = "my_envs"
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import numpy as np

from implicit_policy.extras import EXTRA_OF, MissingExtra, installed, require

Act = Callable[[np.ndarray], np.ndarray]
"""A batched controller: observations ``(B, O)`` -> actions ``(B, A)``."""
OnReset = Callable[[dict[str, Any]], None]
"""Called with the vector env's reset info before each batch of episodes."""
Marker = tuple[str, np.ndarray, dict[str, Any]]
"""A labelled point ``(2,)`` in the action plane and its matplotlib style."""


@dataclass(frozen=True)
class EnvHooks:
    """Per-env knowledge; every part is optional.

    ``demonstrator(env_id)`` returns a fresh ``(act, on_reset)`` pair; ``diagnostics(env_id, rollouts)``
    extra metrics from an :class:`~implicit_policy.evaluation.rollout.Rollouts`, with ``labels`` naming
    them for tables; ``landscape_markers(env_id, observation (O,))`` points to draw in a 2-D action plane.
    """

    demonstrator: Callable[[str], tuple[Act, OnReset]] | None = None
    diagnostics: Callable[[str, Any], dict[str, float]] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    landscape_markers: Callable[[str, np.ndarray], list[Marker]] | None = None


_HOOKS: list[tuple[Callable[[str], bool], EnvHooks]] = []
_RESOLVERS: list[Callable[[str], None]] = []
_KNOWN_IDS: list[str] = []
_plugins_loaded = False
ENTRY_POINT_GROUP = "implicit_policy.envs"


def register_env_hooks(matches: Callable[[str], bool], hooks: EnvHooks) -> None:
    """Use ``hooks`` for every env id for which ``matches(env_id)`` is true (later registrations win)."""
    _HOOKS.insert(0, (matches, hooks))


def register_env_resolver(resolve: Callable[[str], None]) -> None:
    """``resolve(env_id)`` is called before an env is made, to register ids that are not registered yet."""
    _RESOLVERS.append(resolve)


def load_env_plugins() -> None:
    """Import every installed env package of the ``implicit_policy.envs`` entry-point group, once."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()


def resolve_env_id(env_id: str) -> str:
    """The id Gymnasium knows ``env_id`` by, once what registers it is imported: Gymnasium's
    ``module:EnvId`` imports ``module`` and gives ``EnvId``; a namespaced ``ns/EnvId`` whose namespace is not
    registered yet imports the module ``ns`` (gym-pusht's ``gym_pusht/PushT-v0``); every env package (the
    ``implicit_policy.envs`` entry points) may register it too. ``ValueError`` for a module that fails to import."""
    load_env_plugins()
    module, _, name = env_id.rpartition(":")
    if module:
        _import_env_module(module, env_id)
    namespace = name.partition("/")[0] if "/" in name else ""
    if namespace and not _namespace_registered(namespace):
        if namespace in EXTRA_OF:  # an env package this project names as an extra (gym_pusht): say which
            require(namespace, f"env {env_id!r}")
        if installed(namespace):
            _import_env_module(namespace, env_id)
    for resolve in _RESOLVERS:
        resolve(name)
    return name


def _namespace_registered(namespace: str) -> bool:
    from gymnasium.envs.registration import registry

    return any(spec.namespace == namespace for spec in registry.values())


def _import_env_module(module: str, env_id: str) -> None:
    try:
        importlib.import_module(module)
    except MissingExtra:
        raise
    except ImportError as err:
        raise ValueError(
            f"env {env_id!r}: cannot import its module {module!r} ({err}); is its package installed?"
        ) from None


def hooks_for(env_id: str) -> EnvHooks:
    """The hooks registered for ``env_id`` (``module:EnvId`` is looked up as ``EnvId``); empty hooks for an
    env no package knows."""
    load_env_plugins()
    name = env_id.rpartition(":")[2]
    return next((hooks for matches, hooks in _HOOKS if matches(name)), EnvHooks())


def diagnostic_label(name: str) -> str | None:
    """The label an env package gives its diagnostic ``name``, if any registered package has one."""
    load_env_plugins()
    return next((hooks.labels[name] for _, hooks in _HOOKS if name in hooks.labels), None)


def demonstrator_ids() -> list[str]:
    """Where known, example env ids that have a scripted demonstrator (for error messages)."""
    load_env_plugins()
    return [env_id for env_id in _KNOWN_IDS if hooks_for(env_id).demonstrator is not None]


def announce_env_ids(env_ids: list[str]) -> None:
    """Env ids an env package wants named in messages (e.g. the ids with a demonstrator)."""
    _KNOWN_IDS.extend(i for i in env_ids if i not in _KNOWN_IDS)


def demonstrator(env_id: str) -> tuple[Act, OnReset]:
    """A fresh scripted demonstrator of ``env_id``; ``ValueError`` naming the ids that have one."""
    make = hooks_for(env_id).demonstrator
    if make is None:
        raise ValueError(
            f"env {env_id!r} has no scripted demonstrator; there is one for "
            f"{', '.join(demonstrator_ids())}. For another env, record your own demonstrations "
            "and train on them (docs: 'Your own env and data')"
        )
    return make(env_id)


def episode_diagnostics(env_id: str, runs: Any) -> dict[str, float]:
    """Extra closed-loop metrics of ``env_id`` (none for envs no package knows)."""
    compute = hooks_for(env_id).diagnostics
    return compute(env_id, runs) if compute is not None else {}
