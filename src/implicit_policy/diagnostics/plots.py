"""Diagnostic figures: success curves, searches, energy landscapes, success against dimension (PNG; without
matplotlib each returns ``None``)."""

from __future__ import annotations

import os
from pathlib import Path

from implicit_policy.figures import have_matplotlib, pyplot, save_figure


def plot_success_curves(results: list[dict], path: str | os.PathLike, title: str) -> Path | None:
    """Validation success against training step: per method the mean over seeds, and a band of +- one std."""
    if not have_matplotlib():
        return None
    import numpy as np

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    methods = list(dict.fromkeys(r["method"] for r in results))
    for method in methods:
        curves = [r["curve"] for r in results if r["method"] == method]
        length = min(len(c) for c in curves)
        steps = np.array([s for s, _ in curves[0][:length]])
        values = np.array([[v for _, v in c[:length]] for c in curves])
        mean, std = values.mean(axis=0), values.std(axis=0)
        (line,) = ax.plot(steps, mean, marker="o", ms=3, label=f"{method} (n={len(curves)})")
        ax.fill_between(steps, mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xlabel("training step")
    ax.set_ylabel("validation success rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_search(
    rows: list[dict], curves: list[list[tuple[int, float]]], best: dict | None, path: str | os.PathLike
) -> Path | None:
    """A search's trials (``rows``, and each one's validation curve): dashed where the scheduler stopped it,
    crosses where it failed, the ``best`` finished trial drawn thick."""
    if not have_matplotlib():
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    finished = sum(r["status"] == "finished" for r in rows)
    for row, curve in zip(rows, curves):
        if not curve:
            continue
        steps, values = zip(*curve)
        style = {"finished": "-", "stopped": "--"}.get(row["status"], ":")
        ax.plot(
            steps,
            values,
            style,
            marker="x" if row["status"] == "failed" else "o",
            ms=3,
            lw=3 if row is best else 1.2,
            label=f"{row['trial']} ({row['status']})",
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("validation success rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right", ncol=2)
    ax.set_title(
        f"search: {len(rows)} trials, {finished} finished"
        + (f", best {best['trial']} ({best['best_validation']:.0%})" if best else ""),
        fontsize=10,
    )
    fig.tight_layout()
    return save_figure(fig, path)


def plot_energy_landscape(landscape, path: str | os.PathLike) -> Path | None:
    """One heatmap per observation of ``E - min E`` (colours capped at the 90th percentile, so the low
    valleys show), with the demonstrator's action, the policy's argmin and the env's own markers (on particle
    envs, the agent and both goals)."""
    if not have_matplotlib():
        return None
    import numpy as np

    plt = pyplot()
    count = len(landscape.observations)
    fig, axes = plt.subplots(1, count, figsize=(4 * count, 4.2), squeeze=False)
    extent = (landscape.grid_x[0], landscape.grid_x[-1], landscape.grid_y[0], landscape.grid_y[-1])
    for i, ax in enumerate(axes[0]):
        relative = landscape.energies[i] - landscape.energies[i].min()
        image = ax.imshow(
            relative,
            origin="lower",
            extent=extent,
            cmap="viridis_r",
            vmax=float(np.percentile(relative, 90)),
            aspect="equal",
        )
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="E - min E")
        for label, point, style in landscape.markers[i]:
            ax.plot(*point, linestyle="none", label=label, **style)
        ax.plot(*landscape.demonstrator_actions[i], "*", color="white", mec="black", ms=14, label="demonstrator")
        ax.plot(*landscape.policy_actions[i], "X", color="orange", mec="black", ms=10, label="policy argmin")
        ax.set_title(f"seed {landscape.seeds[i]}, step {landscape.steps[i]}", fontsize=10)
        ax.set_xlabel("action x")
        ax.set_ylabel("action y")
    axes[0][0].legend(fontsize=7, loc="upper left", framealpha=0.7)
    fig.suptitle(f"{landscape.env_id}: energy over the action box (bright = low energy)")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_success_vs_dimension(by_dim: dict[int, dict], path: str | os.PathLike, title: str) -> Path | None:
    """Test success (best-validated weights) against the particle env's dimension N, one line per method,
    error bars of one std over seeds."""
    if not have_matplotlib():
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    dims = sorted(by_dim)
    methods = list(dict.fromkeys(m for n in dims for m in by_dim[n]))
    for method in methods:
        points = [(n, by_dim[n][method]["test_success"]) for n in dims if method in by_dim[n]]
        ax.errorbar(
            [n for n, _ in points],
            [p["mean"] for _, p in points],
            yerr=[p["std"] for _, p in points],
            marker="o",
            capsize=3,
            label=method,
        )
    ax.set_xscale("log", base=2)
    ax.set_xticks(dims, [str(n) for n in dims])
    ax.set_xlabel("action dimension N")
    ax.set_ylabel("test success rate")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
