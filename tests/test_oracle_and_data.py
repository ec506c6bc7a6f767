"""The oracle, the demonstration file format and the ``collect`` command."""

import sys

import gymnasium as gym
import numpy as np
import pytest

import waiting
from implicit_policy import DemonstrationError, Demonstrations, collect_demonstrations, load_demonstrations
from implicit_policy.cli import main
from implicit_policy.evaluation.rollout import oracle_rollout
from implicit_policy_envs import ParticleOracle
from implicit_policy_envs.particle import first_step_at


@pytest.mark.parametrize("env_id", ["Particle2D-v0", "Particle16D-v0", "Particle2DMultimodal-v0"])
def test_oracle_succeeds_on_seeded_episodes(env_id):
    assert oracle_rollout(env_id, episodes=100, seed=0).success_rate >= 0.99


def test_goal_progress_is_read_from_the_recorded_observations():
    runs = oracle_rollout("Particle2D-v0", 20, seed=0)
    first, second = first_step_at(runs, "first_goal"), first_step_at(runs, "second_goal")
    assert np.all(first >= 1) and np.all(second > first)  # the oracle goes to goal 1, then goal 2
    parts = runs.observations[np.arange(20), first]
    assert np.all(np.linalg.norm(parts[:, :2] - parts[:, 4:6], axis=1) < 0.05)
    still = oracle_rollout("Particle2D-v0", 3, seed=0)
    frozen = type(still)(still.observations[:, :1], still.actions[:, :1], still.successes, still.returns, still.seeds)
    assert np.all(first_step_at(frozen, "second_goal") == -1)  # one step in, nothing reached yet


def test_oracle_single_and_batched_agree():
    env = gym.make("Particle2DMultimodal-v0")
    single, batched = ParticleOracle(2), ParticleOracle(2)
    observations, orders = [], []
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        single.reset(info["first_goal_index"])
        actions = []
        for _ in range(50):
            observations.append(obs) if seed == 0 else None
            action = single.act(obs)
            assert action.shape == (2,) and action.dtype == np.float32
            actions.append(action)
            obs, *_ = env.step(action)
        orders.append(info["first_goal_index"])
    vec = gym.make_vec("Particle2DMultimodal-v0", num_envs=3)
    obs, info = vec.reset(seed=0)
    batched.reset(info["first_goal_index"])
    np.testing.assert_array_equal(info["first_goal_index"], orders)
    for t in range(50):
        action = batched.act(obs)
        assert action.shape == (3, 2)
        np.testing.assert_array_equal(obs[0], observations[t])
        obs, *_ = vec.step(action)


def test_oracle_switches_goal_once_within_switch_distance():
    oracle = ParticleOracle(1)
    oracle.reset()
    goals = [0.3, 0.8]
    far = np.array([0.0, 0.0, *goals], np.float32)
    at_first = np.array([0.305, 0.0, *goals], np.float32)
    assert oracle.act(far)[0] == pytest.approx(0.3)
    assert oracle.act(at_first)[0] == pytest.approx(0.8)
    assert oracle.act(far)[0] == pytest.approx(0.8)  # stays switched for the episode


def test_collect_save_load_round_trip(tmp_path):
    demos = collect_demonstrations("Particle2D-v0", episodes=5, seed=3)
    path = demos.save(tmp_path / "d.npz")
    loaded = load_demonstrations(path)
    np.testing.assert_array_equal(loaded.observations, demos.observations)
    np.testing.assert_array_equal(loaded.actions, demos.actions)
    assert loaded.env_id == "Particle2D-v0" and loaded.seed == 3
    assert loaded.episode_seeds.tolist() == [3, 4, 5, 6, 7]
    assert loaded.episode_starts.tolist() == [0, 50, 100, 150, 200]
    assert loaded.observations.shape == (250, 8) and loaded.actions.shape == (250, 2)
    env = gym.make("Particle2D-v0")  # the episodes are the env's, seed for seed
    obs, _ = env.reset(seed=5)
    np.testing.assert_array_equal(obs, loaded.observations[100])


def test_truncated_file_is_refused(tmp_path):
    path = collect_demonstrations("Particle2D-v0", episodes=2, seed=0).save(tmp_path / "d.npz")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DemonstrationError, match="truncated or corrupt"):
        load_demonstrations(path)


def test_tampered_file_is_refused(tmp_path):
    path = collect_demonstrations("Particle2D-v0", episodes=2, seed=0).save(tmp_path / "d.npz")
    with np.load(path) as archive:
        arrays = dict(archive)
    arrays["actions"] = arrays["actions"] + np.float32(0.01)
    np.savez(path, **arrays)
    with pytest.raises(DemonstrationError, match="sha256"):
        load_demonstrations(path)


def test_missing_file_and_keys_are_named(tmp_path):
    with pytest.raises(DemonstrationError, match="not found"):
        load_demonstrations(tmp_path / "none.npz")
    np.savez(tmp_path / "partial.npz", observations=np.zeros((2, 8), np.float32))
    with pytest.raises(DemonstrationError, match="actions"):
        load_demonstrations(tmp_path / "partial.npz")


def _arrays(**changes):
    base = dict(
        observations=np.zeros((4, 8), np.float32),
        actions=np.zeros((4, 2), np.float32),
        episode_lengths=np.array([2, 2]),
        episode_seeds=np.array([0, 1]),
        episode_successes=np.array([True, True]),
        env_id="Particle2D-v0",
        seed=0,
    )
    return {**base, **changes}


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(episode_lengths=np.array([2, 3])), "sum to 5"),
        (dict(episode_lengths=np.array([4, 0])), "positive"),
        (dict(actions=np.zeros((3, 2), np.float32)), "4 rows but actions have 3"),
        (dict(observations=np.full((4, 8), np.nan, np.float32)), "NaN"),
        (dict(actions=np.zeros((4, 2), np.float64)), "float32"),
        (dict(episode_seeds=np.array([0])), "one per episode"),
    ],
)
def test_inconsistent_arrays_are_refused(changes, message):
    with pytest.raises(DemonstrationError, match=message):
        Demonstrations(**_arrays(**changes))


def test_collect_command_writes_file_atomically(tmp_path, capsys):
    out = tmp_path / "sub" / "p2d.npz"
    assert (
        main(["collect", "--env", "Particle2D-v0", "--episodes", "4", "--seed", "0", "--out", str(out), "--quiet"]) == 0
    )
    assert "oracle success 100.0%" in capsys.readouterr().out
    assert load_demonstrations(out).num_episodes == 4
    assert [p.name for p in out.parent.iterdir()] == ["p2d.npz"]  # no temporary file left behind


def test_cli_reports_unknown_env_without_traceback():
    result = waiting.run(
        [
            sys.executable,
            "-m",
            "implicit_policy.cli",
            "collect",
            "--env",
            "Nope-v0",
            "--episodes",
            "1",
            "--out",
            "x.npz",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "env 'Nope-v0' has no scripted demonstrator" in result.stderr
    assert "Traceback" not in result.stderr


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    import os

    from implicit_policy.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        path = collect_demonstrations("Particle2D-v0", episodes=1, seed=0).save(tmp_path / "d.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600
    assert path.stat().st_mode & 0o777 == 0o644


def test_cli_output_piped_into_head_is_not_an_error():
    result = waiting.run(
        f"{sys.executable} -m implicit_policy.cli config --preset dfo | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "{" and "Error" not in result.stderr
