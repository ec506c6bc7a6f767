"""The Marginal Action Sampler: it trains its own EBM over actions and hands its samples out as negatives."""

import math

import torch

from implicit_policy.config import (
    EnergyNetConfig,
    LangevinConfig,
    MarginalLossConfig,
    MarginalSamplerConfig,
    TrainConfig,
)
from implicit_policy.optimizers import LearnedSampler, MarginalActionSampler, build_sampler
from implicit_policy.presets import preset
from implicit_policy.training.trainer import Trainer

BOUND = 1.1


def _sampler(rule="correct", samples=8, **loss):
    config = MarginalSamplerConfig(
        langevin=LangevinConfig(rule=rule, num_samples=samples, iterations=10), loss=MarginalLossConfig(**loss)
    )
    return build_sampler(config, action_size=2, bound=BOUND)


def test_samples_have_the_negatives_shape_and_stay_in_the_box():
    torch.manual_seed(0)
    sampler = _sampler(samples=16)
    assert isinstance(sampler, MarginalActionSampler) and isinstance(sampler, LearnedSampler)
    obs = torch.randn(5, 8)
    negatives = sampler.sample(lambda o, y: (y**2).sum(-1), obs, torch.Generator().manual_seed(0))
    assert negatives.shape == (5, 16, 2) and not negatives.requires_grad
    assert negatives.abs().max() <= BOUND


def test_marginal_samples_move_toward_the_demonstrated_actions():
    """Toy data: actions clustered at (0.6, -0.4). The marginal EBM's chains start uniform (mean ~0) and,
    as it learns, end near the cluster."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    target = torch.tensor([0.6, -0.4])
    sampler = _sampler(samples=32)
    obs = torch.zeros(64, 3)

    def distance_of_sample_mean() -> float:
        return (sampler.sample(None, obs, generator).reshape(-1, 2).mean(0) - target).norm().item()

    before = distance_of_sample_mean()
    for _ in range(200):
        sampler.sample(None, obs, generator)
        metrics = sampler.update(target + 0.05 * torch.randn(64, 2, generator=generator))
        assert all(math.isfinite(v) for v in metrics.values())
    after = distance_of_sample_mean()
    assert before > 0.5 and after < 0.15, (before, after)


def test_trainer_trains_the_marginal_alongside_the_energy_net(tiny_config, demos_2d, tmp_path):
    config = tiny_config.updated(sampler=MarginalSamplerConfig(energy=EnergyNetConfig(hidden_size=16)), steps=5)
    trainer = Trainer(config, demos_2d, tmp_path)
    marginal_before = {k: v.clone() for k, v in trainer.objective.sampler.energy.state_dict().items()}
    metrics = trainer.train_step()
    assert {"marginal_loss", "marginal_positive_energy", "marginal_negative_energy"} <= metrics.keys()
    after = trainer.objective.sampler.energy.state_dict()
    changed = {k for k, v in marginal_before.items() if not torch.equal(v, after[k])}
    assert changed == {k for k in after if k != "layers.2.bias"}  # the MCMC loss is blind to a constant shift
    assert trainer.objective.sampler.energy.config.hidden_size == 16


def test_the_papers_four_trials_are_four_configs():
    trials = {
        name: preset(name).policy.sampler for name in ("ibc-langevin", "ibc-mas", "correct-mas", "correct-mas-maxent")
    }
    assert trials["ibc-langevin"].kind == "langevin" and trials["ibc-langevin"].rule == "ibc"
    assert trials["ibc-mas"].kind == "marginal" and trials["ibc-mas"].langevin.rule == "ibc"
    assert trials["correct-mas"].langevin.rule == "correct" and trials["correct-mas"].loss.max_entropy_weight == 0
    maxent = trials["correct-mas-maxent"]
    assert (
        maxent.langevin.rule == "correct" and maxent.loss.max_entropy_weight > 0 and maxent.loss.positive_l2_weight > 0
    )
    assert all(t.energy.hidden_size == 64 for t in list(trials.values())[1:])
    round_trip = TrainConfig.model_validate_json(preset("correct-mas-maxent").model_dump_json())
    assert round_trip == preset("correct-mas-maxent")
