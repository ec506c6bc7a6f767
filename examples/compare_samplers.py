"""Seed paper Fig. 2 and section III: which training negatives work, measured.

On Particle2D-v0 with 300 demonstration episodes, trains the paper's four trials (appendix D) and two more
lines, each with ``--seeds`` seeds, all with the same budget:

  Ibc                  IBC-rule Langevin negatives, 8 short chains (preset ``ibc-langevin``)
  Ibc, MAS             Marginal Action Sampler, its EBM trained with the IBC rule (``ibc-mas``)
  Correct, MAS         ... with the correct rule (``correct-mas``)
  Correct, MAS+MaxEnt  ... plus max-entropy and positive-L2 terms (``correct-mas-maxent``)
  Uniform, DFO         uniform negatives, DFO inference (``dfo``)
  Ibc, long chain      as Ibc, but the 8 negatives from one long chain per observation after a burn-in

The validation success rate (100 000+ seeds) every ``--eval-every`` steps gives the curves; the
best-validated weights are then tested on 100 fresh episodes (seeds 1000+). Writes
``compare_samplers.{png,json,csv}`` and the run folders into ``--out``; an interrupted run continues where
it stopped. Quick look: ``--steps 500 --seeds 0 --eval-episodes 20``.

    python examples/compare_samplers.py --out results/compare_samplers
"""

from __future__ import annotations

import argparse
from pathlib import Path

from implicit_policy.config import LangevinConfig, StepSchedule
from implicit_policy.diagnostics.plots import plot_success_curves
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


def methods() -> dict:
    ibc = preset("ibc-langevin")
    long_chain = LangevinConfig(
        rule="ibc",
        num_samples=8,
        noise_scale=0.1,
        chains="long",
        burn_in=50,
        thinning=5,
        step=StepSchedule(start=1.0, end=0.01, power=2.0),
    )
    return {
        "Ibc": ibc,
        "Ibc, MAS": preset("ibc-mas"),
        "Correct, MAS": preset("correct-mas"),
        "Correct, MAS+MaxEnt": preset("correct-mas-maxent"),
        "Uniform, DFO": preset("dfo"),
        "Ibc, long chain": ibc.updated(sampler=long_chain),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/compare_samplers")
    add_budget_arguments(parser, seeds=[0, 1, 2], eval_every=500)
    parser.add_argument("--methods", nargs="+", help="a subset of the lines, by name")
    args = parser.parse_args()
    out = Path(args.out)
    data = demonstrations_for("Particle2D-v0", args.episodes, out / "demos.npz")
    lines = methods()
    chosen = args.methods or list(lines)
    unknown = set(chosen) - set(lines)
    if unknown:
        parser.error(f"unknown methods {sorted(unknown)}; choose from {list(lines)}")
    trials = [
        Trial(
            method,
            seed,
            str(data),
            trial_config(lines[method], seed, args.steps, args.eval_every, args.eval_episodes, args.threads),
            str(out / "runs" / method.lower().replace(", ", "_").replace(" ", "_").replace("+", "_") / f"seed_{seed}"),
            args.test_episodes,
        )
        for seed in args.seeds
        for method in chosen  # all lines of a seed first: early partial results
    ]
    results = run_trials(trials, jobs=args.jobs, desc="compare samplers", address=args.address)
    if failures(results):
        print(f"trials that did not finish (rerun to retry them; finished ones are kept):\n{failures(results)}")
    summary = summarize(results)
    write_results(out, "compare_samplers", results, {"args": vars(args), "summary": summary})
    plot_success_curves(
        finished(results),
        out / "compare_samplers.png",
        f"Particle2D-v0, {args.episodes} demos, {args.steps} steps, {len(args.seeds)} seeds (mean +- std)",
    )
    print(format_table(summary))
    print(f"wrote {out}/compare_samplers.{{png,json,csv}}")


if __name__ == "__main__":
    main()
