"""``act`` under random shapes, dtypes and extreme values: a ``ValueError`` or actions inside the box, nothing else."""

import numpy as np
import pytest

from implicit_policy import ImplicitPolicy, OnnxPolicy, export_argmin
from implicit_policy.training.trainer import train
from tiny import tiny_config


@pytest.fixture(scope="module")
def policies(tmp_path_factory, demos_2d):
    run = tmp_path_factory.mktemp("fuzz")
    config = tiny_config(steps=2, n_obs_steps=2)
    train(config, demos_2d, run, progress=False)
    torch_policy = ImplicitPolicy.load(run)
    return [torch_policy, OnnxPolicy(export_argmin(torch_policy, run / "p.onnx"))]


def random_input(rng: np.random.Generator):
    shape = [tuple(rng.integers(0, 4, rng.integers(0, 4))), (8,), (int(rng.integers(1, 5)), 8)][rng.integers(0, 3)]
    dtype = rng.choice(
        [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint8, np.bool_, np.complex64, object]
    )
    scale = 10.0 ** rng.integers(-40, 40)
    values = rng.standard_normal(shape) * scale
    if rng.random() < 0.2 and values.size:
        values.flat[rng.integers(values.size)] = rng.choice([np.nan, np.inf, -np.inf, 1e300])
    with np.errstate(all="ignore"):
        return values.astype(dtype)


def test_act_only_refuses_or_stays_in_the_box(policies):
    rng = np.random.default_rng(0)
    for trial in range(300):
        obs = random_input(rng)
        for policy in policies:
            policy.reset()
            try:
                action = policy.act(obs)
            except ValueError:
                continue
            assert np.all(np.isfinite(action)), (trial, obs)
            assert np.all((action >= policy.action_low) & (action <= policy.action_high)), (trial, obs)
