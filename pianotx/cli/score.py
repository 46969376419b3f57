"""``pianotx score``: a MIDI performance -> a MusicXML score."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pianotx.cli.app import app
from pianotx.cli.common import (KEY_CHANGES, METER_CHANGES, TIME_SIGNATURE, check_time_signature, console, fail,
                                user_errors)


@app.command()
def score(
    midi: Path = typer.Argument(..., help="A MIDI performance (digital piano, another transcriber)."),
    out: Optional[Path] = typer.Option(
        None, "-o", "--out", help="Output .musicxml (or .xml) file [default: beside the MIDI]."),
    title: Optional[str] = typer.Option(None, "--title", help="Part name [default: the file's stem]."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output file."),
    beats: str = typer.Option(
        "learned", "--beats", metavar="TRACKER",
        help="Beat tracker: learned (the shipped network and bar DBN) or dp (onset "
             "autocorrelation and dynamic programming, the tracker before 0.7)."),
    meter_changes: bool = METER_CHANGES,
    key_changes: bool = KEY_CHANGES,
    time_signature: Optional[str] = TIME_SIGNATURE,
) -> None:
    """Write a two-staff piano score (MusicXML) from a MIDI performance: beats, meter, key,
    quantization with triplets, hands, voices, spelling, dynamics and pedal marks."""
    _check_options(beats=beats, meter_changes=meter_changes, time_signature=time_signature)
    target = out if out is not None else midi.with_suffix(".musicxml")
    with user_errors():
        from pianotx.files import check_output
        from pianotx.music.midi import read_midi
        from pianotx.score.chain import analyse, make_score
        from pianotx.score.extra import require
        from pianotx.score.musicxml import time_signatures, write_musicxml

        check_output(target, overwrite=overwrite, suffixes=(".musicxml", ".xml"), inputs=(midi,))
        require("partitura")
        performance = read_midi(midi)
        notated = make_score(performance.notes, performance.pedals,
                             analysis=analyse(performance.notes, tracker=beats, key_changes=key_changes,
                                              meter_changes=meter_changes, time_signature=time_signature))
        write_musicxml(notated, target, overwrite=overwrite, title=title or midi.stem)
    signatures = time_signatures(notated)
    changes = f" ({len(signatures) - 1} time-signature change{'s' * (len(signatures) > 2)})" * (len(signatures) > 1)
    keys = len(notated.key_changes)
    new_keys = f" ({keys} key change{'s' * (keys > 1)})" * (keys > 0)
    console.print(
        f"{midi} -> {target}: {len(notated.notes)} notes, {len(notated.bars) - 1} bars of "
        f"{signatures[0][1]}/{signatures[0][2]}{changes}, {notated.key.label}{new_keys}, "
        f"quarter = {notated.tempo_bpm:.0f}", markup=False)


def _check_options(*, beats: str, meter_changes: bool, time_signature: str | None) -> None:
    """Any usage error (exit 2) before a file is read."""
    from pianotx.score.chain import TRACKERS

    if beats not in TRACKERS:
        raise fail(f"unknown --beats {beats!r}: use one of {', '.join(TRACKERS)}", code=2)
    if meter_changes and beats != "learned":
        raise fail("--meter-changes needs the learned beat tracker; drop --beats dp", code=2)
    check_time_signature(time_signature, meter_changes=meter_changes)
    if time_signature is not None and beats != "learned":
        raise fail("--time-signature needs the learned beat tracker; drop --beats dp", code=2)
