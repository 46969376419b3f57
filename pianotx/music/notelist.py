"""Note lists as CSV and JSON text, exactly the notes a MIDI file written by pianotx holds.

CSV columns are ``onset_s,offset_s,pitch,name,velocity``; a sustain-pedal press is a row
with the name ``sustain`` and empty pitch and velocity. JSON is
``{"notes": [{"onset_s", "offset_s", "pitch", "name", "velocity"}], "pedals": [{"onset_s",
"offset_s"}]}``. Seconds are rounded to 1 ms, or finer when a MIDI tick is shorter than 1 ms
(tempos above 125 BPM), so a list converted back to MIDI gives the very same ticks.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Sequence

from pianotx.errors import PianotxError
from pianotx.music.midi import TICKS_PER_BEAT, Performance, notes_to_midi
from pianotx.music.notes import Note, Pedal, pitch_name

COLUMNS = ("onset_s", "offset_s", "pitch", "name", "velocity")
PEDAL_NAME = "sustain"


def decimals_for_tempo(tempo_bpm: float) -> int:
    """Decimal places of seconds that keep every time within half a MIDI tick (at least 3)."""
    tick_s = 60.0 / (tempo_bpm * TICKS_PER_BEAT)
    return max(3, math.ceil(-math.log10(tick_s)))


def as_written(
    notes: Sequence[Note], *, pedals: Sequence[Pedal] = (), tempo_bpm: float = 120.0
) -> Performance:
    """The notes and pedals a MIDI file from :func:`pianotx.music.midi.notes_to_midi` holds.

    Times snap to ticks, same-pitch overlaps are cut and every note lasts at least one tick,
    then seconds are rounded (see :func:`decimals_for_tempo`). Write these to CSV/JSON so
    the lists agree with the MIDI file note for note.
    """
    from pianotx.music.midi import performance

    midi = notes_to_midi(notes, pedals=pedals, tempo_bpm=tempo_bpm)
    played = performance(list(midi))
    digits = decimals_for_tempo(tempo_bpm)
    return Performance(
        [n._replace(onset_s=round(n.onset_s, digits), offset_s=round(n.offset_s, digits))
         for n in played.notes],
        [Pedal(round(p.onset_s, digits), round(p.offset_s, digits)) for p in played.pedals],
    )


def to_csv(notes: Sequence[Note], *, pedals: Sequence[Pedal] = ()) -> str:
    """CSV text: a header, one row per note, then one ``sustain`` row per pedal press."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for n in notes:
        writer.writerow((float(n.onset_s), float(n.offset_s), n.pitch, pitch_name(n.pitch), n.velocity))
    for p in pedals:
        writer.writerow((float(p.onset_s), float(p.offset_s), "", PEDAL_NAME, ""))
    return buffer.getvalue()


def from_csv(text: str, *, name: str = "CSV") -> Performance:
    """Parse :func:`to_csv` text back into notes and pedals.

    Raises
    ------
    PianotxError
        If the header or a row is malformed; the message names the row.
    """
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        raise PianotxError(f"{name} must start with the header {','.join(COLUMNS)}")
    notes, pedals = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        try:
            onset, offset, pitch, label, velocity = (c.strip() for c in row)
            if label == PEDAL_NAME and not pitch:
                pedals.append(_pedal(onset, offset))
            else:
                notes.append(_note(onset, offset, pitch, velocity))
        except ValueError as exc:
            raise PianotxError(f"{name} row {number} is not a note ({exc})") from None
    return Performance(notes, pedals)


def to_json(notes: Sequence[Note], *, pedals: Sequence[Pedal] = ()) -> str:
    """JSON text ``{"notes": [...], "pedals": [...]}`` with one note or pedal per line."""
    note_items = [json.dumps({"onset_s": float(n.onset_s), "offset_s": float(n.offset_s),
                              "pitch": n.pitch, "name": pitch_name(n.pitch), "velocity": n.velocity})
                  for n in notes]
    pedal_items = [json.dumps({"onset_s": float(p.onset_s), "offset_s": float(p.offset_s)})
                   for p in pedals]
    return '{\n  "notes": [' + _lines(note_items) + '],\n  "pedals": [' + _lines(pedal_items) + "]\n}\n"


def from_json(text: str, *, name: str = "JSON") -> Performance:
    """Parse :func:`to_json` text back into notes and pedals.

    Raises
    ------
    PianotxError
        If the text is not JSON of that shape; the message names the item.
    """
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(data.get("notes"), list):
            raise ValueError('expected an object with a "notes" list')
        notes = [_note(n["onset_s"], n["offset_s"], n["pitch"], n["velocity"]) for n in data["notes"]]
        pedals = [_pedal(p["onset_s"], p["offset_s"]) for p in data.get("pedals", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise PianotxError(f"{name} is not a pianotx note list ({exc!s})") from None
    return Performance(notes, pedals)


def _lines(items: list[str]) -> str:
    return "\n    " + ",\n    ".join(items) + "\n  " if items else ""


def _note(onset, offset, pitch, velocity) -> Note:  # type: ignore[no-untyped-def]
    note = Note(float(onset), float(offset), int(pitch), int(velocity))
    if not (math.isfinite(note.onset_s) and note.onset_s < note.offset_s):
        raise ValueError(f"onset {note.onset_s} must come before offset {note.offset_s}")
    if not (0 <= note.pitch <= 127 and 1 <= note.velocity <= 127):
        raise ValueError(f"pitch {note.pitch} or velocity {note.velocity} out of the MIDI range")
    return note


def _pedal(onset, offset) -> Pedal:  # type: ignore[no-untyped-def]
    pedal = Pedal(float(onset), float(offset))
    if not (math.isfinite(pedal.onset_s) and pedal.onset_s < pedal.offset_s):
        raise ValueError(f"pedal onset {pedal.onset_s} must come before offset {pedal.offset_s}")
    return pedal

