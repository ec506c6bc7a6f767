"""Data-parallel training on ``torch.distributed``: one run, N processes, gradients averaged by
``DistributedDataParallel``.

Launched by ``torchrun`` (``torchrun --nproc_per_node N -m implicit_policy.cli train ...``, which also spans
machines through its rendezvous) or by ``implicit-policy train --nproc N`` (torchrun's own launcher, on this
machine), a training process finds its rank in the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``/``MASTER_PORT``) and joins the group: gloo on CPUs, NCCL on GPUs (one per
process, ``cuda:LOCAL_RANK``).

The contract the trainer keeps with it: every rank draws its own batches of ``optim.batch_size / N`` rows
(its generator seeded by ``seed`` and its rank), so the global batch is ``optim.batch_size``; the
learning-rate schedule counts global steps; the logged metrics are the ranks' means; rank 0 alone writes
(checkpoints, metrics, curves, ``best/``, the run lock) and validates while the others wait; a stop
(Ctrl-C, SIGTERM, the time limit) is agreed on by all ranks after each step, so all stop at the same step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

RANK_SEED_STRIDE = 1_000_003
"""Rank r draws its batches from a generator seeded ``seed + r * RANK_SEED_STRIDE`` (rank 0: ``seed``)."""
WAIT = timedelta(hours=2)
"""How long a rank waits for the others at a collective (rank 0's validation, a checkpoint) before failing."""


@dataclass(frozen=True)
class Group:
    """This process's place in the run: ``rank`` of ``world_size`` processes, ``local_rank`` on its machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes the run folder (rank 0)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def seed(self, seed: int) -> int:
        """The seed of this rank's batch generator."""
        return seed + self.rank * RANK_SEED_STRIDE

    def device(self, device: str) -> str:
        """``device`` for this rank: ``cuda`` becomes ``cuda:LOCAL_RANK``."""
        return f"cuda:{self.local_rank}" if self.distributed and device == "cuda" else device

    def local_batch(self, batch_size: int) -> int:
        """Rows this rank draws: the global ``batch_size`` split evenly; ``ValueError`` when it does not split."""
        if batch_size % self.world_size:
            raise ValueError(
                f"optim.batch_size {batch_size} does not split across {self.world_size} processes; "
                f"choose a multiple of {self.world_size}"
            )
        return batch_size // self.world_size

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` holds on any rank (every rank gets the same answer)."""
        if not self.distributed:
            return flag
        value = torch.tensor([1.0 if flag else 0.0])
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def mean(self, metrics: dict[str, float]) -> dict[str, float]:
        """Each metric's mean over the ranks (the same keys on every rank)."""
        if not self.distributed:
            return metrics
        keys = sorted(metrics)
        values = torch.tensor([metrics[k] for k in keys], dtype=torch.float64)
        dist.all_reduce(values)
        return dict(zip(keys, (values / self.world_size).tolist()))

    def gather(self, value: object) -> list[object]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.distributed:
            return [value]
        out: list[object] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out


def join_group(device: str) -> Group:
    """This process's :class:`Group`, joining the process group when torchrun started several (its
    ``WORLD_SIZE`` > 1); a lone process is rank 0 of 1 and joins nothing."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Group()
    group = Group(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(group.local_rank)
        dist.init_process_group(backend, timeout=WAIT)
    return group


def leave_group(group: Group, finished: bool = True) -> None:
    """Leave the process group; ``finished``: together, after every rank is done with it (a rank leaving on an
    error leaves at once: torchrun stops the others)."""
    if group.distributed and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def data_parallel(module: nn.Module, group: Group) -> nn.Module:
    """``module`` behind ``DistributedDataParallel`` in a group of several processes (gradients averaged over
    the ranks in ``backward``), else as it is."""
    if not group.distributed:
        return module
    device_ids = [group.local_rank] if next(module.parameters()).is_cuda else None
    return nn.parallel.DistributedDataParallel(module, device_ids=device_ids, gradient_as_bucket_view=True)
