"""``pianotx score``: a MIDI performance -> a MusicXML score."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import console, user_errors


@app.command()
def score(
    midi: Path = typer.Argument(..., help="A MIDI performance (digital piano, another transcriber)."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="Output .musicxml file [default: beside the MIDI]."),
    title: Optional[str] = typer.Option(None, "--title", help="Part name [default: the file's stem]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    beats: str = typer.Option(
        "learned", "--beats", metavar="TRACKER",
        help="Beat tracker: learned (the shipped network and bar DBN) or dp (onset "
             "autocorrelation and dynamic programming, the tracker before 0.7)."),
) -> None:
    """Write a two-staff piano score (MusicXML) from a MIDI performance: beats, meter, key,
    quantization with triplets, hands, voices, spelling, dynamics and pedal marks."""
    target = out if out is not None else midi.with_suffix(".musicxml")
    with user_errors():
        from pianotx.files import check_output
        from pianotx.music.midi import read_midi
        from pianotx.score.chain import analyse, make_score
        from pianotx.score.extra import require
        from pianotx.score.musicxml import write_musicxml

        check_output(target, overwrite=overwrite)
        require("partitura")
        performance = read_midi(midi)
        notated = make_score(performance.notes, performance.pedals,
                             analysis=analyse(performance.notes, tracker=beats))
        write_musicxml(notated, target, overwrite=overwrite, title=title or midi.stem)
    bars = max(n.onset_div + n.duration_div for n in notated.notes) // notated.bar_divs + 1
    console.print(
        f"{midi} -> {target}: {len(notated.notes)} notes, {bars} bars of "
        f"{notated.meter.time_signature}, {notated.key.label}, "
        f"quarter = {notated.tempo_bpm:.0f}", markup=False)
