"""Optimisers over actions are registered with their configs: a new inference method is one new module.

The proof adds a method as a single file to a copy of the package and, in a fresh interpreter, trains with
it selected by ``--set``-style settings, acts with it in torch, exports it and acts with it in onnxruntime.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import implicit_policy
from implicit_policy.config import InferenceConfig, SamplerConfig, TrainConfig
from implicit_policy.runtime import noise_distribution
from implicit_policy.samplers import METHODS, action_optimizer_configs, build_sampler, negative_sampler_configs
from implicit_policy.samplers.base import register_method
from implicit_policy.samplers.langevin import LangevinConfig

NEW_METHOD = '''
"""Best of N uniform candidates: the smallest possible inference method, for the registry test."""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field

from ..frozen_config import FrozenConfig
from ..runtime import NoiseInputs
from .base import box_from_uniform, lowest_energy, register_method


class BestOfUniformConfig(FrozenConfig):
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

SCRIPT = '''
import numpy as np
from implicit_policy import ImplicitPolicy, OnnxPolicy, collect_demonstrations, export_argmin
from implicit_policy.config import TrainConfig
from implicit_policy.presets import preset
from implicit_policy.train import train

config = preset("dfo").with_settings(["steps=3", "eval_episodes=0", "optim.batch_size=16",
                                          "energy.hidden_size=8", "inference.kind=best_of_uniform"])
assert type(config.inference).__name__ == "BestOfUniformConfig", config.inference
demos = collect_demonstrations("Particle2D-v0", episodes=2, seed=0)
train(config, demos, "run", progress=False)
policy = ImplicitPolicy.load("run", seed=3)
obs = np.zeros((2, demos.observation_size), dtype=np.float32)
torch_actions = policy.act(obs)
export_argmin(policy, "policy.onnx")
onnx_actions = OnnxPolicy("policy.onnx", seed=3).act(obs)
np.testing.assert_allclose(onnx_actions, torch_actions, atol=1e-5)
print("OK", onnx_actions.tolist())
'''


def test_the_unions_are_the_registered_methods():
    negatives = {c.model_fields["kind"].default for c in negative_sampler_configs()}
    acting = {c.model_fields["kind"].default for c in action_optimizer_configs()}
    assert negatives == {"uniform", "langevin", "marginal"}
    assert acting == {"dfo", "langevin"}
    assert set(TrainConfig.model_json_schema()["$defs"]) >= {"DFOConfig", "LangevinConfig", "UniformSamplerConfig"}
    assert InferenceConfig is not SamplerConfig


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


def test_a_new_inference_method_is_one_new_module(tmp_path):
    package = tmp_path / "site" / "implicit_policy"
    shutil.copytree(Path(implicit_policy.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "samplers" / "best_of_uniform.py").write_text(NEW_METHOD)
    work = tmp_path / "work"
    work.mkdir()
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], cwd=work, env=env, capture_output=True,
                          text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("OK")
