"""Average snapshots of one training run into one checkpoint (SWA), then recompute its
BatchNorm statistics on crops of the run's training data, augmented as in training.

Usage: python scripts/average_checkpoints.py OUT.pt SNAPSHOT.pt [SNAPSHOT.pt ...]
           [--run RUN_FOLDER] [--bn-batches 32]

With --run, the run's config.json gives the training data, crop length, batch size and
augmentation for the BatchNorm pass; without it the averaged running statistics are kept.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from pianotx.audio.features import LogMel
from pianotx.config import from_dict
from pianotx.model.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from pianotx.training.average import average_checkpoints, recalibrate_batchnorm
from pianotx.training.config import TrainConfig


def bn_batches(run_dir: Path, n_batches: int, *, seed_epoch: int = 10_000):
    """``n_batches`` batches of audio crops from the run's training data and chain."""
    from pianotx.training.distributed import setup
    from pianotx.training.setup import build_datasets

    config = from_dict(TrainConfig, json.loads((run_dir / "config.json").read_text())["train"])
    dataset, _ = build_datasets(config, setup("cpu"))
    dataset.set_epoch(seed_epoch)  # crops the run has not seen in this order
    for b in range(n_batches):
        start = b * config.batch_size
        yield torch.stack([dataset[k]["audio"] for k in range(start, start + config.batch_size)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("snapshots", type=Path, nargs="+")
    parser.add_argument("--run", type=Path, default=None)
    parser.add_argument("--bn-batches", type=int, default=32)
    args = parser.parse_args()
    data = average_checkpoints([read_checkpoint(path) for path in args.snapshots])
    save_checkpoint(args.out, data, overwrite=True)
    seen = 0
    if args.run is not None and args.bn_batches > 0:
        loaded = load_checkpoint(args.out)
        seen = recalibrate_batchnorm(loaded.net, bn_batches(args.run, args.bn_batches),
                                     features=LogMel(loaded.feature_config))
        data["state_dict"] = {k: v.detach().clone() for k, v in loaded.net.state_dict().items()}
        data["train_summary"]["batchnorm_batches"] = seen
        save_checkpoint(args.out, data, overwrite=True)
    load_checkpoint(args.out)  # strict: the result must load
    steps = data["train_summary"].get("averaged_steps")
    print(f"{args.out}: mean of {len(args.snapshots)} snapshots (steps {steps}), "
          f"BatchNorm statistics from {seen} batches")


if __name__ == "__main__":
    main()
