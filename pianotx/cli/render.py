"""``pianotx render``: listen to a MIDI file through the pianos of ``pianotx synth``."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import check_timbres, console, user_errors


@app.command()
def render(
    midi: Path = typer.Argument(..., help="A MIDI file."),
    out: Path = typer.Option(..., "-o", "--out", help="Output .wav file."),
    timbre: str = typer.Option(
        "timgm6mb", "--timbre",
        help="Piano: timgm6mb (pip only), musescore, fluidr3, merlin, iowa or salamander (see docs/SYNTH.md)."),
    sample_rate: int = typer.Option(44_100, "--sample-rate", min=8_000, max=192_000, help="Hz."),
    soundfont_dir: Optional[Path] = typer.Option(
        None, "--soundfont-dir",
        help="Extra sound files [default: $PIANOTX_SOUNDFONTS or ~/.cache/pianotx/soundfonts]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing wav."),
) -> None:
    """Render a MIDI file to a wav through a sampled piano (sustain pedal included)."""
    check_timbres([timbre])
    with user_errors():
        from pianotx.files import check_output
        from pianotx.data.synth.preview import render_midi, write_wav

        check_output(out, overwrite=overwrite, suffixes=(".wav",), inputs=(midi,))
        if soundfont_dir is not None and not soundfont_dir.is_dir():
            from pianotx.errors import SynthError

            raise SynthError(f"--soundfont-dir {soundfont_dir} is not a folder; give the folder of sound files")
        audio = render_midi(midi, timbre=timbre, sample_rate=sample_rate, soundfont_dir=soundfont_dir)
        write_wav(out, audio, sample_rate, overwrite=overwrite)
    console.print(f"{midi} -> {out}: {len(audio) / sample_rate:.1f} s with {timbre}", markup=False)
