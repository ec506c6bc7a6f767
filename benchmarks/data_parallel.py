"""Steps per second of data-parallel training: N processes of one thread against one process of one thread,
the same global batch, on Push-T (the ``pusht`` preset on the keypoints, ``pusht-image`` on the frames).

Where the time goes: a third row trains one process with the per-process batch (``batch / N``): the compute a
rank does per step. N processes can at best run at that row's rate; the gap to it is the gradient all-reduce
and the ranks waiting for each other.

    python benchmarks/data_parallel.py --data zarr:PATH/pusht_cchi_v7_replay.zarr [--nproc 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from implicit_policy.atomic import atomic_write_text
from implicit_policy.presets import preset

CASES = {
    "pusht": (["--obs-keys", "keypoint,state[:2]", "--env", "PushTKeypoints-v0"], 300),
    "pusht-image": (["--obs-keys", "img,agent_pos=state[:2]", "--env", "PushTPixels-v0"], 80),
}
WARMUP = 20
"""Steps left out of the timing: process start, data loading, the first steps' allocations."""


def steps_per_second(data: str, name: str, steps: int, nproc: int, batch: int, out: Path) -> float:
    keys, _ = CASES[name]
    argv = [sys.executable, "-m", "implicit_policy.cli", "train", "--data", data, *keys, "--preset", name]
    argv += ["--episodes", "diffusion_policy:90", "--steps", str(steps), "--out", str(out), "--quiet"]
    argv += ["--set", "eval_episodes=0", "--set", f"log_every={WARMUP}", "--set", f"optim.batch_size={batch}"]
    argv += ["--set", f"checkpoint_every={steps}", *(["--nproc", str(nproc)] if nproc > 1 else [])]
    subprocess.run(argv, check=True)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    timed = [r for r in records if "loss" in r]
    first, last = timed[0], timed[-1]  # step WARMUP and the last step
    return (last["step"] - first["step"]) / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases:
            batch, steps = preset(name).optim.batch_size, CASES[name][1]
            one = steps_per_second(args.data, name, steps, 1, batch, Path(tmp) / f"{name}_1")
            many = steps_per_second(args.data, name, steps, args.nproc, batch, Path(tmp) / f"{name}_n")
            share = steps_per_second(args.data, name, steps, 1, batch // args.nproc, Path(tmp) / f"{name}_s")
            rows[name] = {"batch": batch, "one": one, "data_parallel": many, "per_rank_compute": share}
            print(
                f"{name:12s} batch {batch}: 1 process {one:.2f} steps/s, {args.nproc} processes {many:.2f} steps/s "
                f"({many / one:.2f}x); one process at batch {batch // args.nproc} (a rank's compute) {share:.2f} steps/s",
                flush=True,
            )
    if args.json:
        atomic_write_text(args.json, json.dumps({"nproc": args.nproc, **rows}, indent=2))


if __name__ == "__main__":
    main()
