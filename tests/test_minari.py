"""Demonstrations as Minari datasets: collect -> dataset -> train -> eval, flattening, and refusals.

Runs where the ``minari`` extra (with h5py) is installed, as CI installs it; skips cleanly elsewhere. The
datasets live in a temporary store (``MINARI_DATASETS_PATH``): no network, no user state touched.
"""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

minari = pytest.importorskip("minari")
pytest.importorskip("h5py")

from minari.data_collector import EpisodeBuffer  # noqa: E402

from implicit_policy.cli import main  # noqa: E402
from implicit_policy.data import DemonstrationError, load_demonstrations  # noqa: E402
from implicit_policy.data.collect import collect_demonstrations  # noqa: E402
from implicit_policy.data.minari import collect_minari  # noqa: E402


@pytest.fixture(autouse=True)
def minari_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


def test_collect_to_minari_train_and_eval_round_trip(tmp_path, capsys):
    assert (
        main(
            [
                "collect",
                "--env",
                "Particle2D-v0",
                "--episodes",
                "12",
                "--seed",
                "0",
                "--out",
                "minari:particle2d/test-v0",
                "--quiet",
            ]
        )
        == 0
    )
    assert "oracle success 100.0%" in capsys.readouterr().out
    from_minari = load_demonstrations("minari:particle2d/test-v0")
    from_npz = collect_demonstrations("Particle2D-v0", 12, 0)
    np.testing.assert_array_equal(from_minari.observations, from_npz.observations)
    np.testing.assert_array_equal(from_minari.actions, from_npz.actions)
    np.testing.assert_array_equal(from_minari.episode_seeds, np.arange(12))
    assert from_minari.env_id == "Particle2D-v0" and from_minari.episode_successes.all()

    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "minari:particle2d/test-v0",
                "--preset",
                "dfo",
                "--steps",
                "20",
                "--out",
                str(run),
                "--set",
                "eval_episodes=0",
                "--set",
                "optim.batch_size=32",
                "--quiet",
            ]
        )
        == 0
    )
    report = tmp_path / "eval.json"
    assert (
        main(["eval", "--policy", str(run), "--episodes", "4", "--seed", "1000", "--json", str(report), "--quiet"]) == 0
    )
    result = json.loads(report.read_text())
    assert result["env_id"] == "Particle2D-v0" and result["episodes"] == 4 and 0.0 <= result["success_rate"] <= 1.0


def test_a_dataset_whose_spaces_do_not_fit_its_env_is_refused():
    env = gym.make("Particle4D-v0")
    obs, _ = env.reset(seed=0)
    action = env.action_space.sample()
    step = env.step(action)
    buffer = EpisodeBuffer(
        id=0,
        seed=0,
        observations=np.stack([obs, step[0]]),
        actions=action[None],
        rewards=[0.0],
        terminations=[False],
        truncations=[True],
    )
    with pytest.warns(UserWarning):
        minari.create_dataset_from_buffers(
            "mismatch/test-v0",
            [buffer],
            env="Particle2D-v0",
            observation_space=env.observation_space,
            action_space=env.action_space,
        )
    with pytest.raises(
        DemonstrationError, match=r"observation space Box\(16,\), but its env Particle2D-v0 has Box\(8,\)"
    ):
        load_demonstrations("minari:mismatch/test-v0")


def test_missing_dataset_and_missing_folder_name_the_problem(tmp_path):
    with pytest.raises(DemonstrationError, match="no Minari dataset 'nope/none-v0' in the local store"):
        load_demonstrations("minari:nope/none-v0")
    with pytest.raises(DemonstrationError, match="empty Minari dataset name"):
        load_demonstrations("minari:")
    collect_minari("Particle2D-v0", 2, 0, "dup/test-v0")
    with pytest.raises(ValueError, match="already exists"):
        collect_minari("Particle2D-v0", 2, 0, "dup/test-v0")


def test_dict_observations_of_fetch_push_round_trip_in_sorted_key_order():
    pytest.importorskip("gymnasium_robotics")
    dataset = collect_minari("FetchPush-v4", 2, 7, "fetchpush/test-v0")
    assert isinstance(dataset.observation_space, gym.spaces.Dict)
    assert list(dataset.observation_space.keys()) == ["achieved_goal", "desired_goal", "observation"]
    from_minari = load_demonstrations("minari:fetchpush/test-v0")
    from_vector_env = collect_demonstrations("FetchPush-v4", 2, 7)  # flattened by FlattenObservation
    assert from_minari.observation_size == 31
    np.testing.assert_allclose(from_minari.observations, from_vector_env.observations, atol=1e-6)
    np.testing.assert_array_equal(from_minari.episode_successes, from_vector_env.episode_successes)


def test_a_dict_dataset_with_frames_is_read_as_named_parts_and_trains_a_camera_policy(tmp_path, capsys, monkeypatch):
    """gym-pusht's frames recorded into Minari come back as uint8 image parts under the env's names (not
    flattened), a camera policy trains from them and is evaluated in the env the dataset records."""
    pytest.importorskip("gym_pusht")
    argv = ["collect", "--env", "PushTPixels-v0", "--controller", "random", "--episodes", "2", "--seed", "0"]
    assert main([*argv, "--out", "minari:pusht-pixels/random-v0", "--quiet"]) == 0
    demos = load_demonstrations("minari:pusht-pixels/random-v0")
    assert [(p.name, p.image) for p in demos.observation_parts] == [("agent_pos", False), ("img", True)]
    assert demos.images["img"].shape == (600, 96, 96, 3) and demos.images["img"].dtype == np.uint8
    assert demos.observations.shape == (600, 2) and demos.env_id == "PushTPixels-v0"
    np.testing.assert_array_equal(demos.episode_seeds, [0, 1])
    first = collect_demonstrations("PushTPixels-v0", 1, 0, controller="random")  # the same reset, other actions
    np.testing.assert_array_equal(demos.images["img"][0], first.images["img"][0])
    np.testing.assert_array_equal(demos.observations[0], first.observations[0])
    with monkeypatch.context() as limited:
        limited.setenv("IMPLICIT_POLICY_FRAME_MEMORY", "1000")
        mapped = load_demonstrations("minari:pusht-pixels/random-v0")
    assert isinstance(mapped.images["img"], np.memmap) and mapped.digest() == demos.digest()

    renamed = load_demonstrations("minari:pusht-pixels/random-v0", ["camera=img", "agent_pos[:1]"])
    assert [p.name for p in renamed.observation_parts] == ["camera", "agent_pos"] and renamed.env_id == ""
    with pytest.raises(DemonstrationError, match="slices the image key 'img'"):
        load_demonstrations("minari:pusht-pixels/random-v0", ["img[:2]"])

    run = tmp_path / "run"
    settings = ["optim.batch_size=8", "eval_episodes=1", "vision.channels=4", "policy.mdn.hidden_size=32"]
    train = ["train", "--data", "minari:pusht-pixels/random-v0", "--preset", "pusht-image-mdn", "--steps", "2"]
    assert main([*train, "--out", str(run), "--quiet", *[a for s in settings for a in ("--set", s)]]) == 0
    assert main(["eval", "--policy", str(run), "--episodes", "1", "--seed", "100000"]) == 0
    assert "PushTPixels-v0" in capsys.readouterr().out
