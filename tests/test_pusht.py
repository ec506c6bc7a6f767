"""Push-T from Diffusion Policy's human demonstrations: readers that flatten and slice keys, LeRobot's Push-T
layouts, Diffusion Policy's training split, the keypoint env, and Diffusion Policy's score in ``eval``.
Tests that need the shared demonstrations skip without them; the env's skip without gym-pusht."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from implicit_policy.cli import main
from implicit_policy.data import DemonstrationError, load_demonstrations
from implicit_policy.data.selection import diffusion_policy_val_mask, select_episodes
from implicit_policy.evaluation.evaluate import evaluate, mean_max_reward
from implicit_policy.runtime.input_spec import InputSpec, ObservationPart

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pusht" / "pusht_cchi_v7_replay.zarr"
needs_data = pytest.mark.skipif(not SHARED.is_dir(), reason="the shared Push-T demonstrations are not here")


def write_pusht_zarr(path: Path, episodes: int = 4, steps: int = 5) -> tuple[str, np.ndarray, np.ndarray]:
    """A replay buffer in Push-T's layout, written with zarr: ``state`` (5), ``keypoint`` (9 x 2), ``img``."""
    zarr = pytest.importorskip("zarr")
    rng = np.random.default_rng(0)
    total = episodes * steps
    state = rng.uniform(0, 512, (total, 5)).astype(np.float32)
    keypoint = rng.uniform(0, 512, (total, 9, 2)).astype(np.float32)
    root = zarr.open_group(str(path), mode="w")
    data, meta = root.create_group("data"), root.create_group("meta")
    data.create_array("state", data=state)
    data.create_array("keypoint", data=keypoint)
    data.create_array("action", data=rng.uniform(0, 512, (total, 2)).astype(np.float32))
    data.create_array("img", data=np.zeros((total, 4, 4, 3), np.float32))
    meta.create_array("episode_ends", data=np.arange(1, episodes + 1) * steps)
    return f"zarr:{path}", state, keypoint


def test_keys_with_more_axes_are_flattened_and_any_key_can_be_sliced(tmp_path):
    source, state, keypoint = write_pusht_zarr(tmp_path / "pusht.zarr")
    demos = load_demonstrations(source, ["keypoint", "state[:2]"])
    expected = np.concatenate([keypoint.reshape(len(keypoint), 18), state[:, :2]], axis=1)
    np.testing.assert_array_equal(demos.observations, expected)
    assert demos.observation_parts == (ObservationPart("keypoint", (9, 2), 0, 18), ObservationPart("state", (5,), 0, 2))
    for key, columns in (("state[-2:]", state[:, 3:]), ("state[1:3]", state[:, 1:3]), ("state[3:]", state[:, 3:])):
        np.testing.assert_array_equal(load_demonstrations(source, [key]).observations, columns)
    spec = demos.input_spec(n_obs_steps=2)
    assert InputSpec.from_json(spec.to_json()) == spec and spec.obs_size == 20
    assert str(spec) == "keypoint (9x2) + state[0:2] (5) -> 20 values, window 2, action 2"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (["state[1]"], "is not KEY or KEY\\[start:stop\\]"),
        (["state[4:2]"], "selects none of the 5 values of 'state'"),
        (["img[0:5]"], "slices the image key 'img'; frames are whole"),
        (["pos=state", "pos=keypoint"], "names a part twice"),
        (["nope[:2]"], "no observation key 'nope'"),
    ],
)
def test_bad_keys_are_refused_in_one_line(tmp_path, keys, message):
    source, _, _ = write_pusht_zarr(tmp_path / "pusht.zarr")
    with pytest.raises(DemonstrationError, match=message):
        load_demonstrations(source, keys)


def test_lerobot_pusht_keypoints_layout_reads_by_its_column_names(tmp_path):
    """``lerobot/pusht_keypoints``: ``observation.state`` (2, the agent), ``observation.environment_state``
    (16, gym-pusht's 8 T corners) and ``action`` (2), list columns in parquet files per episode."""
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    rng = np.random.default_rng(1)
    features = {
        "observation.state": {"dtype": "float32", "shape": [2], "names": None},
        "observation.environment_state": {"dtype": "float32", "shape": [16], "names": None},
        "action": {"dtype": "float32", "shape": [2], "names": None},
        "episode_index": {"dtype": "int64", "shape": [1], "names": None},
        "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    }
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(json.dumps({"codebase_version": "v2.1", "features": features}))
    (tmp_path / "data" / "chunk-000").mkdir(parents=True)
    columns = {}
    for episode in range(2):
        columns[episode] = {
            "observation.state": rng.uniform(0, 512, (6, 2)).astype(np.float32),
            "observation.environment_state": rng.uniform(0, 512, (6, 16)).astype(np.float32),
            "action": rng.uniform(0, 512, (6, 2)).astype(np.float32),
        }
        table = {k: pa.array(list(v), type=pa.list_(pa.float32(), v.shape[1])) for k, v in columns[episode].items()}
        table |= {"episode_index": pa.array(np.full(6, episode)), "frame_index": pa.array(np.arange(6))}
        parquet.write_table(pa.table(table), tmp_path / "data" / "chunk-000" / f"episode_{episode:06d}.parquet")
    demos = load_demonstrations(f"lerobot:{tmp_path}", ["observation.environment_state", "observation.state"])
    first = columns[0]
    np.testing.assert_array_equal(
        demos.observations[:6], np.concatenate([first["observation.environment_state"], first["observation.state"]], 1)
    )
    assert [p.key for p in demos.observation_parts] == ["observation.environment_state", "observation.state"]
    default = load_demonstrations(f"lerobot:{tmp_path}")  # observation.state first, then the other vectors
    assert [p.key for p in default.observation_parts] == ["observation.state", "observation.environment_state"]


def test_episode_selection_by_index_and_diffusion_policys_split():
    assert select_episodes("0-2,5", 10).tolist() == [0, 1, 2, 5]
    with pytest.raises(DemonstrationError, match="outside the 10 episodes"):
        select_episodes("8-10", 10)
    with pytest.raises(DemonstrationError, match="not an index or a range"):
        select_episodes("a-b", 10)
    val = np.flatnonzero(diffusion_policy_val_mask(206))
    train = select_episodes("diffusion_policy:90", 206)
    assert len(val) == 4 and len(train) == 90 and not set(val) & set(train)
    assert select_episodes("diffusion_policy:90", 206).tolist() == train.tolist()  # seeded: always the same


class ScriptedRewards(gym.Env):
    """Rewards by seed: seed 0 gives 0.1, 0.7, 0.3; seed 1 gives 0.2, 0.2, 1.0 (then terminates)."""

    observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)
    REWARDS = {0: [0.1, 0.7, 0.3], 1: [0.2, 0.2, 1.0]}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.rewards, self.t = self.REWARDS[seed % 2], 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        reward, self.t = self.rewards[self.t], self.t + 1
        return np.zeros(1, np.float32), reward, self.t == 3, False, {"is_success": reward == 1.0}


def test_eval_reports_diffusion_policys_score_on_a_hand_made_reward_sequence():
    gym.register("ScriptedRewards-v0", entry_point=ScriptedRewards)
    try:

        class Zero:
            def act(self, obs):
                return np.zeros((len(obs), 1), np.float32)

            def reset(self, rows=None):
                pass

        result = evaluate(Zero(), "ScriptedRewards-v0", episodes=2, seed=0)
    finally:
        del gym.registry["ScriptedRewards-v0"]
    assert result["max_rewards"] == pytest.approx([0.7, 1.0])
    assert result["mean_max_reward"] == pytest.approx(0.85) == mean_max_reward(np.array([0.7, 1.0]))
    assert result["success_rate"] == 0.5


@needs_data
def test_the_keypoint_env_observes_what_the_data_recorded():
    pytest.importorskip("gym_pusht")
    zarr = pytest.importorskip("zarr")
    root = zarr.open_group(str(SHARED), mode="r")
    rows = np.random.default_rng(0).choice(root["data/state"].shape[0], 100, replace=False)
    state, keypoint = root["data/state"][:][rows], root["data/keypoint"][:][rows]
    env = gym.make("PushTKeypoints-v0").unwrapped
    for s, k in zip(state, keypoint):
        obs, _ = env.reset(options={"pose": s})
        assert np.abs(obs[:18].reshape(9, 2) - k).max() < 2.0
        np.testing.assert_allclose(obs[18:], s[:2])


def test_the_keypoint_env_draws_diffusion_policys_start_states():
    pytest.importorskip("gym_pusht")
    from implicit_policy_envs.pusht_keypoints import diffusion_policy_start

    env = gym.make("PushTKeypoints-v0")
    first, _ = env.reset(seed=100000)
    again, _ = env.reset(seed=100000)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first[18:], diffusion_policy_start(100000)[:2])  # the agent starts where drawn


@needs_data
def test_train_on_the_zarr_keypoints_and_eval_in_the_keypoint_env(tmp_path, capsys):
    pytest.importorskip("gym_pusht")
    run = str(tmp_path / "run")
    argv = [
        "train",
        "--data",
        f"zarr:{SHARED}",
        "--obs-keys",
        "keypoint,state[:2]",
        "--episodes",
        "diffusion_policy:90",
    ]
    argv += ["--env", "PushTKeypoints-v0", "--preset", "mse", "--steps", "20", "--set", "eval_episodes=0"]
    assert main([*argv, "--set", "n_obs_steps=2", "--out", run, "--quiet"]) == 0
    spec = json.loads((tmp_path / "run" / "input_spec.json").read_text())
    assert [p["key"] for p in spec["observation"]] == ["keypoint", "state"] and spec["n_obs_steps"] == 2
    capsys.readouterr()
    assert main(["eval", "--policy", run, "--episodes", "2", "--seed", "100000", "--quiet"]) == 0
    assert "mean max reward" in capsys.readouterr().out
