"""PNG figures (matplotlib is the optional ``plot`` extra; without it, plotting returns ``None`` and the
run goes on without the figure)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic import atomic_open


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def plot_training_curves(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path | None:
    """Loss, energies, negative distance and validation success of a run's ``metrics.jsonl`` as one PNG."""
    if not have_matplotlib():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    logged = [r for r in records if "loss" in r]
    validated = [r for r in records if "success_rate" in r]
    fig, axes = plt.subplots(1, 4, figsize=(16, 3.6))
    steps = [r["step"] for r in logged]
    axes[0].plot(steps, [r["loss"] for r in logged])
    axes[0].set_title("loss")
    axes[1].plot(steps, [r["positive_energy"] for r in logged], label="positives")
    axes[1].plot(steps, [r["negative_energy"] for r in logged], label="negatives")
    axes[1].set_title("mean energy")
    axes[1].legend()
    axes[2].plot(steps, [r["negative_distance"] for r in logged])
    axes[2].set_title("distance negatives - positive")
    axes[3].plot([r["step"] for r in validated], [r["success_rate"] for r in validated], marker="o")
    axes[3].set_ylim(0, 1.02)
    axes[3].set_title("validation success rate")
    for ax in axes:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out = Path(out) if out else run_dir / "training_curves.png"
    with atomic_open(out, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    with atomic_open(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    return Path(path)


def plot_success_curves(results: list[dict], path: str | os.PathLike, title: str) -> Path | None:
    """Validation success against training step: per method the mean over seeds, and a band of +- one std."""
    if not have_matplotlib():
        return None
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    methods = list(dict.fromkeys(r["method"] for r in results))
    for method in methods:
        curves = [r["curve"] for r in results if r["method"] == method]
        length = min(len(c) for c in curves)
        steps = np.array([s for s, _ in curves[0][:length]])
        values = np.array([[v for _, v in c[:length]] for c in curves])
        mean, std = values.mean(axis=0), values.std(axis=0)
        line, = ax.plot(steps, mean, marker="o", ms=3, label=f"{method} (n={len(curves)})")
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation success rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    out = _save(fig, path)
    plt.close(fig)
    return out
