"""Implicit vs explicit as the action dimension grows (Implicit BC's particle figure, measured here).

For Particle{N}D-v0, N in ``--dims``, trains three policies with the same budget (``--steps`` gradient
steps, ``--episodes`` demonstrations) and ``--seeds`` seeds each:

  DFO       uniform negatives, derivative-free inference (preset ``dfo``)
  Langevin  IBC-rule Langevin negatives and inference (preset ``ibc-langevin``)
  MSE       the explicit regression baseline (preset ``mse``)

Each run keeps its best-validated weights (validation seeds 100000+), which are then tested on 100 fresh
episodes (seeds 1000+). Writes ``dimension_sweep.{png,json,csv}`` and the run folders into ``--out``; an
interrupted sweep continues where it stopped. Quick look: ``--dims 2 4 --steps 300 --seeds 0``.

    python examples/dimension_sweep.py --out results/dimension_sweep
"""

from __future__ import annotations

import argparse
from pathlib import Path

from implicit_policy.diagnostics.plots import plot_success_vs_dimension
from implicit_policy.experiments.runner import run_trials
from implicit_policy.experiments.trials import (
    Trial,
    add_budget_arguments,
    demonstrations_for,
    failures,
    finished,
    format_table,
    summarize,
    trial_config,
    write_results,
)
from implicit_policy.presets import preset

METHODS = {"DFO": "dfo", "Langevin": "ibc-langevin", "MSE": "mse"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/dimension_sweep")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8, 16])
    add_budget_arguments(parser, seeds=[0, 1], eval_every=1000)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    out = Path(args.out)
    trials = []
    for n in args.dims:
        env_id = f"Particle{n}D-v0"
        data = demonstrations_for(env_id, args.episodes, out / f"demos_{n}d.npz")
        for seed in args.seeds:
            for method in args.methods:
                config = trial_config(
                    preset(METHODS[method]), seed, args.steps, args.eval_every, args.eval_episodes, args.threads
                )
                trials.append(
                    Trial(
                        method,
                        seed,
                        str(data),
                        config,
                        str(out / "runs" / f"{n}d" / method.lower() / f"seed_{seed}"),
                        args.test_episodes,
                    )
                )
    results = run_trials(trials, jobs=args.jobs, desc="dimension sweep", address=args.address)
    if failures(results):
        print(f"trials that did not finish (rerun to retry them; finished ones are kept):\n{failures(results)}")
    by_dim = {n: summarize([r for r in finished(results) if r["env_id"] == f"Particle{n}D-v0"]) for n in args.dims}
    write_results(
        out, "dimension_sweep", results, {"args": vars(args), "summary": {str(n): s for n, s in by_dim.items()}}
    )
    plot_success_vs_dimension(
        by_dim,
        out / "dimension_sweep.png",
        f"{args.episodes} demos, {args.steps} steps per run, {len(args.seeds)} seeds (mean +- std)",
    )
    for n, summary in by_dim.items():
        print(f"\nParticle{n}D-v0")
        print(format_table(summary, ("best_validation", "test_success", "test_first_goal_rate")))
    print(f"wrote {out}/dimension_sweep.{{png,json,csv}}")


if __name__ == "__main__":
    main()
