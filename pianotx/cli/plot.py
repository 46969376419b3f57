"""``pianotx plot``: a PNG of the log-mel and the piano roll, with hits and misses against a reference."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_device, console, fail, user_errors

MIDI_SUFFIXES = (".mid", ".midi")


@app.command()
def plot(
    source: Path = typer.Argument(..., help="An audio file (transcribed first) or a MIDI file."),
    out: Path = typer.Option(..., "-o", "--out", help="Output .png file."),
    ref: Optional[Path] = typer.Option(
        None, "--ref", help="Reference MIDI: colour hits green, misses red, false notes orange."),
    model: Optional[str] = typer.Option(None, "--model", help="Bundled model name (audio input)."),
    checkpoint: Optional[Path] = typer.Option(None, "--checkpoint", help="A .pt checkpoint (audio input)."),
    device: str = typer.Option("auto", help="auto, cpu, cuda, cuda:N or mps."),
    width: int = typer.Option(1200, "--width", min=100, max=20000, help="Image width in pixels."),
    height: int = typer.Option(800, "--height", min=100, max=20000, help="Image height in pixels."),
    dpi: int = typer.Option(100, "--dpi", min=10, max=1000, help="Dots per inch (text size)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing image."),
) -> None:
    """Draw the log-mel spectrogram and the piano roll of a recording or a MIDI file."""
    if model is not None and checkpoint is not None:
        raise fail("--model and --checkpoint exclude each other; give one", code=2)
    if source.suffix.lower() in MIDI_SUFFIXES and (model is not None or checkpoint is not None):
        raise fail("--model and --checkpoint transcribe audio; drop them to plot a MIDI file", code=2)
    check_device(device)
    with user_errors():
        from pianotx.files import check_output
        from pianotx.music.midi import read_midi
        from pianotx.evaluation.plot import plot_transcription, require_matplotlib

        require_matplotlib()
        check_output(out, overwrite=overwrite, suffixes=(".png",),
                     inputs=(source,) + ((ref,) if ref is not None else ()))
        reference = read_midi(ref).notes if ref is not None else None
        if source.suffix.lower() in MIDI_SUFFIXES:
            notes, log_mel, frame_rate = read_midi(source).notes, None, 100.0
        else:
            notes, log_mel, frame_rate = _transcribe(source, checkpoint if checkpoint is not None else model,
                                                     device)
        plot_transcription(out, notes, log_mel=log_mel, frame_rate=frame_rate, ref=reference,
                           width_px=width, height_px=height, dpi=dpi, title=source.name, overwrite=overwrite)
    console.print(f"{source} -> {out}: {len(notes)} notes, {width}x{height} px", markup=False)


def _transcribe(source: Path, model_name, device: str):  # type: ignore[no-untyped-def]
    """Notes, log-mel ``(n_frames, n_mels)`` and frame rate of an audio file."""
    import torch

    from pianotx.api import load_model, transcribe_samples
    from pianotx.audio.load import check_not_silent, load_audio
    from pianotx.errors import AudioError
    from pianotx.audio.features import LogMel

    if not source.exists():
        raise AudioError(f"audio file not found: {source}; check the path")
    loaded = load_model(model_name, device=device, engine="torch")
    config = loaded.feature_config
    samples = load_audio(source, sample_rate=config.sample_rate)
    check_not_silent(samples, name=str(source))
    notes = transcribe_samples(samples, model=loaded).notes
    with torch.no_grad():
        log_mel = LogMel(config)(torch.from_numpy(samples)[None])[0].numpy()
    return notes, log_mel[:, :config.n_mels], config.frame_rate  # the log-mel, not the harmonic view after it
