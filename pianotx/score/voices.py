"""Voices within a staff: notes that start and end together form a chord in one voice.

Chords are dealt, top first, to the lowest-numbered voice that is free at their onset; when
every voice is busy, the voice that frees first is cut short at the onset. MusicXML numbers
voices 1-4 in the upper staff and 5-8 in the lower one, as notation programs do.
"""

from __future__ import annotations

from typing import Sequence

from pianotx.score.quantize import Placed

MAX_VOICES = 4


def assign_voices(placed: Sequence[Placed], staffs: Sequence[int]) -> tuple[list[Placed], list[int]]:
    """Voice of every note (1-4 on staff 1, 5-8 on staff 2) and the notes, some cut short.

    Notes are never moved; a duration changes only where all four voices are busy (the voice
    that frees first is cut short, or a chord begun at the same onset is joined), so that
    each voice is a sequence of chords that do not overlap.
    """
    notes = list(placed)
    voices = [0] * len(notes)
    for staff in (1, 2):
        base = 0 if staff == 1 else MAX_VOICES
        busy = [0] * MAX_VOICES  # end division of each voice
        members: list[list[int]] = [[] for _ in range(MAX_VOICES)]
        chords: dict[tuple[int, int], list[int]] = {}
        for i, note in enumerate(notes):
            if staffs[i] == staff:
                chords.setdefault((note.onset_div, note.duration_div), []).append(i)
        ordered = sorted(chords.items(), key=lambda kv: (kv[0][0], -max(notes[i].pitch for i in kv[1])))
        for (onset, _), chord in ordered:
            free = [v for v in range(MAX_VOICES) if busy[v] <= onset]
            if free:
                voice = free[0]
            else:
                voice = min(range(MAX_VOICES), key=lambda v: busy[v])
                if notes[members[voice][0]].onset_div == onset:  # join the chord begun here
                    for i in chord:
                        notes[i] = notes[i]._replace(duration_div=notes[members[voice][0]].duration_div)
                        voices[i] = base + voice + 1
                    members[voice] = members[voice] + chord
                    continue
                for j in members[voice]:
                    if notes[j].onset_div + notes[j].duration_div > onset:
                        notes[j] = notes[j]._replace(duration_div=onset - notes[j].onset_div)
            for i in chord:
                voices[i] = base + voice + 1
            members[voice] = chord
            busy[voice] = onset + notes[chord[0]].duration_div
    return notes, voices


def close_gaps(placed: Sequence[Placed], voices: Sequence[int], *, max_gap: int) -> list[Placed]:
    """Hold each chord until the next chord of its voice when the rest between them would be
    at most ``max_gap`` divisions: a detached performance reads as plain notes, not as
    sixteenths and sixteenth rests."""
    notes = list(placed)
    by_voice: dict[int, list[int]] = {}
    for i, voice in enumerate(voices):
        by_voice.setdefault(voice, []).append(i)
    for members in by_voice.values():
        onsets = sorted({notes[i].onset_div for i in members})
        following = dict(zip(onsets, onsets[1:]))
        for i in members:
            end = notes[i].onset_div + notes[i].duration_div
            after = following.get(notes[i].onset_div)
            if after is not None and 0 < after - end <= max_gap:
                notes[i] = notes[i]._replace(duration_div=after - notes[i].onset_div)
    return notes
