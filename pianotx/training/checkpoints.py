"""A training run's checkpoints: ``last.pt`` (weights, optimizer, position, RNG states),
weight snapshots, never with weights that are not finite; a resume and a warm start."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from pianotx.config import DecodeConfig, ModelConfig, to_dict
from pianotx.errors import TrainingError
from pianotx.training import runfolder
from pianotx.training.clock import spent_hours, spent_s
from pianotx.training.distributed import barrier

if TYPE_CHECKING:
    from pianotx.training.loop import Run


def save(run: Run) -> None:
    """Write ``last.pt`` (weights, optimizer, position, RNG states) atomically, unless the
    weights are not finite (:func:`check_finite`)."""
    check_finite(run)
    if run.ctx.is_main:
        write_last(run)
        run.emit("checkpoint", path=str(run.out_dir / runfolder.LAST_FILE))
    barrier(run.ctx)


def write_last(run: Run) -> None:
    """Write ``last.pt`` and ``metrics.csv`` (main process)."""
    from pianotx.model.checkpoint import checkpoint_dict, save_checkpoint

    training = {
        "train_config": to_dict(run.config), "step": run.step, "epoch": run.epoch,
        "batch_in_epoch": run.batch_in_epoch, "best_score": run.best_score,
        "best_step": run.best_step, "reference_losses": list(run.reference_losses),
        "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
        "rng": runfolder.rng_state(), "world": run.ctx.world,
        **dict(zip(("cpu_s", "wall_s"), spent_s(run))),
    }
    data = checkpoint_dict(run.model, model_config=run.model_config,
                           feature_config=run.model_config.feature_config(), decode_config=DecodeConfig(),
                           train_summary=summary(run), training=training)
    save_checkpoint(run.out_dir / runfolder.LAST_FILE, data)
    runfolder.write_csv(run.out_dir, run.records)


def check_finite(run: Run) -> None:
    """Refuse to keep weights holding NaN or infinity: the checkpoint on disk stays the
    last good one. Called on every process (their weights are the same), so all stop."""
    from pianotx.model.checkpoint import non_finite

    damaged = non_finite(run.model.state_dict())
    if damaged:
        raise TrainingError(
            f"training diverged at step {run.step}: {len(damaged)} weight tensor(s) hold NaN or "
            f"infinity (first {damaged[0]}); nothing saved, the previous checkpoint stays; "
            f"lower --lr (now {run.config.lr:g}) and start a new run"
        )


def save_weights(run: Run, name: str) -> None:
    """Keep the weights now as ``name`` in the run folder (``epochN.pt`` at an epoch's end,
    N counted from 1; ``step_NNNNN.pt`` snapshots for weight averaging)."""
    from pianotx.model.checkpoint import checkpoint_dict, save_checkpoint

    check_finite(run)
    if run.ctx.is_main:
        data = checkpoint_dict(run.model, model_config=run.model_config,
                               feature_config=run.model_config.feature_config(),
                               decode_config=DecodeConfig(), train_summary=summary(run))
        save_checkpoint(run.out_dir / name, data)
    barrier(run.ctx)


def summary(run: Run) -> dict[str, Any]:
    """What a checkpoint says about its training (primitives only)."""
    cfg = run.config
    return {"steps": run.step, "epochs": epochs(run), "data": cfg.data, "beta": cfg.beta,
            "lr": cfg.lr, "batch_size": cfg.batch_size * run.ctx.world,
            "segment_s": cfg.segment_s, "seed": cfg.seed, "best_metric": cfg.best_metric,
            "best_score": run.best_score, "best_step": run.best_step, **spent_hours(run)}


def epochs(run: Run) -> float:
    return round(run.epoch + run.batch_in_epoch / run.batches_per_epoch, 4)


def restore(run: Run, saved: dict[str, Any]) -> None:
    """Put weights, optimizer, schedule, position and RNG states back from ``last.pt``."""
    training = saved["training"]
    if training.get("world", 1) != run.ctx.world:
        raise TrainingError(
            f"the run was trained on {training.get('world', 1)} process(es), not "
            f"{run.ctx.world}; resume it with the same --nproc_per_node"
        )
    run.model.load_state_dict(saved["state_dict"], strict=True)
    run.optimizer.load_state_dict(training["optimizer"])
    run.scheduler.load_state_dict(training["scheduler"])
    run.step, run.epoch = training["step"], training["epoch"]
    run.batch_in_epoch = training["batch_in_epoch"]
    run.best_score, run.best_step = training["best_score"], training["best_step"]
    run.reference_losses = list(training["reference_losses"])
    run.cpu_s, run.wall_s = training.get("cpu_s", 0.0), training.get("wall_s", 0.0)
    runfolder.set_rng_state(training["rng"])
    run.records = runfolder.read_log(run.out_dir, until_step=run.step)


def warm_start(model: torch.nn.Module, model_config: ModelConfig, path: Path) -> None:
    """Load the weights of checkpoint ``path`` (any pianotx checkpoint of the same model,
    e.g. a shipped fp16 one) into ``model``; optimizer and schedule start afresh.

    A model with the harmonic view may start from the same model without it: every weight
    but the branch's is loaded, and the branch (whose projection starts at zero) adds
    nothing until it has trained."""
    import dataclasses

    from pianotx.errors import CheckpointError
    from pianotx.model.checkpoint import load_checkpoint

    if path.suffix.lower() == ".onnx":  # training needs the weights, not an export of them
        raise CheckpointError(f"--init-from {path} is an ONNX export; give the .pt checkpoint "
                              "it was exported from")
    try:
        loaded = load_checkpoint(path)
    except CheckpointError as exc:
        raise CheckpointError(f"--init-from: {exc}") from None
    adds_branch = (model_config.harmonic and not loaded.model_config.harmonic
                   and dataclasses.replace(model_config, harmonic=False) == loaded.model_config)
    if loaded.model_config != model_config and not adds_branch:
        raise TrainingError(
            f"--init-from {path} holds another model ({loaded.model_config}); warm-start only "
            "from a checkpoint of the model being trained (or of it without --harmonic)"
        )
    result = model.load_state_dict(loaded.net.state_dict(), strict=not adds_branch)
    stray = list(result.unexpected_keys) + [k for k in result.missing_keys
                                            if not k.startswith("trunk.harmonic.")]
    if stray:  # cannot happen for equal configs; guards the branch's naming
        raise TrainingError(f"--init-from {path}: weights {stray[:3]} do not fit the model")
