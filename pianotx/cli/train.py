"""``pianotx train``: train an FCNN or CRNN on a dataset folder, with a run folder."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_device, console, err_console, fail, user_errors


@app.command("train")
def train_command(
    data: Path = typer.Option(
        ..., "--data", metavar="DIR", help="Dataset folder (MAESTRO or audio/MIDI pairs)."
    ),
    arch: str = typer.Option("crnn", "--model", metavar="ARCH", help="fcnn or crnn."),
    heads: str = typer.Option(
        "frame", metavar="HEADS",
        help="frame (the paper), notes (frame, onset, offset, velocity) or full (notes + "
             "sustain pedal).",
    ),
    trunk: str = typer.Option(
        "paper", metavar="TRUNK",
        help="paper (U-Net pooling time and frequency) or freq (pooling frequency only).",
    ),
    soft_frames: int = typer.Option(
        0, min=0, metavar="J", help="Onset/offset targets J frames wide each side (0: one frame).",
    ),
    diff_input: bool = typer.Option(
        False, "--diff-input",
        help="freq trunk: add the log-mel's frame-to-frame difference as a second input channel.",
    ),
    temporal_head: str = typer.Option(
        "plain", metavar="HEAD",
        help="freq-trunk FCNN head: plain (two convs) or dilated (four residual convs, "
             "dilations 1-8).",
    ),
    harmonic: bool = typer.Option(
        False, "--harmonic",
        help="freq trunk: add the harmonic view (semitone bands from the same STFT, each "
             "key's partials stacked) beside the log-mel."),
    precision: str = typer.Option(
        "auto", metavar="P",
        help="Forward pass in fp32 or bf16 autocast; auto: bf16 on CUDA and on CPUs with "
             "native bf16 (AMX or AVX-512 BF16), else fp32."),
    width: float = typer.Option(1.0, metavar="X", help="Channel multiplier (1.0 = the paper)."),
    beta: float = typer.Option(0.2, metavar="B", help="Weighted-BCE balance (the paper's best)."),
    soft_onset_weight: float = typer.Option(
        0.0, min=0.0, metavar="G",
        help="Weigh the onset loss of soft notes up to 1+G (velocity 64 and above: 1; "
             "needs --heads full)."),
    bass_weight: float = typer.Option(
        0.0, min=0.0, metavar="G",
        help="Weigh the frame and onset loss of bass keys up to 1+G (C3 and above: 1; "
             "C2: 1+G/2; C1 and below: 1+G)."),
    steps: Optional[int] = typer.Option(None, min=1, metavar="N", help="Optimizer steps."),
    epochs: Optional[int] = typer.Option(
        None, min=1, metavar="E", help="Passes over the training clips (default 1)."
    ),
    batch_size: int = typer.Option(16, min=1, metavar="B", help="Segments per step and process."),
    segment_seconds: float = typer.Option(10.0, metavar="S", help="Training segment length."),
    lr: float = typer.Option(3e-4, metavar="LR", help="Adam learning rate."),
    warmup_steps: int = typer.Option(0, min=0, metavar="N", help="Linear learning-rate warm-up."),
    optimizer: str = typer.Option("adam", metavar="OPT", help="adam (the paper) or adamw."),
    weight_decay: float = typer.Option(
        0.01, min=0.0, metavar="WD", help="AdamW weight decay (convolution/linear weights only)."),
    schedule: str = typer.Option(
        "constant", metavar="SCHED",
        help="constant, or cosine: one decay to --min-lr-ratio x LR at the last step "
             "(--steps is then fixed for --resume)."),
    min_lr_ratio: float = typer.Option(
        0.02, min=0.0, max=1.0, metavar="R", help="Final learning rate of the cosine schedule / LR."),
    val_data: Optional[Path] = typer.Option(
        None, "--val-data", metavar="DIR",
        help="Dataset folder (every split) that picks best.pt, e.g. real recordings; the "
             "training folder's validation split becomes a second 'synth' column. Never trained on."),
    augment_chain: str = typer.Option(
        "basic", metavar="CHAIN",
        help="With --augment: basic (gain, EQ, reverb, noise, detune) or recording (also rooms, "
             "microphones, codecs, mechanical noise; needs pianotx[augment])."),
    grad_clip: float = typer.Option(
        3.0, min=0.0, metavar="NORM", help="Gradient norm clip; 0 turns it off."
    ),
    val_every: Optional[int] = typer.Option(
        None, min=1, metavar="N", help="Validate every N steps (default: each epoch's end)."
    ),
    val_pieces: int = typer.Option(20, min=0, metavar="N", help="Validation pieces; 0 = all."),
    ckpt_every: int = typer.Option(200, min=1, metavar="N", help="Save last.pt every N steps."),
    workers: int = typer.Option(2, min=0, metavar="N", help="Data loader processes."),
    augment: bool = typer.Option(False, "--augment", help="Random gain, EQ, reverb, noise."),
    cache_dir: Optional[Path] = typer.Option(
        None, metavar="DIR", help="Decoded-audio cache (default ~/.cache/pianotx/segments)."
    ),
    device: str = typer.Option("auto", metavar="DEVICE", help="auto, cpu, cuda, cuda:N or mps."),
    seed: int = typer.Option(0, min=0, metavar="N", help="Seed of weights and crops."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", metavar="DIR", help="Run folder (default runs/ARCH-HEADS-TIME)."
    ),
    train_hours: Optional[float] = typer.Option(
        None, min=0.0, metavar="H",
        help="Train on a fixed subset of the training split holding about H hours.",
    ),
    keep_epochs: bool = typer.Option(
        False, "--keep-epochs", help="Also keep the weights at each epoch's end as epochN.pt."
    ),
    snapshot_every: Optional[int] = typer.Option(
        None, "--snapshot-every", min=1, metavar="N",
        help="Also keep the weights every N steps as step_NNNNN.pt (for "
             "scripts/average_checkpoints.py)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out."),
    init_from: Optional[Path] = typer.Option(
        None, "--init-from", metavar="CKPT",
        help="Start from this checkpoint's weights (same model, or the same without "
             "--harmonic; fresh optimizer and schedule), e.g. a shipped model."),
    stop_at: Optional[int] = typer.Option(
        None, "--stop-at", min=1, metavar="N",
        help="End this invocation after step N (last.pt saved; --resume continues; the "
             "schedule still plans --steps)."),
    cpu_hours: Optional[float] = typer.Option(
        None, "--cpu-hours", metavar="H",
        help="End this invocation once the run has spent H CPU hours in all (counted across "
             "resumes, logged in metrics.jsonl; last.pt saved; --resume with a larger H "
             "continues)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress on stderr."),
    as_json: bool = typer.Option(
        False, "--json", help="No progress; print one JSON summary (run folder, model, steps, "
                              "best score) on stdout at the end."),
) -> None:
    """Train a transcription model (the paper's recipe with --heads frame and defaults).

    Writes config.json, metrics.jsonl/csv, plot.png, last.pt (resumable) and best.pt
    (best validation F1) into the run folder. Multi-GPU/CPU: torchrun --nproc_per_node N
    -m pianotx train ...
    """
    from pianotx.errors import ConfigError
    from pianotx.training.config import TrainConfig

    if resume and out is None:
        raise fail("--resume needs the --out folder of the run to continue", code=2)
    check_device(device)
    try:  # before any file is read: every value of the config comes straight from an option
        config = TrainConfig(
            data=str(data), arch=arch, heads=heads, width=width, beta=beta, steps=steps,
            epochs=epochs, batch_size=batch_size, segment_s=segment_seconds, lr=lr,
            warmup_steps=warmup_steps, grad_clip=grad_clip, seed=seed, val_every=val_every,
            val_pieces=val_pieces, ckpt_every=ckpt_every, workers=workers, augment=augment,
            device=device, cache_dir=str(cache_dir) if cache_dir else None,
            train_hours=train_hours, keep_epochs=keep_epochs, trunk=trunk,
            soft_frames=soft_frames, optimizer=optimizer, weight_decay=weight_decay,
            schedule=schedule, min_lr_ratio=min_lr_ratio, augment_chain=augment_chain,
            val_data=str(val_data) if val_data else None,
            init_from=str(init_from) if init_from else None, diff_input=diff_input, temporal_head=temporal_head,
            stop_at=stop_at, cpu_hours=cpu_hours, harmonic=harmonic, precision=precision, snapshot_every=snapshot_every,
            soft_onset_weight=soft_onset_weight,
            bass_weight=bass_weight,
        )
    except ConfigError as exc:
        raise fail(_options_named(str(exc)), code=2) from None
    with user_errors():
        from pianotx.errors import require

        require("torch", "training")
        from pianotx.training.run import train

        out = out or Path("runs") / f"{arch}-{heads}-{time.strftime('%Y%m%d-%H%M%S')}"
        main = os.environ.get("RANK", "0") == "0"
        events: list = []

        def on_event(event: Any) -> None:
            if event.kind == "done":
                events.append(event)
            display.on_event(event)

        with _Display(enabled=main and not (quiet or as_json)) as display:
            path = train(config, out_dir=out, resume=resume, on_event=on_event)
        if main and as_json:
            import json

            done = events[-1].values if events else {}
            console.print(json.dumps({
                "run": str(out), "model": str(path), "steps": events[-1].step if events else None,
                "best_score": done.get("best_score"), "best_step": done.get("best_step"),
            }), markup=False)
        elif main and not quiet:
            console.print(f"run folder {out}; model {path}")


def _options_named(message: str) -> str:
    """A config message in the options' words: ``diff_input needs trunk='freq'`` ->
    ``--diff-input needs --trunk freq`` (the fields of the model's settings are named so)."""
    import re

    from pianotx.training.config import TrainConfig, flag

    fields = set(TrainConfig.__dataclass_fields__)
    message = re.sub(r"\b(\w+)='([^']*)'",
                     lambda m: f"{flag(m[1])} {m[2]}" if m[1] in fields else m[0], message)
    first = message.split(" ", 1)[0]
    return flag(first) + message[len(first):] if first in fields else message


class _Display:
    """Rich progress for training events: a bar with loss, steps/s and ETA, plus notes."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Any = None
        self.task: Any = None

    def __enter__(self) -> "_Display":
        if self.enabled:
            from rich.progress import (
                BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=err_console,
            )
            self.progress.__enter__()
            self.task = self.progress.add_task("preparing", total=None, info="")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def on_event(self, event: Any) -> None:
        if self.progress is None:
            return
        values, update = event.values, self.progress.update
        if event.kind == "prepare":
            update(self.task, completed=values["done"], total=values["total"],
                   info="decoding audio into the cache")
        elif event.kind == "start":
            self.progress.reset(self.task, total=event.total_steps, completed=event.step)
            update(self.task, description="training", info="")
        elif event.kind == "step":
            update(self.task, completed=event.step, info=(
                f"epoch {event.epoch + 1} loss {values['loss']:.4f} "
                f"{values['steps_per_s']:.2f} steps/s {values['audio_s_per_s']:.0f} audio-s/s"
            ))
        elif event.kind == "validate":
            scores = values["scores"]
            synth = (f"; synth frame F1 {scores['synth/frame/f1']:.4f}, note F1 "
                     f"{scores.get('synth/note/f1', 0):.4f}" if "synth/frame/f1" in scores else "")
            self.progress.console.print(
                f"step {event.step}: validation frame F1 {scores.get('frame/f1', 0):.4f}, "
                f"note F1 {scores.get('note/f1', 0):.4f} (best {values['metric']} "
                f"{values['best']:.4f}){synth}"
            )
        elif event.kind == "note":
            self.progress.console.print(f"note: {values['message']}")
