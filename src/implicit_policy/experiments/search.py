"""Hyper-parameter search on Ray Tune: ``implicit-policy tune --preset NAME --space space.json --trials N
--out DIR``.

The space is a JSON object from dotted config fields (any field ``--set`` takes) to a distribution:

    {"optim.learning_rate": {"loguniform": [1e-4, 3e-3]},
     "sampler.iterations": {"choice": [10, 30]},
     "sampler.noise_scale": {"uniform": [0.05, 0.3]},
     "n_obs_steps": {"randint": [1, 4]}}

(``randint``'s upper end is excluded, as numpy's). The ``N`` settings are drawn up front from ``--seed`` and
kept in ``DIR/search.json``, so a stopped search resumes with the same trials, rerunning none that
finished or that the scheduler stopped. Each trial validates every ``eval_every`` steps and reports its
success to ASHA, which stops the trials that trail at each rung (after ``--grace`` validations). Writes
``best_config.json`` (a full config for ``implicit-policy train --config``, chosen by best validation,
never by test), ``trials.csv``/``trials.json`` (one row per trial) and ``trials.png`` (validation curves).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from implicit_policy.atomic import atomic_write_csv, atomic_write_text
from implicit_policy.config import TrainConfig
from implicit_policy.diagnostics.plots import plot_search
from implicit_policy.experiments.ray_tune import run_on_ray
from implicit_policy.experiments.trials import Trial, validation_curve

DISTRIBUTIONS = ("choice", "uniform", "loguniform", "randint")


def load_space(path: str | os.PathLike, base: TrainConfig) -> dict[str, dict[str, list]]:
    """A search space file, checked: each field exists in ``base`` and each distribution is well formed."""
    path = Path(path)
    try:
        space = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"search space file not found: {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"search space {path} is not valid JSON: {err}") from None
    if not isinstance(space, dict) or not space:
        raise ValueError(f"search space {path} must be a non-empty JSON object of field -> distribution")
    for field, spec in space.items():
        if not (isinstance(spec, dict) and len(spec) == 1 and next(iter(spec)) in DISTRIBUTIONS):
            raise ValueError(
                f"search space {path}: {field!r} must map to one of {{{', '.join(DISTRIBUTIONS)}: [...]}}, got {spec!r}"
            )
        kind, values = next(iter(spec.items()))
        if not isinstance(values, list) or not values:
            raise ValueError(f"search space {path}: {field!r} {kind} needs a non-empty list, got {values!r}")
        if kind != "choice":
            if len(values) != 2 or not all(isinstance(v, (int, float)) for v in values) or not values[0] < values[1]:
                raise ValueError(
                    f"search space {path}: {field!r} {kind} needs [low, high] with low < high, got {values!r}"
                )
            if kind == "loguniform" and values[0] <= 0:
                raise ValueError(f"search space {path}: {field!r} loguniform needs low > 0, got {values!r}")
        base.with_settings([f"{field}={json.dumps(values[0])}"])  # the field exists and takes such a value
    return space


def sample_settings(space: dict[str, dict[str, list]], trials: int, seed: int) -> list[dict[str, Any]]:
    """``trials`` draws from ``space``, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(trials):
        draw = {}
        for field, spec in space.items():
            kind, values = next(iter(spec.items()))
            if kind == "choice":
                draw[field] = values[int(rng.integers(len(values)))]
            elif kind == "uniform":
                draw[field] = float(rng.uniform(*values))
            elif kind == "loguniform":
                draw[field] = float(math.exp(rng.uniform(math.log(values[0]), math.log(values[1]))))
            else:
                draw[field] = int(rng.integers(values[0], values[1]))
        draws.append(draw)
    return draws


def search_trials(
    base: TrainConfig, data: str, space: dict, trials: int, seed: int, out: Path, test_episodes: int
) -> tuple[list[Trial], list[dict[str, Any]]]:
    """The search's trials and the settings each was drawn with, from ``out/search.json`` when it exists (a
    resumed search: refused if its space, base config, data or size differ) or drawn now and recorded there."""
    record_path = out / "search.json"
    record = {"space": space, "trials": trials, "seed": seed, "data": data, "base_config": base.model_dump(mode="json")}
    if record_path.exists():
        recorded = json.loads(record_path.read_text())
        differ = [key for key in record if recorded.get(key) != record[key]]
        if differ:
            raise ValueError(
                f"{out} holds a search with other {', '.join(differ)}; choose another --out to start a new one"
            )
        draws = recorded["settings"]
    else:
        draws = sample_settings(space, trials, seed)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(record_path, json.dumps(record | {"settings": draws}, indent=2))
    return [
        Trial(
            f"trial_{i:03d}",
            base.seed,
            data,
            base.with_settings([f"{field}={json.dumps(value)}" for field, value in draw.items()]),
            str(out / "trials" / f"trial_{i:03d}"),
            test_episodes,
        )
        for i, draw in enumerate(draws)
    ], draws


def asha(base: TrainConfig, grace: int) -> Any:
    """ASHA over validation rounds: a trial reports once per ``eval_every`` steps, ``steps / eval_every``
    times, then once more when it has finished (its test done); ``max_t`` counts that last report, so a
    trial that validated every round is never cut off before it writes its result."""
    from ray.tune.schedulers import ASHAScheduler

    rounds = max(1, math.ceil(base.steps / base.eval_every))
    return ASHAScheduler(
        time_attr="training_iteration", max_t=rounds + 1, grace_period=min(grace, rounds), reduction_factor=2
    )


def run_search(
    base: TrainConfig,
    data: str,
    space: dict,
    trials: int,
    out: str | os.PathLike,
    seed: int = 0,
    jobs: int | None = None,
    address: str | None = None,
    grace: int = 1,
    test_episodes: int = 100,
) -> dict[str, Any]:
    """Run the search and write its outputs (module docstring); returns the table and the best trial."""
    if base.eval_episodes < 1 or base.eval_every < 1:
        raise ValueError("a search ranks trials by validation: eval_episodes and eval_every must be >= 1")
    out = Path(out)
    trial_list, draws = search_trials(base, data, space, trials, seed, out, test_episodes)
    results = run_on_ray(trial_list, jobs=jobs, address=address, scheduler=asha(base, grace), name="tune")
    curves = [validation_curve(t.run_dir) if (Path(t.run_dir) / "metrics.jsonl").exists() else [] for t in trial_list]
    rows = [_row(*row) for row in zip(trial_list, results, draws, curves)]
    ranked = [row for row in rows if row["status"] == "finished" and row["best_validation"] is not None]
    best = max(ranked, key=lambda row: row["best_validation"], default=None)
    if best is not None:
        trial_list[rows.index(best)].config.save(out / "best_config.json")
    atomic_write_text(out / "trials.json", json.dumps({"best": best, "trials": rows}, indent=2))
    atomic_write_csv(
        out / "trials.csv", [{k: (json.dumps(v) if k == "settings" else v) for k, v in row.items()} for row in rows]
    )
    plot_search(rows, curves, best, out / "trials.png")
    return {"best": best, "trials": rows}


def _row(trial: Trial, result: dict[str, Any], draw: dict[str, Any], curve: list[tuple[int, float]]) -> dict[str, Any]:
    return {
        "trial": trial.method,
        "settings": draw,
        "status": result.get("status", "finished"),
        "best_validation": max((s for _, s in curve), default=None),
        "last_step": curve[-1][0] if curve else 0,
        "test_success": result.get("test_success"),
        "error": result.get("error"),
        "run_dir": trial.run_dir,
    }


def format_search_table(rows: list[dict[str, Any]]) -> str:
    """One line per trial: status, best validation, test success, settings."""
    lines = [f"{'trial':<11}{'status':<10}{'steps':>7}{'best val':>10}{'test':>8}  settings"]
    for row in rows:
        val = "n/a" if row["best_validation"] is None else f"{row['best_validation']:.0%}"
        test = "n/a" if row["test_success"] is None else f"{row['test_success']:.0%}"
        settings = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["settings"].items())
        lines.append(f"{row['trial']:<11}{row['status']:<10}{row['last_step']:>7}{val:>10}{test:>8}  {settings}")
        if row["error"] and row["status"] == "failed":
            lines.append(f"{'':<11}{row['error']}")
    return "\n".join(lines)
