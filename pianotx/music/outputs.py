"""Notes -> output files in every format ``pianotx transcribe`` writes (MIDI, CSV, JSON,
MusicXML), written all or none; shared by the CLI and the cluster runner."""

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
    """Write the notes and pedal presses in every planned format, all or none (each file is
    made before any is written; :func:`pianotx.files.write_files_atomic`); the
    MusicXML score with time- and key-signature changes where ``meter_changes`` and
    ``key_changes`` ask for them, in the ``time_signature`` the user gives
    (:func:`pianotx.score.chain.analyse`)."""
    from pianotx.files import write_files_atomic
    from pianotx.music.midi import midi_bytes, notes_to_midi
    from pianotx.music.notelist import as_written, to_csv, to_json

    payloads: dict[Path, bytes] = {}
    if "mid" in targets:
        payloads[targets["mid"]] = midi_bytes(notes_to_midi(notes, pedals=pedals, tempo_bpm=tempo_bpm))
    written = as_written(notes, pedals=pedals, tempo_bpm=tempo_bpm)
    for name, render in (("csv", to_csv), ("json", to_json)):
        if name in targets:
            payloads[targets[name]] = render(written.notes, pedals=written.pedals).encode()
    if "musicxml" in targets:
        from pianotx.score.chain import analyse, make_score
        from pianotx.score.musicxml import to_musicxml

        analysis = analyse(notes, meter_changes=meter_changes, key_changes=key_changes,
                           time_signature=time_signature)
        payloads[targets["musicxml"]] = to_musicxml(make_score(notes, pedals, analysis=analysis)).encode()
    write_files_atomic(payloads, overwrite=overwrite)
