"""The trainer: determinism, checkpoints, exact resume (also after SIGKILL), divergence, bad input, CLI."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

import implicit_policy.kinds.energy as energy_kind
import waiting
from implicit_policy import Demonstrations
from implicit_policy.cli import main
from implicit_policy.config import (
    AugmentConfig,
    EnergyNetConfig,
    LangevinConfig,
    MarginalSamplerConfig,
    OptimConfig,
    TrainConfig,
    UniformSamplerConfig,
)
from implicit_policy.data.demonstrations import DemonstrationError
from implicit_policy.policies.checkpoint import CheckpointError, read_checkpoint
from implicit_policy.training.trainer import Trainer, TrainingDiverged, train


def test_same_seed_same_first_50_losses(tiny_config, demos_2d, tmp_path):
    config = tiny_config.model_copy(update={"steps": 50, "eval_episodes": 0})
    a = train(config, demos_2d, tmp_path / "a", progress=False).losses
    b = train(config, demos_2d, tmp_path / "b", progress=False).losses
    assert len(a) == 50 and a == b
    c = train(config.model_copy(update={"seed": 1}), demos_2d, tmp_path / "c", progress=False).losses
    assert a != c


def test_run_writes_metrics_checkpoints_and_validation(tiny_config, demos_2d, tmp_path):
    result = train(tiny_config, demos_2d, tmp_path / "run", progress=False)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in records if "loss" in r]
    assert [r["step"] for r in logged] == list(range(5, 41, 5))
    for key in ("loss", "positive_energy", "negative_energy", "negative_distance", "grad_norm", "lr"):
        assert all(np.isfinite(r[key]) for r in logged), key
    assert records[-1]["step"] == 40 and 0.0 <= records[-1]["success_rate"] <= 1.0
    assert result.final_success_rate == records[-1]["success_rate"]
    folder, header, _ = read_checkpoint(tmp_path / "run", latest=True)
    assert folder.name == "step_40" and header.env_id == "Particle2D-v0" and header.obs_size == 8
    assert read_checkpoint(tmp_path / "run" / "latest")[0] == folder  # the pointer file names the newest too
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step_30", "step_40"]
    best, best_header, _ = read_checkpoint(tmp_path / "run")  # a run folder loads its best-validated weights
    assert best.name == "best" and best_header.step == 40
    assert best_header.validation_success_rate == records[-1]["success_rate"]


def test_weight_average_is_what_the_policy_uses(tiny_config, demos_2d, tmp_path):
    config = tiny_config.model_copy(update={"optim": OptimConfig(batch_size=32, ema_decay=0.5), "steps": 1})
    trainer = Trainer(config, demos_2d, tmp_path)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train_step()
    live, average = trainer.model.state_dict(), trainer.policy_model.state_dict()
    for key in before:
        torch.testing.assert_close(average[key], 0.5 * before[key] + 0.5 * live[key])
    assert trainer.policy().energy is trainer.policy_model


def test_best_checkpoint_keeps_the_highest_validation_success(tiny_config, demos_2d, tmp_path):
    trainer = Trainer(tiny_config, demos_2d, tmp_path)
    trainer.step = 10
    trainer.save_best(0.5)
    trainer.step = 20
    trainer.save_best(0.3)
    _, header, _ = read_checkpoint(tmp_path)
    assert (header.step, header.validation_success_rate) == (10, 0.5)


@pytest.mark.parametrize("ema_decay, sampler", [(0.0, "langevin"), (0.9, "langevin"), (0.0, "marginal")])
def test_resume_continues_exactly(tiny_config, demos_2d, tmp_path, ema_decay, sampler):
    update = {"optim": OptimConfig(batch_size=32, ema_decay=ema_decay)}
    if sampler == "marginal":  # the marginal EBM and its Adam state are resumed too
        update["sampler"] = MarginalSamplerConfig(
            energy=EnergyNetConfig(hidden_size=16), langevin=LangevinConfig(rule="correct", num_samples=4, iterations=3)
        )
    tiny_config = tiny_config.model_copy(update=update)
    full = train(tiny_config, demos_2d, tmp_path / "full", progress=False)
    half = tiny_config.model_copy(update={"steps": 20})
    train(half, demos_2d, tmp_path / "split", progress=False)
    resumed = train(tiny_config, demos_2d, tmp_path / "split", resume=True, progress=False)
    assert resumed.losses == full.losses[20:]
    _, _, w_full = read_checkpoint(tmp_path / "full", latest=True)
    _, _, w_split = read_checkpoint(tmp_path / "split", latest=True)
    for key in w_full:
        torch.testing.assert_close(w_full[key], w_split[key], rtol=0, atol=0)

    def loss_records(run):
        records = [json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if k != "seconds"} for r in records if "loss" in r]

    assert loss_records("split") == loss_records("full")
    # the resumed run's clock goes on from the first part's: training time counts both parts
    seconds = [json.loads(line)["seconds"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert seconds == sorted(seconds) and resumed.seconds >= seconds[-1] > 0


def test_time_limit_stops_validates_and_saves_then_resume_goes_on(tiny_config, demos_2d, tmp_path):
    limited = tiny_config.model_copy(update={"time_limit_minutes": 1e-9})  # any step is past it
    result = train(limited, demos_2d, tmp_path / "run", progress=False)
    assert result.steps == 1 and result.final_success_rate is not None
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 1] and "loss" in records[0] and "success_rate" in records[1]
    assert read_checkpoint(tmp_path / "run", latest=True)[1].step == 1
    assert read_checkpoint(tmp_path / "run")[1].step == 1  # validated: best/ holds these weights
    # the limit may change on resume (as steps may): without one the run goes on to its steps
    resumed = train(tiny_config, demos_2d, tmp_path / "run", resume=True, progress=False)
    assert resumed.steps == tiny_config.steps and len(resumed.losses) == tiny_config.steps - 1


def test_refuses_to_overwrite_a_run_without_resume(tiny_config, demos_2d, tmp_path):
    train(tiny_config.model_copy(update={"steps": 10}), demos_2d, tmp_path / "r", progress=False)
    with pytest.raises(ValueError, match="already holds a run"):
        train(tiny_config, demos_2d, tmp_path / "r", progress=False)


def test_sigkill_mid_training_resumes_from_last_checkpoint(demos_2d, tmp_path):
    data = demos_2d.save(tmp_path / "d.npz")
    config = TrainConfig(
        sampler=UniformSamplerConfig(num_samples=16),
        optim=OptimConfig(batch_size=64),
        steps=100_000,
        eval_every=0,
        eval_episodes=0,
        checkpoint_every=20,
        log_every=20,
    )
    config.save(tmp_path / "c.json")
    run = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "implicit_policy.cli",
        "train",
        "--data",
        str(data),
        "--config",
        str(tmp_path / "c.json"),
        "--out",
        str(run),
        "--quiet",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    waiting.wait_for(
        lambda: len(list((run / "checkpoints").glob("step_*"))) >= 2, "two periodic checkpoints", process=proc
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    folder, _, _ = read_checkpoint(run, latest=True)  # whatever survived is a complete, verified checkpoint
    step = int(folder.name.split("_")[1])
    assert step >= 20
    waiting.run(cmd[:-1] + ["--resume", "--steps", str(step + 20), "--quiet"], check=True)
    assert read_checkpoint(run, latest=True)[0].name == f"step_{step + 20}"


def test_ctrl_c_keeps_the_step_and_resume_matches_an_uninterrupted_run(demos_2d, tmp_path):
    """A real SIGINT at step N (before the first periodic checkpoint, in the middle of a logging window):
    one line, exit 130, a checkpoint of step N; ``--resume`` then gives the uninterrupted run's metrics and
    weights exactly."""
    data = demos_2d.save(tmp_path / "d.npz")
    config = TrainConfig(
        energy=EnergyNetConfig(hidden_size=32),
        sampler=UniformSamplerConfig(num_samples=16),
        optim=OptimConfig(batch_size=32),
        steps=100_000,
        eval_every=0,
        eval_episodes=0,
        checkpoint_every=10_000,
        log_every=7,
    )
    config.save(tmp_path / "c.json")
    base = [
        sys.executable,
        "-m",
        "implicit_policy.cli",
        "train",
        "--data",
        str(data),
        "--config",
        str(tmp_path / "c.json"),
        "--quiet",
    ]
    run = tmp_path / "run"
    proc = subprocess.Popen(base + ["--out", str(run)], stderr=subprocess.PIPE, text=True)
    metrics = run / "metrics.jsonl"
    waiting.wait_for(
        lambda: len(metrics.read_text().splitlines() if metrics.exists() else []) >= 3,
        "three metrics records",
        process=proc,
        poll=0.02,
    )
    proc.send_signal(signal.SIGINT)
    _, err = waiting.communicate(proc)
    assert proc.returncode == 130, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "--resume" in err, err
    folder, header, _ = read_checkpoint(run, latest=True)
    step = header.step
    assert 21 <= step < 10_000 and f"interrupted at step {step}" in err and folder.name == f"step_{step}"
    final = step + 3 * 7 - step % 7 + 3  # ends mid-window too
    waiting.run(base + ["--out", str(run), "--resume", "--steps", str(final)], check=True)
    waiting.run(base + ["--out", str(tmp_path / "whole"), "--steps", str(final)], check=True)

    def records(folder):
        return [
            {k: v for k, v in json.loads(line).items() if k != "seconds"}
            for line in (folder / "metrics.jsonl").read_text().splitlines()
        ]

    assert records(run) == records(tmp_path / "whole")
    resumed, whole = read_checkpoint(run, latest=True)[2], read_checkpoint(tmp_path / "whole", latest=True)[2]
    assert all(torch.equal(resumed[k], whole[k]) for k in whole)


def test_nan_loss_stops_with_clear_message_and_keeps_checkpoint(tiny_config, demos_2d, tmp_path, monkeypatch):
    """The loss turns NaN at step 25, after the checkpoints of steps 10 and 20: the run stops naming the kept
    checkpoint, which holds finite weights and resumes."""
    real_loss = energy_kind.total_loss

    def loss_that_diverges(config, model, *args):
        parts = real_loss(config, model, *args)
        calls.append(1)
        return parts | {"loss": parts["loss"] * float("nan")} if len(calls) >= 25 else parts

    calls: list[int] = []
    monkeypatch.setattr(energy_kind, "total_loss", loss_that_diverges)
    with pytest.raises(
        TrainingDiverged, match="loss became nan at step 25; the last good checkpoint, checkpoints/step_20"
    ):
        train(tiny_config, demos_2d, tmp_path / "r", progress=False)
    _, header, weights = read_checkpoint(tmp_path / "r", latest=True)
    assert header.step == 20 and all(torch.isfinite(w).all() for w in weights.values())


def test_nan_loss_before_any_checkpoint_says_none_was_kept(tiny_config, demos_2d, tmp_path):
    config = tiny_config.model_copy(update={"optim": OptimConfig(batch_size=32, learning_rate=1e30), "steps": 200})
    with pytest.raises(TrainingDiverged, match="no checkpoint had been written yet"):
        train(config, demos_2d, tmp_path / "r", progress=False)
    assert not (tmp_path / "r" / "latest").exists()


def test_demonstrations_that_do_not_fit_the_env_are_refused(tiny_config, demos_2d, tmp_path):
    wrong = Demonstrations(**{**demos_2d.__dict__, "env_id": "Particle4D-v0"})
    with pytest.raises(DemonstrationError, match="observation size 8 .* observation size 16"):
        Trainer(tiny_config, wrong, tmp_path)


def test_invalid_config_value_names_the_field(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps({"optim": {"learning_rate": -1}}))
    with pytest.raises(ValueError, match="optim.learning_rate"):
        TrainConfig.load(tmp_path / "c.json")
    (tmp_path / "c.json").write_text(json.dumps({"sampler": {"kind": "langevin", "rule": "wrong"}}))
    with pytest.raises(ValueError, match="sampler: .*rule: Input should be 'ibc' or 'correct'"):
        TrainConfig.load(tmp_path / "c.json")
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=0)


def test_checkpoint_tampering_is_detected(tiny_config, demos_2d, tmp_path):
    train(tiny_config.model_copy(update={"steps": 10}), demos_2d, tmp_path / "r", progress=False)
    folder, _, _ = read_checkpoint(tmp_path / "r", latest=True)
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="sha256"):
        read_checkpoint(tmp_path / "r", latest=True)
    with pytest.raises(CheckpointError, match="not found"):
        read_checkpoint(tmp_path / "nowhere")


def test_cli_train_then_eval_writes_json(tiny_config, demos_2d, tmp_path, capsys):
    data = demos_2d.save(tmp_path / "d.npz")
    tiny_config.save(tmp_path / "c.json")
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--config",
                str(tmp_path / "c.json"),
                "--out",
                str(tmp_path / "run"),
                "--steps",
                "20",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "eval",
                "--policy",
                str(tmp_path / "run"),
                "--episodes",
                "4",
                "--seed",
                "1000",
                "--json",
                str(tmp_path / "out.json"),
                "--quiet",
            ]
        )
        == 0
    )
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["episodes"] == 4 and 0 <= result["success_rate"] <= 1 and "mean_return" in result
    assert "success" in capsys.readouterr().out


def test_cli_reports_divergence_in_one_line(tiny_config, demos_2d, tmp_path, capsys):
    data = demos_2d.save(tmp_path / "d.npz")
    config = tiny_config.model_copy(update={"optim": OptimConfig(batch_size=32, learning_rate=1e30), "steps": 200})
    config.save(tmp_path / "c.json")
    code = main(
        ["train", "--data", str(data), "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "r"), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 1 and len(err.splitlines()) == 1 and "loss became nan" in err


def test_cli_trains_evaluates_and_exports_the_explicit_baseline(demos_2d, tmp_path, capsys):
    from implicit_policy.presets import preset

    data = demos_2d.save(tmp_path / "d.npz")
    config = preset("mse").model_copy(update={"steps": 30, "eval_every": 0, "eval_episodes": 4, "checkpoint_every": 30})
    config.save(tmp_path / "c.json")
    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--config",
                str(tmp_path / "c.json"),
                "--out",
                str(tmp_path / "run"),
                "--quiet",
            ]
        )
        == 0
    )
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all(r["mse"] == r["loss"] and np.isfinite(r["loss"]) for r in records if "loss" in r)
    assert main(["export", "--policy", str(tmp_path / "run"), "--out", str(tmp_path / "p.onnx")]) == 0
    assert "argmin (regression)" in capsys.readouterr().out
    for policy in (str(tmp_path / "run"), str(tmp_path / "p.onnx")):
        assert main(["eval", "--policy", policy, "--episodes", "4", "--json", str(tmp_path / "e.json"), "--quiet"]) == 0
        assert json.loads((tmp_path / "e.json").read_text())["episodes"] == 4


def test_a_policy_kind_is_chosen_by_name_and_keeps_only_its_own_fields():
    with pytest.raises(ValueError, match="no policy kind 'nope' is registered.*energy, mdn, mse"):
        TrainConfig.model_validate({"policy": {"kind": "nope"}})
    with pytest.raises(ValueError, match="sampler"):
        TrainConfig.model_validate({"policy": {"kind": "mse", "sampler": {"kind": "uniform"}}})
    switched = TrainConfig().with_settings(["policy.kind=mse", "policy.net.hidden_size=8"])
    assert switched.policy.kind == "mse" and switched.policy.net.hidden_size == 8
    with pytest.raises(ValueError, match="policy kind 'mse' has no such section"):
        switched.with_settings(["sampler.num_samples=4"])
    # 0.3's paths name the energy model's fields.
    assert TrainConfig().with_settings(["sampler.num_samples=3"]).policy.sampler.num_samples == 3


def test_observation_noise_perturbs_batches_reproducibly(tiny_config, demos_2d, tmp_path):
    quiet = tiny_config.model_copy(update={"steps": 20, "eval_episodes": 0})
    noisy = quiet.updated(augment=AugmentConfig(observation_noise=0.1))
    plain = train(quiet, demos_2d, tmp_path / "plain", progress=False).losses
    a = train(noisy, demos_2d, tmp_path / "a", progress=False).losses
    b = train(noisy, demos_2d, tmp_path / "b", progress=False).losses
    assert a == b and a != plain
    # Noise only on some dimensions: a per-dimension list; a zero list is the same as no noise.
    size = demos_2d.observation_size
    zeros = quiet.updated(augment=AugmentConfig(observation_noise=[0.0] * size))
    assert train(zeros, demos_2d, tmp_path / "zeros", progress=False).losses == plain
    velocity_only = quiet.updated(augment=AugmentConfig(observation_noise=[0.0, 0.0, 0.1, 0.1] + [0.0] * (size - 4)))
    assert train(velocity_only, demos_2d, tmp_path / "v", progress=False).losses not in (plain, a)


def test_observation_noise_is_validated(tiny_config, demos_2d, tmp_path):
    with pytest.raises(ValueError, match="augment.observation_noise"):
        TrainConfig.model_validate({"augment": {"observation_noise": -0.1}})
    with pytest.raises(ValueError, match="augment.observation_noise"):
        TrainConfig.model_validate({"augment": {"observation_noise": [0.1, float("nan")]}})
    wrong_length = tiny_config.updated(augment=AugmentConfig(observation_noise=[0.1, 0.1, 0.1]))
    with pytest.raises(ValueError, match="has 3 values but observations have size 8"):
        Trainer(wrong_length, demos_2d, tmp_path / "run")


def test_gradient_penalty_on_all_actions_and_lr_decay_in_steps(demos_2d, tiny_config, tmp_path):
    from implicit_policy.training.trainer import learning_rate

    config = tiny_config.with_settings(
        [
            "loss.gradient_penalty_weight=1.0",
            "loss.gradient_penalty_actions=all",
            "optim.lr_decay_every_steps=10",
            "optim.lr_decay=0.5",
            "normalizer.observations=standard",
            "steps=20",
        ]
    )
    assert [learning_rate(config, step, 10**6) for step in (0, 9, 10, 25)] == [1e-3, 1e-3, 5e-4, 2.5e-4]
    cosine = config.with_settings(["optim.schedule=cosine"])
    np.testing.assert_allclose([learning_rate(cosine, step, 10**6) for step in (0, 10, 20)], [1e-3, 5e-4, 0.0])
    result = train(config, demos_2d, tmp_path, progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert result.steps == 20 and all(r["gradient_penalty"] >= 0 for r in records if "step" in r and "loss" in r)


def test_standardised_observations_map_mean_and_std_to_the_unit_box(demos_2d):
    from implicit_policy.models.normalize import Normalizer

    norm = Normalizer.fit(demos_2d.observations, demos_2d.actions, observation_scaling="standard")
    scaled = norm.normalize_obs(torch.as_tensor(demos_2d.observations)).numpy()
    assert np.allclose(scaled.mean(0), 0, atol=1e-4) and np.allclose(scaled.std(0), 1, atol=1e-3)


def test_device_is_validated_and_cuda_trains_where_there_is_one(demos_2d, tiny_config, tmp_path):
    from implicit_policy import ImplicitPolicy
    from implicit_policy.models.device import resolve_device

    with pytest.raises(ValueError, match="not a torch device name"):
        resolve_device("bogus")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            train(tiny_config.updated(device="cuda"), demos_2d, tmp_path, progress=False)
        pytest.skip("no CUDA GPU here: the cuda training path runs where one is")
    result = train(tiny_config.updated(device="cuda", steps=20), demos_2d, tmp_path, progress=False)
    assert np.isfinite(result.losses).all()
    policy = ImplicitPolicy.load(tmp_path)  # device-free checkpoint: loads on the CPU
    assert policy.act(demos_2d.observations[0]).shape == (2,)
    assert ImplicitPolicy.load(tmp_path, device="cuda").act(demos_2d.observations[0]).shape == (2,)


def test_every_preset_trains_a_step_and_ibc_reference_holds_ibc_settings(demos_2d, tmp_path):
    from implicit_policy.presets import PRESETS, preset

    reference = preset("ibc-reference")
    assert (reference.n_obs_steps, reference.policy.energy.kind, reference.policy.energy.hidden_size) == (
        2,
        "resnet",
        256,
    )
    policy = reference.policy
    assert (policy.sampler.iterations, policy.sampler.noise_scale, policy.inference.num_samples) == (
        100,
        1.0,
        512,
    )
    assert policy.loss.gradient_penalty_actions == "all" and reference.optim.lr_decay_every_steps == 100
    dp = preset("ibc-pusht")  # Diffusion Policy's IBC baseline on Push-T
    energy, sampler, inference = dp.policy.energy, dp.policy.sampler, dp.policy.inference
    assert (energy.hidden_size, energy.hidden_layers, energy.dropout, energy.proposal) == (1024, 4, 0.1, None)
    assert (sampler.kind, sampler.num_samples) == ("uniform", 1024)
    assert (inference.kind, inference.num_samples, inference.iterations + 1, inference.noise_shrink) == (
        "dfo",
        1024,
        5,
        1,
    )
    assert (dp.n_obs_steps, dp.horizon, dp.optim.learning_rate, dp.optim.schedule, dp.steps) == (
        2,
        1,
        1e-4,
        "cosine",
        222_000,
    )
    for name, config in PRESETS.items():  # each recipe runs end to end on a small budget
        small = config.with_settings(
            ["steps=1", "eval_every=0", "eval_episodes=0", "optim.batch_size=8", "torch_threads=1"]
        )
        assert train(small, demos_2d, tmp_path / name, progress=False).steps == 1, name


def test_cli_set_overrides_any_field_and_refuses_unknown_ones(tiny_config, demos_2d, tmp_path, capsys):
    data = demos_2d.save(tmp_path / "d.npz")
    tiny_config.save(tmp_path / "c.json")
    base = ["train", "--data", str(data), "--config", str(tmp_path / "c.json"), "--quiet"]
    assert (
        main(
            base
            + [
                "--out",
                str(tmp_path / "r"),
                "--set",
                "n_obs_steps=2",
                "--set",
                "steps=5",
                "--set",
                "energy.kind=resnet",
            ]
        )
        == 0
    )
    saved = json.loads((tmp_path / "r" / "train_config.json").read_text())
    assert (saved["n_obs_steps"], saved["steps"], saved["policy"]["energy"]["kind"]) == (2, 5, "resnet")
    capsys.readouterr()
    assert main(base + ["--out", str(tmp_path / "r2"), "--set", "sampler.bogus=1"]) == 2
    assert "no field 'bogus'" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "r3"), "--set", "n_obs_steps=0"]) == 2
    assert "n_obs_steps" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "r4"), "--device", "bogus"]) == 2
    assert "not a torch device name" in capsys.readouterr().err


def test_resume_refuses_another_recipe_other_demonstrations_and_fewer_steps(tiny_config, demos_2d, tmp_path):
    from implicit_policy.data.collect import collect_demonstrations

    train(tiny_config.updated(steps=20), demos_2d, tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"config differs .* in policy\.sampler\.iterations \(3 -> 5\)"):
        train(tiny_config.with_settings(["sampler.iterations=5"]), demos_2d, tmp_path, resume=True, progress=False)
    other = collect_demonstrations("Particle2D-v0", episodes=3, seed=50)
    with pytest.raises(ValueError, match="not the ones .* was trained on"):
        train(tiny_config, other, tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="at step 20, beyond the 10 steps"):
        train(tiny_config.updated(steps=10), demos_2d, tmp_path, resume=True, progress=False)
    assert train(tiny_config.updated(eval_every=0), demos_2d, tmp_path, resume=True, progress=False).steps == 40


def test_a_new_start_clears_temporary_files_a_killed_run_left(tiny_config, demos_2d, tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / ".training_curves.png.abc123.tmp").write_bytes(b"half a png")
    train(tiny_config.updated(steps=5), demos_2d, tmp_path, progress=False)
    assert not list(tmp_path.glob(".*.tmp"))
