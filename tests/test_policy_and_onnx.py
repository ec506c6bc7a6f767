"""ImplicitPolicy, ExplicitPolicy and the ONNX path: shapes, bad input, save/load, export parity, a torch-free run.

Tests that take ``any_run_dir`` or ``exported`` run for both policy kinds (and for DFO and Langevin inference)."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import waiting
from implicit_policy import ExplicitPolicy, ImplicitPolicy, OnnxPolicy, export_argmin, export_energy, load_policy
from implicit_policy.config import (
    DFOConfig,
    EnergyNetConfig,
    EnergyPolicyConfig,
    LangevinConfig,
    MSEPolicyConfig,
    NetConfig,
    OptimConfig,
)
from implicit_policy.evaluation.evaluate import evaluate
from implicit_policy.policies.checkpoint import CheckpointError
from implicit_policy.policies.export import RawEnergy, argmin_module
from implicit_policy.runtime.control_loop import draw_noise
from implicit_policy.training.trainer import train
from tiny import tiny_config

INFERENCE = {
    "dfo": DFOConfig(num_samples=32, iterations=2),
    "langevin": LangevinConfig(num_samples=8, iterations=4, noise_scale=0.01),
}


def _trained(tmp_path_factory, demos, inference=None, **options) -> Path:
    energy = EnergyPolicyConfig(
        energy=EnergyNetConfig(hidden_size=32),
        sampler=LangevinConfig(num_samples=4, iterations=3),
        inference=inference or EnergyPolicyConfig().inference,
    )
    config = tiny_config(**{"policy": energy, "optim": OptimConfig(batch_size=32), "steps": 30} | options)
    path = tmp_path_factory.mktemp("run")
    train(config, demos, path, progress=False)
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, demos_2d):
    return _trained(tmp_path_factory, demos_2d, inference=INFERENCE["langevin"])


@pytest.fixture(scope="module")
def explicit_run_dir(tmp_path_factory, demos_2d):
    return _trained(tmp_path_factory, demos_2d, policy=MSEPolicyConfig(net=NetConfig(hidden_size=32)))


@pytest.fixture(scope="module", params=["implicit", "explicit"])
def any_run_dir(request, run_dir, explicit_run_dir):
    return run_dir if request.param == "implicit" else explicit_run_dir


@pytest.fixture(scope="module", params=["dfo", "langevin", "explicit"])
def exported(request, run_dir, explicit_run_dir, tmp_path_factory):
    if request.param == "explicit":
        policy = load_policy(explicit_run_dir)
    else:
        policy = ImplicitPolicy.load(run_dir, inference=INFERENCE[request.param])
    path = export_argmin(policy, tmp_path_factory.mktemp("onnx") / "policy.onnx")
    return policy, path


def test_load_policy_gives_the_kind_the_checkpoint_holds(run_dir, explicit_run_dir):
    assert type(load_policy(run_dir)) is ImplicitPolicy
    assert type(load_policy(explicit_run_dir)) is ExplicitPolicy
    assert type(ExplicitPolicy.load(explicit_run_dir)) is ExplicitPolicy
    with pytest.raises(CheckpointError, match="holds an ExplicitPolicy"):
        ImplicitPolicy.load(explicit_run_dir)
    with pytest.raises(ValueError, match="no energy net"):
        export_energy(load_policy(explicit_run_dir), "unused.onnx")


def test_act_shapes_dtype_and_bounds(any_run_dir):
    policy = load_policy(any_run_dir)
    rng = np.random.default_rng(0)
    single = policy.act(rng.uniform(0, 1, 8))
    batch = policy.act(rng.uniform(0, 1, (16, 8)).astype(np.float32))
    assert single.shape == (2,) and batch.shape == (16, 2)
    assert single.dtype == batch.dtype == np.float32
    assert np.all((batch >= 0) & (batch <= 1))


def test_act_is_repeatable_with_a_seed(any_run_dir):
    obs = np.full((3, 8), 0.5, np.float32)
    a = load_policy(any_run_dir, seed=4).act(obs)
    b = load_policy(any_run_dir, seed=4).act(obs)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "bad", [np.zeros(7), np.zeros((2, 9)), np.array(["x"] * 8), np.full(8, np.nan), np.zeros((1, 1, 8))]
)
def test_bad_observations_raise_value_error_naming_shape(exported, bad):
    for policy in (exported[0], OnnxPolicy(exported[1])):
        with pytest.raises(ValueError, match=r"\(8,\)"):
            policy.act(bad)


def test_save_load_round_trip(run_dir, tmp_path):
    policy = ImplicitPolicy.load(run_dir, inference=INFERENCE["dfo"])
    policy.save(tmp_path / "p")
    again = ImplicitPolicy.load(tmp_path / "p")
    obs = np.full((2, 8), 0.3, np.float32)
    assert again.header.policy.inference == INFERENCE["dfo"]
    np.testing.assert_array_equal(
        ImplicitPolicy.load(tmp_path / "p", seed=1).act(obs),
        ImplicitPolicy.load(run_dir, seed=1, inference=INFERENCE["dfo"]).act(obs),
    )


def test_explicit_save_load_round_trip(explicit_run_dir, tmp_path):
    policy = ExplicitPolicy.load(explicit_run_dir)
    policy.save(tmp_path / "p")
    obs = np.random.default_rng(0).uniform(0, 1, (5, 8))
    np.testing.assert_array_equal(load_policy(tmp_path / "p").act(obs), policy.act(obs))


def test_checkpoint_with_wrong_sizes_is_refused(any_run_dir, tmp_path):
    import json
    import shutil

    from implicit_policy.policies.checkpoint import resolve_checkpoint

    shutil.copytree(resolve_checkpoint(any_run_dir), tmp_path / "c")
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    config["obs_size"] = 9
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="changed after it was written"):  # an edited file is refused
        load_policy(tmp_path / "c")
    from implicit_policy.policies.checkpoint import CheckpointHeader

    config["header_sha256"] = CheckpointHeader.model_validate(config).digest()  # a consistent file with wrong sizes
    (tmp_path / "c" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="recorded sizes"):
        load_policy(tmp_path / "c")


def test_explicit_action_gradient_matches_autograd(run_dir):
    energy = ImplicitPolicy.load(run_dir).energy
    obs, actions = torch.randn(4, 8), torch.randn(4, 6, 2, requires_grad=True)
    values, grad = energy.energy_and_action_gradient(obs, actions)
    (expected,) = torch.autograd.grad(energy(obs, actions).sum(), actions)
    torch.testing.assert_close(values, energy(obs, actions))
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)


def test_energy_onnx_matches_torch(run_dir, tmp_path):
    import onnx
    import onnxruntime as ort

    policy = ImplicitPolicy.load(run_dir)
    path = export_energy(policy, tmp_path / "energy.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["energy.onnx"]  # no external .data file
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    assert onnx.load(str(path)).opset_import[0].version >= 18
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for b, m in [(1, 1), (3, 7), (16, 256)]:
        obs = rng.uniform(0, 1, (b, 8)).astype(np.float32)
        actions = rng.uniform(0, 1, (b, m, 2)).astype(np.float32)
        (got,) = session.run(None, {"obs": obs, "actions": actions})
        want = RawEnergy(policy)(torch.from_numpy(obs), torch.from_numpy(actions)).detach().numpy()
        assert got.shape == (b, m) and np.abs(got - want).max() <= 1e-5


def test_argmin_onnx_matches_torch_with_the_same_noise(exported):
    policy, path = exported
    onnx_policy = OnnxPolicy(path)
    module = argmin_module(policy).eval()
    rng = np.random.default_rng(1)
    for b in (1, 2, 16):
        obs = rng.uniform(0, 1, (b, 8)).astype(np.float32)
        noise = draw_noise(policy.noise_inputs(b), rng)
        got = onnx_policy.argmin(obs, noise)
        with torch.no_grad():
            want = module(torch.from_numpy(obs), *map(torch.from_numpy, noise.values())).numpy()
        assert np.abs(got - want).max() <= 1e-5


def test_onnx_policy_runs_where_torch_cannot_be_imported(exported):
    code = f"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, Block())
import numpy as np
from implicit_policy import OnnxPolicy
from implicit_policy.evaluation.evaluate import evaluate
policy = OnnxPolicy({str(exported[1])!r})
assert policy.act(np.full(8, 0.5, np.float32)).shape == (2,)
print(evaluate(policy, "Particle2D-v0", episodes=4, seed=1000)["episodes"], "torch" in sys.modules)
"""
    out = waiting.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "False"]


def test_onnx_and_torch_policies_agree_closed_loop(exported):
    policy, path = exported
    torch_result = evaluate(policy, "Particle2D-v0", episodes=10, seed=1000)
    onnx_result = evaluate(OnnxPolicy(path), "Particle2D-v0", episodes=10, seed=1000)
    assert onnx_result["episodes"] == torch_result["episodes"] == 10
    # the same noise drawn from the same seed: the same actions, so the same episodes
    assert onnx_result["successes"] == torch_result["successes"]
    np.testing.assert_allclose(onnx_result["returns"], torch_result["returns"], atol=1e-6)


def test_damaged_or_tampered_onnx_is_refused(exported, tmp_path):
    path = exported[1]
    data = path.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt|sha256"):
        OnnxPolicy(tmp_path / "cut.onnx")
    import onnx

    model = onnx.load(str(path))
    weights = model.graph.initializer[0]
    array = onnx.numpy_helper.to_array(weights).copy()
    array.flat[0] += 1.0
    weights.CopyFrom(onnx.numpy_helper.from_array(array, weights.name))
    onnx.save(model, str(tmp_path / "tampered.onnx"))
    with pytest.raises(ValueError, match="sha256"):
        OnnxPolicy(tmp_path / "tampered.onnx")
    with pytest.raises(ValueError, match="not found"):
        OnnxPolicy(tmp_path / "missing.onnx")


def test_torch_and_onnx_policies_give_the_same_actions_for_the_same_seed(exported):
    policy, path = exported
    obs = np.random.default_rng(2).uniform(0, 1, (4, 8)).astype(np.float32)
    torch_policy = type(policy)(policy.header, policy.model, seed=9)
    onnx_policy = OnnxPolicy(path, seed=9)
    for _ in range(3):
        np.testing.assert_allclose(torch_policy.act(obs), onnx_policy.act(obs), atol=1e-5)


def test_warm_start_seeds_candidates_near_the_last_action_until_reset(run_dir):
    from implicit_policy.runtime.control_loop import warm_start

    rng = np.random.default_rng(0)
    initial = rng.random((2, 10, 2), dtype=np.float32)
    previous = np.array([[0.5, -0.5], [0.0, 1.0]])
    warm_start(initial, previous, fraction=0.3, spread=0.0, bound=1.1, rng=rng)
    np.testing.assert_allclose((2 * initial[:, :3] - 1) * 1.1, np.repeat(previous[:, None], 3, axis=1), atol=1e-6)

    config = DFOConfig(num_samples=32, iterations=2, warm_start_fraction=0.5, warm_start_spread=0.0)
    policy = ImplicitPolicy.load(run_dir, inference=config, seed=0)
    obs = np.full((1, 8), 0.4, np.float32)
    first = policy.act(obs)
    assert policy._previous is not None
    policy.reset()
    assert policy._previous is None
    cold = ImplicitPolicy.load(run_dir, inference=config, seed=0)
    np.testing.assert_array_equal(cold.act(obs), first)  # the first tick after reset is a cold start


def test_plot_energy_draws_the_landscape_of_a_trained_policy(run_dir, tmp_path, capsys):
    import matplotlib.image

    from implicit_policy.cli import main
    from implicit_policy.diagnostics.landscape import energy_landscape

    landscape = energy_landscape(ImplicitPolicy.load(run_dir), count=2, grid=21)
    assert landscape.energies.shape == (2, 21, 21) and np.isfinite(landscape.energies).all()
    assert np.all((landscape.policy_actions >= 0) & (landscape.policy_actions <= 1))  # argmin marker inside the box
    assert np.all((landscape.demonstrator_actions >= 0) & (landscape.demonstrator_actions <= 1))
    assert (
        main(
            [
                "plot-energy",
                "--policy",
                str(run_dir),
                "--out",
                str(tmp_path / "e.png"),
                "--observations",
                "2",
                "--grid",
                "21",
            ]
        )
        == 0
    )
    assert matplotlib.image.imread(tmp_path / "e.png").shape == (462, 880, 4)  # 2 panels of 4 x 4.2 in at 110 dpi
    assert "wrote" in capsys.readouterr().out
    policy_16d = type("Stub", (), {"action_size": 16})()
    with pytest.raises(ValueError, match="2-D action"):
        energy_landscape(policy_16d)


@pytest.mark.parametrize(
    "bad, message",
    [([[0.1] * 8, [0.2] * 7], "must be an array of shape"), (np.full(8, 1e39), "beyond float32's range")],
)
def test_ragged_and_out_of_range_observations_are_refused(run_dir, bad, message):
    with pytest.raises(ValueError, match=message):
        load_policy(run_dir).act(bad)


@pytest.mark.parametrize("seed", [-1, 1.5, "0"])
def test_bad_seeds_are_refused(run_dir, seed):
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        load_policy(run_dir, seed=seed)
