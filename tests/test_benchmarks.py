"""The benchmark scripts still run against the current API (their figures live in the README, not here)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_train_speed_benchmark_reports_each_preset():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "train_speed.py"), "--steps", "1", "--threads", "1",
                          "--presets", "ibc-langevin", "ibc-mas", "mse"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[2:]]
    assert [row[0] for row in rows] == ["ibc-langevin", "ibc-mas", "mse"]
    assert all(float(row[-3]) > 0 and row[-1].endswith("%") for row in rows)  # steps/s and net share
