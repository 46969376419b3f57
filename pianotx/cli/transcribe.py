"""``pianotx transcribe``: audio files or folders -> MIDI files."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import console, err_console, fail, user_errors


def collect_inputs(paths: list[Path]) -> list[Path]:
    """Expand folders into their audio files (recursively, sorted); check files exist."""
    from pianotx.audio import AUDIO_SUFFIXES
    from pianotx.errors import AudioError

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            if not files:
                raise AudioError(
                    f"folder {path} holds no audio files ({', '.join(AUDIO_SUFFIXES)})"
                )
            found.extend(files)
        elif not path.exists():
            raise AudioError(f"audio file not found: {path}; check the path")
        else:
            found.append(path)
    return found


def plan_outputs(inputs: list[Path], out: Path | None, *, overwrite: bool) -> list[Path]:
    """MIDI path for every input; checks them all before anything is transcribed."""
    from pianotx.errors import OutputError
    from pianotx.files import check_output

    if len(inputs) == 1 and out is not None and not out.is_dir():
        targets = [out]
    elif out is None:
        targets = [path.with_suffix(".mid") for path in inputs]
    else:
        if out.exists() and not out.is_dir():
            raise OutputError(f"-o {out} must be a folder when transcribing several files")
        if not out.exists():
            if not out.parent.is_dir():
                raise OutputError(f"output folder {out.parent} does not exist; create it first")
            try:
                out.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create output folder {out}: {exc.strerror}") from None
        targets = [out / f"{path.stem}.mid" for path in inputs]
    if len(set(targets)) != len(targets):
        raise OutputError("two inputs share a file name stem; transcribe them separately")
    for target in targets:
        check_output(target, overwrite=overwrite)
    return targets


@app.command()
def transcribe(
    audio: List[Path] = typer.Argument(..., help="Audio files (wav, flac, ogg, mp3) or folders."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="Output .mid file (one input) or folder (several inputs)."
    ),
    model: Optional[str] = typer.Option(None, "--model", help="Bundled model name (see info)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A .pt checkpoint."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N or mps."),
    onset_threshold: Optional[float] = typer.Option(None, help="Override the model's default."),
    frame_threshold: Optional[float] = typer.Option(None, help="Override the model's default."),
    batch_size: int = typer.Option(8, min=1, help="10 s windows per forward pass."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing MIDI files."),
) -> None:
    """Transcribe piano recordings to MIDI files."""
    if model is not None and checkpoint is not None:
        raise fail("--model and --checkpoint exclude each other; give one", code=2)
    with user_errors():
        inputs = collect_inputs(audio)
        targets = plan_outputs(inputs, out, overwrite=overwrite)
        from pianotx.api import load_model

        loaded = load_model(checkpoint if checkpoint is not None else model, device=device)
        decode = _decode_config(loaded.decode_config, onset_threshold, frame_threshold)
    failures = 0
    for source, target in zip(inputs, targets):
        try:
            with user_errors():
                _transcribe_one(loaded, source, target, decode=decode, overwrite=overwrite)
        except typer.Exit:
            failures += 1
    if failures:
        raise typer.Exit(1)


def _decode_config(base, onset_threshold, frame_threshold):  # type: ignore[no-untyped-def]
    import dataclasses

    changes = {}
    if onset_threshold is not None:
        changes["onset_threshold"] = onset_threshold
    if frame_threshold is not None:
        changes["frame_threshold"] = frame_threshold
    return dataclasses.replace(base, **changes)


def _transcribe_one(loaded, source: Path, target: Path, *, decode, overwrite: bool) -> None:  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from pianotx.api import transcribe as transcribe_audio
    from pianotx.audio import check_not_silent, load_audio
    from pianotx.midi import notes_to_midi, write_midi

    started = time.perf_counter()
    samples = load_audio(source, sample_rate=loaded.feature_config.sample_rate)
    check_not_silent(samples, name=str(source))
    duration_s = len(samples) / loaded.feature_config.sample_rate
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(
        *columns, console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(source.name, total=None)
        notes = transcribe_audio(
            samples, loaded.feature_config.sample_rate, model=loaded, decode=decode,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    write_midi(notes_to_midi(notes), target, overwrite=overwrite)
    elapsed = time.perf_counter() - started
    console.print(
        f"{source} -> {target}: {len(notes)} notes, {duration_s:.1f} s of audio, "
        f"{elapsed:.1f} s ({duration_s / max(elapsed, 1e-9):.0f}x real time)",
        markup=False,
    )
