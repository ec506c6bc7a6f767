"""Implicit BC's ResNetPreActivation energy net: the function it computes, its explicit action gradient
against autograd, and a trained residual policy's ONNX argmin against torch."""

import numpy as np
import pytest
import torch

from implicit_policy import ExplicitPolicy, ImplicitPolicy, OnnxPolicy, export_argmin
from implicit_policy.config import (
    EnergyNetConfig,
    LangevinConfig,
    MSEPolicyConfig,
    OptimConfig,
    TrainConfig,
)
from implicit_policy.models.energy import ResNetEnergyNet, build_energy_net
from implicit_policy.training.trainer import train
from tiny import tiny_config

RESNET = EnergyNetConfig(kind="resnet", hidden_size=16, residual_blocks=2)


def test_resnet_is_projection_then_preactivation_blocks_then_output():
    net = build_energy_net(3, 2, RESNET)
    assert isinstance(net, ResNetEnergyNet) and len(net.blocks) == 2
    obs, actions = torch.randn(4, 3), torch.randn(4, 5, 2)
    x = net.projection(torch.cat([obs.unsqueeze(1).expand(-1, 5, -1), actions], dim=-1))
    for block in net.blocks:
        x = x + block.outer(torch.relu(block.inner(torch.relu(x))))
    torch.testing.assert_close(net(obs, actions), net.output(x).squeeze(-1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_resnet_explicit_action_gradient_matches_autograd(spectral_norm):
    torch.manual_seed(0)
    net = build_energy_net(8, 3, RESNET.model_copy(update={"spectral_norm": spectral_norm, "init_std": 0.3})).eval()
    obs, actions = torch.randn(4, 8), torch.randn(4, 6, 3, requires_grad=True)
    values, grad = net.energy_and_action_gradient(obs, actions)
    (expected,) = torch.autograd.grad(net(obs, actions).sum(), actions)
    torch.testing.assert_close(values, net(obs, actions))
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)
    assert expected.abs().max() > 1e-3  # a real gradient, not zeros on both sides


def _config(**options) -> TrainConfig:
    return tiny_config(
        **{
            "energy": RESNET,
            "sampler": LangevinConfig(num_samples=4, iterations=3),
            "inference": LangevinConfig(num_samples=8, iterations=4, noise_scale=0.01),
            "optim": OptimConfig(batch_size=32),
            "steps": 20,
        }
        | options
    )


def test_trained_resnet_policy_exports_and_acts_like_torch(demos_2d, tmp_path):
    train(_config(n_obs_steps=2), demos_2d, tmp_path / "run", progress=False)
    policy = ImplicitPolicy.load(tmp_path / "run", seed=5)
    onnx_policy = OnnxPolicy(export_argmin(policy, tmp_path / "resnet.onnx"), seed=5)
    obs = np.random.default_rng(0).uniform(0, 1, (6, 8)).astype(np.float32)
    for _ in range(3):
        assert np.allclose(policy.act(obs), onnx_policy.act(obs), atol=1e-4)


def test_resnet_regression_baseline_trains_and_loads(demos_2d, tmp_path):
    train(
        tiny_config(policy=MSEPolicyConfig(net=RESNET), optim=OptimConfig(batch_size=32), steps=20),
        demos_2d,
        tmp_path / "mse",
        progress=False,
    )
    policy = ExplicitPolicy.load(tmp_path / "mse")
    assert policy.act(np.full(8, 0.5, np.float32)).shape == (2,)
