"""The one tiny run config the tests share: a real training run that takes seconds."""

from implicit_policy.config import EnergyNetConfig, LangevinConfig, OptimConfig, TrainConfig

TINY = TrainConfig(
    energy=EnergyNetConfig(hidden_size=16),
    sampler=LangevinConfig(num_samples=4, iterations=2),
    inference=LangevinConfig(num_samples=8, iterations=2, noise_scale=0.01),
    optim=OptimConfig(batch_size=16),
    steps=4,
    log_every=5,
    eval_every=0,
    eval_episodes=0,
    checkpoint_every=4,
)


def tiny_config(**changes) -> TrainConfig:
    """:data:`TINY` with top-level fields replaced; checkpoints at the last step unless told otherwise."""
    changes.setdefault("checkpoint_every", changes.get("steps", TINY.steps))
    return TINY.updated(**changes)
