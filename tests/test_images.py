"""Policies that see: image parts from the dataset through training, acting and the env.

A toy task whose answer is visible only in the image (a red square's side decides the action) is learned
from pixels, where a policy given the vector parts alone cannot learn it; the zarr reader reads frames
written with zarr; frames are stored once; a bad frame is refused naming its part; ``PushTPixels-v0`` draws
the recorded states as the demonstrations' frames (with the shared data); the GPU preset trains a few steps.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from implicit_policy import Demonstrations, load_demonstrations, load_policy
from implicit_policy.config import MSEPolicyConfig, NetConfig, OptimConfig, VisionConfig
from implicit_policy.data.demonstrations import load_npz
from implicit_policy.models.normalize import Normalizer
from implicit_policy.runtime.input_spec import InputSpec, ObservationPart
from implicit_policy.training.batches import DemonstrationBatches
from implicit_policy.training.trainer import train
from tiny import tiny_config

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "pusht" / "pusht_cchi_v7_replay.zarr"
SIDE = 16
CAMERA = ObservationPart("cam", (SIDE, SIDE, 3), image=True)
NOISE = ObservationPart("noise", (2,))


def square_frames(sides: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Frames ``(N, 16, 16, 3)`` uint8, grey noise with a red 4 x 4 square in the left (side 0) or right
    (side 1) half, at a random height."""
    frames = rng.integers(0, 60, (len(sides), SIDE, SIDE, 3), dtype=np.uint8)
    for frame, side in zip(frames, sides):
        top, left = rng.integers(0, SIDE - 4), rng.integers(0, SIDE // 2 - 4) + side * SIDE // 2
        frame[top : top + 4, left : left + 4] = (230, 20, 20)
    return frames


def square_task(episodes: int, seed: int) -> Demonstrations:
    """Episodes of 10 steps: the action is -1 where the square is left, +1 where it is right; the vector
    part is noise that says nothing of it."""
    rng = np.random.default_rng(seed)
    total = episodes * 10
    sides = rng.integers(0, 2, total)
    return Demonstrations(
        observations=rng.normal(size=(total, 2)).astype(np.float32),
        actions=(2.0 * sides - 1.0).astype(np.float32)[:, None],
        episode_lengths=np.full(episodes, 10, np.int64),
        episode_seeds=np.arange(episodes, dtype=np.int64),
        episode_successes=np.ones(episodes, bool),
        env_id="",
        seed=seed,
        observation_parts=(CAMERA, NOISE),
        images={"cam": square_frames(sides, rng)},
    )


def _config(**changes):
    settings = dict(
        policy=MSEPolicyConfig(net=NetConfig(hidden_size=64)),
        vision=VisionConfig(channels=8, keypoints=8, crop=0.875),
        optim=OptimConfig(batch_size=32, learning_rate=3e-3),
        steps=300,
        eval_every=0,
        val_episodes=0,
    )
    return tiny_config(**(settings | changes))


def _accuracy(policy, seed: int) -> float:
    rng = np.random.default_rng(seed)
    sides = rng.integers(0, 2, 100)
    obs = {"cam": square_frames(sides, rng), "noise": rng.normal(size=(100, 2)).astype(np.float32)}
    if policy.input_spec.images:
        actions = policy.act(obs)
    else:
        actions = policy.act(obs["noise"])
    return float(np.mean(np.sign(actions[:, 0]) == 2 * sides - 1))


def test_a_task_seen_only_in_the_image_is_learned_from_pixels_and_not_from_the_vectors(tmp_path):
    demos = square_task(40, seed=0)
    train(_config(), demos, tmp_path / "pixels", progress=False)
    seeing = load_policy(tmp_path / "pixels")
    assert _accuracy(seeing, seed=1) >= 0.9
    blind_demos = Demonstrations(**{**demos.__dict__, "observation_parts": (NOISE,), "images": {}})
    train(_config(), blind_demos, tmp_path / "vectors", progress=False)
    assert _accuracy(load_policy(tmp_path / "vectors"), seed=1) <= 0.7


def test_frames_are_stored_once_and_gathered_by_index(tmp_path):
    demos = square_task(3, seed=0)
    normalizer = Normalizer.fit(demos.observations, demos.actions)
    config = _config(n_obs_steps=2)
    batches = DemonstrationBatches(demos, normalizer, config.batch, 2, 4, False, None, torch.device("cpu"))
    assert batches.frames["cam"] is demos.images["cam"]  # no copy, no window per step
    batch = batches.draw(8, torch.Generator().manual_seed(0))
    assert batch.frames["cam"].shape == (8, 2, SIDE, SIDE, 3) and batch.frames["cam"].dtype == torch.uint8
    assert batch.vectors.shape == (8, 2, 2) and batch.positives.shape == (8, 4)


def test_demonstrations_with_images_save_and_load_with_their_digest(tmp_path):
    demos = square_task(2, seed=0)
    loaded = load_npz(demos.save(tmp_path / "d.npz"))
    np.testing.assert_array_equal(loaded.images["cam"], demos.images["cam"])
    assert loaded.observation_parts == demos.observation_parts and loaded.digest() == demos.digest()
    spec = loaded.input_spec(2)
    assert InputSpec.from_json(spec.to_json()) == spec
    assert str(spec) == "cam (16x16x3 uint8 image, stored HWC) + noise (2) -> 770 values, window 2, action 1"


def test_a_bad_frame_or_a_missing_part_is_refused_naming_the_part(tmp_path):
    train(_config(steps=2), square_task(4, seed=0), tmp_path / "run", progress=False)
    policy = load_policy(tmp_path / "run")
    frame, noise = np.zeros((SIDE, SIDE, 3), np.uint8), np.zeros(2, np.float32)
    assert policy.act({"cam": frame, "noise": noise}).shape == (1,)
    assert policy.act({"cam": frame[None].repeat(3, 0), "noise": noise[None].repeat(3, 0)}).shape == (3, 1)
    policy.reset()
    cases = [
        ({"cam": frame[:8], "noise": noise}, "'cam' must have shape (16, 16, 3)"),
        ({"cam": frame.astype(np.float32), "noise": noise}, "'cam' must be uint8 frames"),
        ({"noise": noise}, "lacks the part(s) ['cam']"),
        ({"cam": frame, "noise": np.full(2, np.nan)}, "'noise' contains NaN"),
        (noise, "takes a dict of its observation parts"),
    ]
    for obs, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            policy.act(obs)


def test_zarr_image_keys_are_read_as_uint8_frames_under_the_names_given(tmp_path):
    zarr = pytest.importorskip("zarr")
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (12, 8, 8, 3)).astype(np.float32)  # diffusion_policy stores float 0..255
    root = zarr.open_group(str(tmp_path / "b.zarr"), mode="w")
    data, meta = root.create_group("data"), root.create_group("meta")
    data.create_array("img", data=frames)
    data.create_array("chw", data=frames.transpose(0, 3, 1, 2).astype(np.uint8))
    data.create_array("state", data=rng.normal(size=(12, 5)).astype(np.float32))
    data.create_array("action", data=rng.normal(size=(12, 2)).astype(np.float32))
    meta.create_array("episode_ends", data=np.array([5, 12]))
    demos = load_demonstrations(f"zarr:{tmp_path / 'b.zarr'}", ["img", "agent_pos=state[:2]", "chw"])
    np.testing.assert_array_equal(demos.images["img"], frames.astype(np.uint8))
    np.testing.assert_array_equal(demos.images["chw"], frames.astype(np.uint8))
    assert demos.observations.shape == (12, 2) and [p.name for p in demos.observation_parts] == [
        "img",
        "agent_pos",
        "chw",
    ]
    assert demos.observation_parts[2].layout == "CHW" and demos.observation_parts[2].shape == (8, 8, 3)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared Push-T demonstrations are not here")
def test_pusht_pixels_draws_recorded_states_as_the_demonstrations_frames():
    """Mean absolute pixel difference (0..255) over 50 recorded states: measured 0.08 (max 0.25); bound 0.5."""
    pytest.importorskip("gym_pusht")
    zarr = pytest.importorskip("zarr")
    import gymnasium as gym

    root = zarr.open_group(str(SHARED), mode="r")
    rows = np.sort(np.random.default_rng(0).choice(root["data/state"].shape[0], 50, replace=False))
    env = gym.make("PushTPixels-v0")
    differences = []
    for row in rows:
        obs, _ = env.reset(options={"pose": root["data/state"][row]})
        assert obs["img"].dtype == np.uint8 and obs["img"].shape == (96, 96, 3)
        differences.append(np.abs(obs["img"].astype(np.float32) - root["data/img"][row]).mean())
    assert np.mean(differences) < 0.5 and np.max(differences) < 1.0, differences


@pytest.mark.parametrize("kind", ["energy", "mse", "mse resized, last frame, group norm"])
def test_onnx_takes_each_part_as_a_named_input_and_acts_as_torch_over_an_episode(tmp_path, kind):
    from implicit_policy import OnnxPolicy, export_argmin

    changes = {"policy": tiny_config().policy} if kind == "energy" else {}
    if kind.endswith("group norm"):
        changes["vision"] = VisionConfig(channels=8, keypoints=8, resize=12, frames=1, norm="group")
    train(_config(steps=4, n_obs_steps=2, horizon=4, n_action_steps=2, **changes), square_task(4, 0), tmp_path / "r")
    policy = load_policy(tmp_path / "r", seed=3)
    robot = OnnxPolicy(export_argmin(policy, tmp_path / "p.onnx"), seed=3)
    spec = robot.input_spec
    assert [(p.name, p.input_shape, p.dtype) for p in spec.observation] == [
        ("cam", (SIDE, SIDE, 3), "uint8"),
        ("noise", (2,), "float32"),
    ]
    names = [i.name for i in robot.session.get_inputs()]
    assert names[:2] == ["cam", "noise"] and robot.session.get_inputs()[0].type == "tensor(uint8)"
    rng = np.random.default_rng(5)
    for _ in range(6):  # an episode: the window and the chunk queue advance alike
        obs = {"cam": square_frames(rng.integers(0, 2, 3), rng), "noise": rng.normal(size=(3, 2)).astype(np.float32)}
        np.testing.assert_allclose(robot.act(obs), policy.act(obs), atol=1e-4)


def _write_mp4(path: Path, frames: np.ndarray, fps: int = 10) -> None:
    """``frames (N, H, W, 3)`` uint8 as an mp4 (MPEG-4 part 2, yuv420p) written with PyAV, as LeRobot's encoder
    writes its video features."""
    av = pytest.importorskip("av")
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        stream.options = {"qscale": "1"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _smooth_frames(count: int, seed: int) -> np.ndarray:
    """Frames ``(count, 32, 32, 3)`` uint8 of smooth gradients (lossy video codecs keep them close)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32] / 31.0
    base = [rng.uniform(40, 200, 3) + 50 * np.stack([x, y, x * y], -1) * rng.uniform(-1, 1) for _ in range(count)]
    return np.clip(base, 0, 255).astype(np.uint8)


def write_lerobot_with_cameras(path: Path, version: str, lengths=(6, 8, 5)) -> tuple[str, np.ndarray, np.ndarray]:
    """A LeRobot dataset with an ``image`` feature (PNG in the parquet column, as Hugging Face ``Image`` stores
    it) and a ``video`` feature (mp4: one file per episode in v2.1, one file for all in v3.0, episodes found by
    ``from_timestamp``); the PNG frames and the video frames, back to back."""
    pa = pytest.importorskip("pyarrow")
    parquet = pytest.importorskip("pyarrow.parquet")
    image = pytest.importorskip("PIL.Image")
    import io
    import json

    total = sum(lengths)
    pictures, videos = _smooth_frames(total, 0), _smooth_frames(total, 1)
    features = {
        "observation.state": {"dtype": "float32", "shape": [2]},
        "observation.image": {"dtype": "image", "shape": [32, 32, 3], "names": ["height", "width", "channel"]},
        "observation.images.cam": {"dtype": "video", "shape": [32, 32, 3], "names": ["height", "width", "channels"]},
        "action": {"dtype": "float32", "shape": [2]},
    }
    video_path = (
        "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
        if version == "v3.0"
        else "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
    )
    info = {"codebase_version": version, "fps": 10, "chunks_size": 1000, "features": features, "video_path": video_path}
    (path / "meta").mkdir(parents=True)
    (path / "meta" / "info.json").write_text(json.dumps(info))
    (path / "data" / "chunk-000").mkdir(parents=True)
    start, episodes = 0, []
    for index, rows in enumerate(lengths):
        encoded = []
        for frame in pictures[start : start + rows]:
            buffer = io.BytesIO()
            image.fromarray(frame).save(buffer, format="PNG")
            encoded.append({"bytes": buffer.getvalue(), "path": f"frame_{len(encoded):06d}.png"})
        table = pa.table(
            {
                "observation.state": pa.array(list(np.zeros((rows, 2), np.float32)), type=pa.list_(pa.float32(), 2)),
                "observation.image": pa.array(encoded, type=pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
                "action": pa.array(list(np.ones((rows, 2), np.float32)), type=pa.list_(pa.float32(), 2)),
                "frame_index": pa.array(np.arange(rows)),
                "episode_index": pa.array(np.full(rows, index)),
            }
        )
        name = f"file-{index:03d}.parquet" if version == "v3.0" else f"episode_{index:06d}.parquet"
        parquet.write_table(table, path / "data" / "chunk-000" / name)
        if version != "v3.0":
            _write_mp4(
                path / video_path.format(episode_chunk=0, video_key="observation.images.cam", episode_index=index),
                videos[start : start + rows],
            )
        episodes.append(
            {
                "episode_index": index,
                "videos/observation.images.cam/chunk_index": 0,
                "videos/observation.images.cam/file_index": 0,
                "videos/observation.images.cam/from_timestamp": start / 10,
            }
        )
        start += rows
    if version == "v3.0":
        _write_mp4(path / video_path.format(video_key="observation.images.cam", chunk_index=0, file_index=0), videos)
        (path / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
        parquet.write_table(
            pa.Table.from_pylist(episodes), path / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
        )
    return f"lerobot:{path}", pictures, videos


@pytest.mark.parametrize("version", ["v2.1", "v3.0"])
def test_lerobot_image_and_video_features_are_read_as_frames(tmp_path, version, monkeypatch):
    source, pictures, videos = write_lerobot_with_cameras(tmp_path / "ds", version)
    keys = ["observation.image", "cam=observation.images.cam", "observation.state"]
    demos = load_demonstrations(source, keys)
    np.testing.assert_array_equal(demos.images["observation.image"], pictures)  # PNG: lossless
    error = np.abs(demos.images["cam"].astype(float) - videos).mean()
    assert demos.images["cam"].shape == videos.shape and error < 4.0, error  # mp4: lossy, frame for frame
    assert demos.observations.shape == (19, 2) and demos.episode_lengths.tolist() == [6, 8, 5]
    monkeypatch.setenv("IMPLICIT_POLICY_FRAME_MEMORY", "1000")  # past the limit: decoded straight into a mapped file
    mapped = load_demonstrations(source, keys)
    assert all(isinstance(frames, np.memmap) for frames in mapped.images.values())
    assert mapped.digest() == demos.digest()


def test_an_unreadable_video_is_refused_on_one_line_naming_the_file(tmp_path, capsys):
    from implicit_policy.cli import main

    source, _, _ = write_lerobot_with_cameras(tmp_path / "ds", "v2.1")
    broken = tmp_path / "ds" / "videos" / "chunk-000" / "observation.images.cam" / "episode_000001.mp4"
    broken.write_bytes(b"not a video")
    argv = ["train", "--data", source, "--obs-keys", "observation.images.cam", "--out", str(tmp_path / "r")]
    assert main([*argv, "--steps", "1", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "episode_000001.mp4" in err and "not a readable video" in err, err


def test_frames_past_the_memory_limit_are_memory_mapped_and_train(tmp_path, monkeypatch):
    """A dataset made larger than the set limit (1 kB here) is read a chunk at a time into a memory-mapped
    file that leaves nothing in the cache folder, keeps that form through an episode selection, and trains."""
    zarr = pytest.importorskip("zarr")
    monkeypatch.setenv("IMPLICIT_POLICY_FRAME_MEMORY", "1000")
    monkeypatch.setenv("IMPLICIT_POLICY_CACHE", str(tmp_path / "cache"))
    demos = square_task(6, seed=0)
    root = zarr.open_group(str(tmp_path / "b.zarr"), mode="w")
    data, meta = root.create_group("data"), root.create_group("meta")
    data.create_array("cam", data=demos.images["cam"])
    data.create_array("noise", data=demos.observations)
    data.create_array("action", data=demos.actions)
    meta.create_array("episode_ends", data=np.cumsum(demos.episode_lengths))
    loaded = load_demonstrations(f"zarr:{tmp_path / 'b.zarr'}", ["cam", "noise"])
    assert isinstance(loaded.images["cam"], np.memmap) and loaded.images["cam"].nbytes > 1000
    np.testing.assert_array_equal(loaded.images["cam"], demos.images["cam"])
    assert list((tmp_path / "cache").iterdir()) == []  # mapped and unlinked: nothing left behind
    subset = loaded.episodes(np.array([4, 1]))
    assert isinstance(subset.images["cam"], np.memmap)
    np.testing.assert_array_equal(
        subset.images["cam"], np.concatenate([demos.images["cam"][40:50], demos.images["cam"][10:20]])
    )
    assert train(_config(steps=3), subset, tmp_path / "run", progress=False).steps == 3


def test_collect_keeps_a_dict_envs_frames_as_image_parts(tmp_path):
    pytest.importorskip("gym_pusht")
    from implicit_policy import collect_demonstrations

    demos = collect_demonstrations("PushTPixels-v0", episodes=2, seed=0, controller="random")
    assert [(p.name, p.image) for p in demos.observation_parts] == [("agent_pos", False), ("img", True)]
    assert demos.images["img"].shape == (600, 96, 96, 3) and demos.observations.shape == (600, 2)
    assert load_npz(demos.save(tmp_path / "d.npz")).digest() == demos.digest()


def test_the_encoder_sees_each_steps_vectors_and_the_last_frames_it_is_told():
    from implicit_policy.models.observation_encoder import ObservationEncoder

    frames = torch.randint(0, 256, (3, 2, SIDE, SIDE, 3), dtype=torch.uint8)
    vectors = torch.randn(3, 2, 2)
    every = ObservationEncoder((CAMERA, NOISE), VisionConfig(channels=4, keypoints=2), n_obs_steps=2).eval()
    assert every(vectors, {"cam": frames}).shape == (3, 2 * (2 + 4)) and every.output_size == 12
    last = ObservationEncoder((CAMERA, NOISE), VisionConfig(channels=4, keypoints=2, frames=1), n_obs_steps=2).eval()
    out = last(vectors, {"cam": frames})
    older_changed = frames.clone()
    older_changed[:, 0] = 0
    assert out.shape == (3, 2 * 2 + 4) and torch.equal(out, last(vectors, {"cam": older_changed}))
    assert torch.equal(out[:, :2], vectors[:, 0]) and torch.equal(out[:, 2:4], vectors[:, 1])


def test_a_camera_policy_trains_evaluates_records_and_describes_itself_in_the_pixel_env(tmp_path, capsys):
    """The CLI end to end on PushTPixels-v0 (random-action data: the plumbing, not the score): train with a
    validation, eval with a video, the model card, the search-or-model probe."""
    pytest.importorskip("gym_pusht")
    pytest.importorskip("imageio")
    from implicit_policy import collect_demonstrations
    from implicit_policy.cli import main
    from implicit_policy.policies.hub import model_card

    data = collect_demonstrations("PushTPixels-v0", episodes=2, seed=0, controller="random").save(tmp_path / "d.npz")
    run = tmp_path / "run"
    settings = ["optim.batch_size=8", "eval_episodes=1", "vision.channels=4", "policy.mdn.hidden_size=32"]
    argv = ["train", "--data", str(data), "--preset", "pusht-image-mdn", "--steps", "2", "--out", str(run), "--quiet"]
    assert main([*argv, *[arg for s in settings for arg in ("--set", s)]]) == 0
    video = tmp_path / "v.mp4"
    assert main(["eval", "--policy", str(run), "--episodes", "1", "--seed", "100000", "--video", str(video)]) == 0
    assert "PushTPixels-v0" in capsys.readouterr().out and video.stat().st_size > 0
    card = model_card(load_policy(run).header, run, "you/pusht-image")
    assert "img (96x96x3 uint8 image" in card and "agent_pos (2)" in card
    assert main(["diagnose", "--policy", str(run), "--data", str(data), "--states", "16"]) == 0


def test_robomimic_image_keys_are_read_as_frames(tmp_path, monkeypatch):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8) for n in (5, 7)]
    with h5py.File(tmp_path / "demo.hdf5", "w") as handle:
        for index, episode in enumerate(frames):
            demo = handle.create_group(f"data/demo_{index}")
            demo["actions"] = rng.normal(size=(len(episode), 7)).astype(np.float32)
            demo["obs/agentview_image"] = episode
            demo["obs/robot0_eef_pos"] = rng.normal(size=(len(episode), 3)).astype(np.float32)
    demos = load_demonstrations(f"robomimic:{tmp_path / 'demo.hdf5'}", ["agentview_image", "robot0_eef_pos"])
    np.testing.assert_array_equal(demos.images["agentview_image"], np.concatenate(frames))
    assert demos.observations.shape == (12, 3) and demos.observation_parts[0].image
    assert load_demonstrations(f"robomimic:{tmp_path / 'demo.hdf5'}").observation_parts[0].name == "robot0_eef_pos"
    monkeypatch.setenv("IMPLICIT_POLICY_FRAME_MEMORY", "1000")
    mapped = load_demonstrations(f"robomimic:{tmp_path / 'demo.hdf5'}", ["agentview_image", "robot0_eef_pos"])
    assert isinstance(mapped.images["agentview_image"], np.memmap) and mapped.digest() == demos.digest()


def test_a_rollout_video_insets_what_each_camera_saw_in_the_lower_right_corner():
    from implicit_policy.evaluation.video import _with_cameras

    scene = np.zeros((300, 400, 3), np.uint8)
    left, right = np.full((20, 20, 3), 50, np.uint8), np.full((20, 20, 1), 200, np.uint8)
    framed = _with_cameras(scene.copy(), [left, right])
    scale = 300 // (3 * 20)  # 5: the insets fill up to a third of the frame's height
    assert (framed[-4 - 20 * scale : -4, -4 - 20 * scale : -4] == 200).all()  # the last camera at the corner
    assert (framed[-4 - 20 * scale : -4, -12 - 40 * scale : -12 - 20 * scale] == 50).all()  # the first beside it
    assert (framed[: 300 - 20 * scale - 6] == 0).all() and np.array_equal(_with_cameras(scene.copy(), []), scene)


def test_the_gpu_preset_trains_a_few_steps_from_frames_with_resnet18_and_acts(tmp_path):
    """``pusht-image-gpu`` (ResNet-18 with GroupNorm, both frames at 96 cropped to 84) end to end on a few
    steps of random-action PushTPixels-v0 data on the CPU: the recipe a GPU runs in full."""
    pytest.importorskip("gym_pusht")
    from implicit_policy import collect_demonstrations
    from implicit_policy.cli import main

    demos = collect_demonstrations("PushTPixels-v0", episodes=2, seed=0, controller="random")
    data = demos.save(tmp_path / "d.npz")
    run = tmp_path / "run"
    settings = ["optim.batch_size=4", "eval_episodes=0"]
    argv = ["train", "--data", str(data), "--preset", "pusht-image-gpu", "--steps", "2", "--out", str(run), "--quiet"]
    assert main([*argv, *[arg for s in settings for arg in ("--set", s)]]) == 0
    vision = json.loads((run / "train_config.json").read_text())["vision"]
    assert (vision["encoder"], vision["frames"], vision["resize"]) == ("resnet18", 0, 0)
    policy = load_policy(run / "latest")
    assert sum(w.numel() for w in policy.model.parameters()) > 11_000_000  # ResNet-18's weights are in the model
    obs = {"img": demos.images["img"][:1], "agent_pos": demos.observations[:1, :2]}
    action = policy.act(obs)
    assert action.shape == (1, 2) and np.isfinite(action).all()
