"""The paper's equations on hand-computed cases: losses, Langevin rules, schedule, clipping."""

import math

import numpy as np
import pytest
import torch

from implicit_policy.config import EnergyNetConfig, LangevinConfig, StepSchedule
from implicit_policy.models.energy import EnergyNet
from implicit_policy.models.losses import (
    gradient_penalty,
    info_nce_loss,
    max_entropy_regularizer,
    mcmc_loss,
    positive_energy_l2,
)
from implicit_policy.models.normalize import Normalizer
from implicit_policy.optimizers.langevin import (
    correct_langevin_update,
    ibc_langevin_update,
    langevin_move,
    polynomial_step_size,
)


def test_info_nce_hand_computed():
    loss = info_nce_loss(torch.tensor([0.0]), torch.tensor([[1.0, 2.0]]))
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-1) + math.exp(-2)))


def test_info_nce_averages_over_batch():
    pos, neg = torch.tensor([0.0, 3.0]), torch.tensor([[1.0, 2.0], [3.0, 3.0]])
    expected = (math.log(1 + math.exp(-1) + math.exp(-2)) + math.log(3)) / 2
    assert info_nce_loss(pos, neg).item() == pytest.approx(expected)


def test_mcmc_loss_hand_computed():
    pos, neg = torch.tensor([1.0, 2.0]), torch.tensor([[0.0, 2.0], [1.0, 1.0]])
    assert mcmc_loss(pos, neg).item() == pytest.approx(((1 - 1) + (2 - 1)) / 2)


def test_max_entropy_is_half_the_negative_energy_variance():
    neg = torch.tensor([[0.0, 2.0], [1.0, 4.0]])
    # appendix A: 1/2 mean(E^2) - 1/2 mean(E)^2 per row: (2 - 1)/1 = 1 -> 0.5; (8.5 - 6.25) -> 1.125
    assert max_entropy_regularizer(neg).item() == pytest.approx((0.5 + 1.125) / 2)
    assert positive_energy_l2(torch.tensor([1.0, -3.0])).item() == pytest.approx(5.0)


def test_ibc_langevin_rule_one_step():
    y, grad, noise = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0])
    # y - lam/2 * grad + lam * sigma * w = 1 - 0.25 * 2 + 0.5 * 0.1 * 1
    assert ibc_langevin_update(y, grad, 0.5, noise, 0.1).item() == pytest.approx(0.55)


def test_correct_langevin_rule_one_step():
    y, grad, noise = torch.tensor([1.0]), torch.tensor([2.0]), torch.tensor([1.0])
    # y - tau * grad + sqrt(2 tau) * w = 1 - 0.125 * 2 + 0.5 * 1
    assert correct_langevin_update(y, grad, 0.125, noise).item() == pytest.approx(1.25)


def _gaussian_chain_samples(rule: str, step: float) -> torch.Tensor:
    """Last 100 of 400 iterations of 2000 chains on E(y) = (y - 1)^2 / 2 (mean 1, variance 1), no clipping."""
    from implicit_policy.optimizers.langevin import langevin_samples, run_langevin

    generator = torch.Generator().manual_seed(0)
    config = LangevinConfig(rule=rule, noise_scale=1.0, delta_clip=1e9)
    gradient = lambda obs, y: y - 1.0  # noqa: E731
    y, obs = torch.zeros(1, 2000, 1), torch.zeros(1, 0)
    noise = torch.randn(400, 1, 2000, 1, generator=generator)
    y = run_langevin(gradient, obs, y, noise[:300], [step] * 300, config, math.inf)
    return langevin_samples(gradient, obs, y, noise[300:], [step] * 100, config, math.inf).flatten()


def test_correct_langevin_samples_the_gaussian_it_is_given():
    samples = _gaussian_chain_samples("correct", 0.05)
    assert abs(samples.mean().item() - 1.0) < 0.05  # within 0.05 standard deviations
    assert samples.var().item() == pytest.approx(1.0, rel=0.1)


def test_ibc_langevin_shrinks_the_variance_by_about_the_step_size():
    """IBC's noise lam * w has variance lam^2 where Langevin needs lam: the variance comes out ~lam times too small."""
    samples = _gaussian_chain_samples("ibc", 0.1)
    assert abs(samples.mean().item() - 1.0) < 0.05
    assert samples.var().item() == pytest.approx(0.1 / (1 - 0.1 / 4), rel=0.1)


def test_polynomial_schedule():
    s = StepSchedule(start=1.0, end=0.001, power=2.0)
    assert polynomial_step_size(0, 3, s) == pytest.approx(1.0)
    assert polynomial_step_size(1, 3, s) == pytest.approx(0.999 * 0.25 + 0.001)
    assert polynomial_step_size(2, 3, s) == pytest.approx(0.001)
    assert polynomial_step_size(0, 1, s) == pytest.approx(1.0)


def test_langevin_step_clips_the_move_and_the_box():
    config = LangevinConfig(noise_scale=0.0, delta_clip=0.25)
    y, grad = torch.tensor([[[0.0, -0.9]]]), torch.full((1, 1, 2), 100.0)  # pushes every coordinate down
    out = langevin_move(y, grad, 1.0, torch.zeros_like(y), config, bound=1.1)
    # move limited to 25 % of the range [-1, 1] = 0.5, then the box [-1.1, 1.1]
    torch.testing.assert_close(out, torch.tensor([[[-0.5, -1.1]]]))


def test_langevin_move_applies_each_rule_with_fixed_noise():
    y, grad, noise = torch.tensor([[[0.2]]]), torch.tensor([[[0.2]]]), torch.tensor([[[0.7]]])
    got_ibc = langevin_move(y, grad, 0.1, noise, LangevinConfig(rule="ibc", noise_scale=0.1), 1.1)
    got_correct = langevin_move(y, grad, 0.01, noise, LangevinConfig(rule="correct"), 1.1)
    assert got_ibc.item() == pytest.approx(0.2 - 0.05 * 0.2 + 0.1 * 0.1 * 0.7, rel=1e-6)
    assert got_correct.item() == pytest.approx(0.2 - 0.01 * 0.2 + math.sqrt(0.02) * 0.7, rel=1e-6)


def test_gradient_penalty_hand_computed():
    w = torch.tensor([3.0, -0.5])
    energy = lambda obs, y: (y * w).sum(-1)  # noqa: E731  |dE/dy|_inf = 3
    penalty = gradient_penalty(energy, torch.zeros(2, 1), torch.zeros(2, 4, 2), margin=1.0)
    assert penalty.item() == pytest.approx(4.0)
    assert gradient_penalty(energy, torch.zeros(2, 1), torch.zeros(2, 4, 2), margin=5.0).item() == 0.0


def test_energy_net_is_an_mlp_over_the_concatenation():
    net = EnergyNet(3, 2, EnergyNetConfig(hidden_size=16))
    obs, actions = torch.randn(4, 3), torch.randn(4, 5, 2)
    out = net(obs, actions)
    assert out.shape == (4, 5)
    x = torch.cat([obs.unsqueeze(1).expand(-1, 5, -1), actions], dim=-1)
    for layer in net.layers[:-1]:
        x = torch.relu(layer(x))
    np_ref = net.layers[-1](x).squeeze(-1)
    torch.testing.assert_close(out, np_ref, rtol=1e-5, atol=1e-6)


def test_energy_net_seed_paper_init_and_options():
    torch.manual_seed(0)
    net = EnergyNet(8, 2)
    assert [layer.out_features for layer in net.layers] == [256, 256, 1]
    weights = torch.cat([p.flatten() for p in net.parameters()])
    assert weights.std().item() == pytest.approx(0.05, rel=0.05)
    sn = EnergyNet(8, 2, EnergyNetConfig(hidden_size=8, hidden_layers=3, spectral_norm=True, dropout=0.1))
    assert sn(torch.randn(2, 8), torch.randn(2, 3, 2)).shape == (2, 3)


def test_normalizer_maps_demo_range_to_unit_box():
    obs = torch.tensor([[0.0, 5.0], [2.0, 5.0]])
    act = torch.tensor([[0.2], [0.6]])
    norm = Normalizer.fit(obs.numpy(), act.numpy())
    assert norm.normalize_obs(obs).tolist() == [[-1.0, 0.0], [1.0, 0.0]]  # constant column -> 0
    torch.testing.assert_close(norm.denormalize_actions(norm.normalize_actions(act)), act)
    assert norm.action_bound == pytest.approx(1.1)


def test_systematic_resampling_keeps_candidates_in_proportion():
    from implicit_policy.optimizers.dfo import resample_by_energy

    actions = torch.tensor([[[0.0], [1.0], [2.0]]])
    probs = torch.tensor([[0.5, 0.25, 0.25]])
    # positions (i + 0.5) / 4 = 0.125, 0.375, 0.625, 0.875 against cdf 0.5, 0.75, 1.0 -> 0, 0, 1, 2
    picked = resample_by_energy(
        torch.cat([actions, actions[:, :1]], dim=1),
        -torch.log(torch.cat([probs, torch.zeros(1, 1)], dim=1)),
        torch.tensor([0.5]),
    )
    assert picked.squeeze(-1).tolist() == [[0.0, 0.0, 1.0, 2.0]]
    rng = torch.Generator().manual_seed(0)
    energies = torch.randn(3, 1000, generator=rng)
    counts = torch.stack(
        [
            torch.bincount(row, minlength=1000)
            for row in resample_by_energy(
                torch.arange(1000.0).expand(3, -1).unsqueeze(-1), energies, torch.rand(3, generator=rng)
            )
            .squeeze(-1)
            .long()
        ]
    )
    expected = 1000 * torch.softmax(-energies, dim=1)
    assert ((counts - expected).abs() <= 1.0 + 1e-4).all()  # systematic: every count within 1 of N * p


def test_gradient_penalty_over_all_actions_includes_the_positive():
    from implicit_policy.config import LossConfig
    from implicit_policy.models.losses import total_loss

    energy = lambda obs, y: 3 * (y**2).sum(-1)  # noqa: E731  dE/dy = 6y: 0 at the negatives, 6 at the positive
    positives, negatives = torch.ones(2, 2), torch.zeros(2, 4, 2)
    e_pos, e_neg = energy(None, positives.unsqueeze(1)).squeeze(1), energy(None, negatives)
    only_negatives = LossConfig(gradient_penalty_weight=1.0)
    every_action = LossConfig(gradient_penalty_weight=1.0, gradient_penalty_actions="all")
    assert (
        total_loss(only_negatives, energy, None, e_pos, e_neg, negatives, positives)["gradient_penalty"].item() == 0.0
    )
    penalty = total_loss(every_action, energy, None, e_pos, e_neg, negatives, positives)["gradient_penalty"]
    assert penalty.item() == pytest.approx((6 - 1) ** 2 / 5)  # one of five actions per row is penalised


def test_numpy_and_torch_normalisers_agree():
    """``runtime.normalize_actions`` and ``action_bound`` (numpy, for OnnxPolicy) are ``Normalizer``'s maps."""
    from implicit_policy.runtime.control_loop import action_bound, normalize_actions

    rng = np.random.default_rng(0)
    obs, act = rng.normal(size=(50, 3)).astype(np.float32), rng.uniform(-2, 5, (50, 2)).astype(np.float32)
    act[:, 1] = 0.7  # a constant dimension takes the unit-range path in both
    norm = Normalizer.fit(obs, act, margin=0.1)
    np.testing.assert_allclose(
        normalize_actions(norm.state(), act), norm.normalize_actions(torch.as_tensor(act)).numpy(), rtol=1e-6, atol=1e-6
    )
    assert action_bound(norm.state()) == pytest.approx(norm.action_bound) == pytest.approx(1.2)


def test_dfo_is_refused_as_training_negatives():
    from implicit_policy.config import TrainConfig

    with pytest.raises(ValueError, match="(?s)(?=.*uniform)(?=.*langevin)(?=.*marginal)"):
        TrainConfig.model_validate({"sampler": {"kind": "dfo"}})


def test_langevin_negatives_can_include_uniform_ones():
    from implicit_policy.optimizers import LangevinSampler

    sampler = LangevinSampler(LangevinConfig(num_samples=3, iterations=2, uniform_samples=5), action_size=2, bound=1.1)
    energy = lambda obs, y: (y**2).sum(-1)  # noqa: E731
    negatives = sampler.sample(energy, torch.zeros(4, 1), torch.Generator().manual_seed(0))
    assert negatives.shape == (4, 8, 2) and negatives.abs().max() <= 1.1
