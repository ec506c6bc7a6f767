"""What a Push-T camera policy's encoder knows about the block: a probe from its features to the block's pose.

The block's pose is what the state policies are given and the camera policies must see. Each frame's
spatial-softmax keypoints (the camera encoder of ``--policy``, centre crop, as when acting) are regressed,
by ridge regression on the keypoints and their squares, onto the recorded block position (pixels of the
512 x 512 workspace) and angle (as 100 sin, 100 cos), fitted on frames of the 90 training episodes and
scored on frames of the unseen ones: the median and 90th-percentile errors say how well the block can be
read from what the policy sees. The keypoints' spread over frames (their standard deviation, in units of
the frame's half-width) says whether they move with the image at all.

    python benchmarks/pusht_vision_probe.py --policy runs/pusht_image_s0 [--data PATH] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from implicit_policy import load_policy
from implicit_policy.atomic import atomic_write_text
from implicit_policy.data.selection import select_episodes
from implicit_policy.extras import require

DEFAULT_DATA = "../shared/data/pusht/pusht_cchi_v7_replay.zarr"


def frame_rows(starts: np.ndarray, ends: np.ndarray, episodes: np.ndarray, count: int, rng) -> np.ndarray:
    """``count`` frame indices drawn without replacement from ``episodes``, sorted."""
    rows = np.concatenate([np.arange(starts[e], ends[e]) for e in episodes])
    return np.sort(rng.choice(rows, min(count, len(rows)), replace=False))


def keypoints(camera: torch.nn.Module, frames: np.ndarray) -> np.ndarray:
    """Features ``(N, F)`` of frames ``(N, H, W, C)`` (float 0..255 as stored) by one camera encoder."""
    uint8 = torch.from_numpy(np.clip(np.rint(frames), 0, 255).astype(np.uint8))
    with torch.no_grad():
        return torch.cat([camera(chunk[:, None]).squeeze(1) for chunk in uint8.split(256)]).numpy()


def pose_errors(predicted: np.ndarray, state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Position errors (pixels) and angle errors (degrees) of predicted ``(x, y, 100 sin, 100 cos)``."""
    position = np.linalg.norm(predicted[:, :2] - state[:, 2:4], axis=1)
    angle = np.arctan2(predicted[:, 2], predicted[:, 3]) - state[:, 4]
    return position, np.degrees(np.abs(np.angle(np.exp(1j * angle))))


def probe(policy_path: str, data: str, frames: int = 3000, seed: int = 0) -> dict:
    zarr = require("zarr", "the Push-T replay buffer")
    torch.set_num_threads(1)
    root = zarr.open(data, mode="r")
    ends = np.asarray(root["meta/episode_ends"])
    starts = np.r_[0, ends[:-1]]
    train = select_episodes("diffusion_policy:90", len(ends))
    unseen = np.setdiff1d(np.arange(len(ends)), train)
    policy = load_policy(policy_path)
    cameras = getattr(getattr(policy.model, "encoder", None), "cameras", None)
    if cameras is None or "img" not in cameras:
        raise SystemExit(f"{policy_path} has no camera encoder for the part 'img'")
    camera = cameras["img"].eval()
    rng = np.random.default_rng(seed)
    sets = {}
    for name, episodes, count in (("train", train, frames), ("unseen", unseen, frames // 2)):
        rows = frame_rows(starts, ends, episodes, count, rng)
        state = np.asarray(root["data/state"].get_orthogonal_selection((rows,)))
        features = keypoints(camera, np.asarray(root["data/img"].get_orthogonal_selection((rows,))))
        sets[name] = (np.c_[features, features**2, np.ones(len(features))], state, features)
    design, state, features = sets["train"]
    target = np.c_[state[:, 2:4], 100 * np.sin(state[:, 4]), 100 * np.cos(state[:, 4])]
    weights = np.linalg.solve(design.T @ design + 1e-3 * np.eye(design.shape[1]), design.T @ target)
    result: dict = {"policy": policy_path, "keypoint_spread_median": float(np.median(features.std(0)))}
    for name, (design, state, _) in sets.items():
        position, angle = pose_errors(design @ weights, state)
        result[name] = {
            "frames": len(state),
            "position_px_median": float(np.median(position)),
            "position_px_p90": float(np.percentile(position, 90)),
            "angle_deg_median": float(np.median(angle)),
            "angle_deg_p90": float(np.percentile(angle, 90)),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--policy", nargs="+", required=True, help="run folders or checkpoints")
    parser.add_argument("--data", default=DEFAULT_DATA, help="Diffusion Policy's Push-T zarr")
    parser.add_argument("--frames", type=int, default=3000, help="training frames to fit on (half as many unseen)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    results = []
    for path in args.policy:
        result = probe(path, args.data, args.frames)
        unseen = result["unseen"]
        print(
            f"{path}: keypoint spread {result['keypoint_spread_median']:.4f}; unseen episodes: block position "
            f"{unseen['position_px_median']:.1f} px (p90 {unseen['position_px_p90']:.1f}), angle "
            f"{unseen['angle_deg_median']:.1f} deg (p90 {unseen['angle_deg_p90']:.1f})"
        )
        results.append(result)
    if args.json:
        atomic_write_text(Path(args.json), json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
