"""Control-loop latency of a policy with image parts, exported to ONNX, on one onnxruntime thread.

A chunk policy decides on one tick in ``n_action_steps`` and pops its queue on the others; the deciding tick
is the one a control loop's budget must hold, so it is timed alone (every tick decides: ``execute(1)``), and
the queue-popping tick beside it. Observations are the env's own (``PushTPixels-v0`` frames), one at a time.

    python benchmarks/image_latency.py --policy runs/pusht_image_s0 [--ticks 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import implicit_policy  # noqa: F401  (registers the envs)
from implicit_policy import load_policy
from implicit_policy.atomic import atomic_write_text
from implicit_policy.policies.export import export_argmin
from implicit_policy.runtime.onnx_policy import OnnxPolicy


def tick_times(policy, observations: list[dict], n_action_steps: int) -> np.ndarray:
    """Seconds of each ``act`` over ``observations``, deciding every ``n_action_steps`` ticks."""
    policy.execute(n_action_steps=n_action_steps)
    for obs in observations[: 2 * n_action_steps]:  # warm up by whole chunks: tick 0 of the timed ones decides
        policy.act(obs)
    times = []
    for obs in observations:
        started = time.perf_counter()
        policy.act(obs)
        times.append(time.perf_counter() - started)
    return np.asarray(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="a run or checkpoint folder of a policy with image parts")
    parser.add_argument("--env", default="PushTPixels-v0")
    parser.add_argument("--ticks", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    policy = load_policy(args.policy)
    env = gym.make(args.env)
    obs, _ = env.reset(seed=100000)
    observations = []
    rng = np.random.default_rng(0)
    for _ in range(args.ticks):
        observations.append(obs)
        obs, _, terminated, truncated, _ = env.step(rng.uniform(0, 512, 2))
        if terminated or truncated:
            obs, _ = env.reset()
    with tempfile.TemporaryDirectory() as tmp:
        robot = OnnxPolicy(export_argmin(policy, Path(tmp) / "p.onnx"), threads=1)
        size = (Path(tmp) / "p.onnx").stat().st_size
        rows = {}
        executed = policy.n_action_steps
        for name, runner in (("onnxruntime", robot), ("torch", policy)):
            ms = tick_times(runner, observations, 1) * 1e3  # every tick decides
            rows[f"{name} deciding tick"] = {
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
            }
            ms = tick_times(runner, observations, executed) * 1e3
            queued = np.delete(ms, np.arange(0, len(ms), executed))  # the ticks that pop the queue
            rows[f"{name} queued tick"] = {
                "p50_ms": float(np.percentile(queued, 50)),
                "p99_ms": float(np.percentile(queued, 99)),
            }
    print(f"{args.policy}: {policy.input_spec}; ONNX file {size / 1e6:.1f} MB")
    print(f"{'':34s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for key, row in rows.items():
        print(f"{key:34s} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}")
    if args.json:
        report = {"policy": str(args.policy), "onnx_bytes": size, "ticks": args.ticks, **rows}
        atomic_write_text(args.json, json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
