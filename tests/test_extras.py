"""Every optional path, with its module missing, says in one line which extra installs it: the constructor
raises ``MissingExtra``, the command line prints that line and exits 2, with no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import waiting
from implicit_policy.extras import EXTRA_OF, MissingExtra, require

FIXTURES = Path(__file__).parent / "fixtures" / "v0_3"
BLOCK = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {module!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
for name in [m for m in sys.modules if m.split(".")[0] == {module!r}]:
    del sys.modules[name]
sys.meta_path.insert(0, Block())
"""
DEMOS, ONNX, RUN = str(FIXTURES / "d.npz"), str(FIXTURES / "energy.onnx"), str(FIXTURES / "energy_run")

CLI_CASES = [
    ("onnxruntime", ["eval", "--policy", ONNX, "--episodes", "1"]),
    ("torch", ["train", "--data", DEMOS, "--out", "{tmp}/run"]),
    ("gymnasium", ["collect", "--env", "Particle2D-v0", "--episodes", "1", "--out", "{tmp}/d.npz"]),
    ("gymnasium_robotics", ["collect", "--env", "FetchPush-v4", "--episodes", "1", "--out", "{tmp}/d.npz"]),
    (
        "gym_pusht",
        ["collect", "--env", "gym_pusht/PushT-v0", "--controller", "random", "--episodes", "1", "--out", "{tmp}/d.npz"],
    ),
    ("zarr", ["train", "--data", "zarr:{tmp}/x.zarr", "--out", "{tmp}/run"]),
    ("h5py", ["train", "--data", "robomimic:{tmp}/x.hdf5", "--out", "{tmp}/run"]),
    ("pyarrow", ["train", "--data", "lerobot:{tmp}", "--out", "{tmp}/run"]),
    ("minari", ["train", "--data", "minari:some/dataset-v0", "--out", "{tmp}/run"]),
    ("huggingface_hub", ["eval", "--policy", "hf:you/policy", "--episodes", "1"]),
    ("imageio", ["eval", "--policy", RUN, "--episodes", "1", "--video", "{tmp}/v.mp4"]),
    ("tensorboard", ["train", "--data", DEMOS, "--steps", "1", "--log", "tensorboard", "--out", "{tmp}/run"]),
    ("wandb", ["train", "--data", DEMOS, "--steps", "1", "--log", "wandb", "--out", "{tmp}/run"]),
    ("ray", ["tune", "--data", DEMOS, "--space", "{tmp}/s.json", "--trials", "1", "--out", "{tmp}/tune"]),
    ("matplotlib", ["plot-energy", "--policy", RUN, "--out", "{tmp}/e.png"]),
]


def _run(module: str, code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    return waiting.run(
        [sys.executable, "-c", BLOCK.format(module=module) + code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(("module", "argv"), CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_the_command_names_the_extra_in_one_line(module, argv, tmp_path):
    (tmp_path / "s.json").write_text('{"optim.learning_rate": {"choice": [0.001]}}')
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    out = _run(module, f"from implicit_policy.cli import main\nsys.exit(main({argv!r}))", tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert f'pip install "implicit-policy[{EXTRA_OF[module]}]"' in lines[0], lines[0]


def test_onnx_policy_names_the_runtime_extra(tmp_path):
    code = f"""
from implicit_policy import OnnxPolicy
try:
    OnnxPolicy({ONNX!r})
except ImportError as err:
    print(type(err).__name__, err)
"""
    out = _run("onnxruntime", code, tmp_path)
    assert out.stdout.strip() == (
        'MissingExtra OnnxPolicy needs onnxruntime, which is not installed: pip install "implicit-policy[runtime]"'
    ), out.stderr


def test_require_passes_import_errors_from_inside_an_installed_module(tmp_path, monkeypatch):
    (tmp_path / "broken_pkg.py").write_text("import not_a_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as raised:
        require("broken_pkg", "a feature")
    assert not isinstance(raised.value, MissingExtra) and raised.value.name == "not_a_module_anywhere"
