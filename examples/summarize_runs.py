"""A table of run folders: what each changed from a base preset, its validation curve, its test success.

    python examples/summarize_runs.py runs/a runs/b ... [--base ibc-langevin] [--json results/x.json]

Each run folder needs ``train_config.json`` and ``metrics.jsonl`` (written by ``implicit-policy train``);
``eval.json`` (from ``implicit-policy eval --json RUN/eval.json``) adds the test column. The "changes" column
lists the config fields that differ from ``--base``, so a table of one-change-at-a-time runs reads itself.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from implicit_policy.atomic import atomic_write_text
from implicit_policy.presets import preset


def flat(values: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out |= flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out


def summarize(run: Path, base: dict) -> dict:
    config = flat(json.loads((run / "train_config.json").read_text()))
    changes = {k: v for k, v in config.items() if base.get(k) != v and k not in ("torch_threads",)}
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
    curve = [(r["step"], r["success_rate"]) for r in records if "success_rate" in r]
    seconds = max((r["seconds"] for r in records), default=None)
    test = json.loads((run / "eval.json").read_text()) if (run / "eval.json").is_file() else {}
    best = max(curve, key=lambda point: point[1]) if curve else (None, None)
    return {
        "run": run.name,
        "changes": changes,
        "curve": curve,
        "best_validation": best[1],
        "best_step": best[0],
        "train_seconds": seconds,
        "test_success": test.get("success_rate"),
        "test_episodes": test.get("episodes"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--base", default="ibc-langevin", help="preset the changes are listed against")
    parser.add_argument("--json", help="also write every run's summary and curve here")
    args = parser.parse_args()
    base = flat(preset(args.base).model_dump())
    rows = [summarize(run, base) for run in args.runs if (run / "metrics.jsonl").is_file()]
    print("| run | changes from " + args.base + " | best validation (step) | test success | train s |")
    print("|---|---|---|---|---|")
    for row in rows:
        changes = ", ".join(f"`{k}={v}`" for k, v in row["changes"].items()) or "none"
        best = "n/a" if row["best_validation"] is None else f"{row['best_validation']:.0%} ({row['best_step']})"
        test = "n/a" if row["test_success"] is None else f"{row['test_success']:.0%}"
        seconds = "n/a" if row["train_seconds"] is None else f"{row['train_seconds']:.0f}"
        print(f"| {row['run']} | {changes} | {best} | {test} | {seconds} |")
    if args.json:
        atomic_write_text(args.json, json.dumps({"base": args.base, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
