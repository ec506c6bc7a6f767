"""Demonstrations as Minari datasets (Gymnasium's dataset standard, D4RL's successor), with the optional
extra: ``pip install "implicit-policy[minari]"``.

``minari:ID`` names a dataset in the local Minari store (``$MINARI_DATASETS_PATH``, by default
``~/.minari/datasets``); ``minari:/a/path`` a dataset folder. Downloading remote datasets is the user's
business (``minari download ID``): nothing here touches the network.

Observations: a ``Dict`` observation (Gymnasium-Robotics' ``achieved_goal`` / ``desired_goal`` /
``observation``) is flattened by ``gymnasium.spaces.flatten``: the keys in sorted order, each part
flattened, concatenated. ``implicit_policy.evaluation.rollout.make_vector_env`` flattens the env's observations the same
way, so a policy trained from a dataset sees at ``act`` time what it saw in training. A dataset's episode
of ``L`` steps holds ``L + 1`` observations; the last (after the final action) has no action and is dropped.

Cameras: a ``Dict`` observation holding frames (a uint8 ``Box`` of three axes, gym-pusht's ``pixels``) is read
as named parts, not flattened: its vector keys (sorted), then its frames as image parts (uint8, stored once),
or the ``--obs-keys`` chosen (``pixels,agent_pos``, ``NAME=KEY`` and slices as for the other readers). The
env's ``Dict`` then feeds a policy by those names. Minari JPEG-encodes frames by default (lossy: on Push-T
1.4 / 255 per pixel off what the env renders); ``collect`` writes them raw.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from implicit_policy.data.collect import Controller, check_collect_arguments
from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.data.episodes import (
    ImageLayouts,
    check_frames,
    choose_keys,
    demonstrations_from_episodes,
    frames_uint8,
    image_layout,
    read_part,
    steps,
)
from implicit_policy.data.frames import FrameWriter
from implicit_policy.evaluation.env_hooks import demonstrator, resolve_env_id
from implicit_policy.evaluation.rollout import make_env
from implicit_policy.extras import require

PREFIX = "minari:"


def is_minari_source(source: str | Path) -> bool:
    """Whether a ``--data``/``--out`` value names a Minari dataset (``minari:ID`` or ``minari:PATH``)."""
    return str(source).startswith(PREFIX)


def _minari() -> Any:
    return require("minari", "Minari datasets")


def collect_minari(
    env_id: str,
    episodes: int,
    seed: int,
    dataset_id: str,
    progress: bool = False,
    controller: Controller = "demonstrator",
) -> Any:
    """Run ``env_id``'s scripted demonstrator (or uniform random actions) on episodes seeded
    ``seed .. seed + episodes - 1`` and write them as the local Minari dataset ``dataset_id`` (observations in
    the env's own space, ``Dict`` and frames included, frames lossless; ``infos["is_success"]`` per step);
    returns the ``MinariDataset``. Refuses an id that already exists."""
    check_collect_arguments(env_id, episodes, seed, controller)
    minari = _minari()
    from minari.data_collector import EpisodeBuffer

    if dataset_id in minari.list_local_datasets():
        raise ValueError(
            f"Minari dataset {dataset_id!r} already exists in the local store; pick another id "
            "or delete it (minari.delete_dataset)"
        )
    env = make_env(env_id)
    act, on_reset = demonstrator(env_id) if controller == "demonstrator" else _random_actions(env, seed)
    buffers = []
    for k in tqdm(range(episodes), desc=f"episodes {env_id}", unit="ep", disable=not progress):
        obs, info = env.reset(seed=seed + k)
        on_reset({key: np.asarray([value]) for key, value in info.items()})  # the demonstrator reads batched info
        observations, actions, rewards, terminations, truncations, successes = [obs], [], [], [], [], [False]
        done = False
        while not done:
            flat = obs if controller == "random" else np.asarray(gym.spaces.flatten(env.observation_space, obs))[None]
            action = np.asarray(act(flat), dtype=np.float32)[0]
            obs, reward, terminated, truncated, info = env.step(action)
            observations.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            terminations.append(bool(terminated))
            truncations.append(bool(truncated))
            successes.append(bool(info.get("is_success", False)))
            done = terminated or truncated
        buffers.append(
            EpisodeBuffer(
                id=k,
                seed=seed + k,
                observations=_stack(observations),
                actions=np.stack(actions),
                rewards=rewards,
                terminations=terminations,
                truncations=truncations,
                infos={"is_success": np.asarray(successes)},
            )
        )
    env.close()
    with warnings.catch_warnings():  # Minari asks for an author's name and e-mail, which a script does not have
        warnings.simplefilter("ignore", UserWarning)
        return minari.create_dataset_from_buffers(
            dataset_id,
            buffers,
            env=env_id,
            eval_env=env_id,
            algorithm_name="scripted demonstrator",
            author="implicit-policy collect",
            description=f"implicit-policy collect: {episodes} episodes, seeds {seed}..{seed + episodes - 1}",
            jpeg_encoding=False,  # frames as the env rendered them: JPEG's loss would differ from what acting sees
        )


def _random_actions(env: gym.Env, seed: int) -> tuple[Any, Any]:
    """A controller acting uniformly at random in ``env``'s action box, seeded; it looks at nothing."""
    rng = np.random.default_rng(seed)
    space = env.action_space
    assert isinstance(space, gym.spaces.Box)  # check_collect_arguments refused the others

    def act(_: Any) -> np.ndarray:
        return rng.uniform(space.low, space.high, (1, *space.low.shape))

    return act, lambda info: None


def _stack(observations: list) -> Any:
    """Per-step observations to one array ``(L + 1, ...)``, or a dict of them for ``Dict`` observations."""
    if isinstance(observations[0], dict):
        return {key: np.stack([o[key] for o in observations]) for key in observations[0]}
    return np.stack(observations)


def _open(source: str) -> Any:
    minari = _minari()
    name = source[len(PREFIX) :]
    if not name:
        raise DemonstrationError("empty Minari dataset name: use minari:ID or minari:/path/to/dataset")
    path = Path(name)
    try:
        if path.is_dir():
            return minari.MinariDataset(path / "data" if (path / "data").is_dir() else path)
        if name not in minari.list_local_datasets():
            raise DemonstrationError(
                f"no Minari dataset {name!r} in the local store ({_store()}); download it "
                f"first (minari download {name}) or give its folder as minari:/path"
            )
        return minari.load_dataset(name)
    except DemonstrationError:
        raise
    except Exception as err:  # minari raises assorted errors for a damaged dataset
        raise DemonstrationError(f"cannot read Minari dataset {name!r}: {err}") from err


def _store() -> str:
    from minari.storage.datasets_root_dir import get_dataset_path

    return str(get_dataset_path())


def load_minari(source: str, obs_keys: Sequence[str] | None = None) -> Demonstrations:
    """The demonstrations of a Minari dataset (``minari:ID`` or ``minari:PATH``): observations flattened (see
    the module docstring; of a ``Dict``, only ``obs_keys`` in that order when given), episode seeds and
    successes where the dataset records them (``-1`` / the last step's ``infos["is_success"]``, else False).
    Spaces come from the dataset's own metadata; its env, where it records one that can be made here, must
    fit them (``DemonstrationError`` otherwise). A dataset with no env, or one whose env is not installed,
    is read with no env (training validates on held-out episodes, or in the env ``--env`` names)."""
    dataset = _open(source)
    spec = dataset.spec
    env_id = spec.env_spec.id if spec.env_spec is not None else ""
    if env_id and not _can_make(env_id):
        warnings.warn(
            f"Minari dataset {source!r} records env {env_id!r}, which is not installed here: read with no env",
            stacklevel=2,
        )
        env_id = ""
    if env_id and not obs_keys:
        check_spaces_fit(dataset.observation_space, dataset.action_space, env_id, source)
    if not isinstance(dataset.action_space, gym.spaces.Box):
        raise DemonstrationError(
            f"Minari dataset {source!r} has action space {describe_space(dataset.action_space)}; implicit-policy needs a Box"
        )
    if cameras := camera_layouts(dataset.observation_space):
        return _load_with_cameras(dataset, source, env_id, obs_keys, cameras)
    space, keys = dataset.observation_space, _observation_keys(dataset.observation_space, obs_keys, source)
    observations, actions, lengths, successes = [], [], [], []
    for episode in dataset.iterate_episodes():
        parts = (
            [_flatten_steps(space[key], episode.observations[key]) for key in keys]
            if keys
            else [_flatten_steps(space, episode.observations)]
        )
        flat = np.concatenate(parts, axis=1)
        length = len(episode.actions)
        observations.append(flat[:length])
        actions.append(np.asarray(episode.actions, dtype=np.float32).reshape(length, -1))
        lengths.append(length)
        successes.append(_succeeded(episode))
    seeds = _episode_seeds(dataset)
    return Demonstrations(
        observations=np.concatenate(observations).astype(np.float32),
        actions=np.concatenate(actions).astype(np.float32),
        episode_lengths=np.asarray(lengths, dtype=np.int64),
        episode_seeds=np.asarray(seeds, dtype=np.int64),
        episode_successes=np.asarray(successes, dtype=bool),
        env_id=env_id if not obs_keys else "",  # chosen keys are not the env's whole observation
        seed=int(seeds[0]) if len(seeds) and seeds[0] >= 0 else 0,
    )


def camera_layouts(space: gym.Space) -> ImageLayouts:
    """The keys of a ``Dict`` space that hold frames (uint8 ``Box`` of three axes), by stored layout."""
    if not isinstance(space, gym.spaces.Dict):
        return {}
    return {
        key: layout
        for key, sub in space.spaces.items()
        if isinstance(sub, gym.spaces.Box) and sub.dtype == np.uint8 and (layout := image_layout(sub.shape))
    }


def _load_with_cameras(
    dataset: Any, source: str, env_id: str, obs_keys: Sequence[str] | None, cameras: ImageLayouts
) -> Demonstrations:
    """A ``Dict`` dataset with frames as named parts (module docstring). The env is kept when every part is a
    whole key under its own name, so the env's observations feed the policy as the dataset's did."""
    space = dataset.observation_space
    shapes: dict[str, tuple[int, ...] | None] = {key: tuple(sub.shape or ()) for key, sub in space.spaces.items()}
    default = sorted(key for key in shapes if key not in cameras) + sorted(cameras)
    parts = choose_keys(source, shapes, obs_keys, default, cameras)
    names, observations, actions, successes = [], [], [], []
    images = {part.name: FrameWriter(dataset.total_steps, part.shape) for part in parts if part.image}
    for episode in dataset.iterate_episodes():
        action = steps(episode.actions, source, "actions", episode.id)
        read = []
        for part in parts:
            values = np.asarray(episode.observations[part.key])[: len(action)]
            if part.image:
                frames = frames_uint8(values, part.layout, source, part.key)
                images[part.name].append(check_frames(frames, part, source, episode.id, len(action)))
            else:
                read.append(read_part(values, part, source, episode.id, len(action)))
        names.append(episode.id)
        observations.append(np.concatenate(read, axis=1) if read else np.zeros((len(action), 0), np.float32))
        actions.append(action)
        successes.append(_succeeded(episode))
    own_names = all(part.whole and part.name == part.key for part in parts)
    demos = demonstrations_from_episodes(
        source,
        names,
        observations,
        actions,
        env_id=env_id if own_names else "",
        successes=successes,
        parts=parts,
        images={name: writer.finished() for name, writer in images.items()},
    )
    seeds = np.asarray(_episode_seeds(dataset), dtype=np.int64)
    return dataclasses.replace(demos, episode_seeds=seeds, seed=int(seeds[0]) if seeds[0] >= 0 else 0)


def _succeeded(episode: Any) -> bool:
    """An episode's last ``infos["is_success"]``; False where the dataset records none."""
    success = (episode.infos or {}).get("is_success")
    return bool(np.asarray(success)[-1]) if success is not None and len(success) else False


def _can_make(env_id: str) -> bool:
    """Whether ``env_id`` is registered here (after its env package had the chance to register it)."""
    try:
        gym.spec(resolve_env_id(env_id))
    except (gym.error.Error, ValueError):
        return False
    return True


def _observation_keys(space: gym.Space, obs_keys: Sequence[str] | None, source: str) -> list[str]:
    """``obs_keys`` checked against a ``Dict`` observation space; none given: [] (the whole observation)."""
    if not obs_keys:
        return []
    if not isinstance(space, gym.spaces.Dict):
        raise DemonstrationError(
            f"Minari dataset {source!r} has {describe_space(space)} observations: no keys to choose"
        )
    missing = [key for key in obs_keys if key not in space.spaces]
    if missing:
        raise DemonstrationError(
            f"Minari dataset {source!r} has no observation key {missing[0]!r}; it has {', '.join(space.spaces)}"
        )
    return list(obs_keys)


def _episode_seeds(dataset: Any) -> list[int]:
    """Each episode's reset seed, from the episodes' metadata (``EpisodeData`` carries none); -1 where unrecorded."""
    metadata = dataset.storage.get_episode_metadata(dataset.episode_indices)
    return [int(m["seed"]) if m.get("seed") is not None else -1 for m in metadata]


def _flatten_steps(space: gym.Space, observations: Any) -> np.ndarray:
    """Per-step observations ``(L + 1, ...)`` (an array, or a dict of arrays for ``Dict``) to ``(L + 1, O)``."""
    if isinstance(space, gym.spaces.Dict):
        return np.concatenate([_flatten_steps(space[key], observations[key]) for key in space.keys()], axis=1)
    array = np.asarray(observations, dtype=np.float32)
    return array.reshape(len(array), -1)


def check_spaces_fit(observation_space: gym.Space, action_space: gym.Space, env_id: str, source: str) -> None:
    """Refuse a dataset whose spaces are not what ``env_id`` has now, naming both."""
    env = make_env(env_id)
    try:
        env_spaces = env.observation_space, env.action_space
    finally:
        env.close()
    for name, ours, theirs in (
        ("observation", observation_space, env_spaces[0]),
        ("action", action_space, env_spaces[1]),
    ):
        if gym.spaces.flatdim(ours) != gym.spaces.flatdim(theirs) or _shapes(ours) != _shapes(theirs):
            raise DemonstrationError(
                f"Minari dataset {source!r} has {name} space {describe_space(ours)}, but its env "
                f"{env_id} has {describe_space(theirs)}: the dataset does not fit the env"
            )
    if not isinstance(action_space, gym.spaces.Box):
        raise DemonstrationError(
            f"Minari dataset {source!r} has action space {describe_space(action_space)}; implicit-policy needs a Box"
        )


def describe_space(space: gym.Space) -> str:
    """A space on one line, by shape rather than by every bound: ``Box(16,)`` or ``Dict(a: Box(3,), ...)``."""
    if isinstance(space, gym.spaces.Dict):
        return "Dict(" + ", ".join(f"{key}: {describe_space(sub)}" for key, sub in space.items()) + ")"
    if isinstance(space, gym.spaces.Box):
        return f"Box{space.shape}"
    return type(space).__name__


def _shapes(space: gym.Space) -> Any:
    if isinstance(space, gym.spaces.Dict):
        return {key: _shapes(sub) for key, sub in space.items()}
    return getattr(space, "shape", None)
