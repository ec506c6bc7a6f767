"""Experiments on Ray Tune: the same result files as in-process, a search with early stopping whose best
config trains, and a trial whose worker is killed reported as failed while the sweep goes on.

Runs where the ``sweep`` extra is installed (CI installs it); a local Ray with 2 CPUs, tiny trials.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

import waiting
from implicit_policy.cli import main  # noqa: E402

EXAMPLES = Path(__file__).parents[1] / "examples"
TINY = [
    "--steps",
    "20",
    "--eval-every",
    "10",
    "--eval-episodes",
    "4",
    "--test-episodes",
    "5",
    "--seeds",
    "0",
    "1",
    "--threads",
    "1",
]


def run_example(script: str, out: Path, *args: str) -> None:
    env = os.environ | {"RAY_ADDRESS": "", "TQDM_DISABLE": "1"}
    done = waiting.run(
        [sys.executable, str(EXAMPLES / script), "--out", str(out), *TINY, *args],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def comparable(path: Path) -> list[dict]:
    """A results file without what differs between any two runs: wall times and the output folder."""
    results = json.loads(path.read_text())["results"]
    return [{k: v for k, v in r.items() if k != "train_seconds"} for r in results]


def test_an_example_on_ray_gives_the_in_process_result_files(tmp_path):
    args = ["--methods", "Uniform, DFO"]
    run_example("compare_samplers.py", tmp_path / "in_process", *args, "--jobs", "1")
    run_example("compare_samplers.py", tmp_path / "on_ray", *args, "--jobs", "2")
    on_ray, in_process = tmp_path / "on_ray", tmp_path / "in_process"
    assert comparable(on_ray / "compare_samplers.json") == comparable(in_process / "compare_samplers.json")
    assert (on_ray / "compare_samplers.csv").read_text() == (in_process / "compare_samplers.csv").read_text()


def test_the_dimension_sweep_example_writes_its_result_files(tmp_path):
    # it runs its trials through the same run_trials as compare_samplers, so in-process is enough here
    run_example("dimension_sweep.py", tmp_path, "--dims", "2", "--methods", "DFO", "--jobs", "1")
    rows = comparable(tmp_path / "dimension_sweep.json")
    assert sorted(row["seed"] for row in rows) == [0, 1] and all(row["test_episodes"] == 5 for row in rows), rows
    assert all(0 <= row["test_success"] <= 1 and [step for step, _ in row["curve"]] == [10, 20] for row in rows)
    lines = (tmp_path / "dimension_sweep.csv").read_text().splitlines()  # a header, then one row per validation
    assert lines[0].startswith("method,env_id,seed") and len(lines) == 1 + 2 * len(rows)


@pytest.fixture(scope="module")
def demos(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "p1d.npz"
    assert (
        main(["collect", "--env", "Particle1D-v0", "--episodes", "60", "--seed", "0", "--out", str(path), "--quiet"])
        == 0
    )
    return path


SEARCH = [
    "--preset",
    "dfo",
    "--steps",
    "750",
    "--eval-every",
    "250",
    "--eval-episodes",
    "30",
    "--test-episodes",
    "10",
    "--set",
    "energy.hidden_size=32",
    "--set",
    "optim.batch_size=64",
    "--set",
    "inference.num_samples=128",
    "--jobs",
    "2",
    "--search-seed",
    "49",
]  # seed 49 draws the learning rates 1e-2, 1e-2, 1e-12, 1e-12


def test_a_search_stops_trials_early_and_writes_a_best_config_that_trains(tmp_path, demos):
    space = tmp_path / "space.json"
    # trials that learn (20-30 % at the first validation) and trials whose energy net stays as initialised (0 %)
    space.write_text(json.dumps({"optim.learning_rate": {"choice": [1e-2, 1e-12]}}))
    out = tmp_path / "search"
    args = ["tune", "--data", str(demos), "--space", str(space), "--trials", "4", "--out", str(out), *SEARCH]
    assert main(args) == 0
    table = json.loads((out / "trials.json").read_text())
    statuses = [row["status"] for row in table["trials"]]
    assert statuses.count("stopped") >= 1 and statuses.count("finished") >= 1, table
    assert (out / "trials.csv").exists() and (out / "trials.png").exists()
    assert table["best"]["settings"]["optim.learning_rate"] == 1e-2
    run = tmp_path / "from_best"
    assert (
        main(
            [
                "train",
                "--data",
                str(demos),
                "--config",
                str(out / "best_config.json"),
                "--out",
                str(run),
                "--steps",
                "5",
                "--set",
                "eval_episodes=0",
                "--quiet",
            ]
        )
        == 0
    )
    # resumed: nothing finished or stopped runs again
    before = {p: p.stat().st_mtime for p in (out / "trials").glob("*/metrics.jsonl")}
    assert main(args) == 0
    assert {p: p.stat().st_mtime for p in (out / "trials").glob("*/metrics.jsonl")} == before


KILL_SWEEP = """
import json, sys
from implicit_policy.experiments.trials import Trial, trial_config
from implicit_policy.experiments.runner import run_trials
from implicit_policy.presets import preset
data, out = sys.argv[1], sys.argv[2]
base = preset("dfo").with_settings(["energy.hidden_size=32", "optim.batch_size=64", "inference.num_samples=64"])
trials = [Trial(name, 0, data, trial_config(base, 0, steps, 100, 5, threads=1), f"{out}/{name}", 5)
          for name, steps in (("victim", 100000), ("survivor", 200))]
trials.append(Trial("diverges", 0, data, trial_config(base.with_settings(["optim.learning_rate=1e30"]), 0, 200, 100, 5,
                                                      threads=1), f"{out}/diverges", 5))
print(json.dumps(run_trials(trials, jobs=2, desc="kill test")))
"""


def test_killed_and_diverged_trials_are_reported_failed_and_the_sweep_finishes(tmp_path, demos):
    out = tmp_path / "sweep"
    sweep = subprocess.Popen(
        [sys.executable, "-c", KILL_SWEEP, str(demos), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"RAY_ADDRESS": ""},
    )
    lock = out / "victim" / "train.lock"
    waiting.wait_for(
        lambda: lock.exists() and bool(lock.read_text().strip()), "the victim trial's run lock", process=sweep, poll=0.5
    )
    holder = int(lock.read_text().split()[1])  # "process PID on HOST"
    os.kill(holder, signal.SIGKILL)  # the Ray worker that trains the victim
    stdout, stderr = waiting.communicate(sweep)
    assert sweep.returncode == 0, stderr[-3000:]
    victim, survivor, diverges = json.loads(stdout.strip().splitlines()[-1])
    assert victim["status"] == "failed" and victim["error"], victim
    assert "status" not in survivor and survivor["steps"] == 200
    assert diverges["status"] == "failed" and "loss became nan" in diverges["error"], diverges


@pytest.mark.parametrize(
    "space, extra, message",
    [
        (None, [], "search space file not found"),
        ({"optim.learning_rate": {"normal": [0, 1]}}, [], "must map to one of"),
        ({"optim.learning_rate": {"loguniform": [0, 1]}}, [], "loguniform needs low > 0"),
        ({"optim.no_such_field": {"choice": [1, 2]}}, [], "no field 'no_such_field'"),
        ({"optim.learning_rate": {"choice": [1e-3]}}, ["--trials", "0"], "--trials must be >= 1"),
    ],
)
def test_bad_search_inputs_give_one_line_and_exit_2(tmp_path, demos, capsys, space, extra, message):
    path = tmp_path / "space.json"
    if space is not None:
        path.write_text(json.dumps(space))
    argv = ["tune", "--data", str(demos), "--space", str(path), "--out", str(tmp_path / "s"), *extra]
    argv += [] if "--trials" in extra else ["--trials", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
