"""Data-parallel training across processes started by ``torchrun``.

``torchrun --nproc_per_node N -m pianotx train ...`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK`` in each process; :func:`setup` reads them, joins the process group (NCCL on
CUDA, gloo on CPU) and picks the process's device. Without them training runs in one
process and nothing here touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch

from pianotx.errors import ConfigError


class DistContext(NamedTuple):
    """Where this process stands: its ``rank`` among ``world`` processes and its device."""

    rank: int
    world: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Whether this process writes files, validates and reports progress."""
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """Whether the torchrun environment (``WORLD_SIZE`` > 1) is present."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device_name: str = "auto") -> DistContext:
    """Join the process group if launched by torchrun; return this process's context.

    Parameters
    ----------
    device_name : str
        ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; under torchrun a CUDA device
        becomes ``cuda:LOCAL_RANK``.

    Raises
    ------
    ConfigError
        If the device is unavailable, or multi-process training is asked for on MPS.
    """
    from pianotx.engine.torch_engine import pick_device

    device = pick_device(device_name)
    if not launched_by_torchrun():
        return DistContext(0, 1, 0, device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "mps":
        raise ConfigError("multi-process training needs CUDA or CPU; use --device cpu")
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        torch.distributed.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistContext(rank, world, local_rank, device)


def barrier(ctx: DistContext) -> None:
    """Wait for every process (no-op in a single process)."""
    if ctx.world > 1:
        torch.distributed.barrier()


def teardown(ctx: DistContext) -> None:
    """Leave the process group joined by :func:`setup`."""
    if ctx.world > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap(net: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """``net`` wrapped in DistributedDataParallel when there are several processes."""
    if ctx.world == 1:
        return net
    device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(net, device_ids=device_ids)
