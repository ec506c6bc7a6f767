"""The benchmark scripts still run against the current API (their figures live in the docs, not here)."""

import sys
from pathlib import Path

import waiting
from tiny import tiny_config

ROOT = Path(__file__).resolve().parents[1]


def test_train_speed_benchmark_reports_each_preset():
    out = waiting.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "train_speed.py"),
            "--steps",
            "1",
            "--threads",
            "1",
            "--presets",
            "ibc-langevin",
            "ibc-mas",
            "mse",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["ibc-langevin", "ibc-mas", "mse"]
    assert all(float(row[-3]) > 0 and row[-1].endswith("%") for row in rows)  # steps/s and net share


def test_latency_benchmark_times_a_history_resnet_policy(demos_2d, tmp_path):
    from implicit_policy.config import EnergyNetConfig
    from implicit_policy.training.trainer import train

    config = tiny_config(energy=EnergyNetConfig(kind="resnet", hidden_size=16), n_obs_steps=2, steps=2)
    train(config, demos_2d, tmp_path / "run", progress=False)
    out = waiting.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "latency.py"),
            "--policy",
            str(tmp_path / "run"),
            "--repeats",
            "8",
            "--configs",
            "dfo 64x3",
            "langevin 16x10",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines() if line.startswith(("dfo", "langevin"))]
    assert len(rows) == 2 and all(float(value) > 0 for row in rows for value in row[2:8])


def test_chunk_latency_benchmark_times_deciding_and_queued_ticks(demos_2d, tmp_path):
    import json

    from implicit_policy.training.trainer import train

    train(tiny_config(horizon=4, n_action_steps=2, steps=2), demos_2d, tmp_path / "run", progress=False)
    report = tmp_path / "latency.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "chunk_latency.py"), "--policy", str(tmp_path / "run")]
    out = waiting.run([*command, "--episodes", "1", "--json", str(report)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    result = json.loads(report.read_text())
    assert result["horizon"] == 4 and result["n_action_steps"] == 2
    assert result["deciding"]["ticks"] > 0 and result["queued"]["ticks"] > 0
    assert 0 < result["deciding"]["p50_ms"] <= result["deciding"]["p99_ms"]


def test_pusht_vision_probe_reads_the_block_pose_from_a_camera_policys_keypoints(tmp_path):
    import json

    import numpy as np
    import pytest

    from implicit_policy import Demonstrations
    from implicit_policy.config import MSEPolicyConfig, NetConfig, VisionConfig
    from implicit_policy.runtime.input_spec import ObservationPart
    from implicit_policy.training.trainer import train

    shared = ROOT.parent / "shared" / "data" / "pusht" / "pusht_cchi_v7_replay.zarr"
    if not shared.is_dir():
        pytest.skip("the shared Push-T demonstrations are not here")
    rng = np.random.default_rng(0)
    demos = Demonstrations(  # a camera policy the size of Push-T's frames; what it learned does not matter here
        observations=rng.normal(size=(20, 2)).astype(np.float32),
        actions=rng.normal(size=(20, 2)).astype(np.float32),
        episode_lengths=np.full(2, 10, np.int64),
        episode_seeds=np.arange(2, dtype=np.int64),
        episode_successes=np.ones(2, bool),
        env_id="",
        seed=0,
        observation_parts=(ObservationPart("img", (96, 96, 3), image=True), ObservationPart("agent_pos", (2,))),
        images={"img": rng.integers(0, 256, (20, 96, 96, 3), dtype=np.uint8)},
    )
    config = tiny_config(
        policy=MSEPolicyConfig(net=NetConfig(hidden_size=16)), vision=VisionConfig(channels=8, keypoints=4), steps=2
    )
    train(config, demos, tmp_path / "run", progress=False)
    script = str(ROOT / "benchmarks" / "pusht_vision_probe.py")
    argv = [sys.executable, script, "--policy", str(tmp_path / "run"), "--data", str(shared), "--frames", "200"]
    out = waiting.run([*argv, "--json", str(tmp_path / "probe.json")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    (result,) = json.loads((tmp_path / "probe.json").read_text())
    assert result["train"]["frames"] == 200 and result["unseen"]["frames"] == 100
    assert all(np.isfinite(result["unseen"][key]) for key in ("position_px_median", "angle_deg_p90"))
    assert "block position" in out.stdout
