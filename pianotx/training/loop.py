"""The machinery of :func:`pianotx.training.run.train`: set up, the step loop, validate (the
checkpoints in :mod:`~pianotx.training.checkpoints`, the time spent in :mod:`~pianotx.training.clock`).

Crop ``k`` of epoch ``e`` is a pure function of ``(seed, e, k)`` (see
:mod:`pianotx.data.crops`), process ``r`` of ``w`` takes crops ``r, r + w, ...``, and the
position in the epoch is saved with the optimizer and RNG states, so a resumed run sees
exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pianotx.training import runfolder
from pianotx.config import DecodeConfig, ModelConfig, to_dict
from pianotx.training.distributed import DistContext, barrier, wrap
from pianotx.errors import TrainingError
from pianotx.training.config import (
    EXPLODE_RATIO, REFERENCE_STEPS, EventCallback, TrainConfig, TrainEvent, check_resume,
    resolve_precision,
)
from pianotx.training.checkpoints import epochs, restore, save, save_weights, summary, warm_start, write_last
from pianotx.training.clock import over_budget, process_cpu_s, spent_hours
from pianotx.training.setup import build_datasets, build_optimizer, build_validation, crop_loader


@dataclass
class Run:
    """The live state of a training run (mutated by the loop)."""

    config: TrainConfig
    model_config: ModelConfig
    out_dir: Path
    ctx: DistContext
    on_event: EventCallback | None
    model: torch.nn.Module
    net: torch.nn.Module  # ``model``, or ``model`` wrapped for data-parallel training
    features: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    dataset: Any
    validation: dict[str, list]  # column -> items; "val" picks best.pt
    batches_per_epoch: int
    total_steps: int
    precision: str = "fp32"  # of the forward pass: fp32 or bf16 (autocast)
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    best_score: float = -1.0
    best_step: int = 0
    reference_losses: list[float] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    loss_sum: float = 0.0
    loss_count: int = 0
    steps_per_s: float = 0.0
    tic: float = 0.0
    cpu_s: float = 0.0  # CPU and wall seconds spent before this invocation (a resume's)
    wall_s: float = 0.0
    clock0: tuple[float, float] = (0.0, 0.0)  # process CPU and wall clocks at its start

    def emit(self, kind: str, **values: Any) -> None:
        """Report an event to the callback (main process only)."""
        if self.on_event is not None and self.ctx.is_main:
            self.on_event(TrainEvent(kind, self.step, self.total_steps, self.epoch, values))


def start(
    config: TrainConfig, out_dir: Path, *, resume: bool, ctx: DistContext,
    on_event: EventCallback | None,
) -> Run:
    """Check the run folder, load the data, build model and optimizer, restore a resume.

    The run folder is created only once options, checkpoints and data have passed their
    checks, so a run refused at the start leaves nothing behind."""
    runfolder.check_folder(out_dir, resume=resume)  # reads only: every process may
    saved = runfolder.read_last(out_dir) if resume else None
    if saved is not None:
        check_resume(saved["training"]["train_config"], config)
    torch.manual_seed(config.seed)
    model_config = config.model_config()
    from pianotx.audio.features import LogMel
    from pianotx.model.networks import build_model

    model = build_model(model_config)
    if saved is None and config.init_from:
        warm_start(model, model_config, Path(config.init_from))
    model = model.to(ctx.device)
    validation = build_validation(config)  # before decoding the training audio, which is slow
    dataset, batches = build_datasets(config, ctx, on_progress=_prepare_hook(on_event))
    total = config.steps or (config.epochs or 1) * batches
    optimizer, scheduler = build_optimizer(model, config, total_steps=total)
    run = Run(config, model_config, out_dir, ctx, on_event, model, wrap(model, ctx),
              LogMel(model_config.feature_config()).to(ctx.device), optimizer, scheduler,
              dataset, validation, batches, total,
              resolve_precision(config.precision, ctx.device.type))
    if saved is not None:
        restore(run, saved)
    if ctx.is_main:
        runfolder.create_folder(out_dir)
        _write_config(run)
        runfolder.rewrite_log(out_dir, run.records)
    if not validation["val"]:
        run.emit("note", message="no validation pieces found; best.pt will not be written")
    run.emit("start", resumed=saved is not None, batches_per_epoch=batches,
             precision=run.precision)
    return run


def stop_step(run: Run) -> int:
    """The step this invocation ends at: ``stop_at`` when set (and earlier), else the last."""
    stop = run.config.stop_at
    return run.total_steps if stop is None else min(stop, run.total_steps)


def run_loop(run: Run) -> None:
    """Train until ``stop_step(run)``, one epoch's crop loader at a time."""
    run.model.train()
    run.tic = time.perf_counter()
    run.clock0 = (process_cpu_s(), run.tic)
    end = stop_step(run)
    while run.step < end:
        run.dataset.set_epoch(run.epoch)
        for batch in crop_loader(run.dataset, run.config, run.ctx, run.batch_in_epoch):
            loss, parts, grad_norm = train_step(run, batch)
            run.step += 1
            run.batch_in_epoch += 1
            if after_step(run, loss, parts, grad_norm):
                return
        run.epoch += 1
        run.batch_in_epoch = 0


def train_step(run: Run, batch: dict[str, torch.Tensor]) -> tuple[float, dict, float]:
    """One optimisation step: forward, loss, zero_grad, backward, clip, step, schedule."""
    from pianotx.model.loss import transcription_loss

    device = run.ctx.device
    audio = batch["audio"].to(device, non_blocking=True)
    targets = {name: roll.to(device, non_blocking=True) for name, roll in batch.items()
               if name != "audio"}
    with torch.no_grad():
        mel = run.features(audio)  # float32 features, outside autocast
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=run.precision == "bf16"):
        logits = run.net(mel)
    logits = {name: value.float() for name, value in logits.items()}
    loss, parts = transcription_loss(logits, targets, beta=run.config.beta,
                                     soft_onset_weight=run.config.soft_onset_weight,
                                     bass_weight=run.config.bass_weight)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    max_norm = run.config.grad_clip or math.inf
    grad_norm = float(torch.nn.utils.clip_grad_norm_(run.model.parameters(), max_norm))
    check_loss(run, loss.item(), grad_norm)  # before step(): last.pt stays a good state
    run.optimizer.step()
    run.scheduler.step()
    return loss.item(), parts, grad_norm


def check_loss(run: Run, loss: float, grad_norm: float) -> None:
    """Stop on a NaN/infinite loss or gradient, or a loss exploding past the first ones."""
    step = run.step + 1
    hint = f"lower --lr (now {run.config.lr:g}) or --resume from the last checkpoint"
    if not (math.isfinite(loss) and math.isfinite(grad_norm)):
        raise TrainingError(
            f"training diverged at step {step}: loss {loss}, gradient norm {grad_norm}; {hint}"
        )
    if len(run.reference_losses) < REFERENCE_STEPS:
        run.reference_losses.append(loss)
        return
    reference = sum(run.reference_losses) / len(run.reference_losses)
    if loss > EXPLODE_RATIO * reference:
        raise TrainingError(
            f"training diverged at step {step}: loss {loss:.4g} is over {EXPLODE_RATIO:g} times "
            f"the first steps' {reference:.4g}; {hint}"
        )


def after_step(run: Run, loss: float, parts: dict, grad_norm: float) -> bool:
    """Log, report, and validate and checkpoint when due; True when this invocation ends
    here (its last step, or its CPU budget spent)."""
    now = time.perf_counter()
    rate = 1.0 / max(now - run.tic, 1e-9)
    run.steps_per_s = rate if run.steps_per_s == 0 else 0.9 * run.steps_per_s + 0.1 * rate
    run.tic = now
    run.loss_sum, run.loss_count = run.loss_sum + loss, run.loss_count + 1
    cfg = run.config
    audio_s = run.steps_per_s * cfg.batch_size * run.ctx.world * cfg.segment_s
    run.emit("step", loss=loss, parts=parts, grad_norm=grad_norm, steps_per_s=run.steps_per_s,
             audio_s_per_s=audio_s, lr=run.scheduler.get_last_lr()[0])
    final = run.step >= stop_step(run) or over_budget(run)
    if run.step % cfg.log_every == 0 or final:
        _log(run, lr=run.scheduler.get_last_lr()[0], grad_norm=grad_norm)
    epoch_end = run.batch_in_epoch >= run.batches_per_epoch
    due = run.step % cfg.val_every == 0 if cfg.val_every else epoch_end
    validated = bool(run.validation["val"]) and (due or final)
    if validated or final or run.step % cfg.ckpt_every == 0:
        save(run)  # before validating: a validation that fails loses no training
    if validated:
        validate(run)
    if epoch_end and cfg.keep_epochs:
        save_weights(run, f"epoch{run.epoch + 1}.pt")
    if cfg.snapshot_every and run.step % cfg.snapshot_every == 0:
        save_weights(run, f"step_{run.step:05d}.pt")
    run.tic = time.perf_counter()  # validation and saving do not count against steps/s
    return final


def _log(run: Run, **values: Any) -> None:
    record = {"kind": "train", "step": run.step, "epoch": epochs(run),
              "loss": run.loss_sum / max(run.loss_count, 1), **spent_hours(run), **values}
    run.loss_sum, run.loss_count = 0.0, 0
    run.records.append(record)
    if run.ctx.is_main:
        runfolder.append_log(run.out_dir, record)


def validate(run: Run) -> None:
    """Score the validation pieces on the main process; keep ``best.pt``.

    Runs after :func:`save` has written ``last.pt`` (and checked the weights); a new best
    rewrites ``last.pt`` too, so that a resumed run knows it. The ``val`` column picks
    ``best.pt``; a second column (``synth``: the training folder's own validation split
    when ``--val-data`` is given) is logged with its name as a prefix of each score
    (``synth/note/f1``)."""
    from pianotx.model.checkpoint import LoadedModel, checkpoint_dict, save_checkpoint
    from pianotx.evaluation.evaluate import evaluate_model, summarize

    if run.ctx.is_main:
        loaded = LoadedModel(run.model, run.model_config, run.model_config.feature_config(),
                             DecodeConfig(), "val")
        kept: dict[str, float] = {}
        for column, items in run.validation.items():
            if not items:
                continue
            scores = summarize(evaluate_model(loaded, items))
            prefix = "" if column == "val" else f"{column}/"
            if column == "val":
                score = scores.get(run.config.best_metric, 0.0)
            kept.update({prefix + k: v for k, v in scores.items()
                         if k.endswith("/f1") or k.startswith("frame/")})
        run.model.train()
        record = {"kind": "val", "step": run.step, "epoch": epochs(run), **spent_hours(run),
                  **kept}
        run.records.append(record)
        runfolder.append_log(run.out_dir, record)
        runfolder.write_csv(run.out_dir, run.records)
        if score > run.best_score:
            run.best_score, run.best_step = score, run.step
            data = checkpoint_dict(run.model, model_config=run.model_config,
                                   feature_config=run.model_config.feature_config(), decode_config=DecodeConfig(),
                                   train_summary=summary(run))
            save_checkpoint(run.out_dir / runfolder.BEST_FILE, data)
            write_last(run)
        run.emit("validate", scores=kept, metric=run.config.best_metric, score=score,
                 best=run.best_score)
    barrier(run.ctx)


def finish(run: Run) -> Path:
    """Write the plot and report the end; return ``best.pt`` or ``last.pt``."""
    best = run.out_dir / runfolder.BEST_FILE
    if run.ctx.is_main:
        note = runfolder.write_plot(run.out_dir, run.records, metric=run.config.best_metric)
        if note:
            run.emit("note", message=note)
        run.emit("done", best_score=run.best_score, best_step=run.best_step,
                 path=str(best if best.exists() else run.out_dir / runfolder.LAST_FILE))
    return best if best.exists() else run.out_dir / runfolder.LAST_FILE


def _write_config(run: Run) -> None:
    runfolder.write_json(run.out_dir / runfolder.CONFIG_FILE, {
        "train": to_dict(run.config), "model": to_dict(run.model_config),
        "features": to_dict(run.model_config.feature_config()), "decode": to_dict(DecodeConfig()),
        "world_size": run.ctx.world, "batches_per_epoch": run.batches_per_epoch,
        "total_steps": run.total_steps, "device": str(run.ctx.device),
        "precision": run.precision,
    })


def _prepare_hook(on_event: EventCallback | None):
    if on_event is None:
        return None
    return lambda done, total: on_event(TrainEvent("prepare", 0, 0, 0,
                                                   {"done": done, "total": total}))
