"""Training on the data robot users have, with no simulator: diffusion_policy's zarr replay buffers, robomimic's
HDF5, LeRobot's parquet folders (v2.1 and v3.0) and Minari datasets without their env.

Each fixture is written by that format's own library (zarr, h5py, pyarrow, minari) in the layout its tools
write: LeRobot's as its ``LeRobotDataset`` reads it (``meta/info.json`` features, ``data/chunk-*/`` parquet
files with ``episode_index`` and ``frame_index`` columns, list columns for vectors, videos elsewhere).
The episodes come from a scripted env whose id is registered only while collecting, so training cannot
reach it: validation is on held-out episodes, and the best checkpoint is the one with the lowest held-out
error.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from implicit_policy import ImplicitPolicy, OnnxPolicy, load_policy
from implicit_policy.cli import main
from implicit_policy.data import Demonstrations, load_demonstrations
from implicit_policy.data.collect import collect_demonstrations
from implicit_policy.training.held_out import held_out_episodes

EPISODES = 12


@pytest.fixture(scope="module")
def demos() -> Demonstrations:
    return collect_demonstrations("Particle2D-v0", EPISODES, 0)


def _episodes(demos: Demonstrations) -> list[tuple[np.ndarray, np.ndarray]]:
    return [
        (demos.observations[s : s + n], demos.actions[s : s + n])
        for s, n in zip(demos.episode_starts, demos.episode_lengths)
    ]


def write_zarr(path: Path, demos: Demonstrations, state: np.ndarray | None = None, **extra: np.ndarray) -> str:
    zarr = pytest.importorskip("zarr")
    root = zarr.open_group(str(path), mode="w")
    data, meta = root.create_group("data"), root.create_group("meta")
    data.create_array("state", data=demos.observations if state is None else state)
    data.create_array("action", data=demos.actions)
    data.create_array("img", data=np.zeros((len(demos.actions), 4, 4, 3), np.uint8))
    for key, value in extra.items():
        data.create_array(key, data=value)
    meta.create_array("episode_ends", data=np.cumsum(demos.episode_lengths))
    return f"zarr:{path}"


def write_robomimic(path: Path, demos: Demonstrations, change=None) -> str:
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as handle:
        data = handle.create_group("data")
        data.attrs["env_args"] = json.dumps({"env_name": "Lift", "type": 1, "env_kwargs": {}})
        for index, (obs, act) in enumerate(_episodes(demos)):
            demo = data.create_group(f"demo_{index}")
            demo.attrs["num_samples"] = len(act)
            demo.create_dataset("actions", data=act)
            group = demo.create_group("obs")
            group.create_dataset("agent", data=obs[:, :4])
            group.create_dataset("goals", data=obs[:, 4:])
            group.create_dataset("agentview_image", data=np.zeros((len(act), 4, 4, 3), np.uint8))
        mask = handle.create_group("mask")
        mask.create_dataset("train", data=np.array([f"demo_{i}".encode() for i in range(EPISODES - 2)]))
        mask.create_dataset("valid", data=np.array([f"demo_{i}".encode() for i in range(EPISODES - 2, EPISODES)]))
        if change is not None:
            change(handle)
    return f"robomimic:{path}"


LEROBOT_FEATURES = {
    "observation.state": {"dtype": "float32", "shape": [8], "names": None},
    "action": {"dtype": "float32", "shape": [2], "names": None},
    "observation.images.top": {"dtype": "video", "shape": [4, 4, 3], "names": ["height", "width", "channel"]},
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}


def write_lerobot(path: Path, demos: Demonstrations, version: str = "v2.1", state=None) -> str:
    """LeRobot's layout: v2.1 one parquet file per episode, v3.0 several episodes per file (two files here,
    episodes split across them)."""
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    (path / "meta").mkdir(parents=True)
    info = {"codebase_version": version, "fps": 10, "total_episodes": EPISODES, "features": LEROBOT_FEATURES}
    (path / "meta" / "info.json").write_text(json.dumps(info))
    tables, start = [], 0
    for index, (obs, act) in enumerate(_episodes(demos)):
        rows = len(act)
        values = obs if state is None else state[start : start + rows]
        tables.append(
            pa.table(
                {
                    "observation.state": pa.array(list(values), type=pa.list_(pa.float32(), 8)),
                    "action": pa.array(list(act), type=pa.list_(pa.float32(), 2)),
                    "timestamp": pa.array(np.arange(rows, dtype=np.float32) / 10),
                    "frame_index": pa.array(np.arange(rows)),
                    "episode_index": pa.array(np.full(rows, index)),
                    "index": pa.array(np.arange(start, start + rows)),
                    "task_index": pa.array(np.zeros(rows, dtype=np.int64)),
                }
            )
        )
        start += rows
    if version == "v3.0":
        (path / "data" / "chunk-000").mkdir(parents=True)
        half = len(tables) // 2
        for file_index, part in enumerate((tables[half:], tables[:half])):  # out of order on purpose
            parquet.write_table(pa.concat_tables(part), path / "data" / "chunk-000" / f"file-{file_index:03d}.parquet")
    else:
        (path / "data" / "chunk-000").mkdir(parents=True)
        for index, table in enumerate(tables):
            parquet.write_table(table, path / "data" / "chunk-000" / f"episode_{index:06d}.parquet")
    return f"lerobot:{path}"


@pytest.mark.parametrize("writer", ["zarr", "robomimic", "lerobot-v2.1", "lerobot-v3.0"])
def test_each_format_reads_the_episodes_as_recorded(tmp_path, demos, writer):
    if writer == "zarr":
        source = write_zarr(tmp_path / "buffer.zarr", demos)
    elif writer == "robomimic":
        source = write_robomimic(tmp_path / "demo.hdf5", demos)
    else:
        source = write_lerobot(tmp_path / "dataset", demos, version=writer.split("-")[1])
    read = load_demonstrations(source)
    np.testing.assert_array_equal(read.observations, demos.observations)
    np.testing.assert_array_equal(read.actions, demos.actions)
    np.testing.assert_array_equal(read.episode_lengths, demos.episode_lengths)
    assert read.env_id == ""


def test_obs_keys_choose_and_order_the_observation(tmp_path, demos):
    source = write_robomimic(tmp_path / "demo.hdf5", demos)
    read = load_demonstrations(source, obs_keys=["goals", "agent"])
    np.testing.assert_array_equal(
        read.observations, np.concatenate([demos.observations[:, 4:], demos.observations[:, :4]], 1)
    )
    assert load_demonstrations(source + "#valid").num_episodes == 2


def test_trains_with_no_env_on_held_out_episodes_then_acts_and_exports(tmp_path, demos, capsys):
    source = write_zarr(tmp_path / "buffer.zarr", demos)
    run = tmp_path / "run"
    args = ["train", "--data", source, "--out", str(run), "--steps", "40", "--val-episodes", "3", "--quiet"]
    sets = ["eval_every=10", "checkpoint_every=10", "inference.num_samples=4", "optim.batch_size=64"]
    assert main([*args, *(x for s in sets for x in ("--set", s))]) == 0
    assert "held-out action error" in capsys.readouterr().out
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    validations = [r for r in records if "val_action_mse" in r]
    assert [r["step"] for r in validations] == [10, 20, 30, 40]
    assert all(0 <= r["val_energy_rank"] <= 1 for r in validations) and not any("success_rate" in r for r in records)
    best = min(validations, key=lambda r: r["val_action_mse"])
    header = json.loads((run / "best" / "config.json").read_text())
    assert header["step"] == best["step"] and header["validation_action_mse"] == pytest.approx(best["val_action_mse"])
    assert header["env_id"] == ""

    policy = ImplicitPolicy.load(run, seed=0)
    assert main(["export", "--policy", str(run), "--out", str(tmp_path / "p.onnx")]) == 0
    robot = OnnxPolicy(tmp_path / "p.onnx", seed=0)
    obs = demos.observations[:16]
    np.testing.assert_allclose(robot.act(obs), policy.act(obs), atol=1e-5)
    assert robot.env_id == ""
    assert main(["eval", "--policy", str(run)]) == 2
    assert "trained on data with no env: name one to evaluate in with --env" in capsys.readouterr().err


def test_held_out_episodes_are_never_trained_on_and_default_to_a_tenth_without_an_env():
    assert len(held_out_episodes(50, None, has_env=False)) == 5 and len(held_out_episodes(50, None, has_env=True)) == 0
    assert list(held_out_episodes(50, 0.2, True)) == list(held_out_episodes(50, 10, False))
    with pytest.raises(ValueError, match="leaving none to train on"):
        held_out_episodes(3, 3, False)


def test_a_declared_action_box_replaces_the_data_range(tmp_path, demos):
    source = write_zarr(tmp_path / "buffer.zarr", demos)
    args = ["train", "--data", source, "--out", str(tmp_path / "run"), "--preset", "mse", "--steps", "2", "--quiet"]
    assert main([*args, "--set", "action_low=[0, 0]", "--set", "action_high=[1, 1]"]) == 0
    policy = load_policy(tmp_path / "run")
    np.testing.assert_array_equal(policy.action_low, [0, 0]) and np.testing.assert_array_equal(
        policy.action_high, [1, 1]
    )


def _one_line_error(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("implicit-policy train: error:"), err
    return err


def _nan_state(demos: Demonstrations) -> np.ndarray:
    state = demos.observations.copy()
    state[demos.episode_starts[4] + 3, 1] = np.nan
    return state


BAD_FILES = {
    # name: (writer, what to change, the words the error must hold)
    "zarr missing key": ("zarr", {}, ["--obs-keys", "pos"], ["no observation key 'pos'", "buffer.zarr"]),
    "zarr sliced image": ("zarr", {}, ["--obs-keys", "img[:2]"], ["slices the image key 'img'"]),
    "zarr NaN": ("zarr", {"state": "nan"}, [], ["key 'state' of episode 4", "NaN", "step 3"]),
    "zarr text": ("zarr", {"names": "text"}, ["--obs-keys", "names"], ["'data/names' is not numeric"]),
    "zarr length": ("zarr", {"state": "short"}, [], ["key 'state' has", "episode_ends ends at"]),
    "robomimic ragged": ("robomimic", "ragged", [], ["episode demo_3", "ragged"]),
    "robomimic text": ("robomimic", "text", [], ["key 'obs/agent' of episode demo_0 is not numeric"]),
    "robomimic length": ("robomimic", "length", [], ["key 'obs/goals' of episode demo_2 has 49 steps"]),
    "robomimic filter": ("robomimic", None, ["#test"], ["no filter key mask/test"]),
    "lerobot NaN": ("lerobot", "nan", [], ["key 'observation.state' of episode 4", "NaN"]),
    "lerobot video key": ("lerobot", None, ["--obs-keys", "observation.images.top"], ["lacks video_path"]),
    "lerobot no info": ("lerobot", "no info", [], ["no meta/info.json"]),
    "lerobot text column": ("lerobot", "text", [], ["column 'action' holds string", "episode_000002.parquet"]),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_files_are_refused_on_one_line_naming_file_key_and_episode(tmp_path, demos, capsys, case):
    writer, change, extra, words = BAD_FILES[case]
    if writer == "zarr":
        state = {"nan": _nan_state(demos), "short": demos.observations[:-5]}.get(change.get("state"), None)
        extras = {"names": np.arange(len(demos.actions)).astype("U3")} if change.get("names") else {}
        source = write_zarr(tmp_path / "buffer.zarr", demos, state=state, **extras)
    elif writer == "robomimic":

        def edit(handle):
            if change == "ragged":
                del handle["data/demo_3/obs/goals"]
                handle["data/demo_3/obs"].create_dataset("goals", data=np.zeros((50, 5), np.float32))
            elif change == "text":
                del handle["data/demo_0/obs/agent"]
                handle["data/demo_0/obs"].create_dataset("agent", data=np.array([b"a"] * 50))
            elif change == "length":
                goals = handle["data/demo_2/obs/goals"][()]
                del handle["data/demo_2/obs/goals"]
                handle["data/demo_2/obs"].create_dataset("goals", data=goals[:-1])

        source = write_robomimic(tmp_path / "demo.hdf5", demos, edit)
    else:
        source = write_lerobot(tmp_path / "dataset", demos, state=_nan_state(demos) if change == "nan" else None)
        if change == "no info":
            (tmp_path / "dataset" / "meta" / "info.json").unlink()
        elif change == "text":
            import pyarrow as pa
            import pyarrow.parquet as parquet

            file = tmp_path / "dataset" / "data" / "chunk-000" / "episode_000002.parquet"
            table = parquet.read_table(file)
            words_column = pa.array(["left"] * table.num_rows)
            parquet.write_table(table.set_column(table.schema.get_field_index("action"), "action", words_column), file)
    if extra[:1] == ["#test"]:
        source, extra = source + "#test", []
    err = _one_line_error(capsys, ["train", "--data", source, "--out", str(tmp_path / "run"), *extra])
    for word in words:
        assert word in err, err
    assert "run" not in [p.name for p in tmp_path.iterdir()] or not (tmp_path / "run" / "latest").exists()


def test_an_unknown_prefix_key_on_a_npz_is_refused(tmp_path, demos, capsys):
    demos.save(tmp_path / "d.npz")
    err = _one_line_error(
        capsys, ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "r"), "--obs-keys", "a"]
    )
    assert "--obs-keys is for lerobot:, zarr:, robomimic:, minari:" in err


def test_a_minari_dataset_whose_env_is_not_installed_trains_with_no_env(tmp_path, monkeypatch, demos):
    minari = pytest.importorskip("minari")
    pytest.importorskip("h5py")
    import gymnasium as gym
    from gymnasium.envs.registration import registry
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    gym.register("OnlyWhileCollecting-v0", entry_point="implicit_policy_envs.particle:ParticleEnv", kwargs={"n_dim": 2})
    try:
        buffers = [
            EpisodeBuffer(
                id=i,
                observations=np.concatenate([obs, obs[-1:]]),
                actions=act,
                rewards=np.zeros(len(act)),
                terminations=np.zeros(len(act), bool),
                truncations=np.eye(1, len(act), len(act) - 1, dtype=bool)[0],
                infos={},
            )
            for i, (obs, act) in enumerate(_episodes(demos))
        ]
        with pytest.warns(UserWarning):
            minari.create_dataset_from_buffers(
                "gone/test-v0", buffers, env="OnlyWhileCollecting-v0", author="a", author_email="a@b.c"
            )
    finally:
        del registry["OnlyWhileCollecting-v0"]
    with pytest.warns(UserWarning, match="not installed here: read with no env"):
        read = load_demonstrations("minari:gone/test-v0")
    assert read.env_id == "" and read.num_episodes == EPISODES
    np.testing.assert_array_equal(read.observations, demos.observations)
    run = tmp_path / "run"
    args = ["train", "--data", "minari:gone/test-v0", "--out", str(run), "--preset", "mse", "--steps", "20", "--quiet"]
    assert main([*args, "--set", "eval_every=10"]) == 0
    assert json.loads((run / "best" / "config.json").read_text())["validation_action_mse"] is not None


def test_the_same_env_recorded_and_named_on_the_cli_validates_in_closed_loop(tmp_path, demos):
    source = write_zarr(tmp_path / "buffer.zarr", demos)
    run = tmp_path / "run"
    args = ["train", "--data", source, "--out", str(run), "--preset", "mse", "--steps", "10", "--quiet"]
    assert main([*args, "--env", "implicit_policy_envs:Particle2D-v0", "--set", "eval_episodes=3"]) == 0
    record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert "success_rate" in record and "val_action_mse" not in record
    assert main(["eval", "--policy", str(run), "--episodes", "2", "--quiet"]) == 0


def test_env_kwargs_that_are_not_an_object_or_that_the_env_refuses_are_named(tmp_path, capsys):
    data = tmp_path / "d.npz"
    bad = ["collect", "--env", "Particle2D-v0", "--episodes", "2", "--out", str(data), "--env-kwargs"]
    assert main([*bad, "[1]"]) == 2 and "--env-kwargs must be a JSON object" in capsys.readouterr().err
    assert main([*bad, '{"colour": 1}']) == 2 and "refuses the kwargs" in capsys.readouterr().err


def test_a_namespaced_third_party_env_end_to_end(tmp_path):
    pytest.importorskip("gym_pusht")
    data, run = tmp_path / "pusht.npz", tmp_path / "run"
    env = ["--env", "gym_pusht/PushT-v0", "--env-kwargs", '{"obs_type": "state"}']
    assert main(["collect", *env, "--controller", "random", "--episodes", "3", "--out", str(data), "--quiet"]) == 0
    read = load_demonstrations(data)
    assert read.env_kwargs == {"obs_type": "state"} and read.observation_size == 5
    args = ["train", "--data", str(data), "--out", str(run), "--preset", "mse", "--steps", "10", "--quiet"]
    assert main([*args, "--set", "eval_episodes=2", "--set", "eval_every=10"]) == 0
    report = tmp_path / "eval.json"
    assert main(["eval", "--policy", str(run), "--episodes", "2", "--json", str(report), "--quiet"]) == 0
    assert json.loads(report.read_text())["env_id"] == "gym_pusht/PushT-v0"


def test_tune_refuses_data_with_no_env(tmp_path, demos, capsys):
    pytest.importorskip("ray")
    source = write_zarr(tmp_path / "buffer.zarr", demos)
    space = tmp_path / "space.json"
    space.write_text(json.dumps({"optim.learning_rate": {"loguniform": [1e-4, 1e-3]}}))
    argv = ["tune", "--data", source, "--space", str(space), "--trials", "1", "--out", str(tmp_path / "search")]
    assert main(argv) == 2
    assert "records no env: tune tests each trial closed-loop" in capsys.readouterr().err


def test_env_none_validates_on_held_out_episodes_of_data_that_names_an_env(tmp_path, demos_2d, capsys):
    data = demos_2d.save(tmp_path / "d.npz")
    args = ["train", "--data", str(data), "--out", str(tmp_path / "run"), "--env", "none", "--val-episodes", "2"]
    sets = ["eval_every=5", "checkpoint_every=5", "inference.num_samples=4", "optim.batch_size=32"]
    assert main([*args, "--steps", "10", "--quiet", *(x for s in sets for x in ("--set", s))]) == 0
    assert "held-out action error" in capsys.readouterr().out
    assert json.loads((tmp_path / "run" / "best" / "config.json").read_text())["env_id"] == ""
