"""Notes -> output files in every format ``pianotx transcribe`` writes (MIDI, CSV, JSON,
MusicXML), each written atomically; shared by the CLI and the cluster runner."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from pianotx.music.notes import Note, Pedal

FORMATS = {"mid": ".mid", "csv": ".csv", "json": ".json", "musicxml": ".musicxml"}


def write_outputs(
    notes: Sequence[Note], pedals: Sequence[Pedal], targets: dict[str, Path], *,
    tempo_bpm: float, overwrite: bool, meter_changes: bool = False, key_changes: bool = False,
    time_signature: str | None = None,
) -> None:
    """Write the notes and pedal presses in every planned format, each file atomically; the
    MusicXML score with time- and key-signature changes where ``meter_changes`` and
    ``key_changes`` ask for them, in the ``time_signature`` the user gives
    (:func:`pianotx.score.chain.analyse`)."""
    from pianotx.files import write_bytes_atomic
    from pianotx.music.midi import notes_to_midi, write_midi
    from pianotx.music.notelist import as_written, to_csv, to_json

    if "mid" in targets:
        write_midi(notes_to_midi(notes, pedals=pedals, tempo_bpm=tempo_bpm), targets["mid"], overwrite=overwrite)
    written = as_written(notes, pedals=pedals, tempo_bpm=tempo_bpm)
    for name, render in (("csv", to_csv), ("json", to_json)):
        if name in targets:
            text = render(written.notes, pedals=written.pedals)
            write_bytes_atomic(targets[name], text.encode(), overwrite=overwrite)
    if "musicxml" in targets:
        from pianotx.score.chain import analyse, make_score
        from pianotx.score.musicxml import write_musicxml

        analysis = analyse(notes, meter_changes=meter_changes, key_changes=key_changes,
                           time_signature=time_signature)
        write_musicxml(make_score(notes, pedals, analysis=analysis), targets["musicxml"], overwrite=overwrite)
