"""Training throughput of the presets, and the share of step time spent in the networks (energy net; also the
marginal EBM for the MAS presets, the regression or mixture net for the explicit kinds).

For each preset: steps per second of real training steps on Particle2D demonstrations, and the time
that the same energy-net passes take alone (the same shapes and count of forward and backward passes:
the negative sampler's and the loss's). Their ratio is the share of a step spent in the net; the rest
is Python, sampling, indexing and the optimiser.

    python benchmarks/train_speed.py [--steps 30] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import torch

from implicit_policy import collect_demonstrations
from implicit_policy.config import EnergyPolicyConfig, LangevinConfig, MarginalSamplerConfig
from implicit_policy.presets import PRESETS
from implicit_policy.training.trainer import Trainer


def _chain_passes(energy, obs: torch.Tensor, candidates: torch.Tensor, iterations: int) -> None:
    for _ in range(iterations):
        y = candidates.clone().requires_grad_(True)
        torch.autograd.grad(energy(obs, y).sum(), y)


def net_only_seconds(trainer: Trainer, steps: int) -> float:
    """Seconds for ``steps`` steps' worth of the networks' passes alone: the energy net's (and, for the
    Marginal Action Sampler, its marginal EBM's) chain and loss passes; the regression net's for ``mse``."""
    cfg = trainer.config.policy
    batch, action_size = trainer.config.optim.batch_size, trainer.demos.action_size
    obs = trainer.batches.vectors_at(trainer.batches.windows[:batch]).flatten(1)
    started = time.perf_counter()
    for _ in range(steps):
        trainer.optimizer.zero_grad()
        if not isinstance(cfg, EnergyPolicyConfig):
            trainer.model(obs).pow(2).mean().backward()
            continue
        samples = cfg.sampler.num_samples
        candidates = torch.rand(batch, samples, action_size)
        if isinstance(cfg.sampler, LangevinConfig):
            _chain_passes(trainer.model, obs, candidates, cfg.sampler.iterations)
        if isinstance(cfg.sampler, MarginalSamplerConfig):
            marginal = trainer.objective.sampler.energy
            no_obs = obs.new_zeros(batch, 0)
            _chain_passes(marginal, no_obs, candidates, cfg.sampler.langevin.iterations)
            marginal(no_obs, torch.rand(batch, samples + 1, action_size)).mean().backward()
        trainer.model(obs, torch.rand(batch, samples + 1, action_size)).mean().backward()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    demos = collect_demonstrations("Particle2D-v0", episodes=300, seed=0)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.steps} timed steps after 3 warm-up steps")
    print(f"{'preset':<18}{'negatives':>22}{'batch':>7}{'steps/s':>10}{'ms/step':>10}{'net share':>11}")
    for name in args.presets:
        config = PRESETS[name]
        trainer = Trainer(config, demos, run_dir="/nonexistent-unused")
        for _ in range(3):
            trainer.train_step()
        started = time.perf_counter()
        for _ in range(args.steps):
            trainer.train_step()
        step_seconds = (time.perf_counter() - started) / args.steps
        share = net_only_seconds(trainer, args.steps) / args.steps / step_seconds
        negatives = f"none ({config.policy.kind})"
        if isinstance(config.policy, EnergyPolicyConfig):
            sampler = config.policy.sampler
            chains = sampler if isinstance(sampler, LangevinConfig) else getattr(sampler, "langevin", None)
            negatives = f"{sampler.kind} x{sampler.num_samples}" + (f", {chains.iterations} it" if chains else "")
        print(
            f"{name:<18}{negatives:>22}{config.optim.batch_size:>7}{1 / step_seconds:>10.2f}"
            f"{1000 * step_seconds:>10.1f}{share:>11.0%}"
        )


if __name__ == "__main__":
    main()
