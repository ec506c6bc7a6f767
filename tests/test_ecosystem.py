"""What users expect around a policy: the Hugging Face Hub (``from_pretrained`` from a local folder and from
an offline Hub cache laid out as huggingface_hub lays it out, a tampered download refused, the model card,
``push_to_hub`` handing huggingface_hub the right folder), rollout videos (``eval --video``), and
experiment tracking (``train --log tensorboard|wandb``). Each part skips cleanly without its extra."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import waiting
from implicit_policy import ImplicitPolicy, OnnxPolicy, load_policy
from implicit_policy.cli import main
from implicit_policy.policies.hub import hub_folder, model_card
from implicit_policy.training.trainer import train
from tiny import tiny_config

REPO = "someone/particle2d-tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def run(tmp_path_factory, demos_2d_module):
    """A trained run folder with an exported argmin and test results, as a user would push it."""
    folder = tmp_path_factory.mktemp("run") / "p2d"
    train(tiny_config(steps=6, eval_every=3, eval_episodes=2), demos_2d_module, folder, progress=False)
    assert main(["export", "--policy", str(folder), "--out", f"{folder}/"]) == 0
    assert (
        main(["eval", "--policy", str(folder), "--episodes", "3", "--json", str(folder / "eval.json"), "--quiet"]) == 0
    )
    return folder


@pytest.fixture(scope="module")
def demos_2d_module():
    from implicit_policy.data.collect import collect_demonstrations

    return collect_demonstrations("Particle2D-v0", 6, 0)


def hub_cache(root: Path, run: Path) -> Path:
    """The run as a Hub repo in a cache laid out as huggingface_hub lays it out: ``models--org--name`` with
    ``refs/main`` naming a commit and ``snapshots/<commit>/`` holding the files (links into ``blobs/``)."""
    pytest.importorskip("huggingface_hub")
    repo = root / f"models--{REPO.replace('/', '--')}"
    staging = hub_folder(load_policy(run), root / "staging", REPO)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot, blobs = repo / "snapshots" / COMMIT, repo / "blobs"
    snapshot.mkdir(parents=True)
    blobs.mkdir()
    for file in staging.iterdir():
        blob = blobs / f"blob-{file.name}"
        blob.write_bytes(file.read_bytes())
        (snapshot / file.name).symlink_to(os.path.relpath(blob, snapshot))
    return root


@pytest.fixture
def offline_cache(tmp_path, run, monkeypatch):
    pytest.importorskip("huggingface_hub")
    constants = pytest.importorskip("huggingface_hub.constants")
    cache = hub_cache(tmp_path / "hub", run)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return cache


def _same_actions(a, b) -> None:
    obs = np.random.default_rng(0).random((5, 8), dtype=np.float32)
    np.testing.assert_array_equal(a.act(obs), b.act(obs))


def test_from_pretrained_reads_a_local_run_folder(run):
    _same_actions(ImplicitPolicy.from_pretrained(run, seed=3), ImplicitPolicy.load(run, seed=3))


def test_from_pretrained_reads_an_offline_hub_cache(offline_cache, run):
    _same_actions(ImplicitPolicy.from_pretrained(REPO, seed=3), ImplicitPolicy.load(run, seed=3))
    _same_actions(load_policy(f"hf:{REPO}", seed=3), ImplicitPolicy.load(run, seed=3))
    _same_actions(OnnxPolicy.from_pretrained(REPO, seed=3), OnnxPolicy(run / "policy.onnx", seed=3))


def test_a_repo_missing_from_the_offline_cache_is_one_clear_error(offline_cache):
    with pytest.raises(ValueError, match="cannot get 'someone/absent' from the Hugging Face Hub or its cache"):
        ImplicitPolicy.from_pretrained("someone/absent")


def test_a_tampered_download_is_refused(offline_cache):
    snapshot = offline_cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / COMMIT
    weights = (snapshot / "model.safetensors").resolve()
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        ImplicitPolicy.from_pretrained(REPO)


def test_the_cli_reads_hf_ids_from_the_cache_in_a_fresh_process(offline_cache, tmp_path):
    report = tmp_path / "eval.json"
    command = [sys.executable, "-m", "implicit_policy.cli", "eval", "--policy", f"hf:{REPO}", "--episodes", "2"]
    done = waiting.run([*command, "--json", str(report), "--quiet"], capture_output=True, text=True, env=os.environ)
    assert done.returncode == 0, done.stderr
    assert json.loads(report.read_text())["env_id"] == "Particle2D-v0"


def test_the_model_card_holds_the_results_and_the_metadata(run):
    policy = load_policy(run)
    card = model_card(policy.header, run, REPO)
    test = json.loads((run / "eval.json").read_text())
    identity = json.loads((run / "run_identity.json").read_text())
    assert card.startswith("---\nlibrary_name: implicit-policy\n") and '- "Particle2D-v0"' in card
    assert identity["demonstrations_sha256"] in card
    assert f"{test['success_rate']:.1%} over 3 episodes" in card
    assert f"{policy.header.validation_success_rate:.1%}" in card
    assert "implicit-policy train --config train_config.json" in card


def test_push_to_hub_uploads_checkpoint_onnx_config_and_card(run, monkeypatch):
    hub = pytest.importorskip("huggingface_hub")
    uploaded = {}

    def upload_folder(self, repo_id, folder_path, **kwargs):
        uploaded.update(repo=repo_id, files=sorted(p.name for p in Path(folder_path).iterdir()), kwargs=kwargs)
        return "https://huggingface.co/someone/particle2d-tiny/commit/abc"

    monkeypatch.setattr(
        hub.HfApi, "create_repo", lambda self, repo_id, private, exist_ok: uploaded.update(private=private)
    )
    monkeypatch.setattr(hub.HfApi, "upload_folder", upload_folder)
    url = load_policy(run).push_to_hub(REPO, private=True)
    assert url.endswith("/commit/abc") and uploaded["repo"] == REPO and uploaded["private"] is True
    for name in ("README.md", "config.json", "model.safetensors", "policy.onnx", "train_config.json", "eval.json"):
        assert name in uploaded["files"]


def test_push_without_a_token_or_network_is_one_line(run, monkeypatch, capsys):
    hub = pytest.importorskip("huggingface_hub")

    def refuse(*args, **kwargs):
        raise hub.errors.LocalTokenNotFoundError("Token is required but no token found.\nRun `hf auth login`.")

    monkeypatch.setattr(hub.HfApi, "create_repo", refuse)
    assert main(["push", "--policy", str(run), "--repo", REPO]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot push to the Hub repo 'someone/particle2d-tiny'" in err


def test_eval_video_writes_a_readable_clip_per_episode(run, tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    clip = tmp_path / "clip.mp4"
    assert main(["eval", "--policy", str(run), "--episodes", "2", "--video", str(clip), "--quiet"]) == 0
    frames = iio.imread(clip, plugin="FFMPEG")
    assert frames.shape == (51, 256, 256, 3)  # the first frame, then one per step of the 50-step episode
    folder = tmp_path / "clips"
    args = ["eval", "--policy", str(run), "--episodes", "2", "--quiet", "--video-dir", str(folder)]
    assert main([*args, "--video-episodes", "2"]) == 0
    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 2 and all(n.startswith(("seed_1000_", "seed_1001_")) for n in names)
    assert all(n.endswith(("_success.mp4", "_failure.mp4")) for n in names)


def test_eval_video_of_fetch_push_renders_offscreen(tmp_path):
    pytest.importorskip("gymnasium_robotics")
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    from implicit_policy.evaluation.video import record_episodes, write_video
    from implicit_policy_envs.fetch_push import FetchPushDemonstrator

    class Pusher:
        def __init__(self) -> None:
            self.script = FetchPushDemonstrator()

        def reset(self) -> None: ...

        def act(self, obs):
            return self.script.act(obs)

    try:
        clips = record_episodes(Pusher(), "FetchPush-v4", 1, 5000)
    except ValueError as err:
        pytest.skip(f"no offscreen rendering here: {err}")
    path = write_video(clips[0].frames, tmp_path / "fetch.mp4", 25)
    assert iio.imread(path, plugin="FFMPEG").shape[0] == 51


def test_train_log_tensorboard_matches_metrics_jsonl(tmp_path, demos_2d_module):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = tmp_path / "run"
    train(
        tiny_config(steps=10, log_every=5, eval_every=5, eval_episodes=2, log=["tensorboard"]), demos_2d_module, folder
    )
    records = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(folder / "tensorboard"))
    events.Reload()
    for name in ("loss", "lr", "success_rate", "positive_energy"):
        logged = [(r["step"], r[name]) for r in records if name in r]
        scalars = [(e.step, e.value) for e in events.Scalars(name)]
        assert [s for s, _ in scalars] == [s for s, _ in logged]
        np.testing.assert_allclose([v for _, v in scalars], [v for _, v in logged], rtol=1e-6)


def test_train_log_wandb_offline_writes_a_run(tmp_path, demos_2d_module, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    folder = tmp_path / "run"
    train(tiny_config(steps=4, log_every=2, log=["wandb"]), demos_2d_module, folder, progress=False)
    runs = list((folder / "wandb").glob("offline-run-*"))
    assert runs and list(runs[0].glob("*.wandb"))
