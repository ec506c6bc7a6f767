"""Seed paper Fig. 1 / appendix B: does Langevin MCMC sample the distribution it is given?

Runs the package's own Langevin chains (``run_langevin`` and ``langevin_samples`` of
``implicit_policy.optimizers.langevin``, with both update rules) on a known 2-D Gaussian energy ``E(y) = |y - mu|^2 / (2 s^2)``: 4000 iterations at a constant step
size, the last 1000 kept. The correct rule (eq. 8) reproduces the mean and variance; IBC's rule (eq. 6) keeps
the mean but its noise ``lam * w`` has variance ``lam^2`` where Langevin needs ``lam`` (``N(0, lam^2)``
mistaken for ``N(0, lam)``), so its variance comes out about ``lam * sigma^2`` times too small.

The picture shows one chain per setting, as the paper's does; the table pools ``--chains`` independent
chains so that its estimates are tight. Writes ``langevin_gaussian.{png,json,csv}`` into ``--out``.

    python examples/langevin_gaussian.py --out results/langevin_gaussian
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from tqdm.auto import tqdm

from implicit_policy.atomic import atomic_write_csv, atomic_write_text
from implicit_policy.config import LangevinConfig
from implicit_policy.diagnostics.plots import pyplot, save_figure
from implicit_policy.optimizers.langevin import langevin_samples, run_langevin

MEAN = torch.tensor([1.0, -0.5])
STD = 1.0


def gaussian_energy_gradient(obs: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``dE/dy`` of ``E(y) = |y - mu|^2 / (2 s^2)``; ``obs`` is unused (an unconditional energy)."""
    return (y - MEAN) / STD**2


def stationary_variance(rule: str, step: float, sigma: float) -> float:
    """Exact stationary variance of the discretised chain on this Gaussian (an AR(1) process
    ``y' - mu = a (y - mu) + b w``: ``b^2 / (1 - a^2)``)."""
    if rule == "ibc":
        a, b = 1 - 0.5 * step / STD**2, step * sigma
    else:
        a, b = 1 - step / STD**2, math.sqrt(2 * step)
    return b**2 / (1 - a**2)


def run_chains(
    rule: str, step: float, chains: int, iterations: int, keep: int, sigma: float, generator: torch.Generator
) -> torch.Tensor:
    """The last ``keep`` samples of ``chains`` chains from the origin: ``(keep, chains, 2)``."""
    config = LangevinConfig(rule=rule, noise_scale=sigma, delta_clip=1e9)  # no clipping: plain Langevin
    y = torch.zeros(1, chains, 2)
    obs = torch.zeros(1, 0)
    noise = torch.randn(iterations, 1, chains, 2, generator=generator)
    burn_in = iterations - keep
    y = run_langevin(gaussian_energy_gradient, obs, y, noise[:burn_in], [step] * burn_in, config, math.inf)
    return langevin_samples(gaussian_energy_gradient, obs, y, noise[burn_in:], [step] * keep, config, math.inf)[:, 0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="results/langevin_gaussian")
    parser.add_argument(
        "--steps", type=float, nargs="+", default=[0.01, 0.05, 0.1, 0.5], help="step sizes (lam or tau)"
    )
    parser.add_argument(
        "--sigma", type=float, default=1.0, help="noise scale of the IBC rule (the paper's Fig. 1 uses 1)"
    )
    parser.add_argument("--iterations", type=int, default=4000)
    parser.add_argument("--keep", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=200, help="independent chains pooled for the table")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(args.seed)

    rows, first_chains = [], {}
    settings = [(rule, step) for rule in ("ibc", "correct") for step in args.steps]
    for rule, step in tqdm(settings, desc="chains"):
        samples = run_chains(rule, step, args.chains, args.iterations, args.keep, args.sigma, generator)
        first_chains[rule, step] = samples[:, 0]
        pooled = samples.reshape(-1, 2)
        variance = pooled.var(dim=0).mean().item()
        rows.append(
            {
                "rule": rule,
                "step": step,
                "mean_x": pooled[:, 0].mean().item(),
                "mean_y": pooled[:, 1].mean().item(),
                "mean_error_in_std": ((pooled.mean(0) - MEAN).norm() / STD).item(),
                "variance": variance,
                "true_variance": STD**2,
                "variance_ratio": variance / STD**2,
                "predicted_ratio": stationary_variance(rule, step, args.sigma) / STD**2,
                "single_chain_variance": samples[:, 0].var(dim=0).mean().item(),
            }
        )

    header = f"{'rule':<8}{'step':>7}{'mean':>18}{'|mean err|/std':>16}{'variance':>10}{'true':>7}{'ratio':>8}{'predicted':>11}"
    print(
        f"true mean ({MEAN[0]:.2f}, {MEAN[1]:.2f}), true variance {STD**2:.2f}; "
        f"{args.chains} chains x last {args.keep} of {args.iterations} iterations"
    )
    print(header)
    for r in rows:
        print(
            f"{r['rule']:<8}{r['step']:>7g}{'(' + format(r['mean_x'], '.3f') + ', ' + format(r['mean_y'], '.3f') + ')':>18}"
            f"{r['mean_error_in_std']:>16.3f}{r['variance']:>10.4f}{r['true_variance']:>7.2f}{r['variance_ratio']:>8.3f}"
            f"{r['predicted_ratio']:>11.3f}"
        )

    atomic_write_text(out / "langevin_gaussian.json", json.dumps({"args": vars(args), "rows": rows}, indent=2))
    atomic_write_csv(out / "langevin_gaussian.csv", rows)
    plot(first_chains, args.steps, out / "langevin_gaussian.png")
    print(f"wrote {out}/langevin_gaussian.{{png,json,csv}}")


def plot(first_chains: dict, steps: list[float], path: Path) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(2, len(steps), figsize=(3.2 * len(steps), 6.4), squeeze=False, sharex=True, sharey=True)
    angle = torch.linspace(0, 2 * math.pi, 200)
    for row, rule in enumerate(("ibc", "correct")):
        for col, step in enumerate(steps):
            ax = axes[row][col]
            samples = first_chains[rule, step]
            ax.scatter(samples[:, 0], samples[:, 1], s=3, alpha=0.5, color="tab:cyan" if rule == "ibc" else "tab:red")
            for radius in (1, 2):  # 1 and 2 standard deviations of the true Gaussian
                ax.plot(MEAN[0] + radius * STD * angle.cos(), MEAN[1] + radius * STD * angle.sin(), "k--", lw=0.8)
            ax.set_title(f"{'IBC (eq. 6)' if rule == 'ibc' else 'correct (eq. 8)'}, step {step:g}", fontsize=9)
            ax.set_aspect("equal")
    fig.suptitle("Langevin samples of N(mu, I): last 1000 of 4000 iterations, one chain; dashed: 1 and 2 std")
    fig.tight_layout()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
