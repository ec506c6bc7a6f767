"""The experiment runner behind examples/: seeded trials reproduce, finished ones are read back, summaries
and figures come out."""

import json
import re
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import waiting
from implicit_policy.data import load_demonstrations
from implicit_policy.diagnostics.plots import plot_success_curves, plot_success_vs_dimension
from implicit_policy.experiments.runner import run_trials
from implicit_policy.experiments.trials import Trial, format_table, summarize, trial_config, write_results
from implicit_policy.training.trainer import train


@pytest.fixture
def trials(tiny_config, demos_2d, tmp_path):
    data = demos_2d.save(tmp_path / "d.npz")
    config = trial_config(tiny_config, seed=0, steps=20, eval_every=10, eval_episodes=4)  # checkpoints every 10
    return [
        Trial(method, 0, str(data), config, str(tmp_path / folder), test_episodes=4)
        for method, folder in (("A", "a"), ("B", "b"))
    ]


def test_same_seed_same_numbers_and_finished_trials_are_read_back(trials, tmp_path):
    first, second = run_trials(trials)
    keys = ("curve", "final_validation", "best_validation", "test_success")
    assert [first[k] for k in keys] == [second[k] for k in keys]  # two folders, one seed: the same run
    assert [step for step, _ in first["curve"]] == [10, 20]
    (tmp_path / "a" / "metrics.jsonl").unlink()  # a finished trial is not retrained: its trial.json is read
    assert run_trials(trials[:1])[0] == first


def test_a_trial_resumed_from_its_checkpoint_reports_all_its_training_time(trials, tmp_path):
    trial = trials[0]
    train(trial.config.model_copy(update={"steps": 10}), load_demonstrations(trial.data), trial.run_dir, progress=False)
    first_part = max(json.loads(line).get("seconds", 0.0) for line in (tmp_path / "a" / "metrics.jsonl").open())
    (result,) = run_trials(trials[:1])
    assert result["steps"] == 20 and result["train_seconds"] >= first_part > 0


def test_summary_table_and_figures(trials, tmp_path):
    results = run_trials(trials)
    results[1] = results[1] | {"seed": 1, "method": "A", "test_success": 0.5}
    results[0] = results[0] | {"test_success": 0.25}
    summary = summarize(results)
    assert summary["A"]["seeds"] == [0, 1] and summary["A"]["test_success"]["mean"] == pytest.approx(0.375)
    assert summary["A"]["test_success"]["std"] == pytest.approx(0.1767767, rel=1e-5)
    assert "37.5% +- 17.7%" in format_table(summary)
    write_results(tmp_path, "r", results, {"note": 1})
    assert json.loads((tmp_path / "r.json").read_text())["note"] == 1
    assert (tmp_path / "r.csv").read_text().splitlines()[0] == "method,env_id,seed,step,validation_success,test_success"
    for path in (
        plot_success_curves(results, tmp_path / "c.png", "t"),
        plot_success_vs_dimension({2: summary, 4: summary}, tmp_path / "d.png", "t"),
    ):
        assert matplotlib.image.imread(path).ndim == 3


def test_particle_diagnosis_counts_every_failure(tiny_config, demos_2d, tmp_path):
    train(tiny_config, demos_2d, tmp_path / "run", progress=False)
    script = Path(__file__).parents[1] / "examples" / "diagnose_particle.py"
    out = waiting.run(
        [sys.executable, str(script), "--policy", str(tmp_path / "run"), "--episodes", "10"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    success = float(re.search(r"success ([\d.]+)%", out).group(1))
    kinds = re.search(
        r"goal 1: (\d+); reached goal 1, not goal 2: (\d+); reached both, not at goal 2 at the end: (\d+)", out
    )
    assert sum(map(int, kinds.groups())) == round(10 * (1 - success / 100))
    assert len(re.findall(r"instead of 0: [\d.]+%", out)) == 3


def test_run_summary_lists_the_changes_from_the_base_preset(demos_2d, tmp_path):
    from implicit_policy.presets import preset

    config = preset("ibc-langevin").with_settings(
        ["steps=4", "eval_every=2", "eval_episodes=2", "n_obs_steps=4", "optim.batch_size=8", "torch_threads=1"]
    )
    train(config, demos_2d, tmp_path / "run", progress=False)
    script = Path(__file__).parents[1] / "examples" / "summarize_runs.py"
    out = waiting.run(
        [sys.executable, str(script), str(tmp_path / "run"), "--json", str(tmp_path / "s.json")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = out.splitlines()[2]
    assert "`n_obs_steps=4`" in row and "`steps=4`" in row and "torch_threads" not in row
    summary = json.loads((tmp_path / "s.json").read_text())["runs"][0]
    assert [step for step, _ in summary["curve"]] == [2, 4] and summary["test_success"] is None


def test_tests_never_replay_a_demonstration_episode():
    from implicit_policy import Demonstrations
    from implicit_policy.experiments.trials import TEST_SEED, test_seed_for

    def demos(count):
        return Demonstrations(
            observations=np.zeros((count, 1), np.float32),
            actions=np.zeros((count, 1), np.float32),
            episode_lengths=np.ones(count, np.int64),
            episode_seeds=np.arange(count, dtype=np.int64),
            episode_successes=np.ones(count, bool),
            env_id="X-v0",
            seed=0,
        )

    assert test_seed_for(demos(300), 100) == TEST_SEED
    assert test_seed_for(demos(2000), 100) == 10_000
