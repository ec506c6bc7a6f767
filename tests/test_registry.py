"""Optimisers over actions are registered with their configs, at any time and from any module.

The proof writes a method as a module of the user's own, outside the package, and in a fresh interpreter
imports it after the run config, trains with it selected by ``--set``-style settings, acts with it in
torch, exports it and acts with it in onnxruntime.
"""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

import waiting
from implicit_policy.config import TrainConfig
from implicit_policy.optimizers import METHODS, build_sampler
from implicit_policy.optimizers.base import register_method
from implicit_policy.optimizers.langevin import LangevinConfig
from implicit_policy.runtime.control_loop import noise_distribution

NEW_METHOD = '''
"""Best of N uniform candidates: the smallest possible inference method, for the registry test."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from implicit_policy.optimizers.base import MethodConfig, box_from_uniform, lowest_energy, register_method
from implicit_policy.runtime.control_loop import NoiseInputs


class BestOfUniformConfig(MethodConfig):
    kind: Literal["best_of_uniform"] = "best_of_uniform"
    num_samples: int = Field(64, ge=1)

    def noise_inputs(self, batch: int, action_size: int) -> NoiseInputs:
        return {"candidates_uniform": ((batch, self.num_samples, action_size), 0, "uniform")}


@register_method(BestOfUniformConfig, negatives=False, acts=True)
class BestOfUniform:
    def __init__(self, config: BestOfUniformConfig, action_size: int, bound: float) -> None:
        self.config, self.bound = config, bound

    @torch.no_grad()
    def infer(self, energy, obs, noise, gradient=None):
        candidates = box_from_uniform(noise["candidates_uniform"], self.bound)
        return lowest_energy(candidates, energy(obs, candidates))
'''

SCRIPT = """
import numpy as np
from implicit_policy import ImplicitPolicy, OnnxPolicy, collect_demonstrations, export_argmin
from implicit_policy.config import TrainConfig
from implicit_policy.presets import preset
from implicit_policy.training.trainer import train

import best_of_uniform  # the user's module, imported after the run config was built

config = preset("dfo").with_settings(["steps=3", "eval_episodes=0", "optim.batch_size=16",
                                          "energy.hidden_size=8", "inference.kind=best_of_uniform"])
assert type(config.policy.inference).__name__ == "BestOfUniformConfig", config.policy.inference
demos = collect_demonstrations("Particle2D-v0", episodes=2, seed=0)
train(config, demos, "run", progress=False)
policy = ImplicitPolicy.load("run", seed=3)
obs = np.zeros((2, demos.observation_size), dtype=np.float32)
torch_actions = policy.act(obs)
export_argmin(policy, "policy.onnx")
onnx_actions = OnnxPolicy("policy.onnx", seed=3).act(obs)
np.testing.assert_allclose(onnx_actions, torch_actions, atol=1e-5)
print("OK", onnx_actions.tolist())
"""


def test_the_run_config_accepts_the_registered_methods_by_role():
    assert {k for k, m in METHODS.items() if m.negatives} >= {"uniform", "langevin", "marginal"}
    assert {k for k, m in METHODS.items() if m.acts} >= {"dfo", "langevin"}
    assert TrainConfig().with_settings(["inference.kind=dfo"]).policy.inference.kind == "dfo"
    with pytest.raises(ValueError, match="cannot act; these can: .*dfo"):
        TrainConfig().with_settings(["inference.kind=uniform"])
    with pytest.raises(ValueError, match="no optimiser over actions of kind 'mine'"):
        TrainConfig().with_settings(["sampler.kind=mine"])


@pytest.mark.parametrize("kind", sorted(k for k, m in METHODS.items() if m.acts))
def test_each_acting_method_names_its_noise_by_distribution(kind):
    config = METHODS[kind].config()
    for name, (shape, batch_axis, distribution) in config.noise_inputs(5, 3).items():
        assert noise_distribution(name) == distribution
        assert shape[batch_axis] == 5


def test_build_sampler_builds_the_registered_class():
    sampler = build_sampler(LangevinConfig(), action_size=2, bound=1.1)
    assert type(sampler) is METHODS["langevin"].build


def test_a_kind_registered_twice_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        register_method(LangevinConfig, negatives=True, acts=True)(type("Impostor", (), {}))


def test_a_method_from_a_module_outside_the_package_trains_acts_and_exports(tmp_path):
    (tmp_path / "best_of_uniform.py").write_text(NEW_METHOD)
    work = tmp_path / "work"
    work.mkdir()
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = waiting.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT)], cwd=work, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("OK")
