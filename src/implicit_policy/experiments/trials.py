"""Many seeded training runs, their validation curves and test success, for the comparison experiments
(``examples/compare_samplers.py``, ``examples/dimension_sweep.py``).

Each trial trains into its own run folder. A finished trial is read back instead of retrained, and a
stopped one resumes exactly from its newest checkpoint, so an interrupted experiment continues where it
stopped and a rerun with the same seeds reproduces the same numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.atomic import atomic_write_csv, atomic_write_text
from implicit_policy.config import TrainConfig
from implicit_policy.data import Demonstrations, load_demonstrations
from implicit_policy.data.collect import collect_demonstrations
from implicit_policy.evaluation.env_hooks import diagnostic_label, hooks_for
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.policies.torch_policy import load_policy
from implicit_policy.training.trainer import train

TEST_SEED = 1000
"""Test episodes use seeds 1000, 1001, ...: never demonstrations (0 ..) nor validation (200000 ..)."""


def test_seed_for(demos: Demonstrations, episodes: int) -> int:
    """The first test episode seed: :data:`TEST_SEED`, or, where the demonstrations' own episode seeds reach
    into ``TEST_SEED .. TEST_SEED + episodes - 1`` (2,000 demonstrations from seed 0 do), the first multiple
    of 10000 above them: a test never replays a training episode."""
    seeds = demos.episode_seeds
    if not np.any((seeds >= TEST_SEED) & (seeds < TEST_SEED + episodes)):
        return TEST_SEED
    return int(seeds.max()) // 10_000 * 10_000 + 10_000


@dataclass(frozen=True)
class Trial:
    """One training run of one method with one seed."""

    method: str
    seed: int
    data: str
    config: TrainConfig
    run_dir: str
    test_episodes: int = 100


def demonstrations_for(env_id: str, episodes: int, path: str | os.PathLike, seed: int = 0) -> Path:
    """``path``, holding ``episodes`` oracle demonstrations of ``env_id`` from ``seed``; collected if absent."""
    path = Path(path)
    if path.exists():
        demos = load_demonstrations(path)
        if (demos.env_id, demos.num_episodes, demos.seed) == (env_id, episodes, seed):
            return path
        raise ValueError(
            f"{path} holds {demos.num_episodes} episodes of {demos.env_id} from seed {demos.seed}, "
            f"not {episodes} of {env_id} from seed {seed}; remove it or choose another --out"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    collect_demonstrations(env_id, episodes, seed).save(path)
    return path


def validation_curve(run_dir: str | os.PathLike) -> list[tuple[int, float]]:
    """``(step, validation success rate)`` pairs from a run's ``metrics.jsonl``."""
    lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    return [(r["step"], r["success_rate"]) for r in map(json.loads, lines) if "success_rate" in r]


def run_trial(trial: Trial, on_validation: Callable[[int, float], None] | None = None) -> dict[str, Any]:
    """Train (or finish, or just read) one trial, then test its best-validated weights on fresh episodes;
    ``on_validation(step, score)`` after each validation (Ray Tune reports it to its scheduler)."""
    run_dir = Path(trial.run_dir)
    result_path = run_dir / "trial.json"
    if result_path.exists():
        return json.loads(result_path.read_text())
    demos: Demonstrations = load_demonstrations(trial.data)
    resume = (run_dir / "latest").exists()
    trained = train(trial.config, demos, run_dir, resume=resume, progress=False, on_validation=on_validation)
    policy = load_policy(run_dir, seed=trial.seed)
    test_seed = test_seed_for(demos, trial.test_episodes)
    test = evaluate(policy, demos.env_id, trial.test_episodes, test_seed, env_kwargs=demos.env_kwargs)
    curve = validation_curve(run_dir)
    result = {
        "method": trial.method,
        "seed": trial.seed,
        "env_id": demos.env_id,
        "steps": trained.steps,
        "train_seconds": trained.seconds,  # a resumed run's clock includes its earlier part
        "curve": [list(point) for point in curve],
        "final_validation": curve[-1][1] if curve else None,
        "best_validation": max(s for _, s in curve) if curve else None,
        "test_success": test["success_rate"],
        "test_seed": test_seed,
        "test_episodes": trial.test_episodes,
    } | {f"test_{name}": test[name] for name in hooks_for(demos.env_id).labels if name in test}
    atomic_write_text(result_path, json.dumps(result, indent=2))
    return result


def finished(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results of trials that finished (not failed, not stopped early by a scheduler)."""
    return [r for r in results if "status" not in r]


def failures(results: list[dict[str, Any]]) -> str:
    """One line per trial that did not finish, with its reason ('' when all did)."""
    return "\n".join(f"{r['method']} seed {r['seed']}: {r['status']}: {r['error']}" for r in results if "status" in r)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarize(results: list[dict[str, Any]], key: str = "method") -> dict[str, dict[str, Any]]:
    """Per ``key`` value: seeds, and mean/std of final validation, best validation and test success."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in finished(results):
        groups.setdefault(str(r[key]), []).append(r)
    summary: dict[str, dict[str, Any]] = {}
    for name, group in groups.items():
        summary[name] = {"seeds": [r["seed"] for r in group]}
        for metric in _metrics(group):
            values = [r[metric] for r in group if r.get(metric) is not None]
            if values:
                summary[name][metric] = dict(zip(("mean", "std"), mean_std(values))) | {"values": values}
    return summary


METRIC_LABELS = {
    "final_validation": "final validation",
    "best_validation": "best validation",
    "test_success": "test (best weights)",
}
"""The metrics every trial has; an env's diagnostics add ``test_<name>`` metrics, labelled by its hooks."""


def _metrics(results: list[dict[str, Any]]) -> list[str]:
    """The summarised metrics of ``results``: :data:`METRIC_LABELS` and their env's ``test_`` diagnostics."""
    extra = {f"test_{name}" for r in results for name in hooks_for(r["env_id"]).labels}
    return [*METRIC_LABELS, *sorted(extra)]


def metric_label(metric: str) -> str:
    """A table heading for ``metric``: its label, or the env hooks' label of a ``test_`` diagnostic."""
    if metric in METRIC_LABELS:
        return METRIC_LABELS[metric]
    label = diagnostic_label(metric.removeprefix("test_"))
    return f"test: {label}" if label else metric


def format_table(
    summary: dict[str, dict[str, Any]], metrics: tuple[str, ...] | None = None, label: str = "method"
) -> str:
    """A plain-text table: one row per summary entry, ``mean +- std`` of each metric over seeds (default:
    every metric the summary holds)."""
    if metrics is None:
        metrics = tuple(dict.fromkeys(m for entry in summary.values() for m in entry if m != "seeds"))
    metrics = tuple(m for m in metrics if any(m in entry for entry in summary.values())) or metrics
    lines = [f"{label:<24}" + "".join(f"{metric_label(m):>22}" for m in metrics) + f"{'seeds':>8}"]
    for name, entry in summary.items():
        cells = [f"{entry[m]['mean']:.1%} +- {entry[m]['std']:.1%}" if m in entry else "n/a" for m in metrics]
        lines.append(f"{name:<24}" + "".join(f"{c:>22}" for c in cells) + f"{len(entry['seeds']):>8}")
    return "\n".join(lines)


def write_results(out: Path, name: str, results: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    """``{name}.json`` (everything) and ``{name}.csv`` (one row per validation point) in ``out``, atomically."""
    atomic_write_text(out / f"{name}.json", json.dumps({**extra, "results": results}, indent=2))
    atomic_write_csv(
        out / f"{name}.csv",
        [
            {
                "method": r["method"],
                "env_id": r["env_id"],
                "seed": r["seed"],
                "step": step,
                "validation_success": success,
                "test_success": r["test_success"],
            }
            for r in finished(results)
            for step, success in r["curve"]
        ],
    )


def trial_config(
    config: TrainConfig, seed: int, steps: int, eval_every: int, eval_episodes: int, threads: int = 0
) -> TrainConfig:
    """``config`` with an experiment's seed and budget; checkpoints at each validation, so an interrupted
    trial resumes from its last validated step."""
    return config.updated(
        seed=seed,
        steps=steps,
        eval_every=eval_every,
        eval_episodes=eval_episodes,
        checkpoint_every=eval_every,
        torch_threads=threads,
    )


def add_budget_arguments(parser: argparse.ArgumentParser, seeds: list[int], eval_every: int, steps: int = 3000) -> None:
    """The options every experiment script shares: data size, seeds, training budget, parallelism."""
    parser.add_argument("--episodes", type=int, default=300, help="demonstration episodes (seeds 0..)")
    parser.add_argument("--seeds", type=int, nargs="+", default=seeds)
    parser.add_argument("--steps", type=int, default=steps, help="training steps per run, the same for every method")
    parser.add_argument("--eval-every", type=int, default=eval_every, help="validation (and checkpoint) interval")
    parser.add_argument("--eval-episodes", type=int, default=50, help="validation episodes (seeds 200000..)")
    parser.add_argument("--test-episodes", type=int, default=100, help="test episodes of each trial (seeds 1000..)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="runs in parallel (each uses --threads torch threads); on Ray Tune where the sweep extra is installed",
    )
    parser.add_argument(
        "--address",
        help="run the trials on this Ray cluster (or set RAY_ADDRESS); run folders and "
        "data must be on a filesystem every node sees",
    )
    parser.add_argument("--threads", type=int, default=1)


__all__ = [
    "Trial",
    "add_budget_arguments",
    "demonstrations_for",
    "failures",
    "finished",
    "format_table",
    "mean_std",
    "run_trial",
    "summarize",
    "trial_config",
    "validation_curve",
    "write_results",
    "TEST_SEED",
]
