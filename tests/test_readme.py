"""The README's API and deployment snippets run, as written, twice, after its main job (here with a shortened
training)."""

import re
import sys
from pathlib import Path

import waiting
from implicit_policy.training.trainer import train
from tiny import tiny_config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_api_snippet_runs_after_the_main_job(demos_2d, tmp_path):
    (tmp_path / "data").mkdir()
    demos_2d.save(tmp_path / "data" / "p2d.npz")
    train(tiny_config(n_obs_steps=2, steps=6), demos_2d, tmp_path / "runs" / "p2d", progress=False)
    snippet = re.search(r"## The API\n.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    snippet = snippet.replace("steps=500", "steps=20")  # the same calls, a shorter training
    for _ in range(2):
        done = waiting.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "success:" in done.stdout
    assert (tmp_path / "runs" / "p2d.onnx").is_file()
    deploy = re.search(r"## Deploying with ONNX\n.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    (tmp_path / "policy.onnx").write_bytes((tmp_path / "runs" / "p2d.onnx").read_bytes())
    for _ in range(2):
        done = waiting.run([sys.executable, "-c", deploy], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]


def test_the_readme_stays_a_users_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    assert not re.search(r"\b(session|issue \d+|killed by)\b", text, re.I)
