"""Does the energy choose better than its own proposal? One trained energy model with a learned proposal,
acting five ways on Push-T's validation seeds (never the test seeds):

- ``as trained``: the run's own inference settings;
- ``lowest energy``: the lowest total energy among the proposal's component means, refined
  (``inference.choose = "energy"``, the earlier ``pusht`` preset's acting);
- ``proposal mode, refined``: the proposal's most probable component's mean, refined on the energy
  (``choose = "proposal_mode"``, the ``pusht`` preset's acting);
- ``proposal mode``: that mean unrefined, the proposal alone (what the ``mdn`` kind does);
- ``most mass``: the component whose samples carry the most importance weight ``exp(-E(y)) / q(y)`` (with
  the proposal as the energy's prior, the head's verdict averaged over each mode), its mean;
- ``head alone``: the energy without the proposal's prior (``energy.proposal_prior`` set to 0), acting as trained.

    python examples/pusht_choice.py runs/pusht_s0 [--episodes 50] [--seed 200000]
"""

from __future__ import annotations

import argparse

import torch

from implicit_policy import ImplicitPolicy
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.models.energy import EnergyWithProposal
from implicit_policy.models.proposal import gaussian_mixture_log_density, mixture_components, sample_gaussian_mixture
from implicit_policy.optimizers.proposal import ProposalConfig


def most_mass(model: EnergyWithProposal, samples: int, seed: int):
    """An act path ``(obs (B, O), noise) -> (B, A)``: the mean of the component with the most importance mass."""
    generator = torch.Generator().manual_seed(seed)

    def act(obs: torch.Tensor, noise: dict) -> torch.Tensor:
        logits, means, stds = model.proposal.mixture(obs)
        batch, components, size = means.shape
        uniform = torch.rand(batch, samples, generator=generator)
        normal = torch.randn(batch, samples, size, generator=generator)
        component = mixture_components(logits, uniform)  # (B, S), the components sample_gaussian_mixture picks
        drawn = sample_gaussian_mixture(logits, means, stds, uniform, normal)
        log_weight = -model(obs, drawn) - gaussian_mixture_log_density(logits, means, stds, drawn)  # (B, S)
        member = torch.nn.functional.one_hot(component, components).float()
        mass = torch.logsumexp(log_weight[..., None] + torch.log(member), dim=1)  # (B, K)
        return means[torch.arange(batch), mass.argmax(-1)]

    return act


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run")
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=200_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = {
        "lowest energy": {"choose": "energy"},
        "proposal mode, refined": {"choose": "proposal_mode"},
        "proposal mode": {"choose": "proposal_mode", "refine_steps": 0},
    }
    recorded = ImplicitPolicy.load(args.run).header.policy.acting
    if not isinstance(recorded, ProposalConfig):
        raise SystemExit(f"{args.run}: acts by {recorded.kind}, not by its proposal")
    for variant in ("as trained", *settings, "most mass", "head alone"):
        inference = recorded.model_copy(update={"num_samples": 0, **settings[variant]}) if variant in settings else None
        policy = ImplicitPolicy.load(args.run, seed=0, inference=inference)
        model = policy.model
        if not isinstance(model, EnergyWithProposal):
            raise SystemExit(f"{args.run}: the energy model has no learned proposal to compare with")
        if variant == "most mass":
            policy.act_path = most_mass(model, 64, 0)
        elif variant == "head alone":
            model.prior_weight = 0.0
        result = evaluate(policy, policy.header.env_id, args.episodes, args.seed)
        print(f"{variant:<22} score {result['mean_max_reward']:.3f}  success {result['success_rate']:.0%}", flush=True)


if __name__ == "__main__":
    main()
