"""Particle environments of implicit-policy and the scripted demonstrators of the envs it knows (with
Gymnasium-Robotics' ``FetchPush-v4``), ``FetchPushTwoGoals-v0`` where Gymnasium-Robotics is installed and
``PushTKeypoints-v0`` and ``PushTPixels-v0`` where gym-pusht is. Importing this package registers the particle envs with Gymnasium
and its hooks with implicit-policy; implicit-policy imports it through its ``implicit_policy.envs`` entry
point, so ``gym.make("Particle2D-v0")`` works after ``import implicit_policy`` (or
``gym.make("implicit_policy_envs:Particle2D-v0")`` in a fresh process).
"""

from gymnasium.envs.registration import register, registry

from implicit_policy.extras import installed

from .fetch_push import TWO_GOALS_ENV_ID
from .hooks import register as _register_hooks
from .hooks import register_robotics
from .oracle import ParticleOracle
from .particle import EPISODE_STEPS, ParticleEnv, ParticleVectorEnv, split_observation

PARTICLE_DIMENSIONS = (1, 2, 4, 8, 16, 32)
MULTIMODAL_ID = "Particle2DMultimodal-v0"
PUSHT_KEYPOINTS_ID = "PushTKeypoints-v0"  # pusht_keypoints.ENV_ID, without importing gym-pusht
PUSHT_PIXELS_ID = "PushTPixels-v0"  # pusht_pixels.ENV_ID


def _register(env_id: str, **kwargs) -> None:
    if env_id in registry:
        return
    register(
        id=env_id,
        entry_point=f"{__name__}.particle:ParticleEnv",
        vector_entry_point=f"{__name__}.particle:ParticleVectorEnv",
        max_episode_steps=EPISODE_STEPS,
        kwargs=kwargs,
    )


def particle_env_ids() -> list[str]:
    """Every registered particle env id."""
    return [f"Particle{n}D-v0" for n in PARTICLE_DIMENSIONS] + [MULTIMODAL_ID]


def particle_n_dim(env_id: str) -> int:
    """Action size N of a registered particle env id; ``ValueError`` listing the known ids otherwise."""
    if env_id not in particle_env_ids():
        raise ValueError(f"unknown particle env id {env_id!r}; known ids: {', '.join(particle_env_ids())}")
    return int(registry[env_id].kwargs["n_dim"])


for _n in PARTICLE_DIMENSIONS:
    _register(f"Particle{_n}D-v0", n_dim=_n)
_register(MULTIMODAL_ID, n_dim=2, multimodal=True)
if installed("gymnasium_robotics") and TWO_GOALS_ENV_ID not in registry:
    register(
        id=TWO_GOALS_ENV_ID, entry_point=f"{__name__}.fetch_push_two_goals:FetchPushTwoGoalsEnv", max_episode_steps=50
    )
if installed("gym_pusht") and PUSHT_KEYPOINTS_ID not in registry:
    register(id=PUSHT_KEYPOINTS_ID, entry_point=f"{__name__}.pusht_keypoints:PushTKeypointsEnv", max_episode_steps=300)
if installed("gym_pusht") and PUSHT_PIXELS_ID not in registry:
    register(id=PUSHT_PIXELS_ID, entry_point=f"{__name__}.pusht_pixels:PushTPixelsEnv", max_episode_steps=300)
_register_hooks(particle_env_ids())

__all__ = [
    "EPISODE_STEPS",
    "ParticleEnv",
    "ParticleVectorEnv",
    "ParticleOracle",
    "particle_env_ids",
    "particle_n_dim",
    "register_robotics",
    "split_observation",
]
