"""Running a list of trials with one engine: Ray Tune where the ``sweep`` extra is installed and more than
one trial may run at once (or a cluster is named), else one after the other in this process."""

from __future__ import annotations

import os
from typing import Any

from tqdm.auto import tqdm

from implicit_policy.experiments import ray_tune
from implicit_policy.experiments.trials import Trial, run_trial


def run_trials(
    trials: list[Trial], jobs: int = 1, desc: str = "runs", address: str | None = None
) -> list[dict[str, Any]]:
    """Run every trial; results in the trials' order.

    ``jobs`` 1 and no ``address`` (nor ``$RAY_ADDRESS``): one after the other in this process. Otherwise on
    Ray Tune, ``jobs`` at a time locally or on the cluster at ``address``; a trial that fails is then an
    entry with ``"status": "failed"`` and its ``"error"``, and the others go on. ``ValueError`` when Ray
    is needed and not installed.
    """
    if address or os.environ.get("RAY_ADDRESS") or jobs > 1:
        ray_tune.require_ray()
        print(f"{desc}: {len(trials)} trials on Ray Tune", flush=True)
        return ray_tune.run_on_ray(
            trials, jobs=jobs if jobs > 1 else None, address=address, name=desc.replace(" ", "_")
        )
    results = []
    with tqdm(total=len(trials), desc=desc, unit="run") as bar:
        for trial in trials:
            bar.set_postfix_str(f"{trial.method} seed {trial.seed}")
            results.append(run_trial(trial))
            bar.update(1)
    return results
