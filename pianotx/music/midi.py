"""MIDI files <-> notes and sustain-pedal intervals, with mido.

Reading follows the MAESTRO conventions: all non-drum channels, a re-struck key ends the
sounding note, CC64 >= 64 means the sustain pedal is down. Writing is exact to one tick
(about 1 ms at the default 120 BPM and 480 ticks per beat).
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import NamedTuple, Sequence

import mido

from pianotx.config import PEDAL_THRESHOLD
from pianotx.errors import MidiError
from pianotx.files import write_bytes_atomic
from pianotx.music.notes import Note, Pedal, invalid_note

MIN_TEMPO_BPM = 4.0  # a MIDI tempo holds at most 16.8 s a beat (3.6 BPM)

TICKS_PER_BEAT = 480
DRUM_CHANNEL = 9


class Performance(NamedTuple):
    """Key-down notes and sustain-pedal intervals read from one MIDI file."""

    notes: list[Note]
    pedals: list[Pedal]


def read_midi(path: Path) -> Performance:
    """Read notes (as played, not pedal-extended) and sustain intervals from a MIDI file.

    Raises
    ------
    MidiError
        If the file is missing or is not a readable MIDI file.
    """
    path = Path(path)
    if path.is_dir():
        raise MidiError(f"{path} is a folder; give a .mid file")
    if not path.is_file():
        raise MidiError(f"MIDI file not found: {path}; check the path")
    try:
        midi = mido.MidiFile(path, clip=True)
        if midi.type == 2:
            raise MidiError(f"{path} is a type 2 MIDI file (independent sequences); save it as type 0 or 1")
        if midi.ticks_per_beat <= 0:
            raise MidiError(f"{path} counts time in SMPTE frames or 0 ticks per beat; save it with "
                            "ticks per beat (MIDI type 0 or 1)")
        messages = list(midi)
    except MidiError:
        raise
    except Exception as exc:  # mido raises many kinds for damaged files (tempo, key, header)
        reason = str(exc) or (
            "the file is empty" if path.stat().st_size == 0
            else "it ends too early" if isinstance(exc, EOFError) else type(exc).__name__
        )
        if not any(c.isalpha() for c in reason):
            reason = "damaged data"
        raise MidiError(f"cannot read {path} as MIDI ({reason}); is it a .mid file?") from None
    return performance(messages)


def performance(messages: list[mido.Message]) -> Performance:
    """Notes and pedal intervals from time-ordered messages with delta seconds (``list(MidiFile)``)."""
    now = 0.0
    active: dict[tuple[int, int], tuple[float, int]] = {}
    notes: list[Note] = []
    pedals: list[Pedal] = []
    pedal_down: float | None = None
    for msg in messages:
        now += msg.time
        if msg.is_meta or getattr(msg, "channel", None) == DRUM_CHANNEL:
            continue
        if msg.type in ("note_on", "note_off"):
            key = (msg.channel, msg.note)
            if key in active:
                onset, velocity = active.pop(key)
                if now > onset:
                    notes.append(Note(onset, now, msg.note, velocity))
            if msg.type == "note_on" and msg.velocity > 0:
                active[key] = (now, msg.velocity)
        elif msg.type == "control_change" and msg.control == 64:
            down = msg.value >= PEDAL_THRESHOLD
            if down and pedal_down is None:
                pedal_down = now
            elif not down and pedal_down is not None:
                if now > pedal_down:
                    pedals.append(Pedal(pedal_down, now))
                pedal_down = None
    for (_, pitch), (onset, velocity) in active.items():
        if now > onset:
            notes.append(Note(onset, now, pitch, velocity))
    if pedal_down is not None and now > pedal_down:
        pedals.append(Pedal(pedal_down, now))
    notes.sort(key=lambda n: (n.onset_s, n.pitch))
    return Performance(notes, pedals)


def notes_to_midi(
    notes: Sequence[Note], *, pedals: Sequence[Pedal] = (), tempo_bpm: float = 120.0
) -> mido.MidiFile:
    """Build a one-track piano MIDI file from notes and optional sustain intervals.

    Same-pitch overlaps are cut at the next onset and every note lasts at least one tick,
    so the file opens cleanly in DAWs and notation programs; velocities are clamped to
    1-127. A :class:`MidiError` for a note :func:`~pianotx.music.notes.invalid_note` refuses
    or a tempo outside 4-1000 BPM.
    """
    if not (math.isfinite(tempo_bpm) and MIN_TEMPO_BPM <= tempo_bpm <= 1000.0):
        raise MidiError(f"tempo must be {MIN_TEMPO_BPM:g}-1000 BPM, got {tempo_bpm}")
    problem = invalid_note(notes, pedals)
    if problem is not None:
        raise MidiError(f"{problem}; fix the note list")
    ticks_per_s = TICKS_PER_BEAT * tempo_bpm / 60.0
    events: list[tuple[int, int, mido.Message]] = []  # (tick, order, message)
    last_on: dict[int, int] = {}
    for note in sorted(notes, key=lambda n: (n.pitch, n.onset_s), reverse=True):
        on = round(note.onset_s * ticks_per_s)
        off = max(round(note.offset_s * ticks_per_s), on + 1)
        if note.pitch in last_on and last_on[note.pitch] > on:
            off = max(min(off, last_on[note.pitch]), on + 1)
        last_on[note.pitch] = on
        velocity = int(min(max(note.velocity, 1), 127))
        events.append((on, 2, mido.Message("note_on", note=note.pitch, velocity=velocity)))
        events.append((off, 0, mido.Message("note_off", note=note.pitch, velocity=0)))
    for pedal in pedals:
        down = round(pedal.onset_s * ticks_per_s)
        up = max(round(pedal.offset_s * ticks_per_s), down + 1)
        events.append((down, 1, mido.Message("control_change", control=64, value=127)))
        events.append((up, 1, mido.Message("control_change", control=64, value=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Piano", time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(tempo_bpm), time=0))
    track.append(mido.Message("program_change", program=0, time=0))
    now = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT, type=0)
    midi.tracks.append(track)
    return midi


def write_midi(midi: mido.MidiFile, path: Path, *, overwrite: bool = False) -> None:
    """Write ``midi`` to ``path`` atomically, refusing to replace a file unless ``overwrite``."""
    write_bytes_atomic(Path(path), midi_bytes(midi), overwrite=overwrite)


def midi_bytes(midi: mido.MidiFile) -> bytes:
    """The bytes of a standard MIDI file."""
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()
