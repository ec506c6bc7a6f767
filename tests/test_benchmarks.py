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
