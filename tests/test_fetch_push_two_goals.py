"""FetchPushTwoGoals-v0: Gymnasium's env checks, seeding, success at either goal (not between them), the
demonstrator's seeded 50/50 choice, and the default preset trained, evaluated and exported on it. Runs
where the ``robotics`` extra is installed (CI installs it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("gymnasium_robotics")
pytest.importorskip("mujoco")

import gymnasium as gym  # noqa: E402
from gymnasium.utils.env_checker import check_env  # noqa: E402

from implicit_policy import OnnxPolicy  # noqa: E402
from implicit_policy.cli import main  # noqa: E402
from implicit_policy.evaluation.rollout import oracle_rollout  # noqa: E402
from implicit_policy_envs.fetch_push import TwoGoalsDemonstrator, goal_reached, goal_switches, heading_goals  # noqa: E402

ENV_ID = "FetchPushTwoGoals-v0"


@pytest.fixture
def env():
    env = gym.make(ENV_ID)
    yield env.unwrapped
    env.close()


def test_passes_gymnasiums_env_checker(env):
    check_env(env, skip_render_check=True)
    assert env.observation_space["desired_goal"].shape == (6,)


def test_is_seeded_and_draws_two_goals_apart(env):
    first, info = env.reset(seed=7)
    again, info_again = env.reset(seed=7)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert info == info_again and info["demonstrator_goal"] in (0, 1)
    choices = set()
    for seed in range(30):
        obs, info = env.reset(seed=seed)
        goals = obs["desired_goal"].reshape(2, 3)
        assert np.linalg.norm(goals[0, :2] - goals[1, :2]) >= 0.15
        choices.add(info["demonstrator_goal"])
    assert choices == {0, 1}


def _block_at(env, position: np.ndarray) -> dict:
    """Move the block to ``position (3,)`` and step once with no motion: the env's own success judgement."""
    qpos = env._utils.get_joint_qpos(env.model, env.data, "object0:joint").copy()
    qpos[:3] = position
    env._utils.set_joint_qpos(env.model, env.data, "object0:joint", qpos)
    env._mujoco.mj_forward(env.model, env.data)
    return env.step(np.array([0.0, 0.0, 0.0, -1.0], dtype=np.float32))[-1]


def test_success_at_either_goal_and_not_at_the_midpoint(env):
    obs, _ = env.reset(seed=11)
    goals = obs["desired_goal"].reshape(2, 3)
    assert _block_at(env, goals[0])["is_success"] == 1.0
    assert _block_at(env, goals[1])["is_success"] == 1.0
    assert _block_at(env, goals.mean(axis=0))["is_success"] == 0.0
    reward = env.compute_reward(goals, np.tile(obs["desired_goal"], (2, 1)), {})
    np.testing.assert_array_equal(reward, [0.0, 0.0])


def test_the_demonstrator_pushes_to_the_goal_its_coin_chose():
    runs = oracle_rollout(ENV_ID, episodes=8, seed=0)
    assert runs.success_rate >= 0.75  # 500 episodes: 98.6 % (docs: FetchPush)
    env = gym.make(ENV_ID)
    chosen = np.array([env.reset(seed=int(seed))[1]["demonstrator_goal"] for seed in runs.seeds])
    env.close()
    reached = goal_reached(runs.observations, runs.lengths, runs.successes)
    np.testing.assert_array_equal(reached[runs.successes.astype(bool)], chosen[runs.successes.astype(bool)])


def test_the_demonstrator_needs_its_reset_info():
    with pytest.raises(ValueError, match="demonstrator_goal"):
        TwoGoalsDemonstrator().reset({})


def test_default_preset_trains_evaluates_and_exports(tmp_path):
    data, run, onnx_file = tmp_path / "two.npz", tmp_path / "run", tmp_path / "two.onnx"
    assert main(["collect", "--env", ENV_ID, "--episodes", "4", "--seed", "0", "--out", str(data), "--quiet"]) == 0
    sets = ["eval_episodes=2", "eval_every=10", "optim.batch_size=32", "inference.num_samples=4"]
    args = ["train", "--data", str(data), "--steps", "10", "--out", str(run), "--quiet"]
    assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
    report = tmp_path / "eval.json"
    assert main(["eval", "--policy", str(run), "--episodes", "2", "--seed", "5000", "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["env_id"] == ENV_ID
    assert {"goal_1_rate", "goal_2_rate", "goal_switches", "switching_rate"} <= result.keys()
    assert main(["export", "--policy", str(run), "--out", str(onnx_file)]) == 0
    obs, _ = gym.wrappers.FlattenObservation(gym.make(ENV_ID)).reset(seed=5)
    action = OnnxPolicy(onnx_file, seed=0).act(obs)
    assert action.shape == (4,) and np.all(np.abs(action) <= 1.0)


def _episode(blocks: list[list[float]], goals: list[float]) -> np.ndarray:
    """Observations ``(S, 34)`` with the block at each of ``blocks`` and the two ``goals (6,)``."""
    obs = np.zeros((len(blocks), 34))
    obs[:, :3] = blocks
    obs[:, 3:9] = goals
    return obs


def test_goal_switches_counts_changes_of_heading_on_hand_made_episodes():
    goals = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]  # goal 1 along x, goal 2 along y
    towards_one = [[0.01 * t, 0.0, 0.0] for t in range(12)]
    there_and_back = towards_one + [[0.11, 0.01 * t, 0.0] for t in range(1, 13)]  # then towards goal 2
    still = [[0.0, 0.0, 0.0]] * 12
    longest = len(there_and_back)
    episodes = [there_and_back, towards_one + [towards_one[-1]] * 12, still + still]
    lengths = np.array([len(e) for e in episodes])
    observations = np.stack([_episode(e + [e[-1]] * (longest - len(e)), goals) for e in episodes])
    heading = heading_goals(observations, lengths)
    assert set(heading[0, :5]) == {0} and set(heading[0, 14:20]) == {1}
    assert set(heading[2]) == {-1}  # a block at rest heads nowhere
    np.testing.assert_array_equal(goal_switches(observations, lengths), [1, 0, 0])
