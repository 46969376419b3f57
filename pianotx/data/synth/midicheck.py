"""A cheap check that a file is a MIDI performance, made when a MIDI folder is scanned.

Parsing a whole folder with mido takes minutes (MAESTRO v3's 1,275 files, 84 MB: 274 s on
the shared 2-core VM; this check: 0.3 s), so only the structure is checked: the ``MThd`` header, that every track the header announces is an
``MTrk`` chunk lying wholly inside the file (a file cut short fails here), and that some
track strikes a note (a note-on with velocity > 0 outside the drum channel), read event by
event only up to the first such note. A file that passes can still fail to parse deep
inside a track; that is found when its item is rendered.
"""

from __future__ import annotations

from pathlib import Path

from pianotx.errors import SynthError

DRUM_CHANNEL = 9


def check_midi_file(path: Path) -> None:
    """Raise :class:`SynthError` naming ``path`` unless it looks like a MIDI performance."""
    path = Path(path)

    def bad(reason: str) -> SynthError:
        return SynthError(f"{path} {reason}; remove it from the MIDI folder")

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise bad(f"cannot be read ({exc.strerror or exc})") from None
    if len(data) < 14 or data[:4] != b"MThd":
        raise bad("is not a MIDI file (no MThd header)")
    n_tracks = int.from_bytes(data[10:12], "big")
    pos = 8 + int.from_bytes(data[4:8], "big")
    tracks = []
    for _ in range(n_tracks):
        size = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] != b"MTrk" or pos + 8 + size > len(data):
            raise bad(f"is cut short or damaged (track {len(tracks) + 1} of {n_tracks})")
        tracks.append(data[pos + 8:pos + 8 + size])
        pos += 8 + size
    if not any(strikes_a_note(track) for track in tracks):
        raise bad("holds no notes")


def strikes_a_note(track: bytes) -> bool:
    """Whether the events of one ``MTrk`` chunk's data hold a non-drum note-on with
    velocity > 0 (running status followed as mido follows it)."""
    pos, status, end = 0, None, len(track)
    while pos < end:
        pos = _skip_number(track, pos)  # delta time
        if pos >= end:
            return False
        byte = track[pos]
        if byte >= 0x80:
            pos += 1
            if byte != 0xFF:
                status = byte
        elif status is None:
            return False  # running status with nothing to run on: mido fails too
        else:
            byte = status
        if byte == 0xFF:  # meta event: type, length, data
            pos = _skip_data(track, pos + 1)
        elif byte in (0xF0, 0xF7):  # sysex: length, data
            pos = _skip_data(track, pos)
        elif byte & 0xF0 in (0xC0, 0xD0):
            pos += 1
        else:
            if byte & 0xF0 == 0x90 and byte & 0x0F != DRUM_CHANNEL and pos + 1 < end and track[pos + 1]:
                return True
            pos += 2
    return False


def _skip_number(data: bytes, pos: int) -> int:
    """The position after a variable-length number starting at ``pos``."""
    while pos < len(data) and data[pos] & 0x80:
        pos += 1
    return pos + 1


def _skip_data(data: bytes, pos: int) -> int:
    """The position after a variable-length length at ``pos`` and the bytes it counts."""
    length, start = 0, pos
    while pos < len(data):
        length = (length << 7) | (data[pos] & 0x7F)
        pos += 1
        if not data[pos - 1] & 0x80:
            break
    return pos + length if pos > start else len(data)
