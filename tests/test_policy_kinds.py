"""Policy kinds are registered types: a kind from a module outside the package trains, acts, exports and
loads through the command line with no edit to the package; 0.3's run folders and ONNX files still load,
verify, act as they did and resume."""

from __future__ import annotations

import ast
import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import waiting
from implicit_policy import OnnxPolicy, load_policy
from implicit_policy.cli import main
from implicit_policy.config import TrainConfig, migrate_0_3
from implicit_policy.kinds import POLICY_KINDS
from implicit_policy.presets import PRESETS

FIXTURES = Path(__file__).parent / "fixtures" / "v0_3"
TRAINER = Path(__file__).parents[1] / "src" / "implicit_policy" / "training" / "trainer.py"

LINEAR_KIND = '''
"""A linear policy trained by absolute error: the smallest policy kind, for the registry test."""

from typing import Literal

from torch import nn

from implicit_policy.kinds import PolicyConfig, StatelessObjective, register_policy_kind


class LinearObjective(StatelessObjective):
    def loss(self, model, obs, positives, generator):
        error = (model(obs) - positives).abs().mean()
        return {"l1": error, "loss": error}, {}


@register_policy_kind
class LinearConfig(PolicyConfig):
    kind: Literal["linear"] = "linear"

    def build_model(self, obs_size, action_size):
        return nn.Linear(obs_size, action_size)

    def objective(self, model, action_size, bound, device):
        return LinearObjective()

    def actor(self, model, action_size, bound):
        return lambda obs, noise: model(obs).clamp(-bound, bound)
'''


def test_a_kind_from_an_installed_module_trains_acts_exports_and_loads_through_the_cli(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "linear_kind.py").write_text(LINEAR_KIND)
    dist = site / "linear_kind-0.1.dist-info"  # what pip writes for a package declaring the entry point
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: linear-kind\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[implicit_policy.policy_kinds]\nlinear = linear_kind\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    demos, run, onnx = str(FIXTURES / "d.npz"), str(tmp_path / "run"), str(tmp_path / "p.onnx")
    for argv in (
        ["train", "--data", demos, "--preset", "mse", "--set", "policy.kind=linear", "--steps", "30"]
        + ["--set", "eval_episodes=0", "--out", run, "--quiet"],
        ["eval", "--policy", run, "--episodes", "2", "--json", str(tmp_path / "e.json"), "--quiet"],
        ["export", "--policy", run, "--out", onnx],
    ):
        cli = [sys.executable, "-m", "implicit_policy.cli", *argv]
        out = waiting.run(cli, capture_output=True, text=True, env=env, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "e.json").read_text())["episodes"] == 2
    check = f"""
import numpy as np
from implicit_policy import ExplicitPolicy, OnnxPolicy, load_policy
policy = load_policy({run!r})
assert type(policy) is ExplicitPolicy and policy.header.policy.kind == "linear", policy.header.policy
obs = np.random.default_rng(0).uniform(0, 1, (3, 8)).astype(np.float32)
np.testing.assert_allclose(OnnxPolicy({onnx!r}).act(obs), policy.act(obs), atol=1e-5)
print("ok")
"""
    out = waiting.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "ok", out.stderr
    assert "linear" not in POLICY_KINDS  # this process never imported the user's module


def test_the_trainer_talks_to_the_kind_protocol_only():
    names = {node.id for node in ast.walk(ast.parse(TRAINER.read_text())) if isinstance(node, ast.Name)}
    names |= {node.attr for node in ast.walk(ast.parse(TRAINER.read_text())) if isinstance(node, ast.Attribute)}
    assert not names & {"explicit", "EnergyPolicyConfig", "MSEPolicyConfig", "MDNPolicyConfig", "sampler"}


@pytest.mark.parametrize("name", ["energy_run", "mse_run", "mdn_run", "energy.onnx", "mse.onnx"])
def test_what_0_3_wrote_loads_verifies_and_acts_as_it_did(name):
    expected = json.loads((FIXTURES / "expected_actions.json").read_text())
    obs = np.asarray(expected["obs"], np.float32)
    path = FIXTURES / name
    policy = OnnxPolicy(path, seed=3) if name.endswith(".onnx") else load_policy(path, seed=3)
    policy.reset()
    np.testing.assert_allclose(policy.act(obs), np.asarray(expected[name]), atol=1e-6)
    assert policy.input_spec is None  # 0.3 recorded none


@pytest.mark.parametrize("name", ["energy_run", "mse_run", "energy.onnx", "mse.onnx"])
def test_what_0_4_wrote_loads_and_acts_as_it_did_over_three_ticks(name):
    """0.4's chunk and history policies on named parts (``tests/fixtures/v0_4/make_fixtures.py``), after images."""
    folder = FIXTURES.parent / "v0_4"
    expected = json.loads((folder / "expected_actions.json").read_text())
    policy = OnnxPolicy(folder / name, seed=3) if name.endswith(".onnx") else load_policy(folder / name, seed=3)
    policy.reset()
    for tick, actions in zip(expected["obs"], expected[name]):
        np.testing.assert_allclose(policy.act(np.asarray(tick, np.float32)), np.asarray(actions), atol=1e-6)
    assert (
        str(policy.input_spec)
        == "keypoint (3x2) + state[0:2] (5) -> 8 values, window 2, action 2, decides 4 actions, executes 2"
    )


def test_a_0_3_run_resumes(tmp_path):
    run = tmp_path / "energy_run"
    shutil.copytree(FIXTURES / "energy_run", run)
    settings = json.loads((run / "train_config.json").read_text())
    assert "policy" not in settings and "sampler" in settings  # the 0.3 layout
    config = TrainConfig.model_validate(settings).updated(steps=6)
    (tmp_path / "config.json").write_text(config.model_dump_json())
    argv = ["train", "--data", str(FIXTURES / "d.npz"), "--config", str(tmp_path / "config.json")]
    assert main([*argv, "--out", str(run), "--resume", "--quiet"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert records[-1]["step"] == 6 and load_policy(run).header.step == 6


def test_0_3_configs_migrate_to_the_kinds_they_described():
    for name in ("mse", "mdn", "mdn-arm", "proposal"):
        legacy = PRESETS[name].model_dump(mode="json")
        policy = legacy.pop("policy")
        kind = policy.pop("kind")
        if kind == "mse":
            legacy |= {"energy": policy["net"], "loss": {"kind": "mse"}, "inference": {"kind": "regression"}}
        elif kind == "mdn":
            legacy |= {"energy": {"proposal": policy["mdn"]}, "inference": {"kind": "regression"}}
            legacy["loss"] = {"kind": "mdn", "proposal_mean_weight": policy["mean_weight"]}
        else:
            legacy |= policy
        assert TrainConfig.model_validate(migrate_0_3(legacy)) == PRESETS[name], name


def test_legacy_settings_paths_reach_the_kinds_fields():
    config = PRESETS["mdn"].with_settings(["energy.proposal.components=2", "loss.proposal_mean_weight=5"])
    assert config.policy.mdn.components == 2 and config.policy.mean_weight == 5
    assert PRESETS["mse"].with_settings(["energy.hidden_size=7"]).policy.net.hidden_size == 7


def test_the_user_module_text_is_what_the_docs_show():
    docs = (Path(__file__).parents[1] / "docs" / "training.md").read_text()
    assert textwrap.dedent(LINEAR_KIND).strip().splitlines()[-1].strip() in docs
