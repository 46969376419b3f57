"""Notes, sustain-pedal intervals, and the label rolls a model learns from.

Times are seconds, pitches MIDI numbers (21-108 on a piano), velocities 1-127. Rolls are
``(n_frames, 88)`` float32 arrays at the feature frame rate (100 frames/s by default).
"""

from __future__ import annotations

import bisect
import math
from typing import NamedTuple, Sequence

import numpy as np

from pianotx.config import FRAME_RATE, MAX_MIDI, MIN_MIDI, N_KEYS


class Note(NamedTuple):
    """One played note: ``onset_s < offset_s``, MIDI ``pitch``, ``velocity`` 1-127."""

    onset_s: float
    offset_s: float
    pitch: int
    velocity: int


class Pedal(NamedTuple):
    """One sustain-pedal press: down at ``onset_s``, released at ``offset_s``."""

    onset_s: float
    offset_s: float


class Rolls(NamedTuple):
    """Frame-level targets, ``(n_frames, 88)`` float32 in [0, 1] (``pedal``: ``(n_frames, 1)``)."""

    frame: np.ndarray
    onset: np.ndarray
    offset: np.ndarray
    velocity: np.ndarray
    pedal: np.ndarray


def invalid_note(notes: Sequence[Note], pedals: Sequence[Pedal] = ()) -> str | None:
    """What is wrong with the first note or press that cannot be written, or None: a time
    that is negative or not finite, an end before the start, a pitch that is not a whole
    MIDI number 0-127."""
    for note in notes:
        times = (note.onset_s, note.offset_s)
        if not all(isinstance(t, (int, float, np.integer, np.floating)) and math.isfinite(t) and t >= 0
                   for t in times):
            return f"note {note} has a time that is negative or not a finite number of seconds"
        if note.offset_s < note.onset_s:
            return f"note {note} ends before it starts"
        if isinstance(note.pitch, bool) or not isinstance(note.pitch, (int, np.integer)) or not 0 <= note.pitch <= 127:
            return f"note {note} has pitch {note.pitch!r}, not a MIDI number 0-127"
    for pedal in pedals:
        if not all(math.isfinite(t) and t >= 0 for t in pedal) or pedal.offset_s < pedal.onset_s:
            return f"pedal press {pedal} has times that are negative, not finite or reversed"
    return None


def extend_by_pedal(notes: Sequence[Note], pedals: Sequence[Pedal]) -> list[Note]:
    """Hold notes released under the sustain pedal until the pedal lifts (MAESTRO convention).

    A note whose key is released while the pedal is down sounds until the pedal is released
    or the same key is struck again, whichever comes first.

    Parameters
    ----------
    notes : sequence of Note
        Key-down notes as played.
    pedals : sequence of Pedal
        Non-overlapping sustain intervals.

    Returns
    -------
    list of Note
        New notes sorted by (onset, pitch); the inputs are not modified.
    """
    ordered_pedals = sorted(pedals)
    starts = [p.onset_s for p in ordered_pedals]
    by_pitch = sorted(notes, key=lambda n: (n.pitch, n.onset_s))
    extended = []
    for i, note in enumerate(by_pitch):
        end = note.offset_s
        k = bisect.bisect_right(starts, end) - 1
        if k >= 0 and ordered_pedals[k].onset_s <= end < ordered_pedals[k].offset_s:
            end = ordered_pedals[k].offset_s
        following = by_pitch[i + 1] if i + 1 < len(by_pitch) else None
        if following is not None and following.pitch == note.pitch:
            if note.onset_s < following.onset_s < end:
                end = max(following.onset_s, min(end, note.offset_s))
        extended.append(note._replace(offset_s=end))
    return sorted(extended, key=lambda n: (n.onset_s, n.pitch))


def notes_to_rolls(
    notes: Sequence[Note],
    n_frames: int,
    *,
    frame_rate: float = FRAME_RATE,
    pedals: Sequence[Pedal] = (),
    soft_frames: int = 0,
) -> Rolls:
    """Render notes as frame, onset, offset and velocity rolls, and pedals as a pedal roll.

    Parameters
    ----------
    notes : sequence of Note
        Notes in seconds relative to frame 0 (negative onsets are notes already sounding).
    n_frames : int >= 0
        Number of frames; frame ``t`` covers time ``t / frame_rate``.
    frame_rate : float > 0
        Frames per second.
    pedals : sequence of Pedal
        Sustain intervals in the same time base.
    soft_frames : int >= 0
        0: ``onset``/``offset`` mark the rounded onset/offset frames. J > 0: a triangle
        ``max(0, 1 - |t - x| / J)`` around the exact time ``x`` in frames (Kong et al.), so the
        sub-frame time can be read back from the peak and its neighbours.

    Returns
    -------
    Rolls
        ``frame`` is 1 from the onset frame up to (not including) the offset frame, at least
        one frame; ``velocity`` holds ``velocity / 127`` at the rounded onset frames;
        ``pedal`` is 1 on frames where the pedal is down.
    """
    shape = (n_frames, N_KEYS)
    frame, onset, offset, velocity = (np.zeros(shape, np.float32) for _ in range(4))
    pedal = np.zeros((n_frames, 1), np.float32)
    for press in pedals:
        lo = max(int(round(press.onset_s * frame_rate)), 0)
        pedal[lo : max(int(round(press.offset_s * frame_rate)), lo + 1), 0] = 1.0
    for note in notes:
        if not MIN_MIDI <= note.pitch <= MAX_MIDI:
            continue
        key = note.pitch - MIN_MIDI
        on = int(round(note.onset_s * frame_rate))
        off = max(int(round(note.offset_s * frame_rate)), on + 1)
        if on >= n_frames or off <= 0:
            continue
        frame[max(on, 0) : min(off, n_frames), key] = 1.0
        if on >= 0:
            velocity[on, key] = note.velocity / 127.0
        if soft_frames:
            _triangle(onset[:, key], note.onset_s * frame_rate, soft_frames)
            _triangle(offset[:, key], note.offset_s * frame_rate, soft_frames)
            continue
        if on >= 0:
            onset[on, key] = 1.0
        if off < n_frames:
            offset[off, key] = 1.0
    return Rolls(frame, onset, offset, velocity, pedal)


def _triangle(roll: np.ndarray, centre: float, half_width: int) -> None:
    """Raise ``roll`` (one key) to ``1 - |t - centre| / half_width`` where that is larger."""
    lo = max(int(np.floor(centre - half_width)) + 1, 0)
    hi = min(int(np.ceil(centre + half_width)), len(roll))
    if hi <= lo:
        return
    t = np.arange(lo, hi, dtype=np.float64)
    values = np.maximum(0.0, 1.0 - np.abs(t - centre) / half_width).astype(np.float32)
    np.maximum(roll[lo:hi], values, out=roll[lo:hi])


def shift_notes(notes: Sequence[Note], start_s: float, end_s: float) -> list[Note]:
    """Return the notes sounding in ``[start_s, end_s)`` with times relative to ``start_s``."""
    return [
        n._replace(onset_s=n.onset_s - start_s, offset_s=n.offset_s - start_s)
        for n in notes
        if n.offset_s > start_s and n.onset_s < end_s
    ]


def pitch_name(pitch: int) -> str:
    """Return the scientific pitch name of a MIDI number, e.g. 60 -> 'C4'."""
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[pitch % 12]}{pitch // 12 - 1}"
