"""Control-loop latency of a chunked policy: the ticks that decide a chunk against the ticks served from its
queue, with the exported ONNX file in onnxruntime on one thread, in the closed loop of the policy's env.

A policy that decides ``horizon`` actions and executes ``n_action_steps`` of them runs its argmin on one tick
in ``n_action_steps``; the others pop the queue. The control budget has to hold the deciding tick.

    python benchmarks/chunk_latency.py --policy runs/pusht_s0 [--episodes 5] [--json results/chunk_latency.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from implicit_policy.atomic import atomic_write_text
from implicit_policy.evaluation.rollout import make_vector_env
from implicit_policy.policies.export import export_argmin
from implicit_policy.policies.torch_policy import load_policy
from implicit_policy.runtime.onnx_policy import OnnxPolicy


def timed_ticks(policy: OnnxPolicy, env_id: str, env_kwargs: dict, episodes: int, seed: int) -> tuple[list, list]:
    """Milliseconds of each ``act`` call over ``episodes`` closed-loop episodes, split into the ticks that
    decided a chunk (the first of each ``n_action_steps``) and those served from the queue."""
    env = make_vector_env(env_id, 1, env_kwargs)
    deciding, queued = [], []
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        policy.reset()
        for tick in range(10_000):
            started = time.perf_counter()
            action = policy.act(obs)
            (deciding if tick % policy.n_action_steps == 0 else queued).append((time.perf_counter() - started) * 1e3)
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated[0] or truncated[0]:
                break
    env.close()
    return deciding, queued


def summary(times: list[float]) -> dict[str, float]:
    return {"ticks": len(times), "p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="run folder or checkpoint")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--seed", type=int, default=100_000)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    torch_policy = load_policy(args.policy, seed=0)
    header = torch_policy.header
    with tempfile.TemporaryDirectory() as tmp:
        policy = OnnxPolicy(export_argmin(torch_policy, Path(tmp) / "p.onnx"), seed=0, threads=1)
        deciding, queued = timed_ticks(policy, header.env_id, header.env_kwargs, args.episodes, args.seed)
    result = {
        "policy": str(args.policy),
        "env_id": header.env_id,
        "horizon": header.horizon,
        "n_action_steps": header.n_action_steps,
        "machine": platform.processor() or platform.machine(),
        "onnxruntime_threads": 1,
        "deciding": summary(deciding),
        "queued": summary(queued) if queued else None,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
