"""Control-loop latency of a trained policy: torch vs onnxruntime, per inference config, on one thread.

For each inference config: ``act()`` latency p50/p99 for one observation and for a batch of 16, with
``ImplicitPolicy`` (torch) and ``OnnxPolicy`` (onnxruntime, the exported argmin); the FLOP/s that the
energy evaluations achieve, against this machine's matmul FLOP/s measured in the same run; and, with
``--success``, the closed-loop success rate on 100 seeded episodes (seeds 1000..1099) for each config,
with and without warm start.

    python benchmarks/latency.py --policy runs/p2d [--success] [--json results/latency.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from implicit_policy.atomic import atomic_write_text
from implicit_policy.config import DFOConfig, InferenceConfig, LangevinConfig, ProposalConfig
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.policies.export import export_argmin
from implicit_policy.policies.torch_policy import ImplicitPolicy
from implicit_policy.runtime.onnx_policy import OnnxPolicy

SWEEP: dict[str, InferenceConfig] = {
    "dfo 64x3": DFOConfig(num_samples=64, iterations=3),
    "dfo 256x3": DFOConfig(num_samples=256, iterations=3),
    "dfo 1024x3": DFOConfig(num_samples=1024, iterations=3),
    "langevin 16x10": LangevinConfig(num_samples=16, iterations=10, noise_scale=0.01),
    "langevin 64x10": LangevinConfig(num_samples=64, iterations=10, noise_scale=0.01),
    "langevin 64x5": LangevinConfig(num_samples=64, iterations=5, noise_scale=0.01),
    "proposal 32x10": ProposalConfig(num_samples=32),
    "proposal 16x5": ProposalConfig(num_samples=16, refine_steps=5),
}


def percentiles(policy, obs: np.ndarray, repeats: int) -> tuple[float, float]:
    """p50 and p99 of ``policy.act(obs)`` in milliseconds (one episode: the policy keeps its history)."""
    policy.reset()
    for _ in range(5):
        policy.act(obs)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        policy.act(obs)
        times.append(time.perf_counter() - started)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 99) * 1e3)


def energy_flops(policy: ImplicitPolicy, batch: int) -> float:
    """FLOPs of the energy evaluations in one ``act`` over ``batch`` observations (2 per multiply-add;
    a gradient step's explicit gradient counted as one more forward pass; a proposal net not counted)."""
    cfg, net = policy.header.policy.acting, policy.energy
    proposal = getattr(net, "proposal", None)  # an energy model with a learned proposal: count its energy net
    net = getattr(net, "energy", net)
    if isinstance(cfg, ProposalConfig):  # the proposal's component means join its samples
        candidates, evaluations, passes = cfg.num_samples + proposal.config.components, cfg.refine_steps, 2
    elif isinstance(cfg, DFOConfig):
        candidates, evaluations, passes = cfg.num_samples, cfg.iterations + 1, 1
    else:
        candidates, evaluations, passes = cfg.num_samples, cfg.iterations, 2
    first = net.projection if hasattr(net, "projection") else net.layers[0]
    obs_weights = first.weight.shape[0] * (first.weight.shape[1] - policy.action_size)  # computed once per row
    all_weights = sum(m.weight.numel() for m in net.modules() if isinstance(m, torch.nn.Linear))
    per_candidate, per_row = 2 * (all_weights - obs_weights), 2 * obs_weights
    total = batch * candidates
    return float(evaluations * passes * (total * per_candidate + batch * per_row) + total * per_candidate)


def matmul_flops_per_second(size: int = 512, repeats: int = 50) -> float:
    """This machine's fp32 matmul throughput on the current torch thread count."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(5):
        a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--policy", required=True, help="run folder or checkpoint of an implicit policy")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--success", action="store_true", help="also measure closed-loop success per config")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--json", help="write all figures here")
    parser.add_argument("--device", default="cpu", help="torch device of ImplicitPolicy (cpu or cuda)")
    parser.add_argument(
        "--providers",
        nargs="+",
        default=["CPUExecutionProvider"],
        help="onnxruntime providers, e.g. CUDAExecutionProvider CPUExecutionProvider (onnxruntime-gpu)",
    )
    parser.add_argument(
        "--configs", nargs="+", default=list(SWEEP), choices=list(SWEEP), help="inference configs to time"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    peak = matmul_flops_per_second()
    print(
        f"torch {torch.__version__}, 1 thread, policy on {args.device}; onnxruntime {args.providers}; "
        f"measured fp32 matmul (CPU): {peak / 1e9:.1f} GFLOP/s"
    )
    header = (
        f"{'config':<16}{'torch p50':>10}{'p99':>8}{'onnx p50':>10}{'p99':>8}{'torch B16':>11}{'onnx B16':>10}"
        f"{'GFLOP/s':>9}{'of peak':>9}"
    )
    if args.success:
        header += f"{'success':>9}{'+warm':>7}"
    print(header + "   (latencies in ms)")
    rows = []
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.configs:
            config = SWEEP[name]
            policy = ImplicitPolicy.load(args.policy, inference=config, device=args.device)
            onnx_policy = OnnxPolicy(export_argmin(policy, Path(tmp) / "p.onnx"), threads=1, providers=args.providers)
            env_id, obs_size = policy.header.env_id, policy.obs_size
            one, sixteen = (
                rng.uniform(0, 1, obs_size).astype(np.float32),
                rng.uniform(0, 1, (16, obs_size)).astype(np.float32),
            )
            row = {"config": name, "inference": config.model_dump()}
            row["torch_p50"], row["torch_p99"] = percentiles(policy, one, args.repeats)
            row["onnx_p50"], row["onnx_p99"] = percentiles(onnx_policy, one, args.repeats)
            row["torch_b16_p50"], _ = percentiles(policy, sixteen, args.repeats // 4)
            row["onnx_b16_p50"], _ = percentiles(onnx_policy, sixteen, args.repeats // 4)
            row["onnx_gflops"] = energy_flops(policy, 1) / (row["onnx_p50"] / 1e3) / 1e9
            line = (
                f"{name:<16}{row['torch_p50']:>10.2f}{row['torch_p99']:>8.2f}{row['onnx_p50']:>10.2f}"
                f"{row['onnx_p99']:>8.2f}{row['torch_b16_p50']:>11.2f}{row['onnx_b16_p50']:>10.2f}"
                f"{row['onnx_gflops']:>9.1f}{row['onnx_gflops'] * 1e9 / peak:>9.0%}"
            )
            if args.success:
                row["success"] = evaluate(onnx_policy, env_id, args.episodes, 1000)["success_rate"]
                line += f"{row['success']:>9.0%}"
                if "warm_start_fraction" in type(config).model_fields:
                    warm = config.model_copy(update={"warm_start_fraction": 0.25})
                    warm_policy = ImplicitPolicy.load(args.policy, inference=warm, device=args.device)
                    row["success_warm"] = evaluate(warm_policy, env_id, args.episodes, 1000)["success_rate"]
                    line += f"{row['success_warm']:>7.0%}"
            print(line, flush=True)
            rows.append(row)
    if args.json:
        atomic_write_text(
            args.json,
            json.dumps(
                {"matmul_gflops": peak / 1e9, "device": args.device, "providers": args.providers, "rows": rows},
                indent=2,
            ),
        )


if __name__ == "__main__":
    main()
