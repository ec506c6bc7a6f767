"""Implicit vs explicit on multimodal demonstrations (Particle2DMultimodal-v0).

The demonstrator visits the two goals in a random order that the observation does not show, so at the
start the demonstrated actions point to either goal, half the time each. A regression (MSE) policy is
expected to average the two modes and head between the goals; an energy model can keep both. This trains
Langevin, DFO and MSE policies (``--seeds`` seeds each, same budget), tests them on 100 fresh episodes,
counts which goal each test episode reached first (goal 1, goal 2, or neither), and draws trajectories.

Writes ``multimodal.{png,json,csv}`` (``multimodal.png``: trajectories) and ``multimodal_curves.png`` into
``--out``. Quick look: ``--steps 300 --seeds 0``.

    python examples/multimodal.py --out results/multimodal
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from implicit_policy.diagnostics.plots import have_matplotlib, plot_success_curves, pyplot, save_figure
from implicit_policy.evaluation.rollout import Rollouts, oracle_rollout, rollout
from implicit_policy.experiments.runner import run_trials
from implicit_policy.experiments.trials import (
    TEST_SEED,
    Trial,
    add_budget_arguments,
    demonstrations_for,
    failures,
    format_table,
    summarize,
    trial_config,
    write_results,
)
from implicit_policy.policies.torch_policy import load_policy
from implicit_policy.presets import preset
from implicit_policy_envs.particle import GOAL_DISTANCE, first_step_at, split_observation

ENV_ID = "Particle2DMultimodal-v0"
METHODS = {"Langevin": "ibc-langevin", "DFO": "dfo", "MSE": "mse"}


def first_goal_reached(runs: Rollouts) -> np.ndarray:
    """Per episode: 0 or 1 for the goal reached first, -1 if neither was reached."""
    never = np.iinfo(np.int64).max
    first, second = (
        np.where(s >= 0, s, never) for s in (first_step_at(runs, "first_goal"), first_step_at(runs, "second_goal"))
    )
    return np.where(np.minimum(first, second) == never, -1, (second < first).astype(int))


def mode_split(runs: Rollouts) -> dict[str, float]:
    first = first_goal_reached(runs)
    return {
        "goal_1_first": float(np.mean(first == 0)),
        "goal_2_first": float(np.mean(first == 1)),
        "neither_goal": float(np.mean(first == -1)),
    }


def plot_trajectories(drawn: dict[str, tuple], path: Path, title: str) -> Path | None:
    """One row per method, one panel per episode: the agent's path (2-D particle envs) from its start (dot)
    with both goals; ``drawn`` maps a method to ``(observations (E, T, O), successes (E,))``."""
    if not have_matplotlib():
        return None
    plt = pyplot()
    rows, cols = len(drawn), max(len(obs) for obs, _ in drawn.values())
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.4 * rows), squeeze=False)
    for row, (method, (observations, successes)) in enumerate(drawn.items()):
        for col in range(cols):
            ax = axes[row][col]
            ax.set_xlim(-0.05, 1.05)
            ax.set_ylim(-0.05, 1.05)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if col >= len(observations):
                continue
            parts = split_observation(observations[col], 2)
            for goal, colour in (("first_goal", "green"), ("second_goal", "blue")):
                ax.add_patch(plt.Circle(parts[goal][0], GOAL_DISTANCE, color=colour, alpha=0.35))
            path_xy = parts["agent_position"]
            ax.plot(path_xy[:, 0], path_xy[:, 1], "-", color="darkred", lw=1.2)
            ax.plot(*path_xy[0], "o", color="red", ms=4)
            ax.set_title(
                "success" if successes[col] else "failure", fontsize=8, color="black" if successes[col] else "crimson"
            )
        axes[row][0].set_ylabel(method, fontsize=10)
    fig.suptitle(f"{title}\n(green: goal 1, blue: goal 2, red dot: start)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/multimodal")
    add_budget_arguments(parser, seeds=[0, 1], eval_every=500)
    parser.add_argument("--draw", type=int, default=6, help="test episodes drawn per method")
    args = parser.parse_args()
    out = Path(args.out)
    data = demonstrations_for(ENV_ID, args.episodes, out / "demos.npz")
    trials = [
        Trial(
            method,
            seed,
            str(data),
            trial_config(preset(METHODS[method]), seed, args.steps, args.eval_every, args.eval_episodes, args.threads),
            str(out / "runs" / method.lower() / f"seed_{seed}"),
            args.test_episodes,
        )
        for seed in args.seeds
        for method in METHODS
    ]
    results = run_trials(trials, jobs=args.jobs, desc="multimodal", address=args.address)
    if failures(results):
        raise SystemExit(
            f"trials that did not finish (rerun to retry them; finished ones are kept):\n{failures(results)}"
        )
    drawn, modes = {}, {"Oracle": mode_split(oracle_rollout(ENV_ID, args.test_episodes, TEST_SEED))}
    for r, trial in zip(results, trials):
        policy = load_policy(trial.run_dir, seed=trial.seed)
        runs = rollout(ENV_ID, policy.act, lambda info, policy=policy: policy.reset(), args.test_episodes, TEST_SEED)
        r["modes"] = mode_split(runs)
        assert abs(runs.success_rate - r["test_success"]) < 1e-9, "rollout and evaluate disagree"
        if trial.seed == args.seeds[0]:
            drawn[trial.method] = (runs.observations[: args.draw], runs.successes[: args.draw])
    for method in METHODS:
        splits = [r["modes"] for r in results if r["method"] == method]
        modes[method] = {k: float(np.mean([s[k] for s in splits])) for k in splits[0]}
    summary = summarize(results)
    write_results(out, "multimodal", results, {"args": vars(args), "summary": summary, "first_goal": modes})
    plot_trajectories(
        drawn,
        out / "multimodal.png",
        f"{ENV_ID}: test episodes {TEST_SEED}..{TEST_SEED + args.draw - 1}, seed {args.seeds[0]}",
    )
    plot_success_curves(results, out / "multimodal_curves.png", f"{ENV_ID}, {args.episodes} demos, {args.steps} steps")
    print(format_table(summary, ("best_validation", "test_success")))
    print(
        f"\n{'first goal reached':<20}{'goal 1':>10}{'goal 2':>10}{'neither':>10}   ({args.test_episodes} test episodes, mean over seeds)"
    )
    for method, split in modes.items():
        print(f"{method:<20}{split['goal_1_first']:>10.1%}{split['goal_2_first']:>10.1%}{split['neither_goal']:>10.1%}")
    print(f"wrote {out}/multimodal.{{png,json,csv}}")


if __name__ == "__main__":
    main()
