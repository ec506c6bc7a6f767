"""Observation history (``n_obs_steps``): training windows inside episodes, one history per batch row with
per-row restarts, torch and onnxruntime in step, and checkpoints from before history still loading."""

import json

import numpy as np
import pytest
import torch

from implicit_policy import ExplicitPolicy, ImplicitPolicy, OnnxPolicy, export_argmin
from implicit_policy.config import (
    EnergyNetConfig,
    LangevinConfig,
    MSEPolicyConfig,
    NetConfig,
    OptimConfig,
    TrainConfig,
)
from implicit_policy.data.demonstrations import observation_windows
from implicit_policy.training.trainer import Trainer, train
from tiny import tiny_config

INFERENCE = LangevinConfig(num_samples=8, iterations=3, noise_scale=0.01)


def _config(**options) -> TrainConfig:
    return tiny_config(
        **{
            "energy": EnergyNetConfig(hidden_size=32),
            "sampler": LangevinConfig(num_samples=4, iterations=3),
            "inference": INFERENCE,
            "optim": OptimConfig(batch_size=32),
            "steps": 20,
        }
        | options
    )


@pytest.fixture(scope="module")
def history_run(tmp_path_factory, demos_2d):
    path = tmp_path_factory.mktemp("history")
    train(_config(n_obs_steps=2), demos_2d, path, progress=False)
    return path


@pytest.fixture(scope="module")
def explicit_history_run(tmp_path_factory, demos_2d):
    path = tmp_path_factory.mktemp("explicit_history")
    train(
        tiny_config(
            n_obs_steps=3,
            policy=MSEPolicyConfig(net=NetConfig(hidden_size=32)),
            optim=OptimConfig(batch_size=32),
            steps=20,
        ),
        demos_2d,
        path,
        progress=False,
    )
    return path


def test_windows_repeat_the_first_observation_and_never_cross_episodes():
    index = observation_windows(np.array([3, 2, 1]), 3)
    assert index.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 2], [3, 3, 3], [3, 3, 4], [5, 5, 5]]
    assert observation_windows(np.array([4]), 1).tolist() == [[0], [1], [2], [3]]


def test_trainer_feeds_the_net_flattened_normalised_windows(demos_2d, tmp_path):
    trainer = Trainer(_config(n_obs_steps=2), demos_2d, tmp_path)
    normalized = trainer.normalizer.normalize_obs(torch.as_tensor(demos_2d.observations))
    start, second = demos_2d.episode_starts[1], demos_2d.episode_starts[1] + 1
    obs = trainer.batches.vectors_at(trainer.batches.windows).flatten(1)  # every transition's window, flattened
    assert obs.shape == (len(demos_2d.observations), 16)
    assert torch.equal(obs[start], torch.cat([normalized[start], normalized[start]]))  # padded start
    assert torch.equal(obs[second], torch.cat([normalized[start], normalized[second]]))
    assert trainer.model.layers[0].in_features == 16 + 2


def test_each_batch_row_keeps_its_own_history_and_restarts_alone(explicit_history_run):
    policy = ExplicitPolicy.load(explicit_history_run)  # deterministic: actions are a function of the window
    rng = np.random.default_rng(0)
    o1, o2, o3 = (rng.uniform(0, 1, (2, 8)).astype(np.float32) for _ in range(3))

    def expected(window: np.ndarray) -> np.ndarray:
        return np.clip(policy.argmin(window, {})[:, 0], policy.action_low, policy.action_high)  # a chunk of one

    assert np.allclose(policy.act(o1), expected(np.stack([o1, o1, o1], axis=1)))
    assert np.allclose(policy.act(o2), expected(np.stack([o1, o1, o2], axis=1)))
    policy.reset(rows=[1])
    actions = policy.act(o3)
    assert np.allclose(actions[0], expected(np.stack([o1, o2, o3], axis=1))[0])
    assert np.allclose(actions[1], expected(np.stack([o3, o3, o3], axis=1))[1])
    assert np.allclose(policy.act(o1)[1], expected(np.stack([o3, o3, o1], axis=1))[1])
    with pytest.raises(ValueError, match="call reset"):
        policy.act(o1[0])
    with pytest.raises(ValueError, match="do not index"):
        policy.reset(rows=[5])
    policy.reset()
    assert np.allclose(policy.act(o2[0]), expected(np.stack([o2[:1]] * 3, axis=1))[0])


def test_history_policy_acts_the_same_in_torch_and_onnxruntime(history_run, tmp_path):
    policy = ImplicitPolicy.load(history_run, seed=3)
    path = export_argmin(policy, tmp_path / "policy.onnx")
    onnx_policy = OnnxPolicy(path, seed=3)
    assert onnx_policy.n_obs_steps == 2
    rng = np.random.default_rng(1)
    for tick in range(4):
        if tick == 2:
            policy.reset(rows=[0])
            onnx_policy.reset(rows=[0])
        obs = rng.uniform(0, 1, (3, 8)).astype(np.float32)
        assert np.allclose(policy.act(obs), onnx_policy.act(obs), atol=1e-4)


def test_checkpoint_from_before_history_loads_and_acts_the_same(demos_2d, tmp_path):
    train(_config(), demos_2d, tmp_path / "run", progress=False)
    obs = np.random.default_rng(2).uniform(0, 1, (4, 8)).astype(np.float32)
    before = ImplicitPolicy.load(tmp_path / "run", seed=0).act(obs)
    config_path = tmp_path / "run" / "checkpoints" / "step_20" / "config.json"
    header = json.loads(config_path.read_text())
    del header["n_obs_steps"], header["train"]["n_obs_steps"], header["header_sha256"]  # as written before history
    header["format_version"] = 1
    config_path.write_text(json.dumps(header))
    old = ImplicitPolicy.load(tmp_path / "run" / "checkpoints" / "step_20", seed=0)
    assert old.n_obs_steps == 1
    assert np.array_equal(old.act(obs), before)
