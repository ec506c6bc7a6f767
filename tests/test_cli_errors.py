"""Bad command lines end in one line that names the problem and exit code 2, before any work starts.
A table: add a row for every new case."""

from pathlib import Path

import pytest

from implicit_policy.cli import main
from tiny import tiny_config


@pytest.fixture(scope="module")
def files(tmp_path_factory, demos_2d):
    from implicit_policy.config import LangevinConfig
    from implicit_policy.training.trainer import train

    root = tmp_path_factory.mktemp("cli")
    data = demos_2d.save(root / "d.npz")
    config = tiny_config(steps=2, inference=LangevinConfig(num_samples=4, iterations=2, noise_scale=0.01))
    train(config, demos_2d, root / "run", progress=False)
    config.save(root / "c.json")
    (root / "a_file").write_text("x")
    (root / "garbage.npz").write_bytes(b"\x00garbage")
    return {
        "data": str(data),
        "run": str(root / "run"),
        "config": str(root / "c.json"),
        "file": str(root / "a_file"),
        "dir": str(root),
        "missing": str(root / "no" / "such" / "folder"),
        "garbage": str(root / "garbage.npz"),
    }


CASES = [
    (["collect", "--env", "Particle2D-v0", "--episodes", "2", "--out", "{file}/d.npz"], "is a file, not a folder"),
    (["collect", "--env", "Particle2D-v0", "--episodes", "2", "--out", "{dir}"], "is a folder"),
    (["collect", "--env", "Particle2D-v0", "--episodes", "2", "--seed", "-1", "--out", "{dir}/x.npz"], "seed must be"),
    (
        ["collect", "--env", "Particle2D-v0", "--episodes", "2", "--seed", str(2**64), "--out", "{dir}/x.npz"],
        "seed must be",
    ),
    (["collect", "--env", "Particle2D-v0", "--episodes", "0", "--out", "{dir}/x.npz"], "episodes must be"),
    (["train", "--data", "{data}", "--config", "{config}", "--out", "{file}", "--quiet"], "is a file, not a folder"),
    (["train", "--data", "{garbage}", "--config", "{config}", "--out", "{dir}/t1", "--quiet"], "not a readable"),
    (["train", "--data", "{data}", "--config", "{config}", "--out", "{dir}/t2", "--steps", "0", "--quiet"], "steps"),
    (["train", "--data", "{data}", "--config", "{config}", "--out", "{dir}/t3", "--set", "x", "--quiet"], "PATH=VALUE"),
    (
        ["train", "--data", "{data}", "--config", "{config}", "--out", "{dir}/t4", "--device", "bogus", "--quiet"],
        "not a torch device",
    ),
    (["train", "--data", "{data}", "--config", "{config}", "--out", "{dir}/t5", "--resume", "--quiet"], "checkpoint"),
    (["eval", "--policy", "{run}", "--episodes", "2", "--json", "{file}/e.json", "--quiet"], "is a file, not a folder"),
    (["eval", "--policy", "{run}", "--episodes", "2", "--json", "{dir}", "--quiet"], "is a folder"),
    (["eval", "--policy", "{run}", "--episodes", "2", "--device", "bogus", "--quiet"], "not a torch device"),
    (["eval", "--policy", "{run}", "--episodes", "2", "--threads", "0", "--quiet"], "--threads must be"),
    (["eval", "--policy", "{missing}", "--episodes", "2", "--quiet"], "not found"),
    (["export", "--policy", "{run}", "--out", "{file}/p.onnx"], "is a file, not a folder"),
    (
        ["train", "--data", "{data}", "--config", "{config}", "--out", "{file}/run", "--quiet"],
        "is a file, not a folder",
    ),
    (["plot-energy", "--policy", "{run}", "--out", "{dir}/e.png", "--grid", "0"], "--grid must be"),
    (["plot-energy", "--policy", "{run}", "--out", "{file}/e.png"], "is a file, not a folder"),
    (["plot-energy", "--policy", "{run}", "--out", "{dir}"], "is a folder"),
    # a parent that cannot be created (a read-only filesystem: /proc refuses even root)
    (["collect", "--env", "Particle2D-v0", "--episodes", "2", "--out", "/proc/ip-test/d.npz"], "not writable"),
    (["train", "--data", "{data}", "--config", "{config}", "--out", "/proc/ip-test/run", "--quiet"], "not writable"),
    (["eval", "--policy", "{run}", "--episodes", "2", "--json", "/proc/ip-test/e.json", "--quiet"], "not writable"),
    (["export", "--policy", "{run}", "--out", "/proc/ip-test/p.onnx"], "not writable"),
    (["plot-energy", "--policy", "{run}", "--out", "/proc/ip-test/e.png"], "not writable"),
    (["collect", "--env", "Nope-v0", "--episodes", "2", "--out", "{dir}/n.npz"], "has no scripted demonstrator"),
    (["train", "--data", "minari:nope/none-v0", "--config", "{config}", "--out", "{dir}/t6", "--quiet"], "inari"),
    (["train", "--data", "{missing}.npz", "--config", "{config}", "--out", "{dir}/t7", "--quiet"], "not found"),
    (["eval", "--policy", "{run}", "--episodes", "0", "--quiet"], "episodes must be"),
]
if not __import__("torch").cuda.is_available():  # on a GPU machine this is no error
    CASES.append((["eval", "--policy", "{run}", "--episodes", "2", "--device", "cuda", "--quiet"], "no CUDA GPU"))


@pytest.mark.parametrize("argv, message", CASES, ids=[" ".join(c[0][:2]) + f" #{i}" for i, c in enumerate(CASES)])
def test_bad_command_line_gives_one_line_and_exit_2(files, argv, message, capsys):
    code = main([arg.format(**files) for arg in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("implicit-policy ") and message in err, err


def test_partial_config_file_is_refused_naming_what_it_lacks(files, tmp_path, capsys):
    (tmp_path / "empty.json").write_text("{}")
    assert (
        main(
            [
                "train",
                "--data",
                files["data"],
                "--config",
                str(tmp_path / "empty.json"),
                "--out",
                str(tmp_path / "r"),
                "--quiet",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "lacks policy" in err and "implicit-policy config --preset" in err


def test_help_is_for_users(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "collect demonstrations, train, evaluate" in " ".join(capsys.readouterr().out.split())


def test_bad_api_arguments_raise_value_errors_naming_the_problem(files, tmp_path):
    """The API half of the table: the same one-line ValueErrors a script gets without the CLI."""
    from implicit_policy import ImplicitPolicy, collect_demonstrations
    from implicit_policy.config import TrainConfig
    from implicit_policy.training.trainer import train

    cases = [
        (lambda: collect_demonstrations("Particle2D-v0", episodes=2.5, seed=0), "episodes must be a positive integer"),
        (lambda: collect_demonstrations("Particle2D-v0", episodes=2, seed=-1), "seed must be"),
        (
            lambda: train(TrainConfig.load(files["config"]), files["data"], tmp_path / "r"),
            "demos must be Demonstrations",
        ),
        (lambda: ImplicitPolicy.load(files["run"], seed=-1), "seed must be a non-negative integer"),
        (lambda: ImplicitPolicy.load(files["run"]).act([[0.0] * 8, [0.0] * 3]), "observation must be"),
    ]
    if not __import__("torch").cuda.is_available():
        cases.append((lambda: ImplicitPolicy.load(files["run"], device="cuda"), "no CUDA GPU"))
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_export_into_a_folder_writes_policy_onnx_inside(files, tmp_path, capsys):
    for out in (str(tmp_path / "exports") + "/", str(tmp_path)):
        assert main(["export", "--policy", files["run"], "--out", out]) == 0
        assert (Path(out) / "policy.onnx").is_file()
    assert "policy.onnx" in capsys.readouterr().out


def test_eval_on_an_env_of_other_sizes_names_both_envs(files, capsys):
    code = main(["eval", "--policy", files["run"], "--env", "Particle4D-v0", "--episodes", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "trained on Particle2D-v0" in err and "cannot act in Particle4D-v0" in err, err


def test_onnx_policy_given_a_run_folder_says_to_export_it(files):
    from implicit_policy import OnnxPolicy

    with pytest.raises(ValueError, match="is a folder .*implicit-policy export"):
        OnnxPolicy(files["run"])


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("implicit-policy 0.")
