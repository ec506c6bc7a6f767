"""FetchPush-v4 or FetchPushTwoGoals-v0 end to end in one command: collect -> train -> eval -> export ->
OnnxPolicy control loop.

Needs the robotics extra (``pip install "implicit-policy[robotics]"``). Writes into ``--out``:
``demos.npz``, the run folder ``run/``, ``eval.json`` (100 unseen episodes, seeds 5000..5099; on the two-goal
task also how often each goal was reached), ``policy.onnx``, ``control_loop.json`` (the ONNX policy's
closed-loop success and its ``act`` latency per control tick) and ``rollouts.png`` (gripper, block and
goals seen from above in a few episodes).

    python examples/fetch_push.py --out runs/fetch_push [--env FetchPushTwoGoals-v0] [--episodes 300]
        [--preset proposal-arm] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from implicit_policy.atomic import atomic_write_text
from implicit_policy.data.collect import collect_demonstrations
from implicit_policy.diagnostics.plots import have_matplotlib, pyplot
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.evaluation.rollout import Rollouts, rollout
from implicit_policy.policies.export import export_argmin
from implicit_policy.policies.torch_policy import load_policy
from implicit_policy.presets import preset
from implicit_policy.runtime.onnx_policy import OnnxPolicy
from implicit_policy.training.trainer import train
from implicit_policy_envs.fetch_push import ENV_ID, TWO_GOALS_ENV_ID

TEST_SEED = 5000
LAYOUT = {  # flattened observation: gripper and block positions, and the goals
    ENV_ID: (slice(6, 9), slice(9, 12), [slice(3, 6)]),
    TWO_GOALS_ENV_ID: (slice(9, 12), slice(12, 15), [slice(3, 6), slice(6, 9)]),
}


def timed_control_loop(policy: OnnxPolicy, env_id: str, episodes: int, seed: int) -> tuple[Rollouts, np.ndarray]:
    """The ONNX policy acting one observation per tick, as on a robot; its rollouts and per-tick seconds."""
    ticks: list[float] = []

    def act(obs: np.ndarray) -> np.ndarray:  # one env: obs (1, O), one observation per tick
        started = time.perf_counter()
        actions = policy.act(obs)
        ticks.append(time.perf_counter() - started)
        return actions

    runs = rollout(
        env_id,
        act,
        lambda info: policy.reset(),
        episodes,
        seed,
        batch_size=1,
        on_episode_end=lambda rows: policy.reset(rows),
    )
    return runs, np.asarray(ticks)


def plot_rollouts(runs: Rollouts, env_id: str, path: Path) -> Path | None:
    """Top view of each episode: the gripper's path, the block's path, the goals and their success radius."""
    if not have_matplotlib():
        return None
    plt = pyplot()
    gripper_at, block_at, goals_at = LAYOUT[env_id]
    fig, axes = plt.subplots(1, len(runs.seeds), figsize=(3.2 * len(runs.seeds), 3.4), squeeze=False)
    for ax, e in zip(axes[0], range(len(runs.seeds))):
        obs, _ = runs.episode(e)
        gripper, block = obs[:, gripper_at], obs[:, block_at]
        ax.plot(gripper[:, 0], gripper[:, 1], "-", color="tab:blue", lw=1.2, label="gripper")
        ax.plot(block[:, 0], block[:, 1], "-", color="tab:orange", lw=2.5, label="block")
        ax.plot(*block[0, :2], "s", color="tab:orange", ms=7)
        for number, (at, colour) in enumerate(zip(goals_at, ("tab:green", "tab:purple")), start=1):
            goal = obs[0, at]
            ax.add_patch(plt.Circle(goal[:2], 0.05, color=colour, alpha=0.25))
            ax.plot(*goal[:2], "*", color=colour, ms=12, label=f"goal {number}" if len(goals_at) > 1 else "goal")
        ax.set_title(f"seed {runs.seeds[e]}: {'success' if runs.successes[e] else 'failure'}", fontsize=9)
        ax.set_aspect("equal")
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--env", default=ENV_ID, choices=sorted(LAYOUT))
    parser.add_argument("--episodes", type=int, default=300, help="demonstrations to collect")
    parser.add_argument("--preset", default="proposal-arm")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    parser.add_argument("--test-episodes", type=int, default=100)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    demos = collect_demonstrations(args.env, args.episodes, seed=0, progress=True)
    demos.save(args.out / "demos.npz")
    print(f"{args.episodes} demonstrations, demonstrator success {demos.episode_successes.mean():.1%}")
    config = preset(args.preset).updated(seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    train(config, demos, args.out / "run")
    policy = load_policy(args.out / "run")
    result = evaluate(policy, args.env, args.test_episodes, TEST_SEED, progress=True)
    atomic_write_text(args.out / "eval.json", json.dumps(result, indent=2))
    goals = {k: v for k, v in result.items() if k.startswith("goal_")}
    print(f"torch policy: success {result['success_rate']:.1%} on {args.test_episodes} unseen episodes {goals or ''}")

    export_argmin(policy, args.out / "policy.onnx")
    onnx_policy = OnnxPolicy(args.out / "policy.onnx", threads=1, seed=0)
    runs, ticks = timed_control_loop(onnx_policy, args.env, 10, TEST_SEED)
    loop = {
        "episodes": 10,
        "success_rate": runs.success_rate,
        "act_ms_p50": float(np.percentile(ticks, 50) * 1e3),
        "act_ms_p99": float(np.percentile(ticks, 99) * 1e3),
        "ticks": len(ticks),
    }
    atomic_write_text(args.out / "control_loop.json", json.dumps(loop, indent=2))
    print(
        f"ONNX control loop: success {loop['success_rate']:.0%} on 10 episodes, act() p50 {loop['act_ms_p50']:.2f} ms, "
        f"p99 {loop['act_ms_p99']:.2f} ms per tick"
    )
    picture = plot_rollouts(
        Rollouts(
            runs.observations[:4],
            runs.actions[:4],
            runs.successes[:4],
            runs.returns[:4],
            runs.seeds[:4],
            runs.lengths[:4],
        ),
        args.env,
        args.out / "rollouts.png",
    )
    if picture:
        print(f"wrote {picture}")
    print(f"fetch_push.py: {time.perf_counter() - started:.0f} s wall time")


if __name__ == "__main__":
    main()
