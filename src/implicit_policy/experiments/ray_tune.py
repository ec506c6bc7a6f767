"""Trials on Ray Tune (the optional extra: ``pip install "implicit-policy[sweep]"``): the same trials as the
in-process runner, each a Tune trial with its own resources, on this machine or on a Ray cluster.

Each trial trains into its own run folder and writes its ``trial.json`` there exactly as in-process, so
the result files do not depend on where the trials ran. On a cluster (``--address`` or ``RAY_ADDRESS``),
the run folders and the demonstrations must be on a filesystem every node sees.

A trial reports its validation score after each validation (``success_rate``), so a scheduler such as
ASHA can stop it early. A trial that dies (its worker killed, a NaN loss) is reported as failed with its
reason and the sweep goes on; rerun, the sweep retries only those: a finished trial's ``trial.json`` and a
stopped trial's ``stopped.json`` are read back. A trial interrupted midway resumes from its checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from implicit_policy.atomic import atomic_write_text
from implicit_policy.data.minari import PREFIX as MINARI
from implicit_policy.experiments.trials import Trial, run_trial
from implicit_policy.extras import installed, require

METRIC = "success_rate"
DONE = "trial.json"
"""A finished trial's result in its run folder: a rerun of the sweep reads it instead of training."""
STOPPED = "stopped.json"
"""A trial the scheduler stopped early: final as well, so a resumed search does not rerun it."""


def have_ray() -> bool:
    return installed("ray")


def require_ray() -> None:
    require("ray", "Ray Tune")


def init_ray(address: str | None, cpus: int | None) -> None:
    """Connect to the cluster at ``address`` (or ``$RAY_ADDRESS``), else start a local Ray with ``cpus`` CPUs."""
    import ray

    if ray.is_initialized():
        return
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)


def trial_resources(trial: Trial) -> dict[str, float]:
    """What one trial reserves: its torch threads as CPUs, and a GPU fraction when it trains on cuda
    (``IMPLICIT_POLICY_GPU_FRACTION``, default 1: one trial per GPU)."""
    resources: dict[str, float] = {"cpu": max(1, trial.config.torch_threads)}
    if trial.config.device.startswith("cuda"):
        resources["gpu"] = float(os.environ.get("IMPLICIT_POLICY_GPU_FRACTION", "1"))
    return resources


def _trainable(params: dict[str, Any]) -> None:
    """One Tune trial: ``run_trial`` with each validation reported to Tune."""
    from ray import tune

    trial: Trial = params["trial"]
    result = run_trial(trial, on_validation=lambda step, score: tune.report({METRIC: score, "step": step}))
    tune.report(
        {
            METRIC: result["best_validation"] if result["best_validation"] is not None else float("nan"),
            "step": result["steps"],
            "done_trial": True,
        }
    )


def run_on_ray(
    trials: list[Trial],
    jobs: int | None = None,
    address: str | None = None,
    scheduler: Any = None,
    name: str = "implicit-policy",
) -> list[dict[str, Any]]:
    """Run ``trials`` as Tune trials, at most ``jobs`` at once (None: as many as the resources allow).

    Returns one entry per trial, in order: its ``trial.json`` result, or, for a trial that did not finish,
    ``{"method", "seed", "run_dir", "status": "failed" | "stopped", "error"}`` (stopped: by the scheduler).
    """
    require_ray()
    from ray import tune

    init_ray(address, cpus=None)
    # Tune runs each trial in its own working folder: paths must not depend on this process's
    trials = [dataclasses.replace(t, data=_absolute(t.data), run_dir=str(Path(t.run_dir).resolve())) for t in trials]
    pending = [i for i, t in enumerate(trials) if not any((Path(t.run_dir) / f).exists() for f in (DONE, STOPPED))]
    if pending:
        resources = trial_resources(trials[pending[0]])
        tuner = tune.Tuner(
            tune.with_resources(_trainable, resources),
            param_space={"trial": tune.grid_search([trials[i] for i in pending])},
            tune_config=tune.TuneConfig(
                max_concurrent_trials=jobs,
                scheduler=scheduler,
                metric=METRIC if scheduler is not None else None,
                mode="max" if scheduler is not None else None,
            ),
            run_config=tune.RunConfig(
                name=name,
                storage_path=_tune_storage(trials[i] for i in pending),
                failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
                verbose=0,
            ),
        )
        grid = tuner.fit()
        outcomes: dict[str, dict[str, Any]] = {}
        for result in grid:  # type: ignore[attr-defined]  # ResultGrid iterates (__getitem__, __len__)
            trial = result.config["trial"]
            if result.error is not None:
                outcomes[trial.run_dir] = {"status": "failed", "error": _one_line(result.error)}
            elif not (result.metrics or {}).get("done_trial"):  # the scheduler stopped it: final, like a finish
                outcomes[trial.run_dir] = {
                    "status": "stopped",
                    "error": "stopped early by the scheduler",
                    "last_step": (result.metrics or {}).get("step"),
                }
                atomic_write_text(Path(trial.run_dir) / STOPPED, json.dumps(outcomes[trial.run_dir]))
    else:
        outcomes = {}
    return [_result_of(t, outcomes.get(t.run_dir)) for t in trials]


def _tune_storage(trials: Iterable[Trial]) -> str:
    """Where Tune keeps its own state: ``ray_results`` beside the trials' run folders (on a cluster, on the
    filesystem every node sees, as the run folders are)."""
    return str(Path(os.path.commonpath([t.run_dir for t in trials])) / "ray_results")


def _absolute(data: str) -> str:
    """A demonstrations path made absolute; ``minari:ID`` (a dataset in the store) stays as it is."""
    if not data.startswith(MINARI):
        return str(Path(data).resolve())
    name = Path(data[len(MINARI) :])
    return f"{MINARI}{name.resolve()}" if name.exists() else data


def _result_of(trial: Trial, outcome: dict[str, Any] | None) -> dict[str, Any]:
    done, stopped = Path(trial.run_dir) / DONE, Path(trial.run_dir) / STOPPED
    if done.exists():
        return json.loads(done.read_text())
    if stopped.exists():
        outcome = json.loads(stopped.read_text())
    outcome = outcome or {"status": "failed", "error": "no result (the trial did not run)"}
    return {"method": trial.method, "seed": trial.seed, "run_dir": trial.run_dir} | outcome


def _one_line(error: BaseException) -> str:
    """The last line of a trial's error: Ray wraps the real exception in pages of traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = next(
        (line for line in reversed(lines) if "Error" in line or "died" in line or "killed" in line.lower()),
        lines[-1] if lines else type(error).__name__,
    )
    return f"{type(error).__name__}: {reason}"[:500]
