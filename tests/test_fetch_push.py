"""FetchPush-v4 (Gymnasium-Robotics, MuJoCo): the scripted demonstrator, collection, and a policy trained,
evaluated and exported on the arm task. Runs where the ``robotics`` extra is installed (CI installs it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("gymnasium_robotics")
pytest.importorskip("mujoco")

from implicit_policy import OnnxPolicy  # noqa: E402
from implicit_policy.cli import main  # noqa: E402
from implicit_policy.data.collect import collect_demonstrations  # noqa: E402
from implicit_policy.evaluation.rollout import make_vector_env, oracle_rollout  # noqa: E402
from implicit_policy_envs.fetch_push import FetchPushDemonstrator  # noqa: E402


def test_the_scripted_pusher_succeeds_on_seeded_episodes():
    runs = oracle_rollout("FetchPush-v4", episodes=40, seed=0)
    assert runs.reports_success and runs.success_rate >= 0.85  # 500 episodes: see the README
    assert runs.observations.shape[1:] == (50, 31) and runs.actions.shape[-1] == 4


def test_the_pusher_refuses_an_observation_of_another_size():
    with pytest.raises(ValueError, match="size 31"):
        FetchPushDemonstrator().act(np.zeros(25))


def test_dict_observations_are_flattened_for_the_policy():
    env = make_vector_env("FetchPush-v4", 2)
    try:
        obs, _ = env.reset(seed=3)
        assert obs.shape == (2, 31)
        np.testing.assert_allclose(obs[:, 0:3], obs[:, 9:12])  # achieved_goal first (sorted keys) = block position
    finally:
        env.close()


def test_collect_train_eval_export_on_fetch_push(tmp_path):
    data, run, onnx_file = tmp_path / "fetch.npz", tmp_path / "run", tmp_path / "fetch.onnx"
    assert (
        main(["collect", "--env", "FetchPush-v4", "--episodes", "6", "--seed", "0", "--out", str(data), "--quiet"]) == 0
    )
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--preset",
                "ibc-langevin",
                "--steps",
                "10",
                "--out",
                str(run),
                "--quiet",
                "--set",
                "eval_episodes=2",
                "--set",
                "eval_every=10",
                "--set",
                "optim.batch_size=32",
            ]
        )
        == 0
    )
    report = tmp_path / "eval.json"
    assert (
        main(["eval", "--policy", str(run), "--episodes", "3", "--seed", "5000", "--json", str(report), "--quiet"]) == 0
    )
    result = json.loads(report.read_text())
    assert result["env_id"] == "FetchPush-v4" and len(result["successes"]) == 3
    assert main(["export", "--policy", str(run), "--out", str(onnx_file)]) == 0
    policy = OnnxPolicy(onnx_file, seed=0)
    obs = collect_demonstrations("FetchPush-v4", 1, 9).observations[:3]
    actions = np.stack([policy.act(o) for o in obs])
    assert actions.shape == (3, 4) and np.all(np.abs(actions) <= 1.0)
