"""The Push-T table: each run folder's best and final checkpoints on Diffusion Policy's 50 test episodes,
its training time, and a plot of the given runs' validation score against training steps.

    python examples/pusht.py runs/pusht_s0 runs/mdn_s0 ... --out docs/results/pusht [--video] [--add]

Each run was trained by ``implicit-policy train --data zarr:.../pusht_cchi_v7_replay.zarr --obs-keys
keypoint,state[:2] --episodes diffusion_policy:90 --env PushTKeypoints-v0 ...`` (docs: Push-T). "Best" is the
checkpoint with the highest validation score (seeds 200000+), never chosen on the test seeds 100000-100049.
``--video`` records the first test success and the first failure of the first run's best checkpoint.
``--add`` keeps the rows already in ``OUT/pusht_runs.json`` (a run of the same name is replaced), so a new seed
is one more evaluation, not all of them again. Runs trained from the camera (``--obs-keys
img,agent_pos=state[:2] --env PushTPixels-v0``): ``--env PushTPixels-v0 --name pusht_image``, which writes
``OUT/pusht_image_runs.json``, ``pusht_image_curves.png`` and its videos.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from implicit_policy.atomic import atomic_write_text
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.figures import have_matplotlib, pyplot, save_figure
from implicit_policy.policies.checkpoint import resolve_checkpoint
from implicit_policy.policies.torch_policy import load_policy

TEST_SEED, EPISODES = 100_000, 50


def run_row(run: Path, env: str) -> dict:
    """A run's row: recipe, training time, validation curve, and the test score of its best and final weights."""
    config = json.loads((run / "train_config.json").read_text())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    curve = [(r["step"], r["mean_max_reward"]) for r in records if "mean_max_reward" in r]
    row = {
        "run": run.name,
        "kind": config["policy"]["kind"],
        "seed": config["seed"],
        "horizon": config.get("horizon", 1),
        "n_action_steps": config.get("n_action_steps", 1),
        "steps": records[-1]["step"],
        "train_seconds": max(r["seconds"] for r in records),
        "validation_curve": curve,
    }
    for label, path in (("best", run), ("final", resolve_checkpoint(run, latest=True))):
        policy = load_policy(path, seed=0)
        result = evaluate(policy, env, EPISODES, TEST_SEED)
        row[label] = {
            "step": policy.header.step,
            "score": result["mean_max_reward"],
            "success_rate": result["success_rate"],
            "successes": result["successes"],
        }
    return row


def plot_curves(rows: list[dict], path: Path) -> None:
    if not have_matplotlib():
        return
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for row in rows:
        steps, scores = zip(*row["validation_curve"]) if row["validation_curve"] else ((), ())
        ax.plot(steps, scores, marker="o", label=f"{row['run']} ({row['kind']})")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation score (seeds 200000+)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--video", action="store_true")
    parser.add_argument("--add", action="store_true", help="keep the rows already in OUT/NAME_runs.json")
    parser.add_argument("--env", default="PushTKeypoints-v0", help="the test env (PushTPixels-v0 for camera runs)")
    parser.add_argument("--name", default="pusht", help="prefix of the files written in OUT")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    given = [run_row(run, args.env) for run in args.runs]
    rows = given
    table = args.out / f"{args.name}_runs.json"
    if args.add and table.is_file():
        new = {row["run"] for row in given}
        rows = [row for row in json.loads(table.read_text()) if row["run"] not in new] + given
    atomic_write_text(table, json.dumps(rows, indent=2))
    plot_curves(given, args.out / f"{args.name}_curves.png")  # the runs given: a figure of every row kept is unreadable
    for row in rows:
        print(
            f"{row['run']:<16} {row['kind']:<7} {row['train_seconds']:7.0f} s  best (step {row['best']['step']}) "
            f"{row['best']['score']:.3f}  final {row['final']['score']:.3f}"
        )
    if args.video:
        from implicit_policy.evaluation.video import record_videos

        policy = load_policy(args.runs[0], seed=0)
        first = next(row for row in rows if row["run"] == args.runs[0].name)
        successes = np.asarray(first["best"]["successes"])  # the test episodes run_row evaluated
        for label, index in (("success", np.argmax(successes)), ("failure", np.argmin(successes))):
            record_videos(policy, args.env, 1, TEST_SEED + int(index), file=args.out / f"{args.name}_{label}.mp4")


if __name__ == "__main__":
    main()
