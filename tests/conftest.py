import os

import pytest
import torch

from implicit_policy import collect_demonstrations
from implicit_policy.config import EnergyNetConfig, LangevinConfig, OptimConfig
from tiny import tiny_config as tiny

if os.environ.get("PYTEST_XDIST_WORKER"):  # `pytest -n N`: N workers share the cores, one torch thread each
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"  # and in the CLI processes the tests start


@pytest.fixture(scope="session")
def demos_2d():
    """20 oracle episodes of Particle2D-v0 (1000 transitions)."""
    return collect_demonstrations("Particle2D-v0", episodes=20, seed=0)


@pytest.fixture
def tiny_config():
    """The shared tiny config (``tests/tiny.py``) a little longer: 40 steps, checkpoints every 10."""
    return tiny(
        energy=EnergyNetConfig(hidden_size=32),
        sampler=LangevinConfig(num_samples=4, iterations=3),
        inference=LangevinConfig(num_samples=8, iterations=3, noise_scale=0.01),
        optim=OptimConfig(batch_size=32),
        steps=40,
        eval_episodes=4,
        checkpoint_every=10,
    )
