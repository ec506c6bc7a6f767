"""Named, tuned training recipes: ``implicit-policy train --preset NAME`` with no other flag reproduces
the README's results. Each is a plain :class:`TrainConfig`; ``--config FILE`` takes any other."""

from __future__ import annotations

from .config import DFOConfig, LangevinConfig, TrainConfig, UniformSamplerConfig

PRESETS: dict[str, TrainConfig] = {
    # IBC's recipe: negatives from short chains of IBC-rule Langevin (sigma 0.1), Langevin inference
    # as gradient descent (sigma 0.01), appendix D's schedule and clipping.
    "ibc-langevin": TrainConfig(
        sampler=LangevinConfig(rule="ibc", num_samples=8, iterations=10, noise_scale=0.1),
        inference=LangevinConfig(rule="ibc", num_samples=64, iterations=10, noise_scale=0.01),
        steps=6000,
        eval_every=1000,
        eval_episodes=50,
    ),
    # Uniform negatives (InfoNCE's unbiased proposal) with derivative-free inference.
    "dfo": TrainConfig(
        sampler=UniformSamplerConfig(num_samples=64),
        inference=DFOConfig(num_samples=256, iterations=3),
        steps=6000,
        eval_every=1000,
        eval_episodes=50,
    ),
    # The textbook Langevin rule (eq. 8) for negatives; inference as in ibc-langevin.
    "correct-langevin": TrainConfig(
        sampler=LangevinConfig(rule="correct", num_samples=8, iterations=10),
        inference=LangevinConfig(rule="ibc", num_samples=64, iterations=10, noise_scale=0.01),
        steps=6000,
        eval_every=1000,
        eval_episodes=50,
    ),
}
DEFAULT_PRESET = "ibc-langevin"


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]
