"""A run's training curves as one PNG beside its ``metrics.jsonl``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from implicit_policy.figures import have_matplotlib, pyplot, save_figure


def plot_training_curves(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path | None:
    """Loss, energies, negative distance and validation success of a run's ``metrics.jsonl`` as one PNG."""
    if not have_matplotlib():
        return None
    plt = pyplot()
    run_dir = Path(run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    logged = [r for r in records if "loss" in r]
    validated = [r for r in records if "success_rate" in r]
    panels = [
        (title, keys)
        for title, keys in (
            ("loss", ["loss"]),
            ("mean energy", ["positive_energy", "negative_energy"]),
            ("distance negatives - positive", ["negative_distance"]),
        )
        if logged and all(k in logged[0] for k in keys)
    ]  # a regression (mse) run logs no energies
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4 * (len(panels) + 1), 3.6), squeeze=False)
    axes = axes[0]
    steps = [r["step"] for r in logged]
    for ax, (title, keys) in zip(axes, panels):
        for key in keys:
            ax.plot(steps, [r[key] for r in logged], label=key.replace("_energy", "s"))
        if len(keys) > 1:
            ax.legend()
        ax.set_title(title)
    axes[-1].plot([r["step"] for r in validated], [r["success_rate"] for r in validated], marker="o")
    axes[-1].set_ylim(0, 1.02)
    axes[-1].set_title("validation success rate")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return save_figure(fig, Path(out) if out else run_dir / "training_curves.png", dpi=100)
