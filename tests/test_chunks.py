"""Action chunks: windows at episode edges (both padding rules), the per-row queue and its resets in a vector
env, ACT's temporal ensembling on a hand case, and torch and onnxruntime agreeing over an episode."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from implicit_policy import OnnxPolicy, export_argmin, load_policy
from implicit_policy.cli import main
from implicit_policy.config import EnergyNetConfig, MDNConfig, MSEPolicyConfig, NetConfig
from implicit_policy.data.demonstrations import action_chunks
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.optimizers.proposal import ProposalConfig
from implicit_policy.presets import PRESETS
from implicit_policy.runtime.control_loop import ensemble_actions
from implicit_policy.training.trainer import Trainer, train
from tiny import tiny_config


def test_chunks_repeat_the_last_action_past_an_episodes_end_and_mark_it():
    index, padded = action_chunks(np.array([3, 2]), horizon=3)
    assert index.tolist() == [[0, 1, 2], [1, 2, 2], [2, 2, 2], [3, 4, 4], [4, 4, 4]]
    assert padded.tolist() == [[0, 0, 0], [0, 0, 1], [0, 1, 1], [0, 0, 1], [0, 1, 1]]


@pytest.mark.parametrize("padding", ["repeat", "mask"])
def test_the_trainer_builds_chunk_targets_by_the_padding_rule(demos_2d, tmp_path, padding):
    config = tiny_config(horizon=4, n_action_steps=2, action_padding=padding)
    trainer = Trainer(config, demos_2d, tmp_path)
    first_end = int(demos_2d.episode_lengths[0]) - 1
    last = trainer.batches.chunks_at(torch.tensor([first_end]))[0].view(
        4, 2
    )  # the chunk at an episode's last step: its action four times
    assert torch.equal(last, last[:1].expand(4, 2))
    if padding == "repeat":
        assert trainer.batches.keep is None
    else:
        assert trainer.batches.keep[first_end].tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
        assert trainer.batches.keep[0].tolist() == [1] * 8
    trainer.train_step()  # both rules train


@pytest.fixture(scope="module")
def chunk_run(tmp_path_factory, demos_2d):
    run = tmp_path_factory.mktemp("chunks")
    config = tiny_config(horizon=4, n_action_steps=2, n_obs_steps=2, steps=10)
    train(config, demos_2d, run, progress=False)
    return run


class Counting:
    """Wraps a policy's argmin, counting the rows of each decision."""

    def __init__(self, policy):
        self.policy, self.rows = policy, []
        inner = policy.argmin

        def argmin(window, noise):
            self.rows.append(len(window))
            return inner(window, noise)

        policy.argmin = argmin


def test_the_queue_decides_every_n_action_steps_and_reset_rows_decide_at_once(chunk_run):
    policy = load_policy(chunk_run, seed=0)
    counting = Counting(policy)
    obs = np.full((3, 8), 0.5, np.float32)
    first = policy.act(obs)
    assert counting.rows == [3]
    chunk = policy._queue.copy()
    np.testing.assert_array_equal(first, chunk[:, 0])
    policy.reset(rows=[1])
    second = policy.act(obs)
    assert counting.rows == [3, 1]  # only the restarted row decides; the others take their chunk's next action
    np.testing.assert_array_equal(second[[0, 2]], chunk[[0, 2], 1])
    policy.act(obs)
    assert counting.rows == [3, 1, 2]  # rows 0 and 2 have executed n_action_steps = 2 of theirs
    policy.act(obs)
    assert counting.rows == [3, 1, 2, 1]  # and now row 1
    policy.reset()
    policy.act(obs[:2])
    assert counting.rows == [3, 1, 2, 1, 2]


def test_execution_can_change_after_training_from_python_and_the_cli(chunk_run, capsys):
    policy = load_policy(chunk_run, seed=0)
    counting = Counting(policy)
    policy.execute(n_action_steps=4)
    obs = np.full((2, 8), 0.5, np.float32)
    for _ in range(5):
        policy.act(obs)
    assert counting.rows == [2, 2]  # decided at ticks 0 and 4
    with pytest.raises(ValueError, match="1 to the policy's horizon 4, got 5"):
        policy.execute(n_action_steps=5)
    args = ["eval", "--policy", str(chunk_run), "--episodes", "1", "--seed", "1000", "--quiet"]
    assert main([*args, "--n-action-steps", "9"]) == 2
    assert "n_action_steps must be 1 to the policy's horizon 4, got 9" in capsys.readouterr().err
    assert main([*args, "--n-action-steps", "1", "--temporal-ensemble", "0.01"]) == 0


def test_a_chunk_policy_runs_in_a_vector_env_with_autoreset(chunk_run):
    result = evaluate(load_policy(chunk_run, seed=0), "Particle2D-v0", episodes=6, seed=1000, batch_size=3)
    assert result["episodes"] == 6 and len(result["returns"]) == 6


def test_temporal_ensembling_weighs_the_oldest_prediction_most():
    chunks = np.zeros((1, 3, 3, 1))
    chunks[0, 0, 0], chunks[0, 1, 1], chunks[0, 2, 2] = 10.0, 20.0, 30.0  # each chunk's prediction for now
    ages = np.array([[0, 1, 2]])
    m = 0.5
    weights = np.exp(-m * np.array([2, 1, 0]))  # the chunk decided 2 ticks ago is the oldest: weight 1
    expected = (weights * [10, 20, 30]).sum() / weights.sum()
    np.testing.assert_allclose(ensemble_actions(chunks, ages, m), [[expected]])
    ages = np.array([[0, -1, 2]])  # a slot with no chunk is left out
    weights = np.exp(-m * np.array([1, 0]))
    np.testing.assert_allclose(ensemble_actions(chunks, ages, m), [[(weights * [10, 30]).sum() / weights.sum()]])


@pytest.mark.parametrize("kind", ["energy", "mse", "ensembled", "pusht", "pusht_lowest"])
def test_onnx_and_torch_chunk_policies_agree_over_an_episode(demos_2d, tmp_path, kind):
    options = dict(horizon=4, n_action_steps=3, steps=10)
    if kind == "mse":
        options["policy"] = MSEPolicyConfig(net=NetConfig(hidden_size=16))
    if kind.startswith("pusht"):  # the proposal as a prior, acting from its means alone (no noise input)
        proposal = MDNConfig(hidden_size=16)
        energy = EnergyNetConfig(head_size=8, proposal=proposal, proposal_prior=1.0, head_on_proposal=True)
        options["policy"] = PRESETS["pusht"].policy.model_copy(update={"energy": energy})
    if kind == "pusht_lowest":  # the preset's proposal picks the mode; here the lowest energy among the means
        inference = ProposalConfig(num_samples=0, choose="energy")
        options["policy"] = options["policy"].model_copy(update={"inference": inference})
    if kind == "ensembled":
        options["temporal_ensemble"] = 0.1
    train(tiny_config(**options), demos_2d, tmp_path / "run", progress=False)
    torch_policy = load_policy(tmp_path / "run", seed=3)
    onnx_policy = OnnxPolicy(export_argmin(torch_policy, tmp_path / "p.onnx"), seed=3)
    assert onnx_policy.horizon == 4 and onnx_policy.input_spec.horizon == 4
    rng = np.random.default_rng(0)
    for _ in range(9):
        obs = rng.uniform(0, 1, (2, 8)).astype(np.float32)
        np.testing.assert_allclose(onnx_policy.act(obs), torch_policy.act(obs), atol=1e-5)


def test_the_search_or_model_probe_compares_whole_chunks(chunk_run, demos_2d):
    from implicit_policy.diagnostics.search_or_model import search_or_model

    policy = load_policy(chunk_run, seed=0)
    result = search_or_model(policy, demos_2d, states=30, long_search=None)
    everything = next(r for r in result["rows"] if r["states_in"] == "all")
    assert everything["states"] == 30 and np.isfinite(everything["median_distance"])
    assert 0 <= everything["search_failure"] <= 1
