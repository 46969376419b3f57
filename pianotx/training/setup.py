"""What a training run is built from: crop datasets, their loaders, the optimizer.

Process ``rank`` of ``world`` takes crops ``rank, rank + world, ...`` of each epoch, the
same number on every process (``n_crops // world``, at least one), so data-parallel
processes run the same number of steps.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Iterator

import torch

from pianotx.training.distributed import DistContext, barrier
from pianotx.training.config import TrainConfig, default_cache_dir


class CropSampler(torch.utils.data.Sampler):
    """This process's crop indices of an epoch, from the ``skip``-th on.

    Parameters
    ----------
    n_crops : int > 0
        Crops in the epoch (``len(dataset)``).
    rank, world : int
        This process and the number of processes.
    skip : int >= 0
        Indices already consumed (a resumed epoch).
    """

    def __init__(self, n_crops: int, *, rank: int, world: int, skip: int = 0) -> None:
        per_rank = max(1, n_crops // world)
        self.indices = [(rank + world * i) % n_crops for i in range(per_rank)][skip:]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def batches_per_epoch(n_crops: int, *, world: int, batch_size: int) -> int:
    """Optimizer steps in one epoch of ``n_crops`` crops shared by ``world`` processes."""
    return math.ceil(max(1, n_crops // world) / batch_size)


def take_hours(items: list, hours: float) -> list:
    """The shortest prefix of ``items`` in a fixed shuffled order (by title) that holds at
    least ``hours`` of audio, in its original order: a training subset that mixes timbres."""
    import zlib

    order = sorted(range(len(items)), key=lambda i: zlib.crc32(items[i].audio_path.name.encode()))
    chosen, total = [], 0.0
    for i in order:
        if total >= hours * 3600.0:
            break
        chosen.append(i)
        total += items[i].duration_s
    return [items[i] for i in sorted(chosen)]


def build_datasets(
    config: TrainConfig, ctx: DistContext, *,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.utils.data.Dataset, int]:
    """The training crops and the steps per epoch (validation: :func:`build_validation`).

    The main process decodes the training audio into the cache first; the others wait and
    then open the cached files.
    """
    from pianotx.data.augment.basic import AugmentConfig
    from pianotx.data.readers import empty_split_error, find_items
    from pianotx.data.crops import SegmentDataset

    root = Path(config.data)
    items = find_items(root, split="train")
    if not items:
        raise empty_split_error(root, "train")
    if config.train_hours:
        items = take_hours(items, config.train_hours)
    dataset = SegmentDataset(
        items,
        cache_dir=Path(config.cache_dir) if config.cache_dir else default_cache_dir(),
        segment_s=config.segment_s, seed=config.seed,
        augment=AugmentConfig() if config.augment else None,
        recording=_recording(config),
        soft_frames=config.model_config().soft_frames,
    )
    if ctx.is_main:
        dataset.prepare(on_progress=on_progress)
    barrier(ctx)
    if not ctx.is_main:
        dataset.prepare()
    steps = batches_per_epoch(len(dataset), world=ctx.world, batch_size=config.batch_size)
    return dataset, steps


def build_validation(config: TrainConfig) -> dict[str, list]:
    """Validation sets by column name: ``val`` (picks best.pt) and, with ``val_data``,
    ``synth`` (the training folder's own validation split, a second column).

    ``val_data`` is read whole (every split): it is a validation set, never trained on.
    Every piece's MIDI is read and its audio header opened here, so that a damaged file
    stops the run before its first step, not at its first validation.
    """
    from pianotx.data.readers import check_readable, find_items

    own = find_items(Path(config.data), split="validation")[: config.val_pieces or None]
    columns = {"val": own}
    if config.val_data:
        columns = {"val": find_items(Path(config.val_data), split=None), "synth": own}
    for items in columns.values():
        check_readable(items, role="validation")
    return columns


def _recording(config: TrainConfig):
    """SegmentDataset's ``recording`` chain, when ``--augment-chain recording`` asks for it."""
    if not (config.augment and config.augment_chain == "recording"):
        return None
    from pianotx.data.augment.recording import RecordingConfig

    return RecordingConfig()


def crop_loader(
    dataset: torch.utils.data.Dataset, config: TrainConfig, ctx: DistContext, batch_in_epoch: int
) -> torch.utils.data.DataLoader:
    """Batches of this process's crops of the dataset's current epoch, after the first
    ``batch_in_epoch`` batches."""
    sampler = CropSampler(len(dataset), rank=ctx.rank, world=ctx.world,
                          skip=batch_in_epoch * config.batch_size)
    return torch.utils.data.DataLoader(
        dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers,
        pin_memory=ctx.device.type == "cuda", drop_last=False,
    )


def build_optimizer(
    model: torch.nn.Module, config: TrainConfig, *, total_steps: int
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """Adam (the paper's) or AdamW at ``config.lr`` and the schedule of
    :meth:`TrainConfig.learning_rate` over ``total_steps`` (a resumed scheduler continues
    it from its saved step, without warming up again).

    AdamW decays only weights of convolutions and linear layers, not biases or norms."""
    if config.optimizer == "adamw":
        decay = [p for p in model.parameters() if p.ndim >= 2]
        rest = [p for p in model.parameters() if p.ndim < 2]
        optimizer: torch.optim.Optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": config.weight_decay},
             {"params": rest, "weight_decay": 0.0}], lr=config.lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: config.learning_rate(step, total_steps) / config.lr
    )
    return optimizer, scheduler
