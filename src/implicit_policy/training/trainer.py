"""The training loop: demonstrations and a config in; checkpoints, metrics and validation success out.

A run folder holds ``train_config.json``, ``metrics.jsonl`` (one JSON record per logging step or
validation), ``training_curves.png`` (with the ``plot`` extra), ``checkpoints/step_N/``, ``latest`` and
``best/`` (the weights with the highest closed-loop validation success, on seeds ``eval_seed`` onwards,
which never overlap the demonstrations or the usual test seeds; for data with no env, the lowest action error
on held-out episodes: :mod:`implicit_policy.training.held_out`), and with ``log`` a tracker's files
(:mod:`implicit_policy.training.tracking`). ``resume=True`` continues from the newest checkpoint exactly:
weights, Adam state, step, and the random generators. Started by torchrun with several processes, one run
trains data-parallel (:mod:`implicit_policy.training.distributed`): rank 0 alone writes the folder.
"""

from __future__ import annotations

import copy
import json
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn
from tqdm.auto import tqdm

from implicit_policy.atomic import atomic_write_text
from implicit_policy.config import AugmentConfig, TrainConfig, migrate_0_3
from implicit_policy.data.demonstrations import DemonstrationError, Demonstrations
from implicit_policy.evaluation.evaluate import check_parts_fit_env, evaluate
from implicit_policy.evaluation.rollout import action_space, box_spaces
from implicit_policy.models.device import resolve_device
from implicit_policy.models.normalize import Normalizer
from implicit_policy.models.observation_encoder import EncodedPolicyNet, kind_net
from implicit_policy.models.optimizer_state import (
    load_optimizer_state_tensors,
    optimizer_state_tensors,
    under_prefix,
    with_prefix,
)
from implicit_policy.policies.checkpoint import (
    BEST_FOLDER,
    CheckpointHeader,
    prune_checkpoints,
    read_checkpoint,
    read_extra,
    resolve_checkpoint,
    set_latest,
    write_checkpoint,
)
from implicit_policy.policies.torch_policy import TorchPolicy, build_policy_model, policy_class_for
from implicit_policy.training.batches import Batch, DemonstrationBatches
from implicit_policy.training.curves import plot_training_curves
from implicit_policy.training.distributed import Group, data_parallel, join_group, leave_group
from implicit_policy.training.held_out import HeldOut, held_out_episodes
from implicit_policy.training.run_lock import run_folder_lock
from implicit_policy.training.tracking import open_trackers

STATE_FILE = "training_state.safetensors"
STATE_JSON = "training_state.json"
RUN_IDENTITY = "run_identity.json"
INPUT_SPEC_FILE = "input_spec.json"
"""What the policy eats (runtime.input_spec), beside the config in the run folder."""
RESUMABLE_CHANGES = frozenset(
    {
        "steps",
        "time_limit_minutes",
        "torch_threads",
        "device",
        "log_every",
        "eval_every",
        "eval_episodes",
        "checkpoint_every",
        "keep_checkpoints",
        "log",
        "eval_seed",
        "eval_metric",
    }
)
"""Config fields a resumed run may change: how long and where it runs, how often it reports."""


BAR_METRICS = ("loss", "positive_top1", "success_rate", "mean_max_reward", "val_action_mse")
"""What the progress bar shows, as named in ``metrics.jsonl`` (docs: Training, what the logged numbers mean):
the loss, for energy models the share of rows whose demonstrated action has the lowest energy of its
candidates, and the latest validation (closed-loop success, or the held-out action error without an env)."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or inf; the last good checkpoint, if any, is kept."""


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run after a step; ``checkpoint`` holds that step (None before step 1)."""

    def __init__(self, run_dir: Path, step: int, checkpoint: Path | None) -> None:
        where = f"checkpoint of step {step} in {checkpoint}" if checkpoint else "nothing to keep before step 1"
        super().__init__(f"interrupted at step {step}: {where}")
        self.run_dir, self.step, self.checkpoint = run_dir, step, checkpoint


@contextmanager
def stop_requests() -> Iterator[list[str]]:
    """While active (in the main thread), SIGINT and SIGTERM set a flag instead of killing the process, so the
    loop can finish its step and save it; a second Ctrl-C interrupts at once. Yields the list of signals
    received."""
    received: list[str] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def request_stop(signum: int, frame: object) -> None:
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signal.Signals(signum).name)

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


@dataclass(frozen=True)
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    final_success_rate: float | None
    losses: list[float]
    final_validation: dict[str, float] = field(default_factory=dict)


def check_demonstrations_fit_env(demos: Demonstrations) -> tuple[np.ndarray, np.ndarray]:
    """The env's action box; ``DemonstrationError`` if the demonstration sizes do not match the env's spaces (for
    data with image parts: if the env's ``Dict`` observations lack a part or shape it otherwise)."""
    if demos.images:
        try:
            check_parts_fit_env(demos.input_spec(), demos.env_id, demos.env_kwargs, "the demonstrations have")
        except ValueError as err:
            raise DemonstrationError(str(err)) from None
        space = action_space(demos.env_id, demos.env_kwargs)
        if space.shape != (demos.action_size,):
            raise DemonstrationError(f"demonstrations have action size {demos.action_size}, {demos.env_id} {space}")
        return space.low, space.high
    obs_space, act_space = box_spaces(demos.env_id, demos.env_kwargs)
    if demos.observation_size != obs_space.shape[0] or demos.action_size != act_space.shape[0]:
        raise DemonstrationError(
            f"demonstrations have observation size {demos.observation_size} and action size {demos.action_size}, "
            f"but {demos.env_id} has observation size {obs_space.shape[0]} and action size {act_space.shape[0]}"
        )
    return act_space.low, act_space.high


def observation_noise_scale(augment: AugmentConfig, obs_size: int, n_obs_steps: int = 1) -> torch.Tensor | None:
    """Per-dimension noise standard deviation ``(n_obs_steps * O,)`` for the normalised observation windows
    (the same per-dimension scale in every frame), or None when off."""
    noise = augment.observation_noise
    if isinstance(noise, list) and len(noise) != obs_size:
        raise ValueError(f"augment.observation_noise has {len(noise)} values but observations have size {obs_size}")
    scale = torch.as_tensor(noise, dtype=torch.float32).expand(obs_size).repeat(n_obs_steps)
    return scale if bool((scale > 0).any()) else None


def learning_rate(config: TrainConfig, step: int, dataset_size: int) -> float:
    """Step decay: ``lr * gamma^floor(epoch / every)``, epochs counted in batches over the dataset; or
    ``lr * gamma^floor(step / every)`` with ``lr_decay_every_steps``; or cosine: ``lr * (1 + cos(pi step /
    steps)) / 2``."""
    optim = config.optim
    if optim.schedule == "cosine":
        return optim.learning_rate * 0.5 * (1 + math.cos(math.pi * min(step, config.steps) / config.steps))
    if optim.lr_decay_every_steps:
        return optim.learning_rate * optim.lr_decay ** (step // optim.lr_decay_every_steps)
    epoch = step * optim.batch_size / dataset_size
    return optim.learning_rate * optim.lr_decay ** math.floor(epoch / optim.lr_decay_every_epochs)


def data_action_box(normalizer: Normalizer) -> tuple[np.ndarray, np.ndarray]:
    """The action box of data with no env: the demonstrated range widened by the normaliser's margin on each
    side (the box its samplers search), raw units ``(A,)`` each."""
    bound = normalizer.action_bound
    corners = torch.tensor([[-bound], [bound]], dtype=torch.float64, device=next(normalizer.buffers()).device)
    low, high = normalizer.denormalize_actions(corners).cpu().numpy()  # (2, A): the box's two corners
    return low, high


class StepLoss(nn.Module):
    """One batch's loss through the whole network (the cameras' encoders, then the kind's net) as one module's
    ``forward``: what ``DistributedDataParallel`` wraps to average the gradients of every weight."""

    def __init__(self, model: nn.Module, objective: Any) -> None:
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, batch: Batch, generator: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, float]]:
        if isinstance(self.model, EncodedPolicyNet):  # the cameras' features join the vectors, end to end
            obs = self.model.encoder(batch.vectors, batch.frames, generator)
        else:
            obs = batch.vectors.flatten(1)
        net = kind_net(self.model)
        if batch.keep is None:
            return self.objective.loss(net, obs, batch.positives, generator)
        # chunk steps past an episode's end left out of the loss
        return self.objective.loss(net, obs, batch.positives, generator, keep=batch.keep)


class Trainer:
    """One run: ``demos`` split into training episodes and held-out ones (``config.val_episodes``); with an env
    (``demos.env_id``), validation is closed-loop; without, by the held-out action error (:mod:`held_out`)."""

    def __init__(self, config: TrainConfig, demos: Demonstrations, run_dir: str | os.PathLike) -> None:
        self.config, self.demos, self.run_dir = config, demos, Path(run_dir)
        held_out = held_out_episodes(demos.num_episodes, config.val_episodes, bool(demos.env_id))
        self.held_out = None
        if len(held_out):
            demos, held_demos = demos.split(held_out)
            self.held_out = HeldOut.from_demonstrations(held_demos, config.n_obs_steps, config.horizon)
        self.closed_loop = bool(demos.env_id) and config.eval_episodes > 0
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.group: Group = join_group(config.device)
        self.batch_size = self.group.local_batch(config.optim.batch_size)
        self.device = resolve_device(self.group.device(config.device))
        torch.manual_seed(config.seed)  # the same initial weights on every rank
        self.generator = torch.Generator(self.device).manual_seed(self.group.seed(config.seed))
        self.normalizer = Normalizer.fit(
            demos.observations, demos.actions, config.normalizer.action_margin, config.normalizer.observations
        ).to(self.device)
        if config.action_low is not None:
            action_low, action_high = np.asarray(config.action_low), np.asarray(config.action_high)
            if len(action_low) != demos.action_size:
                raise ValueError(f"action_low has {len(action_low)} values but actions have size {demos.action_size}")
        elif demos.env_id:
            action_low, action_high = check_demonstrations_fit_env(demos)
        else:
            action_low, action_high = data_action_box(self.normalizer)
        noise = observation_noise_scale(config.augment, demos.observation_size, config.n_obs_steps)
        self.batches = DemonstrationBatches(
            demos,
            self.normalizer,
            config.batch,
            config.n_obs_steps,
            config.horizon,
            config.action_padding == "mask",
            noise,
            self.device,
        )
        chunk_size = demos.action_size * config.horizon
        spec = demos.input_spec(config.n_obs_steps, config.horizon, config.n_action_steps)
        self.model = build_policy_model(config.policy, config.vision, spec)
        self.model.to(self.device)
        self.objective = config.policy.objective(
            kind_net(self.model), chunk_size, self.normalizer.action_bound, self.device
        )
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=config.optim.learning_rate, weight_decay=config.optim.weight_decay
        )
        self.step_loss = data_parallel(StepLoss(self.model, self.objective), self.group)
        self.header = CheckpointHeader(
            env_id=demos.env_id,
            env_kwargs=demos.env_kwargs,
            obs_size=demos.observation_size,
            action_size=demos.action_size,
            n_obs_steps=config.n_obs_steps,
            horizon=config.horizon,
            n_action_steps=config.n_action_steps,
            temporal_ensemble=config.temporal_ensemble,
            action_low=action_low.tolist(),
            action_high=action_high.tolist(),
            normalizer=self.normalizer.stats(),
            policy=config.policy,
            input_spec=spec.to_dict(),
            train=config,
        )
        # The weights the policy uses: the live ones, or their exponential moving average.
        self.policy_model = copy.deepcopy(self.model) if config.optim.ema_decay else self.model
        self.step = 0
        self.best_success = -math.inf

    # -- one step ---------------------------------------------------------------------------------
    def train_step(self) -> dict[str, float]:
        """One gradient step on a random batch; returns the step's metrics."""
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = learning_rate(cfg, self.step, len(self.batches))
        batch = self.batches.draw(self.batch_size, self.generator)
        positives = batch.positives
        self.model.train()
        parts, metrics = self.step_loss(batch, self.generator)
        loss = parts["loss"]
        if self.group.any(not bool(torch.isfinite(loss))):
            kept = self.run_dir / "latest"
            raise TrainingDiverged(
                f"loss became {loss.item()} at step {self.step + 1}; "
                + (
                    f"the last good checkpoint, {kept.read_text().strip()} in {self.run_dir}, is kept (lower "
                    "optim.learning_rate and --resume)"
                    if kept.exists()
                    else "no checkpoint had been written yet (lower optim.learning_rate and start again)"
                )
            )
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), float("inf"))
        self.optimizer.step()
        self._update_average()
        learned = self.objective.after_step(positives)
        self.step += 1
        return self.group.mean(
            {
                **{k: v.item() for k, v in parts.items()},
                **metrics,
                **learned,
                "grad_norm": grad_norm.item(),
                "lr": self.optimizer.param_groups[0]["lr"],
            }
        )

    @torch.no_grad()
    def _update_average(self) -> None:
        """``average <- decay * average + (1 - decay) * live`` for every float weight and buffer."""
        if self.policy_model is self.model:
            return
        live = self.model.state_dict()
        for key, average in self.policy_model.state_dict().items():
            if average.dtype.is_floating_point:
                average.lerp_(live[key], 1.0 - self.config.optim.ema_decay)

    # -- validation, checkpoints ------------------------------------------------------------------
    def policy(self) -> TorchPolicy:
        return policy_class_for(self.header)(self.header, self.policy_model, device=self.device, seed=self.config.seed)

    @property
    def validates(self) -> bool:
        return self.closed_loop or self.held_out is not None

    def validate(self) -> tuple[float, dict[str, float]]:
        """The validation score (higher is better; ``best/`` keeps the highest) and the metrics behind it.
        Closed loop: ``eval_metric``, the success rate (the mean return on an env that reports no
        ``is_success``) or Diffusion Policy's mean highest reward. Without an env: minus the held-out action
        error. Held-out metrics are reported either way when there are any."""
        self.policy_model.eval()
        policy = self.policy()
        metrics = self.held_out.metrics(policy, self.config.seed) if self.held_out is not None else {}
        if not self.closed_loop:
            return -metrics["val_action_mse"], metrics
        result = evaluate(
            policy,
            self.demos.env_id,
            self.config.eval_episodes,
            self.config.eval_seed,
            env_kwargs=self.demos.env_kwargs,
        )
        success = result["mean_return"] if result["success_rate"] is None else result["success_rate"]
        score = result["mean_max_reward"] if self.config.eval_metric == "mean_max_reward" else success
        return score, {"success_rate": success, "mean_max_reward": result["mean_max_reward"], **metrics}

    def save_best(self, score: float, metrics: dict[str, float] | None = None) -> None:
        """Keep these weights as ``best/`` if their validation score beats every earlier one; ``metrics``, those
        behind the score (default: a closed-loop success rate of ``score``)."""
        if metrics is None:
            metrics = {"success_rate": score}
        if score > self.best_success:
            self.best_success = score
            recorded = {
                "validation_success_rate": metrics.get("success_rate"),
                "validation_action_mse": metrics.get("val_action_mse"),
            }
            header = self.header.model_copy(update={"step": self.step, **recorded})
            write_checkpoint(self.run_dir / BEST_FOLDER, header, self.policy_model.state_dict())

    def save_checkpoint(self, log_window: list[dict[str, float]] | None = None) -> Path:
        """A resumable checkpoint of this step; ``log_window`` holds the metrics of the steps since the last
        log record, so a run interrupted between records logs the same averages when resumed."""
        name = f"step_{self.step}"
        state = optimizer_state_tensors(self.optimizer)
        state |= with_prefix(self.objective.state_tensors(), "sampler.")
        if self.policy_model is not self.model:
            state |= with_prefix(self.model.state_dict(), "live.")
        ranks = self.group.gather([self.generator.get_state(), torch.get_rng_state()])  # every rank's, rank 0 first
        for rank, generators in enumerate(ranks):  # CPU byte tensors on every device
            suffix = f".rank{rank}" if rank else ""  # rank 0's (a lone process's) under the names of before
            state[f"generator{suffix}"], state[f"torch_rng{suffix}"] = cast(list, generators)
        folder = self.run_dir / "checkpoints" / name
        if not self.group.main:
            return folder
        extra = {
            STATE_FILE: save_safetensors({k: v.detach().cpu().contiguous() for k, v in state.items()}),
            STATE_JSON: json.dumps(
                {
                    "step": self.step,
                    "best_success": self.best_success,
                    "log_window": log_window or [],
                    "world_size": self.group.world_size,
                }
            ).encode(),
        }
        header = self.header.model_copy(update={"step": self.step})
        write_checkpoint(folder, header, self.policy_model.state_dict(), extra)
        set_latest(self.run_dir, f"checkpoints/{name}")
        prune_checkpoints(self.run_dir, self.config.keep_checkpoints)
        return folder

    def load_checkpoint(self) -> list[dict[str, float]]:
        """Restore the newest checkpoint; returns the metrics of its unlogged steps."""
        folder, header, weights = read_checkpoint(self.run_dir, latest=True)
        state = load_safetensors(read_extra(folder, STATE_FILE))
        self.policy_model.load_state_dict(weights)
        if self.policy_model is not self.model:
            self.model.load_state_dict(under_prefix(state, "live."))
        progress = json.loads(read_extra(folder, STATE_JSON))
        if progress.get("world_size", 1) != self.group.world_size:
            raise ValueError(
                f"{folder} was trained by {progress.get('world_size', 1)} processes; resume it with as many "
                f"(--nproc {progress.get('world_size', 1)}), not {self.group.world_size}, to continue it exactly"
            )
        self.step, self.best_success = progress["step"], progress["best_success"]
        load_optimizer_state_tensors(self.optimizer, state)
        self.objective.load_state_tensors(under_prefix(state, "sampler."))
        suffix = f".rank{self.group.rank}" if self.group.rank else ""
        self.generator.set_state(state[f"generator{suffix}"])
        torch.set_rng_state(state[f"torch_rng{suffix}"])
        window: list[dict[str, float]] = progress.get("log_window", [])
        return window

    # -- what makes a run itself ------------------------------------------------------------------
    def _identity(self) -> dict:
        """The recipe (every config field but those a resume may change) and a digest of the demonstrations."""
        recipe = {k: v for k, v in self.config.model_dump().items() if k not in RESUMABLE_CHANGES}
        return {"recipe": recipe, "demonstrations_sha256": self.demos.digest()}

    def _check_same_run(self) -> None:
        """``ValueError`` naming what differs if this config or these demonstrations are not the run's own."""
        path = self.run_dir / RUN_IDENTITY
        if not path.is_file():
            return  # a run from before identities were recorded
        recorded, current = json.loads(path.read_text()), self._identity()
        if recorded["demonstrations_sha256"] != current["demonstrations_sha256"]:
            raise ValueError(
                f"--resume: these demonstrations are not the ones {self.run_dir} was trained on "
                f"(env {self.demos.env_id}, {len(self.demos.observations)} transitions); use the run's own data"
            )
        recipe = {k: v for k, v in migrate_0_3(recorded["recipe"]).items() if k not in RESUMABLE_CHANGES}
        differ = _differing_fields(recipe, current["recipe"])
        if differ:
            raise ValueError(
                f"--resume: the config differs from the one {self.run_dir} was started with in "
                f"{', '.join(differ)}; only {', '.join(sorted(RESUMABLE_CHANGES))} may change on resume"
            )

    # -- the loop ---------------------------------------------------------------------------------
    def _out_of_time(self, started: float) -> bool:
        """Whether the run's training time (from ``started``, a ``perf_counter`` value) is past its limit."""
        limit = self.config.time_limit_minutes
        return limit is not None and time.perf_counter() - started >= 60.0 * limit

    def run(
        self, resume: bool = False, progress: bool = True, on_validation: Callable[[int, float], None] | None = None
    ) -> TrainResult:
        cfg, main = self.config, self.group.main
        if main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            for leftover in self.run_dir.glob(".*.tmp"):  # atomic writes a killed run left half-done
                leftover.unlink(missing_ok=True)
        metrics_path = self.run_dir / "metrics.jsonl"
        window: list[dict[str, float]] = []
        seconds_before = 0.0  # a resumed run's training time so far
        if resume:
            self._check_same_run()
            window = self.load_checkpoint()
            if self.step > cfg.steps:
                raise ValueError(
                    f"{self.run_dir} is at step {self.step}, beyond the {cfg.steps} steps asked for; "
                    f"resume with steps >= {self.step} (--steps)"
                )
            self.group.barrier()  # every rank has read the checkpoint before rank 0 truncates the metrics
            seconds_before = _truncate_metrics(metrics_path, self.step) if main else 0.0
        else:
            if (self.run_dir / "latest").exists():
                raise ValueError(f"{self.run_dir} already holds a run; pass resume=True (--resume) or use a new folder")
            if main:
                metrics_path.unlink(missing_ok=True)
                atomic_write_text(self.run_dir / RUN_IDENTITY, json.dumps(self._identity(), indent=2))
        if main:
            cfg.save(self.run_dir / "train_config.json")
            atomic_write_text(self.run_dir / INPUT_SPEC_FILE, json.dumps(self.header.input_spec, indent=2))
        started = time.perf_counter() - seconds_before
        losses: list[float] = []
        success: float | None = None
        validation: dict[str, float] = {}
        trackers = open_trackers(cfg.log, self.run_dir, cfg.model_dump(mode="json")) if main else []
        # smoothing=0: the ETA from the run's average rate, validations included, so it does not jump after each.
        bar = tqdm(
            total=cfg.steps, initial=self.step, desc="train", unit="step", disable=not (progress and main), smoothing=0
        )
        shown: dict[str, str] = {}  # the bar's postfix: the latest of each metric, under its metrics.jsonl name

        def record(entry: dict[str, float]) -> None:
            if not main:
                return
            log.write(json.dumps(entry) + "\n")
            log.flush()
            for tracker in trackers:
                tracker.log(entry)

        with _metrics_file(metrics_path, main) as log, stop_requests() as stop, _closing(trackers):
            while self.step < cfg.steps:
                if self.group.any(bool(stop)):  # every rank stops at the same step
                    bar.close()
                    saved = self.save_checkpoint(window) if self.step else None
                    raise TrainingInterrupted(self.run_dir, self.step, saved)
                metrics = self.train_step()
                losses.append(metrics["loss"])
                window.append(metrics)
                last = self.step == cfg.steps or self.group.any(self._out_of_time(started))
                if self.step % cfg.log_every == 0 or last:
                    averages = {k: float(np.mean([m[k] for m in window])) for k in window[0]}
                    record(averages | {"step": self.step, "seconds": time.perf_counter() - started})
                    shown |= {k: f"{averages[k]:.3g}" for k in BAR_METRICS if k in averages}
                    bar.set_postfix(shown)
                    window = []
                if self.validates and ((cfg.eval_every and self.step % cfg.eval_every == 0) or last):
                    if main:  # the other ranks wait for it
                        bar.set_postfix_str("validating ...", refresh=True)
                        score, validation = self.validate()
                        self.save_best(score, validation)
                        record({"step": self.step, **validation, "seconds": time.perf_counter() - started})
                        success = validation.get("success_rate")
                        shown |= {k: f"{v:.3g}" for k, v in validation.items() if k in BAR_METRICS}
                        bar.set_postfix(shown)
                        if on_validation is not None:
                            on_validation(self.step, score)
                    self.group.barrier()
                if self.step % cfg.checkpoint_every == 0 or last:
                    self.save_checkpoint(window)
                bar.update(1)
                if last:
                    break
        bar.close()
        if main:
            plot_training_curves(self.run_dir)
        return TrainResult(self.run_dir, self.step, time.perf_counter() - started, success, losses, validation)


@contextmanager
def _metrics_file(path: Path, write: bool) -> Iterator[Any]:
    """``metrics.jsonl`` opened for appending where this process writes the run (rank 0), else nothing."""
    if not write:
        yield None
        return
    with open(path, "a") as handle:
        yield handle


@contextmanager
def _closing(trackers: list) -> Iterator[None]:
    try:
        yield
    finally:
        for tracker in trackers:
            tracker.close()


def _differing_fields(recorded: dict, current: dict, prefix: str = "") -> list[str]:
    """Dotted names of the fields whose values differ between two config dumps."""
    names = []
    for key in sorted(recorded):  # a field added since the run started takes its default: not a difference
        a, b = recorded.get(key), current.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            names += _differing_fields(a, b, f"{prefix}{key}.")
        elif a != b:
            names.append(f"{prefix}{key} ({a!r} -> {b!r})")
    return names


def _truncate_metrics(path: Path, step: int) -> float:
    """Drop records logged after ``step`` (they will be logged again by the resumed run); the training seconds
    the kept records reached, so a resumed run's clock goes on from them."""
    if not path.exists():
        return 0.0
    records = [(line, json.loads(line)) for line in path.read_text().splitlines() if line]
    kept = [(line, record) for line, record in records if record["step"] <= step]
    atomic_write_text(path, "".join(line + "\n" for line, _ in kept))
    return max((record.get("seconds", 0.0) for _, record in kept), default=0.0)


def train(
    config: TrainConfig,
    demos: Demonstrations,
    run_dir: str | os.PathLike,
    resume: bool = False,
    progress: bool = True,
    on_validation: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train an energy net on ``demos`` into ``run_dir``; see :class:`Trainer`. ``on_validation(step, score)``
    is called after each closed-loop validation (a sweep reports it to its scheduler)."""
    if not isinstance(demos, Demonstrations):
        raise ValueError(
            f"demos must be Demonstrations (load_demonstrations(path) reads a file), got {type(demos).__name__}"
        )
    group = join_group(config.device)  # several processes under torchrun: rank 0 alone holds the folder
    finished = False
    try:
        with run_folder_lock(run_dir) if group.main else nullcontext():  # one writer per run folder
            if resume:
                resolve_checkpoint(run_dir, latest=True)  # a clear error if there is nothing to resume
            trainer = Trainer(config, demos, run_dir)
            result = trainer.run(resume=resume, progress=progress, on_validation=on_validation)
            finished = True
            return result
    except TrainingInterrupted:
        finished = True  # every rank stopped at the same step, together
        raise
    finally:
        leave_group(group, finished)
