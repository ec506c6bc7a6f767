"""The learned proposal, its negatives and ranking NCE, proposal-and-refine inference, and decision points:
each equation against a hand-computed case, the mixture's density against Monte Carlo, and the new
presets end to end (train, act, export, onnxruntime)."""

import math

import numpy as np
import pytest
import torch

from implicit_policy import ExplicitPolicy, ImplicitPolicy, OnnxPolicy, export_argmin
from implicit_policy.models.energy import EnergyNetConfig
from implicit_policy.models.losses import ranking_nce_loss
from implicit_policy.models.proposal import (
    MDNConfig,
    component_mean_error,
    gaussian_mixture_log_density,
    sample_gaussian_mixture,
)
from implicit_policy.optimizers.proposal import ProposalConfig, proposal_mixture_log_density
from implicit_policy.presets import preset
from implicit_policy.training.batches import decision_points, drop_history
from implicit_policy.training.trainer import train
from tiny import tiny_config


def test_mixture_log_density_on_a_hand_case():
    # two components in 1-D, weights 1/4 and 3/4, N(0, 1) and N(2, 0.5^2), evaluated at y = 1
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])
    means = torch.tensor([[[0.0], [2.0]]])
    stds = torch.tensor([[[1.0], [0.5]]])
    by_hand = 0.25 * math.exp(-0.5) / math.sqrt(2 * math.pi) + 0.75 * math.exp(-2.0) / (0.5 * math.sqrt(2 * math.pi))
    got = gaussian_mixture_log_density(logits, means, stds, torch.tensor([[[1.0]]]))
    assert got.item() == pytest.approx(math.log(by_hand), rel=1e-6)


def test_mixture_samples_pick_components_by_their_weights():
    logits = torch.log(torch.tensor([[0.2, 0.8]]))
    means, stds = torch.tensor([[[-5.0], [5.0]]]), torch.full((1, 2, 1), 1e-3)
    uniform = torch.tensor([[0.1, 0.19, 0.21, 0.9]])
    samples = sample_gaussian_mixture(logits, means, stds, uniform, torch.zeros(1, 4, 1))
    assert samples.squeeze().tolist() == [-5.0, -5.0, 5.0, 5.0]


def test_component_mean_error_on_a_hand_case():
    # the same mixture at y = 1: responsibilities proportional to the two weighted densities, errors 1 and 1
    logits = torch.tensor([[math.log(1.0), math.log(3.0)]])
    means, stds = torch.tensor([[[0.0], [2.0]]]), torch.tensor([[[1.0], [0.5]]])
    assert component_mean_error(logits, means, stds, torch.tensor([[1.0]])).item() == pytest.approx(1.0)
    # at y = 0.5 the first component explains it more: r1 = w1 N(0.5; 0, 1) / sum
    first, second = 0.25 * math.exp(-0.125), 0.75 * math.exp(-4.5) / 0.5
    by_hand = (first * 0.25 + second * 2.25) / (first + second)
    assert component_mean_error(logits, means, stds, torch.tensor([[0.5]])).item() == pytest.approx(by_hand, rel=1e-5)


def test_nearest_assignment_moves_only_the_nearest_mean():
    # y = 0.5 is nearer the first mean (error 0.25) even though the wide second component could claim it
    means = torch.tensor([[[0.0], [2.0]]], requires_grad=True)
    stds, logits = torch.tensor([[[0.1], [5.0]]]), torch.zeros(1, 2)
    error = component_mean_error(logits, means, stds, torch.tensor([[0.5]]), assignment="nearest")
    assert error.item() == pytest.approx(0.25)
    error.backward()
    assert means.grad[0, 0, 0] != 0 and means.grad[0, 1, 0] == 0


def test_component_mean_error_moves_only_the_means():
    means = torch.tensor([[[0.0], [2.0]]], requires_grad=True)
    stds = torch.tensor([[[1.0], [0.5]]], requires_grad=True)
    logits = torch.zeros(1, 2, requires_grad=True)
    component_mean_error(logits, means, stds, torch.tensor([[1.0]])).backward()
    assert means.grad.abs().sum() > 0
    for held in (stds, logits):  # the responsibilities are held fixed: no gradient reaches the weights or widths
        assert held.grad is None or held.grad.abs().sum() == 0


def test_ranking_nce_logits_on_a_hand_case():
    positive, negative = torch.tensor([1.0]), torch.tensor([[2.0, 0.5]])
    log_q_pos, log_q_neg = torch.tensor([-1.0]), torch.tensor([[0.0, -2.0]])
    logits = [-1.0 + 1.0, -2.0 - 0.0, -0.5 + 2.0]  # -E - log q, the positive's included
    by_hand = -logits[0] + math.log(sum(math.exp(v) for v in logits))
    assert ranking_nce_loss(positive, negative, log_q_pos, log_q_neg).item() == pytest.approx(by_hand, rel=1e-6)


def test_the_negatives_mixture_density_integrates_to_one():
    """Monte Carlo over the box [-3, 3]^2 (the Gaussians' mass outside it is negligible)."""
    config = ProposalConfig(proposal_samples=3, local_scales=[0.05, 0.3], local_samples=2, uniform_samples=4)
    bound, half = 1.1, 3.0
    generator = torch.Generator().manual_seed(0)
    points = (torch.rand(1, 400_000, 2, generator=generator) * 2 - 1) * half
    positive = torch.tensor([[0.3, -0.4]])
    learned = gaussian_mixture_log_density(
        torch.zeros(1, 2), torch.tensor([[[0.5, 0.5], [-0.5, 0.0]]]), torch.full((1, 2, 2), 0.4), points
    )
    density = proposal_mixture_log_density(learned, points, positive, config, bound).exp()
    assert density.mean().item() * (2 * half) ** 2 == pytest.approx(1.0, abs=0.02)


def test_decision_points_are_episode_starts_and_action_jumps():
    lengths = np.array([4, 3])
    actions = np.array([[0.0], [0.0], [0.9], [0.9], [0.5], [0.55], [0.55]])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    assert decision_points(starts, actions, threshold=0.2).tolist() == [0, 2, 4]


def test_history_dropout_shows_a_window_as_an_episode_start():
    windows = torch.tensor([[3, 4, 5], [7, 7, 8]])  # transition indices, 2 rows of 3, oldest first
    generator = torch.Generator().manual_seed(0)
    assert torch.equal(drop_history(windows, 1.0, generator), torch.tensor([[5, 5, 5], [8, 8, 8]]))
    assert torch.equal(drop_history(windows, 0.0, generator), windows)


PROPOSAL = EnergyNetConfig(hidden_size=16, proposal=MDNConfig(components=3, hidden_size=16))


@pytest.mark.parametrize("correction", [True, False])
def test_proposal_recipe_trains_acts_and_exports_with_onnx_parity(demos_2d, tmp_path, correction):
    config = tiny_config(
        n_obs_steps=2,
        steps=6,
        energy=PROPOSAL,
        sampler=ProposalConfig(proposal_samples=4, local_samples=1, uniform_samples=2),
        inference=ProposalConfig(num_samples=6),
        loss={"kind": "info_nce", "proposal_correction": correction},
        batch={"decision_fraction": 0.25, "history_dropout": 0.2},
    )
    result = train(config, demos_2d, tmp_path / "run", progress=False)
    assert all(np.isfinite(result.losses))
    policy = ImplicitPolicy.load(tmp_path / "run", seed=7)
    obs = np.random.default_rng(0).uniform(0, 1, (5, 8)).astype(np.float32)
    actions = policy.act(obs)
    onnx = OnnxPolicy(export_argmin(policy, tmp_path / "p.onnx"), seed=7)
    np.testing.assert_allclose(onnx.act(obs), actions, atol=1e-5)


def test_the_proposal_method_needs_an_energy_model_with_a_proposal(demos_2d, tmp_path):
    config = tiny_config(sampler=ProposalConfig(proposal_samples=2))
    with pytest.raises(ValueError, match="set energy.proposal"):
        train(config, demos_2d, tmp_path / "run", progress=False)


@pytest.mark.parametrize("name", ["mdn", "mdn-arm", "proposal", "proposal-arm"])
def test_new_presets_train_act_and_export(demos_2d, tmp_path, name):
    config = preset(name).updated(steps=4, eval_every=0, eval_episodes=2, checkpoint_every=4)
    train(config, demos_2d, tmp_path / "run", progress=False)
    policy = ExplicitPolicy.load(tmp_path / "run") if name.startswith("mdn") else ImplicitPolicy.load(tmp_path / "run")
    obs = np.full((2, 8), 0.5, np.float32)
    np.testing.assert_allclose(
        OnnxPolicy(export_argmin(policy, tmp_path / "p.onnx")).act(obs), policy.act(obs), atol=1e-5
    )


def test_search_or_model_probe_reports_energies_and_decision_points(demos_2d, tmp_path, capsys):
    from implicit_policy.cli import main

    train(tiny_config(n_obs_steps=2, steps=6), demos_2d, tmp_path / "run", progress=False)
    demos_2d.save(tmp_path / "d.npz")
    code = main(
        [
            "diagnose",
            "--policy",
            str(tmp_path / "run"),
            "--data",
            str(tmp_path / "d.npz"),
            "--states",
            "40",
            "--json",
            str(tmp_path / "probe.json"),
        ]
    )
    assert code == 0
    import json

    rows = json.loads((tmp_path / "probe.json").read_text())["rows"]
    assert {r["search"] for r in rows} == {"policy's inference", "long search"}
    assert {r["states_in"] for r in rows} == {"all", "decision points", "elsewhere"}
    assert all(0 <= r["search_failure"] <= 1 and r["median_distance"] >= 0 for r in rows)
    assert "search failure" in capsys.readouterr().out


def test_mean_negatives_are_the_proposals_component_means():
    from implicit_policy.models.energy import build_energy_net
    from implicit_policy.optimizers.proposal import ProposalOptimizer

    net = build_energy_net(3, 4, EnergyNetConfig(hidden_size=8, proposal=MDNConfig(components=3, hidden_size=8)))
    config = ProposalConfig(proposal_samples=2, local_samples=1, local_scales=[0.1], uniform_samples=1)
    obs, positives = torch.randn(5, 3), torch.rand(5, 4) - 0.5
    plain = ProposalOptimizer(config, 4, 1.1).sample_with_density(net, obs, positives, torch.Generator())[0]
    sampler = ProposalOptimizer(config.model_copy(update={"mean_negatives": True}), 4, 1.1)
    negatives = sampler.sample_with_density(net, obs, positives, torch.Generator())[0]
    assert plain.shape == (5, 4, 4) and negatives.shape == (5, 7, 4)
    _, means, _ = net.proposal.mixture(obs)
    torch.testing.assert_close(negatives[:, 2:5], means.clamp(-1.1, 1.1).detach())


def test_choosing_the_proposal_mode_refines_the_most_probable_components_mean():
    from implicit_policy.models.energy import build_energy_net
    from implicit_policy.optimizers.langevin import autograd_gradient
    from implicit_policy.optimizers.proposal import ProposalOptimizer

    torch.manual_seed(0)
    net = build_energy_net(3, 4, EnergyNetConfig(hidden_size=8, proposal=MDNConfig(components=3, hidden_size=8)))
    obs = torch.randn(5, 3)
    mode = net.proposal(obs).clamp(-1.1, 1.1)  # the most probable component's mean, what the mdn kind acts
    unrefined = ProposalOptimizer(ProposalConfig(num_samples=0, refine_steps=0, choose="proposal_mode"), 4, 1.1)
    torch.testing.assert_close(unrefined.infer(net, obs, {}), mode)
    config = ProposalConfig(num_samples=0, refine_steps=3, choose="proposal_mode")
    refined = ProposalOptimizer(config, 4, 1.1).infer(net, obs, {}, autograd_gradient(net))
    moved = (refined - mode).norm(dim=-1)  # three normalised steps, each at most 0.05 long
    assert (moved > 0).all() and (moved <= 0.15 + 1e-6).all()
    with pytest.raises(ValueError, match="set num_samples=0"):
        ProposalConfig(num_samples=4, choose="proposal_mode")


def test_eval_acts_with_changed_inference_settings_and_refuses_bad_ones(demos_2d, tmp_path, capsys):
    from implicit_policy.cli import _load_any_policy, main

    config = tiny_config(steps=4, energy=PROPOSAL, sampler=ProposalConfig(), inference=ProposalConfig(num_samples=0))
    train(config, demos_2d, tmp_path / "run", progress=False)
    run, settings = str(tmp_path / "run"), ["inference.choose=proposal_mode", "policy.inference.refine_steps=0"]
    policy = _load_any_policy(run, "cpu", 0, 1, settings)
    assert (policy.header.policy.inference.choose, policy.header.policy.inference.refine_steps) == ("proposal_mode", 0)
    obs = np.full((3, 8), 0.5, np.float32)  # unrefined, the mode is what the proposal alone gives
    with torch.no_grad():
        mode = policy.torch_normalizer.denormalize_actions(
            policy.model.proposal(policy.normalize_window(torch.tensor(obs)))
        )
    np.testing.assert_allclose(policy.act(obs), np.clip(mode.numpy(), policy.action_low, policy.action_high), atol=1e-5)
    args = ["eval", "--policy", run, "--episodes", "2", "--quiet", "--json", str(tmp_path / "e.json")]
    assert main([*args, "--set", settings[0], "--set", settings[1]]) == 0
    for bad, message in [
        ("sampler.iterations=3", "eval sets the policy's inference fields"),
        ("inference.no_such=1", "FIELD one of"),
        ("inference.num_samples=4", "set num_samples=0"),
    ]:
        assert main([*args, "--set", "inference.choose=proposal_mode", "--set", bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err


def test_an_encoder_with_a_light_head_has_the_autograd_action_gradient_and_exports(demos_2d, tmp_path):
    from implicit_policy.models.energy import build_energy_net

    net = build_energy_net(10, 6, EnergyNetConfig(hidden_size=16, head_size=8)).eval()
    obs, actions = torch.randn(3, 10), torch.randn(3, 5, 6, requires_grad=True)
    energies, gradient = net.energy_and_action_gradient(obs, actions)
    (expected,) = torch.autograd.grad(net(obs, actions).sum(), actions)
    torch.testing.assert_close(gradient, expected)
    torch.testing.assert_close(energies, net(obs, actions))
    config = tiny_config().with_settings(["energy.head_size=8", "inference.kind=langevin"])
    train(config, demos_2d, tmp_path / "run", progress=False)
    policy = ImplicitPolicy.load(tmp_path / "run", seed=2)
    onnx_policy = OnnxPolicy(export_argmin(policy, tmp_path / "p.onnx"), seed=2)
    obs_np = np.full((2, 8), 0.4, np.float32)
    np.testing.assert_allclose(onnx_policy.act(obs_np), policy.act(obs_np), atol=1e-5)


@pytest.mark.parametrize("head_on_proposal", [False, True])
def test_the_proposal_as_a_prior_is_a_fixed_residual_with_its_explicit_gradient(head_on_proposal):
    from implicit_policy.models.energy import build_energy_net

    config = EnergyNetConfig(
        hidden_size=16, head_size=8, proposal=MDNConfig(components=3, hidden_size=8), head_on_proposal=head_on_proposal
    )
    torch.manual_seed(0)
    plain = build_energy_net(5, 4, config).eval()
    torch.manual_seed(0)
    with_prior = build_energy_net(5, 4, config.model_copy(update={"proposal_prior": 0.5})).eval()
    obs, actions = torch.randn(3, 5), torch.randn(3, 6, 4, requires_grad=True)
    log_q = with_prior.proposal.log_density(obs, actions)
    torch.testing.assert_close(with_prior(obs, actions), plain(obs, actions) - 0.5 * log_q)
    energies, gradient = with_prior.energy_and_action_gradient(obs, actions)
    (expected,) = torch.autograd.grad(with_prior(obs, actions).sum(), actions)
    torch.testing.assert_close(gradient, expected)
    torch.testing.assert_close(energies, with_prior(obs, actions))
    with_prior(obs, actions.detach()).sum().backward()  # the contrastive loss leaves the mixture to its likelihood
    assert with_prior.proposal.head.weight.grad is None
    trunk_trained = with_prior.proposal.trunk[0].weight.grad is not None
    assert trunk_trained == head_on_proposal  # a head on the proposal's features trains the shared trunk
    with pytest.raises(ValueError, match="need a learned proposal"):
        build_energy_net(5, 4, EnergyNetConfig(proposal_prior=1.0))


def test_a_training_step_runs_the_proposals_trunk_once_with_the_same_loss_and_gradients():
    """The objective shares one trunk pass among negatives, likelihood and energies; sharing changes no number."""
    from implicit_policy.kinds.energy import EnergyPolicyConfig
    from implicit_policy.models.energy import build_energy_net
    from implicit_policy.models.losses import LossConfig

    energy = EnergyNetConfig(
        head_size=8, proposal=MDNConfig(components=3, hidden_size=16), head_on_proposal=True, proposal_prior=1.0
    )
    sampler = ProposalConfig(proposal_samples=4, local_samples=1, local_scales=[0.1], uniform_samples=2)
    kind = EnergyPolicyConfig(
        energy=energy, sampler=sampler, inference=sampler, loss=LossConfig(proposal_mean_weight=1)
    )
    torch.manual_seed(0)
    net = build_energy_net(5, 4, energy)
    obs, positives = torch.randn(6, 5), torch.rand(6, 4) - 0.5
    calls = []
    net.proposal.trunk.register_forward_hook(lambda *_: calls.append(1))
    objective = kind.objective(net, 4, 1.1, torch.device("cpu"))
    shared, _ = objective.loss(net, obs, positives, torch.Generator().manual_seed(1))
    shared["loss"].backward()
    assert len(calls) == 1
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    separate, _ = objective._loss(net, obs, positives, torch.Generator().manual_seed(1), None)  # one pass per use
    separate["loss"].backward()
    assert len(calls) == 4
    torch.testing.assert_close(shared["loss"], separate["loss"])
    for shared_grad, p in zip(grads, net.parameters()):
        torch.testing.assert_close(shared_grad, p.grad)


def test_negatives_without_their_density_are_the_same_draws():
    from implicit_policy.models.energy import build_energy_net
    from implicit_policy.optimizers.proposal import ProposalOptimizer

    net = build_energy_net(3, 4, EnergyNetConfig(hidden_size=8, proposal=MDNConfig(components=3, hidden_size=8)))
    sampler = ProposalOptimizer(ProposalConfig(mean_negatives=True), 4, 1.1)
    obs, positives = torch.randn(5, 3), torch.rand(5, 4) - 0.5
    with_density = sampler.sample_with_density(net, obs, positives, torch.Generator().manual_seed(2))[0]
    torch.testing.assert_close(
        sampler.negatives_around(net, obs, positives, torch.Generator().manual_seed(2)), with_density
    )


def test_a_detached_head_leaves_the_trunk_to_the_proposals_likelihood():
    """``head_detached``: the energies' gradient reaches the head alone; without it, the trunk too."""
    from implicit_policy.models.energy import build_energy_net

    for detached in (False, True):
        config = EnergyNetConfig(
            head_size=8,
            proposal=MDNConfig(components=3, hidden_size=16),
            head_on_proposal=True,
            proposal_prior=1.0,
            head_detached=detached,
        )
        torch.manual_seed(0)
        net = build_energy_net(5, 4, config)
        net(torch.randn(6, 5), torch.rand(6, 3, 4)).sum().backward()
        trunk = [p.grad for p in net.proposal.trunk.parameters()]
        assert all(g is None or not g.any() for g in trunk) == detached
        assert all(p.grad is not None and p.grad.any() for p in net.energy.parameters() if p.dim() > 1)
