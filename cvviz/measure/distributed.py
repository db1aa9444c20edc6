"""Evaluation across processes with ``torch.distributed``, launched by ``torchrun`` on one or many nodes.

``torchrun --nproc-per-node N -m cvviz evaluate …`` starts N processes and tells each its place through
the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`init_distributed` reads it (as torchvision's reference scripts' ``init_distributed_mode`` does) and
joins the process group: NCCL between GPUs, Gloo on the CPU. Each rank then evaluates its own shard
(:func:`shard_indices`: every image exactly once, no padding) and the counts are summed exactly with
:meth:`Distributed.sum`. Without torchrun's environment there is one process and nothing to join.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from cvviz.errors import CvvizError
from cvviz.i18n import _


class DistributedError(CvvizError, RuntimeError):
    """The processes started by torchrun could not join each other."""


@dataclass(frozen=True)
class Distributed:
    """This process's place among ``world_size`` processes (rank 0 writes the results)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def device(self, requested: str) -> str:
        """The device for this rank: with several processes on CUDA, the GPU numbered by ``LOCAL_RANK``."""
        if self.active and self.backend == "nccl":
            return f"cuda:{self.local_rank}"
        return requested

    def sum(self, counts: Sequence[int]) -> list[int]:
        """``counts`` added up over every rank (exact: 64-bit integers), the same list on every rank."""
        if not self.active:
            return [int(c) for c in counts]
        device = torch.device(f"cuda:{self.local_rank}") if self.backend == "nccl" else torch.device("cpu")
        tensor = torch.tensor([int(c) for c in counts], dtype=torch.int64, device=device)
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return [int(c) for c in tensor.cpu()]

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def broadcast(self, value: object) -> object:
        """Rank 0's ``value`` on every rank (a small picklable object)."""
        if not self.active:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self) -> None:
        if self.active and dist.is_initialized():
            dist.destroy_process_group()


def init_distributed(device: str = "auto") -> Distributed:
    """Join the process group torchrun describes in the environment, or a single process without it.

    ``device`` (``auto``, ``cpu``, ``cuda``) picks the backend: NCCL when the processes use GPUs, Gloo
    on the CPU. With NCCL each process uses the GPU numbered by its ``LOCAL_RANK``.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if world_size <= 1:
        return Distributed()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda and torch.cuda.device_count() <= local_rank:
        raise DistributedError(
            _(
                "Process {rank} was given GPU {gpu}, but this machine has {count}; start at most one process "
                "per GPU (torchrun --nproc-per-node)."
            ).format(rank=rank, gpu=local_rank, count=torch.cuda.device_count())
        )
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    try:
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    except (RuntimeError, ValueError) as exc:
        raise DistributedError(
            _("Process {rank} of {size} could not join the others: {reason}").format(
                rank=rank, size=world_size, reason=exc
            )
        ) from exc
    return Distributed(rank, world_size, local_rank, backend)


def shard_indices(total: int, rank: int, world_size: int) -> range:
    """The positions rank ``rank`` evaluates: every ``world_size``-th from ``rank``.

    Together the ranks cover ``range(total)`` exactly once, also when ``total`` does not divide evenly
    (the first ``total % world_size`` ranks get one more); nothing is padded or repeated, unlike
    ``DistributedSampler``, which pads with repeated images so that every rank gets as many.
    """
    if not 0 <= rank < world_size:
        raise ValueError(_("Rank {rank} is not among {size} processes.").format(rank=rank, size=world_size))
    return range(rank, total, world_size)
