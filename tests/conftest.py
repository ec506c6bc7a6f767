import pytest

from implicit_policy import collect_demonstrations
from implicit_policy.config import EnergyNetConfig, LangevinConfig, OptimConfig, TrainConfig


@pytest.fixture(scope="session")
def demos_2d():
    """20 oracle episodes of Particle2D-v0 (1000 transitions)."""
    return collect_demonstrations("Particle2D-v0", episodes=20, seed=0)


@pytest.fixture
def tiny_config():
    """A small model and short run: real training, seconds not minutes."""
    return TrainConfig(
        energy=EnergyNetConfig(hidden_size=32),
        sampler=LangevinConfig(num_samples=4, iterations=3),
        inference=LangevinConfig(num_samples=8, iterations=3, noise_scale=0.01),
        optim=OptimConfig(batch_size=32),
        steps=40,
        log_every=5,
        eval_every=0,
        eval_episodes=4,
        checkpoint_every=10,
    )
