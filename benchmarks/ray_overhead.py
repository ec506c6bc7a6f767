"""What Ray Tune costs per trial on this machine: the same tiny trials run in-process and on a local Ray,
one at a time, so the difference is Ray's (start-up of Ray itself, then per trial its worker process, the
imports in it, and Tune's bookkeeping), not parallelism.

    python benchmarks/ray_overhead.py [--trials 4] [--steps 20] [--json results/ray_overhead.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from implicit_policy.atomic import atomic_write_text
from implicit_policy.experiments.runner import run_trials
from implicit_policy.experiments.trials import Trial, demonstrations_for, trial_config
from implicit_policy.presets import preset


def tiny_trials(root: Path, data: Path, count: int, steps: int) -> list[Trial]:
    base = preset("dfo").with_settings(["energy.hidden_size=32", "optim.batch_size=64", "inference.num_samples=128"])
    return [
        Trial(
            "dfo", seed, str(data), trial_config(base, seed, steps, steps, 5, threads=1), str(root / f"seed_{seed}"), 5
        )
        for seed in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    import ray

    from implicit_policy.experiments import ray_tune as ray_sweep

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = demonstrations_for("Particle2D-v0", 50, root / "demos.npz")
        started = time.perf_counter()
        run_trials(tiny_trials(root / "in_process", data, args.trials, args.steps), jobs=1, desc="in-process")
        in_process = time.perf_counter() - started
        started = time.perf_counter()
        ray_sweep.init_ray(None, cpus=1)
        ray_start = time.perf_counter() - started
        started = time.perf_counter()
        ray_sweep.run_on_ray(tiny_trials(root / "on_ray", data, args.trials, args.steps), jobs=1, name="overhead")
        on_ray = time.perf_counter() - started
        ray.shutdown()
    figures = {
        "trials": args.trials,
        "steps": args.steps,
        "in_process_s": in_process,
        "ray_start_s": ray_start,
        "on_ray_s": on_ray,
        "overhead_per_trial_s": (on_ray - in_process) / args.trials,
    }
    print(
        f"{args.trials} trials of {args.steps} steps, one at a time: in-process {in_process:.1f} s; Ray start-up "
        f"{ray_start:.1f} s, then {on_ray:.1f} s on Ray: {figures['overhead_per_trial_s']:.1f} s per trial"
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
