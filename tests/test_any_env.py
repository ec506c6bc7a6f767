"""The core on a Gymnasium env the package did not write: a 1-D reach task defined here, whose episodes end
at different steps (termination on arrival), with demonstrations from a scripted controller written here."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from implicit_policy import ImplicitPolicy
from implicit_policy.config import EnergyNetConfig, LangevinConfig, OptimConfig
from implicit_policy.data.collect import demonstrations_from_rollouts
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.evaluation.rollout import rollout
from implicit_policy.training.trainer import train
from tiny import tiny_config

ENV_ID = "ReachLineTest-v0"


class ReachLine(gym.Env):
    """Observation ``[position, target]`` in [0, 1]^2; action: a velocity in [-0.2, 0.2]; terminates (success)
    within 0.05 of the target, truncated after 30 steps."""

    observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
    action_space = spaces.Box(-0.2, 0.2, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = self.np_random.uniform(0, 1, 2).astype(np.float32)
        return self.state.copy(), {}

    def step(self, action):
        self.state[0] = np.clip(self.state[0] + float(np.clip(action[0], -0.2, 0.2)), 0, 1)
        arrived = abs(self.state[0] - self.state[1]) < 0.05
        return self.state.copy(), float(arrived), arrived, False, {"is_success": arrived}


def scripted(obs: np.ndarray) -> np.ndarray:
    return np.clip(obs[:, 1:] - obs[:, :1], -0.2, 0.2)


@pytest.fixture(scope="module", autouse=True)
def registered():
    gym.register(ENV_ID, entry_point=ReachLine, max_episode_steps=30)
    yield
    gym.registry.pop(ENV_ID)


def test_trains_and_evaluates_on_an_env_it_did_not_write(tmp_path):
    runs = rollout(ENV_ID, scripted, lambda info: None, episodes=60, seed=0)
    assert runs.success_rate == 1.0 and len(set(runs.lengths.tolist())) > 1  # episodes of different lengths
    demos = demonstrations_from_rollouts(runs, ENV_ID, seed=0)
    assert demos.episode_lengths.tolist() == runs.lengths.tolist()
    config = tiny_config(
        energy=EnergyNetConfig(hidden_size=32),
        sampler=LangevinConfig(num_samples=4, iterations=3),
        inference=LangevinConfig(num_samples=16, iterations=3, noise_scale=0.01),
        n_obs_steps=2,
        optim=OptimConfig(batch_size=32),
        steps=30,
        eval_every=15,
        eval_episodes=8,
        checkpoint_every=15,
    )
    result = train(config, demos, tmp_path, progress=False)
    assert result.final_success_rate is not None
    policy = ImplicitPolicy.load(tmp_path)
    assert np.all(np.abs(policy.act(np.array([[0.1, 0.9], [0.5, 0.5]], np.float32))) <= 0.2 + 1e-6)  # the env's box
    evaluation = evaluate(policy, ENV_ID, episodes=12, seed=500, batch_size=5)
    assert evaluation["episodes"] == 12 and len(evaluation["successes"]) == 12 and "first_goal_rate" not in evaluation
    assert 1 <= evaluation["mean_length"] <= 30


def test_evaluate_restarts_the_history_of_rows_whose_episode_ended():
    class Recorder:
        """A scripted policy that records the per-row restarts evaluate asks of it."""

        def __init__(self):
            self.restarted: list[list[int]] = []

        def act(self, obs):
            return scripted(obs)

        def reset(self, rows=None):
            if rows is not None:
                self.restarted.append(sorted(int(r) for r in rows))

    recorder = Recorder()
    result = evaluate(recorder, ENV_ID, episodes=6, seed=0, batch_size=6)
    assert result["success_rate"] == 1.0 and recorder.restarted  # rows finished at different steps
    assert sorted(sum(recorder.restarted, [])) == sorted(set(sum(recorder.restarted, [])))  # each row once


def test_unknown_env_and_non_box_spaces_are_refused(tmp_path):
    from implicit_policy.evaluation.rollout import box_spaces

    with pytest.raises(ValueError, match="unknown Gymnasium env id"):
        box_spaces("NoSuchEnv-v9")
    with pytest.raises(ValueError, match="needs 1-D Box spaces"):
        box_spaces("CartPole-v1")  # Discrete actions


class GoalReach(ReachLine):
    """ReachLine with a Gymnasium-Robotics style ``Dict`` observation."""

    observation_space = spaces.Dict(
        {"observation": spaces.Box(0.0, 1.0, (1,), np.float32), "desired_goal": spaces.Box(0.0, 1.0, (1,), np.float32)}
    )

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed)
        return self._dict(obs), info

    def step(self, action):
        obs, *rest = super().step(action)
        return (self._dict(obs), *rest)

    @staticmethod
    def _dict(obs):
        return {"observation": obs[:1], "desired_goal": obs[1:]}


def test_dict_observations_are_flattened_in_sorted_key_order(tmp_path):
    from implicit_policy.evaluation.rollout import box_spaces

    gym.register("GoalReachTest-v0", entry_point=GoalReach, max_episode_steps=30)
    try:
        obs_space, _ = box_spaces("GoalReachTest-v0")
        assert obs_space.shape == (2,)
        goal_first = lambda obs: np.clip(obs[:, :1] - obs[:, 1:], -0.2, 0.2)  # noqa: E731  [desired_goal, observation]
        runs = rollout("GoalReachTest-v0", goal_first, lambda info: None, episodes=10, seed=0)
        assert runs.success_rate == 1.0
    finally:
        gym.registry.pop("GoalReachTest-v0")
